"""CCEL: the TCG PC Client crypto-agile event log a TD's firmware leaves in the ACPI CCEL table.

Layout (TCG PC Client Platform Firmware Profile, sections 10.2-10.4, with the
Intel TDX CC event log conventions): one ``TCG_PCR_EVENT`` in the old SHA-1
format whose data is the Spec ID event (``Spec ID Event03``: the digest
algorithms and their sizes), then ``TCG_PCR_EVENT2`` records (MR index u32,
event type u32, digest count u32, count x (algorithm u16, digest), data size
u32, data), then padding (zero or 0xFF bytes) to the end of the log area. MR
index 1-4 is RTMR0-3. Every length is checked against the bytes that remain,
so the work is linear in the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import EventLogError
from .model import Event, EventLog
from .tcg import EV_NO_ACTION, MUST_BIND, data_is_bound, named_value, type_name

__all__ = [
    "ALG_SHA384",
    "KNOWN_ALGORITHMS",
    "SPEC_ID_SIGNATURE",
    "CcelTable",
    "SpecId",
    "parse_ccel",
    "parse_ccel_table",
]

ALG_SHA384 = 0x000C
SPEC_ID_SIGNATURE = b"Spec ID Event03\0"
# TPM_ALG_ID -> digest size, for the algorithms the TCG registry fixes (a log must agree).
KNOWN_ALGORITHMS: Mapping[int, int] = MappingProxyType(
    {0x0004: 20, 0x000B: 32, 0x000C: 48, 0x000D: 64, 0x0012: 32, 0x0027: 32, 0x0028: 48, 0x0029: 64}
)
_MAX_DIGEST = 512


@dataclass(frozen=True)
class SpecId:
    """The Spec ID event: which digest algorithms each later event carries."""

    platform_class: int
    spec_version: tuple[int, int, int]
    uintn_size: int
    algorithms: tuple[tuple[int, int], ...]
    vendor_info: bytes


@dataclass(frozen=True)
class CcelTable:
    """The ACPI CCEL table: where the firmware put the log (UEFI spec, "CC Event Log ACPI Table")."""

    cc_type: int
    """1 AMD SEV, 2 Intel TDX."""
    cc_subtype: int
    log_area_length: int
    log_area_address: int


def parse_ccel_table(data: bytes) -> CcelTable:
    """Parse an ACPI CCEL table (signature, length, checksum, CC type, log area length and address)."""
    if len(data) < 56 or data[:4] != b"CCEL":
        raise _bad("not an ACPI CCEL table (56 bytes starting 'CCEL')")
    length = int.from_bytes(data[4:8], "little")
    if length != len(data):
        raise _bad(f"the CCEL table says it is {length} bytes long, but {len(data)} were given")
    if sum(data) % 256:
        raise _bad("the CCEL table's ACPI checksum does not add up: it was altered or truncated")
    return CcelTable(data[36], data[37], int.from_bytes(data[40:48], "little"), int.from_bytes(data[48:56], "little"))


def _bad(msg: str) -> EventLogError:
    return EventLogError(f"CCEL event log: {msg}; capture the log again, unmodified")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise _bad(f"{what} at offset {self.pos} needs {n} bytes, only {len(self.data) - self.pos} remain")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "little")

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "little")


def _spec_id(data: bytes) -> SpecId:
    r = _Reader(data)
    if r.take(16, "Spec ID signature") != SPEC_ID_SIGNATURE:
        raise _bad("the first event is not a Spec ID event (signature 'Spec ID Event03'): not a crypto-agile log")
    platform_class = r.u32("platformClass")
    minor, major, errata, uintn = r.u8("specVersionMinor"), r.u8("specVersionMajor"), r.u8("specErrata"), r.u8("uintn")
    if major != 2:
        raise _bad(f"Spec ID event version {major}.{minor}: only the crypto-agile format 2.x is defined")
    if uintn not in (1, 2):
        raise _bad(f"Spec ID uintnSize {uintn} is neither 1 (32-bit) nor 2 (64-bit)")
    count = r.u32("numberOfAlgorithms")
    if not 0 < count <= (len(data) - r.pos) // 4:
        raise _bad(f"Spec ID event lists {count} digest algorithms, which its size cannot hold")
    algs: dict[int, int] = {}
    for _ in range(count):
        alg, size = r.u16("algorithmId"), r.u16("digestSize")
        if alg in algs:
            raise _bad(f"Spec ID event lists algorithm {alg:#06x} twice")
        if KNOWN_ALGORITHMS.get(alg, size) != size or not 0 < size <= _MAX_DIGEST:
            raise _bad(f"Spec ID event gives algorithm {alg:#06x} a digest size of {size}")
        algs[alg] = size
    if ALG_SHA384 not in algs:
        raise _bad("the log carries no SHA-384 digests, which RTMRs are extended with")
    vendor = r.take(r.u8("vendorInfoSize"), "vendorInfo")
    if r.pos != len(data):
        raise _bad(f"the Spec ID event has {len(data) - r.pos} bytes after its vendor info")
    return SpecId(platform_class, (major, minor, errata), uintn, tuple(algs.items()), vendor)


def _is_padding(data: bytes, start: int) -> bool:
    rest = data[start:]
    return not rest.strip(b"\0") or not rest.strip(b"\xff")


def parse_ccel(data: bytes) -> tuple[EventLog, SpecId]:
    """Parse a CCEL log area (events then padding); raise ``event_log_invalid`` on any malformation."""
    r = _Reader(data)
    mr = r.u32("first event MR index")
    if r.u32("first event type") != EV_NO_ACTION:
        raise _bad("the first event is not EV_NO_ACTION (the Spec ID event): not a TCG crypto-agile log")
    if mr > 4:
        raise _bad(f"the Spec ID event has MR index {mr}; TD logs use 0-4")
    if any(r.take(20, "first event digest")):
        raise _bad("the Spec ID event's SHA-1 digest field is not zero")
    spec = _spec_id(r.take(r.u32("Spec ID event size"), "Spec ID event"))
    sizes = dict(spec.algorithms)
    events: list[Event] = []
    while r.pos < len(data):
        start = r.pos
        if len(data) - start < 8 or data[start : start + 8] in (bytes(8), b"\xff" * 8):
            # An all-zero / all-0xFF event header is where the log ends and padding begins.
            if not _is_padding(data, start):
                raise _bad(f"non-padding bytes follow the end of the log at offset {start}")
            break
        mr = r.u32("MR index")
        event_type = r.u32("event type")
        count = r.u32("digest count")
        if not 0 < count <= len(sizes):
            raise _bad(
                f"event {len(events) + 1} at offset {start} carries {count} digests; the log defines {len(sizes)}"
            )
        digests: dict[int, bytes] = {}
        for _ in range(count):
            alg = r.u16("digest algorithm")
            if alg not in sizes or alg in digests:
                raise _bad(
                    f"event {len(events) + 1} at offset {start}: digest algorithm {alg:#06x} is "
                    + ("repeated" if alg in digests else "not declared in the Spec ID event")
                )
            digests[alg] = r.take(sizes[alg], "digest")
        data_offset = r.pos + 4
        body = r.take(r.u32("event data size"), "event data")
        if ALG_SHA384 not in digests:
            raise _bad(f"event {len(events) + 1} at offset {start} has no SHA-384 digest")
        digest = digests[ALG_SHA384]
        rtmr: int | None
        if event_type == EV_NO_ACTION:
            # Informational events extend nothing; the profile fixes their digests at zero.
            if mr > 4 or any(any(d) for d in digests.values()):
                raise _bad(
                    f"EV_NO_ACTION event {len(events) + 1} at offset {start} has MR index {mr} or non-zero digests; "
                    "informational events use index 0-4 and zero digests"
                )
            rtmr = None
        elif 1 <= mr <= 4:
            rtmr = mr - 1
        else:
            raise _bad(f"event {len(events) + 1} at offset {start} extends MR index {mr}; only 1-4 (RTMR0-3) can be")
        bound = rtmr is not None and data_is_bound(event_type, body, digest)
        if event_type in MUST_BIND and rtmr is not None and not bound:
            raise _bad(
                f"event {len(events) + 1} at offset {start} ({type_name(event_type)}) has a digest that is not "
                "the SHA-384 of its data, as the PC Client profile requires"
            )
        named = named_value(event_type, body) if bound else None
        events.append(
            Event(
                index=len(events) + 1,
                rtmr=rtmr,
                event_type=event_type,
                digest=digest,
                data=body,
                data_bound=bound,
                name=named[0] if named else "",
                value=named[1] if named else None,
                offset=start,
                data_offset=data_offset,
                mr_index=mr,
            )
        )
    return EventLog("ccel", tuple(events)), spec
