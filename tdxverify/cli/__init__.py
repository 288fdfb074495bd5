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

from ..errors import VerificationError
from . import batch, collateral, fetch, history, parse, serve, verify
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, ModuleType] = {m.NAME: m for m in (verify, parse, collateral, fetch, batch, serve, history)}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args_list or args_list[0] in ("-h", "--help"):
            print(_usage())
            return EXIT_OK if args_list else EXIT_USAGE
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
        "QUOTE: raw binary, hex (optionally 0x-prefixed) or base64; T: unix seconds or ISO-8601.\n"
        "'tdxverify COMMAND --help' describes each command. Exit codes: 0 verified, 1 not verified, 2 usage."
    )
