"""Test-side writers of event logs, written from the formats' specifications independently of the parsers."""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

SHA384 = 0x000C


@dataclass(frozen=True)
class RawEvent:
    mr_index: int  # CCEL: 1-4 = RTMR0-3; dstack: imr 0-3
    event_type: int
    digest: bytes
    data: bytes
    name: str = ""


def spec_id_event(algorithms: tuple[tuple[int, int], ...] = ((SHA384, 48),), vendor: bytes = b"") -> bytes:
    body = b"Spec ID Event03\0" + struct.pack("<IBBBB", 0, 0, 2, 0, 2) + struct.pack("<I", len(algorithms))
    body += b"".join(struct.pack("<HH", a, s) for a, s in algorithms) + bytes([len(vendor)]) + vendor
    return struct.pack("<II", 1, 3) + bytes(20) + struct.pack("<I", len(body)) + body


def ccel_event(ev: RawEvent) -> bytes:
    return (
        struct.pack("<III", ev.mr_index, ev.event_type, 1)
        + struct.pack("<H", SHA384)
        + ev.digest
        + struct.pack("<I", len(ev.data))
        + ev.data
    )


def ccel_log(events: list[RawEvent], padding: int = 64) -> bytes:
    return spec_id_event() + b"".join(ccel_event(e) for e in events) + bytes(padding)


def fold(events: list[tuple[int, bytes]]) -> list[bytes]:
    """The independent fold: RTMR[i] = SHA-384(RTMR[i] || digest), from zeros."""
    regs = [bytes(48)] * 4
    for i, digest in events:
        regs[i] = hashlib.sha384(regs[i] + digest).digest()
    return regs


def runtime_digest(event_type: int, name: str, payload: bytes) -> bytes:
    return hashlib.sha384(struct.pack("<I", event_type) + b":" + name.encode() + b":" + payload).digest()


def dstack_entries(events: list[RawEvent]) -> list[dict[str, object]]:
    return [
        {
            "imr": e.mr_index,
            "event_type": e.event_type,
            "digest": e.digest.hex(),
            "event": e.name,
            "event_payload": e.data.hex(),
        }
        for e in events
    ]


def dstack_json(events: list[RawEvent]) -> str:
    return json.dumps(dstack_entries(events))
