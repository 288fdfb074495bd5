"""Event logs: what produced a TD's RTMRs.

A TD's RTMRs are hash chains (RTMR = SHA-384(RTMR || digest), from 48 zero
bytes). The event log lists every digest and what it stands for; replaying it
and comparing with the quote's RTMRs turns "RTMR3 = 86f1..." into "this
compose hash, this app id, this kernel command line". Two formats:

- ``dstack``: dstack / tappd JSON logs (:mod:`.dstack`);
- ``ccel``: the TCG crypto-agile binary log in a TD's ACPI CCEL table (:mod:`.ccel`).

Pure functions, no I/O beyond reading a path you pass; every malformation is
an :class:`~tdxverify.errors.EventLogError` (``event_log_invalid``), a log
larger than ``max_size`` is ``input_too_large``, and a log that replays to other
RTMRs than a quote's is ``event_log_mismatch``.
"""

from __future__ import annotations

import os
from typing import Literal

from ..errors import EventLogError
from .ccel import CcelTable, SpecId, parse_ccel, parse_ccel_table
from .dstack import parse_dstack, rtmr3_of, runtime_digest
from .model import NAMED_SHORTCUTS, Event, EventLog, compare_rtmrs, replay
from .tcg import EVENT_TYPES, type_name

__all__ = [
    "EVENT_TYPES",
    "FORMATS",
    "MAX_EVENT_LOG_SIZE",
    "NAMED_SHORTCUTS",
    "CcelTable",
    "Event",
    "EventLog",
    "SpecId",
    "compare_rtmrs",
    "detect_format",
    "load_event_log",
    "parse_ccel",
    "parse_ccel_table",
    "parse_dstack",
    "parse_event_log",
    "replay",
    "rtmr3_of",
    "runtime_digest",
    "type_name",
]

EventLogFormat = Literal["dstack", "ccel"]
FORMATS: tuple[EventLogFormat, ...] = ("dstack", "ccel")

MAX_EVENT_LOG_SIZE = 4 * 1024 * 1024
"""Default size limit: a TD's CCEL log area is 64-256 KiB and a dstack log tens of KiB."""


def detect_format(data: bytes) -> EventLogFormat:
    """``ccel`` for a log starting with an EV_NO_ACTION event header, ``dstack`` for JSON text."""
    if len(data) >= 8 and data[4:8] == b"\x03\x00\x00\x00" and data[:4] in {bytes([i, 0, 0, 0]) for i in range(5)}:
        return "ccel"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return "dstack"
    raise EventLogError(
        "the event log is neither a TCG crypto-agile binary log (CCEL) nor dstack JSON; name the format "
        "explicitly (format='ccel' / 'dstack', CLI --event-log-format) if it is one of them"
    )


def parse_event_log(
    data: bytes | str, format: EventLogFormat | None = None, *, max_size: int = MAX_EVENT_LOG_SIZE
) -> EventLog:
    """Parse an event log (bytes, or JSON text) of the given or detected format and replay it."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EventLogError(
            f"cannot read an event log from {type(data).__name__}: pass bytes, JSON text or a path",
            code="input_invalid",
        )
    data = bytes(data)
    if len(data) > max_size:
        raise EventLogError(
            f"the event log is {len(data)} bytes, over the {max_size}-byte limit (genuine logs are far smaller); "
            "pass max_size= to raise it for a log you trust",
            code="input_too_large",
        )
    fmt = format if format is not None else detect_format(data)
    if fmt == "ccel":
        return parse_ccel(data)[0]
    if fmt == "dstack":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise EventLogError("dstack event log: the document is not UTF-8 text") from None
        return parse_dstack(text)
    raise EventLogError(f"unknown event log format {fmt!r}; known: {', '.join(FORMATS)}", code="input_invalid")


def load_event_log(
    src: bytes | str | os.PathLike[str],
    format: EventLogFormat | None = None,
    *,
    max_size: int = MAX_EVENT_LOG_SIZE,
) -> EventLog:
    """Load from a path, raw bytes, or JSON text (a ``str`` is a path unless it starts with ``[`` / ``{``)."""
    if isinstance(src, (str, os.PathLike)) and not (isinstance(src, str) and src.lstrip()[:1] in ("[", "{")):
        try:
            with open(src, "rb") as fh:
                data = fh.read(max_size + 1)  # never read more than the limit allows
        except OSError as exc:
            raise EventLogError(
                f"cannot read event log file {os.fspath(src)!r}: {exc.strerror or exc}", code="input_invalid"
            ) from None
        return parse_event_log(data, format, max_size=max_size)
    return parse_event_log(src, format, max_size=max_size)
