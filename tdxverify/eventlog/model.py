"""Typed results of event-log parsing, and the replay itself."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..errors import EventLogError
from .tcg import describe, type_name

__all__ = ["RTMR_COUNT", "Event", "EventLog", "compare_rtmrs", "replay"]

RTMR_COUNT = 4
_ZERO = bytes(48)

# The dstack runtime events an operator's policy most often names (JSON key -> event name).
NAMED_SHORTCUTS: Mapping[str, str] = MappingProxyType(
    {
        "app_id": "app-id",
        "app_compose_hash": "compose-hash",
        "instance_id": "instance-id",
        "os_image_hash": "os-image-hash",
        "key_provider": "key-provider",
        "kernel_cmdline": "kernel-cmdline",
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a log.

    ``rtmr`` is the RTMR (0-3) the event extends, or ``None`` for an event that
    extends nothing (EV_NO_ACTION). ``data_bound`` says whether ``data`` is
    covered by ``digest`` (recomputed here): only then does the quote vouch for
    what ``data`` says; otherwise it is the firmware's unauthenticated
    description of what it measured.
    """

    index: int
    rtmr: int | None
    event_type: int
    digest: bytes
    data: bytes
    data_bound: bool
    name: str = ""
    """The value's name: a dstack runtime event's name (``compose-hash``...), ``kernel-cmdline`` for GRUB's."""
    value: bytes | None = None
    """The named value (a dstack payload; the command line text); ``None`` for unnamed events."""
    offset: int | None = None
    """Binary logs: byte offset of the event; ``data_offset`` that of its data."""
    data_offset: int | None = None
    mr_index: int | None = None
    """Binary logs: the raw MR index of the event (1-4 are RTMR0-3)."""

    @property
    def type_name(self) -> str:
        return type_name(self.event_type)

    @property
    def description(self) -> str | None:
        """A human reading of ``data`` for the event types an auditor needs, else ``None``."""
        return describe(self.event_type, self.data, self.name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "rtmr": self.rtmr,
            "event_type": self.event_type,
            "type_name": self.type_name,
            "digest": self.digest.hex(),
        }
        if self.name:
            out["name"] = self.name
        out["data"] = self.data.hex()
        out["data_bound"] = self.data_bound
        out["description"] = self.description
        if self.offset is not None:
            out["offset"] = self.offset
        return out


def replay(events: Iterable[Event]) -> tuple[bytes, bytes, bytes, bytes]:
    """RTMR0-3 from 48 zero bytes: RTMR = SHA-384(RTMR || digest) per extending event, in order."""
    rtmrs = [_ZERO] * RTMR_COUNT
    for ev in events:
        if ev.rtmr is not None:
            rtmrs[ev.rtmr] = hashlib.sha384(rtmrs[ev.rtmr] + ev.digest).digest()
    return rtmrs[0], rtmrs[1], rtmrs[2], rtmrs[3]


def compare_rtmrs(replayed: Sequence[bytes], quoted: Sequence[bytes], *, what: str = "the quote's") -> None:
    """Raise ``event_log_mismatch`` naming the first RTMR that differs, with both values."""
    for i, (mine, theirs) in enumerate(zip(replayed, quoted, strict=True)):
        if mine != theirs:
            raise EventLogError(
                f"the event log replays RTMR{i} to {mine.hex()}, but {what} RTMR{i} is {theirs.hex()}: the log "
                "is from another boot or image, or was altered; capture the log and the quote together",
                code="event_log_mismatch",
            )


@dataclass(frozen=True)
class EventLog:
    """A parsed event log and the RTMRs it replays to."""

    format: str
    """``"dstack"`` (JSON) or ``"ccel"`` (TCG crypto-agile binary)."""
    events: tuple[Event, ...]
    rtmrs: tuple[bytes, bytes, bytes, bytes] = field(init=False)
    named: Mapping[str, tuple[bytes, ...]] = field(init=False, repr=False, compare=False)
    """Named values the digests bind (dstack runtime events, the kernel command line) -> values in log order."""

    def __post_init__(self) -> None:
        # Derived once: a policy may look names up many times.
        object.__setattr__(self, "rtmrs", replay(self.events))
        out: dict[str, list[bytes]] = {}
        for ev in self.events:
            # Only a value its digest covers is one the quote vouches for.
            if ev.name and ev.value is not None and ev.data_bound and ev.rtmr is not None:
                out.setdefault(ev.name, []).append(ev.value)
        object.__setattr__(self, "named", MappingProxyType({k: tuple(v) for k, v in out.items()}))

    def value(self, name: str) -> bytes | None:
        """The payload of the runtime event ``name`` if it occurs exactly once, else ``None``."""
        values = self.named.get(name, ())
        return values[0] if len(values) == 1 else None

    @property
    def app_id(self) -> bytes | None:
        return self.value("app-id")

    @property
    def compose_hash(self) -> bytes | None:
        return self.value("compose-hash")

    @property
    def os_image_hash(self) -> bytes | None:
        return self.value("os-image-hash")

    def check(self, quoted: Sequence[bytes]) -> None:
        """Raise ``event_log_mismatch`` unless the replayed RTMR0-3 equal ``quoted``."""
        compare_rtmrs(self.rtmrs, quoted)

    def to_dict(self) -> dict[str, Any]:
        named = self.named
        out: dict[str, Any] = {
            "format": self.format,
            "rtmrs": {f"rtmr{i}": v.hex() for i, v in enumerate(self.rtmrs)},
            "events": [e.to_dict() for e in self.events],
            "named": {k: [v.hex() for v in vs] for k, vs in named.items()},
        }
        for key, name in NAMED_SHORTCUTS.items():
            v = self.value(name)
            out[key] = v.hex() if v is not None else None
        return out
