"""Command line: ``tdxverify`` / ``python -m tdxverify``.

Exit codes: 0 verified (or, for ``parse`` / ``collateral``, the input is
sound); 1 not verified: any problem with the quote, collateral or policy;
2 the command itself was wrong (unknown flag, unreadable path).

Each command is a module of this package with ``NAME``, ``USAGE`` (its usage
lines), ``build_parser()`` and ``run(args) -> int``; :data:`COMMANDS` lists them.
A bare ``tdxverify QUOTE COLLATERAL`` is the ``verify`` command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TextIO, cast

from .. import __version__
from ..errors import VerificationError
from . import batch, collateral, eventlog, fetch, history, parse, serve, verify
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, GuardedOutput, UsageError

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, ModuleType] = {
    m.NAME: m for m in (verify, parse, collateral, fetch, batch, eventlog, serve, history)
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    A closed output pipe (``tdxverify ... | head -1``) ends quietly with the
    command's own exit code; any other output failure (a full disk) is reported
    on stderr, if it still can be, and exits 2.
    """
    out, err = GuardedOutput(sys.stdout), GuardedOutput(sys.stderr)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, out), cast(TextIO, err)
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
        out.flush()
        err.flush()
    finally:
        sys.stdout, sys.stderr = saved
    if out.error is not None:
        print(f"error: cannot write the output: {out.error.strerror or out.error}", file=err)
        err.flush()
        code = EXIT_USAGE
    out.silence()
    err.silence()
    return code


def _run(args_list: list[str]) -> int:
    try:
        if not args_list or args_list[0] in ("-h", "--help"):
            print(_usage())
            return EXIT_OK if args_list else EXIT_USAGE
        if args_list[0] == "--version":
            print(f"tdxverify {__version__}")
            return EXIT_OK
        name = args_list[0] if args_list[0] in COMMANDS else "verify"
        rest = args_list[1:] if args_list[0] == name else args_list
        command = COMMANDS[name]
        ns = command.build_parser().parse_args(rest)
        code: int = command.run(ns)
        return code
    except UsageError as exc:
        print(f"{exc}\n\n{_usage()}", file=sys.stderr)
        return EXIT_USAGE
    except VerificationError as err:  # a command's own handler normally catches these
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse's --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # a bug: still no traceback, and never a success
        print(
            f"error: [internal_error] {type(exc).__name__}: {exc}; nothing was verified. "
            "Please report this with the inputs.",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _usage() -> str:
    lines = [f"  {line}" for command in COMMANDS.values() for line in command.USAGE]
    return (
        "usage:\n" + "\n".join(lines) + "\n"
        "QUOTE: a file (raw binary, hex or base64), '-' for stdin, or the quote's hex itself;\n"
        "T: unix seconds or ISO-8601; D: a duration such as 30d, 12h, 90m, 45s.\n"
        "'tdxverify COMMAND --help' describes each command; 'tdxverify --version' prints the version.\n"
        "Exit codes: 0 verified, 1 not verified, 2 usage."
    )
