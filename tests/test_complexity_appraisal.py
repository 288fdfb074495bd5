"""Appraisal parsers stay linear on adversarial input: event logs (CCEL, dstack JSON) and policies.

Each case builds an input of ~64 KiB and of ~1 MiB with the same hostile shape and times the parser (CPU time,
best of several runs). It fails when 16x the size costs more than 30x the time, or when the 1 MiB input takes
over a second. Raising the coded error counts as finishing: rejecting quickly is the point.

JSON inputs are parsed by the standard library first, which on some shapes (an object with ~90,000 members)
itself scales by 60-130x between these sizes on this machine (the dicts outgrow the CPU caches; the work is
linear). For those cases the allowance is 1.5x the standard parser's own ratio on the same text when that is
above 30x: what is measured is that nothing of ours adds to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import time
from collections.abc import Callable

import pytest

from tdxverify import Policy, PolicyError, load_policy, verify
from tdxverify.errors import VerificationError
from tdxverify.eventlog import parse_event_log
from tdxverify.testing import Forge

from .eventlog_builders import RawEvent, ccel_event, dstack_entries, runtime_digest, spec_id_event

SMALL, LARGE = 64 * 1024, 1024 * 1024
MAX_RATIO, MAX_SECONDS = 30.0, 1.0
SEP = RawEvent(1, 4, hashlib.sha384(bytes(4)).digest(), bytes(4))


def _repeat_to(size: int, head: bytes, unit: bytes, tail: bytes = b"") -> bytes:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def ccel_tiny_events(size: int) -> bytes:
    return _repeat_to(size, spec_id_event(), ccel_event(SEP))


def ccel_one_huge_unbound_event(size: int) -> bytes:
    body = b"\x01" * (size - 200)
    return spec_id_event() + ccel_event(RawEvent(2, 0x8000000A, bytes(48), body))


def ccel_long_padding_then_junk(size: int) -> bytes:
    return spec_id_event() + ccel_event(SEP) + bytes(8) + bytes(size) + b"\x01"


def ccel_no_action_flood(size: int) -> bytes:
    return _repeat_to(size, spec_id_event(), ccel_event(RawEvent(1, 3, bytes(48), b"")))


def ccel_length_lie_at_end(size: int) -> bytes:
    return ccel_tiny_events(size) + struct.pack("<III", 1, 4, 1) + struct.pack("<H", 0xC) + bytes(48) + b"\xff" * 4


def _dstack(events: list[RawEvent], size: int) -> bytes:
    one = json.dumps(dstack_entries(events)).encode()[1:-1] + b","
    return b"[" + one * max(1, size // len(one)) + b"{}]"  # the trailing {} is malformed: everything is parsed first


def dstack_runtime_events(size: int) -> bytes:
    d = runtime_digest(0x08000001, "compose-hash", b"\x01" * 32)
    return _dstack([RawEvent(3, 0x08000001, d, b"\x01" * 32, "compose-hash")], size)


def dstack_boot_events(size: int) -> bytes:
    return _dstack([RawEvent(1, 0xD, bytes(48), b"\x02" * 16)], size)


def dstack_huge_payload(size: int) -> bytes:
    payload = b"\x03" * (size // 2 - 200)
    d = runtime_digest(0x08000001, "x", payload)
    return json.dumps(dstack_entries([RawEvent(3, 0x08000001, d, payload, "x")])).encode()


def dstack_deep_nesting(size: int) -> bytes:
    return b'{"tcb_info":' * (size // 12)


def dstack_nested_strings(size: int) -> bytes:
    inner = json.dumps(dstack_entries([RawEvent(1, 0xD, bytes(48), b"\x02" * 16)]) * (size // 400))
    return json.dumps({"tcb_info": json.dumps({"event_log": inner})}).encode()


def policy_many_rtmr3(size: int) -> bytes:
    n = size // 100
    return json.dumps({"measurements": {"rtmr3": [f"{i:096x}" for i in range(n)]}}).encode()


def policy_many_advisories(size: int) -> bytes:
    return json.dumps({"accepted_advisory_ids": [f"INTEL-SA-{i:08d}" for i in range(size // 21)]}).encode()


def policy_many_event_values(size: int) -> bytes:
    return json.dumps({"event_values": {f"name-{i}": ["00" * 32] for i in range(size // 80)}}).encode()


def policy_huge_key_hash_message(size: int) -> bytes:
    return json.dumps({"key_hash": {"algorithm": "sha256", "message": "ab" * (size // 2 - 100)}}).encode()


def policy_deep_nesting(size: int) -> bytes:
    return b'{"measurements": ' + b"[" * (size - 20)


def policy_many_duplicate_looking_keys(size: int) -> bytes:
    body = ", ".join(f'"k{i}": 1' for i in range(size // 12))
    return ("{" + body + "}").encode()


def _parse_log(data: bytes) -> None:
    parse_event_log(data)


def _load_policy(data: bytes) -> None:
    load_policy(data.decode())


CASES: list[tuple[str, Callable[[int], bytes], Callable[[bytes], None]]] = [
    ("ccel_tiny_events", ccel_tiny_events, _parse_log),
    ("ccel_one_huge_unbound_event", ccel_one_huge_unbound_event, _parse_log),
    ("ccel_long_padding_then_junk", ccel_long_padding_then_junk, _parse_log),
    ("ccel_no_action_flood", ccel_no_action_flood, _parse_log),
    ("ccel_length_lie_at_end", ccel_length_lie_at_end, _parse_log),
    ("dstack_runtime_events", dstack_runtime_events, _parse_log),
    ("dstack_boot_events", dstack_boot_events, _parse_log),
    ("dstack_huge_payload", dstack_huge_payload, _parse_log),
    ("dstack_deep_nesting", dstack_deep_nesting, _parse_log),
    ("dstack_nested_strings", dstack_nested_strings, _parse_log),
    ("policy_many_rtmr3", policy_many_rtmr3, _load_policy),
    ("policy_many_advisories", policy_many_advisories, _load_policy),
    ("policy_many_event_values", policy_many_event_values, _load_policy),
    ("policy_huge_key_hash_message", policy_huge_key_hash_message, _load_policy),
    ("policy_deep_nesting", policy_deep_nesting, _load_policy),
    ("policy_many_keys", policy_many_duplicate_looking_keys, _load_policy),
]


def _seconds(fn: Callable[[bytes], None], data: bytes, runs: int) -> float:
    # CPU time of this process, best of several runs: the machine is shared, and wall time would
    # measure the other processes' load rather than this parser's work.
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        with contextlib.suppress(VerificationError):
            fn(data)
        best = min(best, time.process_time() - start)
    return best


def _stdlib_json(data: bytes) -> None:
    json.loads(data)


@pytest.mark.parametrize("name,make,parse", CASES, ids=[c[0] for c in CASES])
def test_linear(name: str, make: Callable[[int], bytes], parse: Callable[[bytes], None]) -> None:
    small, large = make(SMALL), make(LARGE)
    assert 0.5 * SMALL <= len(small) <= 1.5 * SMALL and 0.5 * LARGE <= len(large) <= 1.5 * LARGE, (
        len(small),
        len(large),
    )
    t_small, t_large = _seconds(parse, small, 9), _seconds(parse, large, 3)
    assert t_large <= MAX_SECONDS, f"{name}: {t_large:.3f}s at {len(large)} bytes"
    # Tiny times are dominated by noise; a floor keeps the ratio meaningful.
    ratio = t_large / max(t_small, 1e-3)
    allowed = MAX_RATIO
    if not name.startswith("ccel"):
        with contextlib.suppress(ValueError, RecursionError):
            base = _seconds(_stdlib_json, large, 3) / max(_seconds(_stdlib_json, small, 9), 1e-4)
            allowed = max(MAX_RATIO, 1.5 * base)
    assert ratio <= allowed, f"{name}: {t_small * 1e3:.2f} ms -> {t_large * 1e3:.2f} ms (x{ratio:.1f} > x{allowed:.1f})"


def test_policy_evaluation_with_many_approved_values_is_linear() -> None:

    forge = Forge(seed="complexity")
    quote, col = forge.quote(), forge.collateral()
    times = []
    for n in (1000, 16000):
        policy = Policy(measurements={"rtmr3": {i.to_bytes(48, "big") for i in range(1, n + 1)}})
        start = time.process_time()
        with pytest.raises(PolicyError):
            verify(quote, col, now=forge.now, root_ca=forge.root_ca_der, policy=policy)
        times.append(time.process_time() - start)
    assert times[1] <= MAX_SECONDS and times[1] / max(times[0], 1e-3) <= MAX_RATIO, times
