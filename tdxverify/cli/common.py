"""What every command shares: exit codes, usage errors, reading inputs, times."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
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
        # argparse quotes the offending arguments, and one may be a 10,000-digit quote.
        message = re.sub(r"\S{100,}", lambda m: f"{m.group()[:40]}... ({len(m.group())} characters)", message)
        raise UsageError(f"{self.prog}: {message}")


def shorten(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (an argument may be a 10,000-digit quote)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def read_input(path: str) -> bytes:
    """Read a file argument (``-`` is standard input); unreadable -> :class:`UsageError`."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the argument
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot read {shorten(path)}: {reason}") from None


_QUOTE_TEXT = re.compile(r"(?:0[xX])?[0-9a-fA-F]{96,}|[A-Za-z0-9+/_-]{128,}={0,2}")


def read_quote_arg(arg: str) -> bytes:
    """A QUOTE argument: a file (``-`` is standard input), or the quote itself as hex / base64 text.

    An existing file wins; otherwise text that can only be a quote (at least a
    header's worth of hex or base64 digits, or longer than any file name) is the quote.
    """
    if arg == "-" or os.path.exists(arg):
        return read_input(arg)
    if _QUOTE_TEXT.fullmatch(arg.strip()) or len(arg) > 255:
        return arg.encode("utf-8", "surrogateescape")
    return read_input(arg)  # a missing or unreadable path: the usage error names it


def one_stdin(**args: str | None) -> None:
    """At most one argument may be ``-`` (standard input can be read once)."""
    dashes = [name.replace("_", "-") for name, value in args.items() if value == "-"]
    if len(dashes) > 1:
        raise UsageError(
            f"{' and '.join(dashes)} are both '-', but standard input can be read only once: "
            "give all but one of them as files"
        )


def _looks_like_quote(data: bytes) -> bool:
    try:
        parse_quote(decode_quote_file(data))
    except VerificationError:
        return False
    return True


def check_order(quote_arg: str, quote_bytes: bytes, collateral_arg: str, collateral_bytes: bytes) -> None:
    """Usage errors for a collateral file given as the quote, or a quote given as the collateral."""
    quote_is_json = quote_bytes.lstrip()[:1] in (b"{", b"[")
    if quote_is_json and _looks_like_quote(collateral_bytes):
        raise UsageError(
            f"the arguments look swapped: QUOTE {shorten(quote_arg)} holds JSON (collateral) and COLLATERAL "
            f"{shorten(collateral_arg)} holds a quote; give the quote first: tdxverify QUOTE COLLATERAL"
        )
    check_collateral_arg(collateral_arg, collateral_bytes, "give the quote first and the collateral second: ")


def check_collateral_arg(arg: str, data: bytes, advice: str = "") -> None:
    """A usage error for a quote given where collateral JSON belongs."""
    if data.lstrip()[:1] != b"{" and _looks_like_quote(data):
        raise UsageError(
            f"COLLATERAL {shorten(arg)} holds a quote, not collateral JSON; {advice}tdxverify QUOTE COLLATERAL "
            "(fetch collateral with tdxverify fetch-collateral --quote QUOTE -o collateral.json)"
        )


def read_root(path: str | None) -> bytes | None:
    """``--root-ca``: the file's bytes, or None for the pinned Intel root."""
    return None if path is None else read_input(path)


def quote_from_file(path: str) -> Quote:
    """Read and parse a QUOTE argument (a file, ``-``, or the quote's hex / base64 text)."""
    # Reading is the CLI's job (exit 2 when it fails); decoding is the library's.
    return parse_quote(decode_quote_file(read_quote_arg(path)))


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
        raise UsageError(f"--now {shorten(text)} is neither unix seconds nor an ISO-8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def short_time(t: datetime | None) -> str:
    """A time for human output (``-`` for none)."""
    return t.strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` (a bare number is seconds)."""
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise UsageError(f"{flag} {shorten(text)}: give a duration such as 30d, 12h, 90m or 45s")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


class GuardedOutput(io.TextIOBase):
    """Wraps stdout / stderr: a closed pipe (``| head -1``) ends output quietly; any
    other write failure (a full disk) is kept in :attr:`error` for the exit code."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.broken = False
        self.error: OSError | None = None

    def _guard(self, action: str, text: str = "") -> None:
        if self.broken or self.error is not None:
            return
        try:
            if action == "write":
                self.stream.write(text)
            else:
                self.stream.flush()
        except BrokenPipeError:
            self.broken = True
        except OSError as exc:
            self.error = exc

    def write(self, s: str) -> int:
        self._guard("write", s)
        return len(s)

    def flush(self) -> None:
        self._guard("flush")

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    def silence(self) -> None:
        """After a failure: point the descriptor at /dev/null, so the interpreter's last flush is quiet."""
        if not (self.broken or self.error is not None):
            return
        try:
            fd = self.stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            return  # not a real descriptor (e.g. captured in tests): nothing to flush at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
