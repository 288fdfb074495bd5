"""Property tests of event-log replay: random logs replay to an independent fold; single-byte changes never
alter a measured value silently; malformed input only ever raises the coded error."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdxverify.errors import EventLogError
from tdxverify.eventlog import EventLog, parse_event_log

from .eventlog_builders import RawEvent, ccel_log, dstack_entries, fold, runtime_digest, spec_id_event
from .vectors import VECTORS_DIR

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DSTACK_TYPE = 0x08000001
# Types that extend and whose digest the parser does not require to be the data's hash.
FREE_TYPES = st.sampled_from([0x1, 0x5, 0x6, 0xA, 0xD, 0x80000001, 0x80000002, 0x80000003, 0x8000000A, 0x12345678])
digests = st.binary(min_size=48, max_size=48)
payloads = st.binary(max_size=40)


@st.composite
def boot_event(draw: Any, mr_offset: int, last_rtmr: int) -> RawEvent:
    rtmr = draw(st.integers(0, last_rtmr))
    data = draw(payloads)
    event_type = draw(FREE_TYPES | st.sampled_from([0x4, 0x80000007]))
    bound = event_type in (0x4, 0x80000007) or draw(st.booleans())
    digest = hashlib.sha384(data).digest() if bound else draw(digests)
    return RawEvent(rtmr + mr_offset, event_type, digest, data)


@st.composite
def runtime_event(draw: Any) -> RawEvent:
    name = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
    event_type = draw(st.sampled_from([DSTACK_TYPE, 0, 0xFFFFFFFF]))
    payload = draw(payloads)
    return RawEvent(3, event_type, runtime_digest(event_type, name, payload), payload, name)


dstack_events = st.lists(boot_event(0, 2) | runtime_event(), max_size=12)
ccel_events = st.lists(
    boot_event(1, 3) | st.builds(RawEvent, st.integers(0, 4), st.just(3), st.just(bytes(48)), payloads), max_size=12
)


def expected_fold_ccel(events: list[RawEvent]) -> list[bytes]:
    return fold([(e.mr_index - 1, e.digest) for e in events if e.event_type != 3])


@SETTINGS
@given(dstack_events)
def test_dstack_replay_equals_fold(events: list[RawEvent]) -> None:
    log = parse_event_log(json.dumps(dstack_entries(events)), "dstack")
    assert list(log.rtmrs) == fold([(e.mr_index, e.digest) for e in events])
    assert len(log.events) == len(events)


@SETTINGS
@given(ccel_events, st.sampled_from([0, 1, 7, 300]), st.sampled_from([b"\0", b"\xff"]))
def test_ccel_replay_equals_fold(events: list[RawEvent], pad: int, fill: bytes) -> None:
    raw = ccel_log(events, 0) + fill * pad
    log = parse_event_log(raw, "ccel")
    assert list(log.rtmrs) == expected_fold_ccel(events)
    assert [e.event_type for e in log.events] == [e.event_type for e in events]


def _bound_values(log: EventLog) -> dict[int, tuple[Any, ...]]:
    return {e.index: (e.rtmr, e.digest, e.data, e.name, e.value) for e in log.events if e.data_bound}


def _extends(log: EventLog) -> list[tuple[int | None, bytes]]:
    return [(e.rtmr, e.digest) for e in log.events if e.rtmr is not None]


def assert_change_is_visible(original: EventLog, mutate: Any) -> None:
    """A change either fails to parse, changes an RTMR, or leaves every measured value as it was.

    "Measured" = the extended digests in order, and every event data the log reports as bound by its
    digest. What may change silently is only what the log itself marks as unmeasured: data of events
    reported unbound, the event-type labels of a TCG log, the Spec ID event's informational fields.
    """
    try:
        changed = mutate()
    except EventLogError:
        return
    if changed.rtmrs != original.rtmrs:
        return
    assert _extends(changed) == _extends(original)
    before = _bound_values(original)
    for index, values in _bound_values(changed).items():
        assert before.get(index) == values, f"bound event {index} changed without changing an RTMR"


@SETTINGS
@given(ccel_events.filter(bool), st.data())
def test_ccel_single_byte_change(events: list[RawEvent], data: st.DataObject) -> None:
    raw = ccel_log(events, 16)
    original = parse_event_log(raw, "ccel")
    pos = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    mutated = raw[:pos] + bytes([new]) + raw[pos + 1 :]
    assert_change_is_visible(original, lambda: parse_event_log(mutated, "ccel"))


REAL_CCEL = (VECTORS_DIR / "tdx-v4-gcp-cos-ccel" / "ccel_data.bin").read_bytes()
REAL_CCEL_LOG = parse_event_log(REAL_CCEL, "ccel")
REAL_END = max(e.data_offset + len(e.data) for e in REAL_CCEL_LOG.events if e.data_offset is not None)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, REAL_END + 64), st.integers(1, 255))
def test_real_ccel_single_byte_change(pos: int, xor: int) -> None:
    mutated = bytearray(REAL_CCEL)
    mutated[pos] ^= xor
    assert_change_is_visible(REAL_CCEL_LOG, lambda: parse_event_log(bytes(mutated), "ccel"))


REAL_DSTACK = json.loads((VECTORS_DIR / "tdx-v4-near-mpc-dstack" / "tcb_info.json").read_text())["event_log"]
REAL_DSTACK_LOG = parse_event_log(json.dumps(REAL_DSTACK), "dstack")


def _flip_hex(text: str, i: int) -> str:
    c = text[i]
    return text[:i] + ("0" if c != "0" else "1") + text[i + 1 :]


@SETTINGS
@given(st.data())
def test_real_dstack_runtime_event_change_always_fails_or_changes_rtmr3(data: st.DataObject) -> None:
    runtime = [i for i, e in enumerate(REAL_DSTACK) if e["imr"] == 3]
    idx = data.draw(st.sampled_from(runtime))
    field = data.draw(st.sampled_from(["imr", "event_type", "digest", "event", "event_payload"]))
    events = [dict(e) for e in REAL_DSTACK]
    ev = events[idx]
    if field == "imr":
        ev["imr"] = data.draw(st.integers(0, 2))
    elif field == "event_type":
        ev["event_type"] = ev["event_type"] ^ (1 << data.draw(st.integers(0, 31)))
    elif field == "event":
        ev["event"] = ev["event"] + data.draw(st.text(min_size=1, max_size=3))
    else:
        text = ev[field]
        ev[field] = _flip_hex(text, data.draw(st.integers(0, len(text) - 1))) if text else "00"
    try:
        log = parse_event_log(json.dumps(events), "dstack")
    except EventLogError:
        return
    assert log.rtmrs != REAL_DSTACK_LOG.rtmrs  # a runtime event is bound in every field


@SETTINGS
@given(st.data())
def test_real_dstack_text_single_byte_change(data: st.DataObject) -> None:
    text = json.dumps(REAL_DSTACK).encode()
    pos = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != text[pos]))
    mutated = text[:pos] + bytes([new]) + text[pos + 1 :]
    assert_change_is_visible(REAL_DSTACK_LOG, lambda: parse_event_log(mutated, "dstack"))


# ----------------------------------------------------------------------------- malformed input: only the coded error


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_after_a_spec_id_only_raise_the_coded_error(tail: bytes) -> None:
    try:
        parse_event_log(spec_id_event() + tail, "ccel")
    except EventLogError as err:
        assert err.code == "event_log_invalid"


@SETTINGS
@given(ccel_events.filter(bool), st.data())
def test_length_fields_lie(events: list[RawEvent], data: st.DataObject) -> None:
    raw = bytearray(ccel_log(events, 0))
    # Overwrite one aligned 4-byte word with an extreme or random length.
    pos = data.draw(st.integers(0, len(raw) - 4))
    value = data.draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1))
    raw[pos : pos + 4] = value.to_bytes(4, "little")
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            parse_event_log(candidate, "ccel")
        except EventLogError as err:
            assert err.code == "event_log_invalid"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8) | st.just("00" * 48),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["imr", "event_type", "digest", "event", "event_payload", "event_log", "tcb_info", "x"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@SETTINGS
@given(json_values)
def test_random_json_only_raises_the_coded_error(doc: object) -> None:
    try:
        parse_event_log(json.dumps(doc), "dstack")
    except EventLogError as err:
        assert err.code in ("event_log_invalid", "event_log_mismatch")
