"""What every command shares: exit codes, usage errors, reading inputs, times."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from typing import NoReturn, TextIO

from ..errors import VerificationError
from ..quote import Quote, decode_quote_file, parse_quote

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The command line itself is wrong: exit 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def read_input(path: str) -> bytes:
    """Read a file argument (``-`` is standard input); unreadable -> :class:`UsageError`."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def read_root(path: str | None) -> bytes | None:
    """``--root-ca``: the file's bytes, or None for the pinned Intel root."""
    return None if path is None else read_input(path)


def quote_from_file(path: str) -> Quote:
    """Read and parse a quote file."""
    # Reading is the CLI's job (exit 2 when it fails); decoding is the library's.
    return parse_quote(decode_quote_file(read_input(path)))


def print_human(obj: dict[str, object], out: TextIO, indent: str = "") -> None:
    """Print nested mappings as indented ``key: value`` lines."""
    for key, value in obj.items():
        if isinstance(value, dict):
            out.write(f"{indent}{key}:\n")
            print_human(value, out, indent + "  ")
        else:
            out.write(f"{indent}{key}: {value}\n")


def error_json(err: VerificationError) -> str:
    """The JSON printed for a failure that has no verdict."""
    return json.dumps({"ok": False, "error": err.to_dict()}, indent=2)


def parse_time(text: str) -> datetime:
    """``--now``: unix seconds or ISO-8601 (a time without an offset is UTC)."""
    t = text.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", t):
            return datetime.fromtimestamp(float(t), tz=timezone.utc)
        parsed = datetime.fromisoformat(t[:-1] + "+00:00" if t[-1:] in ("Z", "z") else t)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"--now {text!r} is neither unix seconds nor an ISO-8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def short_time(t: datetime | None) -> str:
    """A time for human output (``-`` for none)."""
    return t.strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"
