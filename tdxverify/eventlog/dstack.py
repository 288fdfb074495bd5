"""dstack / tappd JSON event logs.

A log is a JSON list of ``{imr, event_type, digest, event, event_payload}``
(hex digest and payload). It comes bare, as the ``event_log`` member (a list,
or a string holding the list) of a GetQuote response or of dstack's
``tcb_info``, or inside ``{"tcb_info": ...}`` (an object or a JSON string), as
dstack's Info response carries it.

IMR 0-2 events are the firmware's boot events (their digests are taken as
logged); IMR 3 events are dstack's runtime events, whose digest is recomputed:
SHA-384(event_type u32 little-endian || ":" || event || ":" || payload).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import EventLogError
from ..strictjson import JsonProblem, loads_strict
from .model import Event, EventLog, compare_rtmrs
from .tcg import DSTACK_RUNTIME_EVENT, MUST_BIND, data_is_bound, type_name

__all__ = ["parse_dstack", "rtmr3_of", "runtime_digest"]

_KEYS = frozenset({"imr", "event_type", "digest", "event", "event_payload"})


def _bad(msg: str) -> EventLogError:
    return EventLogError(f"dstack event log: {msg}")


def runtime_digest(event_type: int, name: str, payload: bytes) -> bytes:
    """The digest dstack extends RTMR3 with for a runtime event."""
    return hashlib.sha384(event_type.to_bytes(4, "little") + b":" + name.encode("utf-8") + b":" + payload).digest()


def rtmr3_of(events: Iterable[tuple[str, bytes]], event_type: int = DSTACK_RUNTIME_EVENT) -> bytes:
    """The RTMR3 a TD reports after these dstack runtime events ``(name, payload)``, in order: how to
    compute an approved value before deploying."""
    rtmr = bytes(48)
    for name, payload in events:
        rtmr = hashlib.sha384(rtmr + runtime_digest(event_type, name, payload)).digest()
    return rtmr


def _hex(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise _bad(f"{what} must be a hex string, not {type(value).__name__}")
    try:
        out = bytes.fromhex(value)
    except ValueError:
        raise _bad(f"{what} is not hex") from None
    if len(out) * 2 != len(value):  # bytes.fromhex skips whitespace; a log is not free text
        raise _bad(f"{what} holds characters other than hex digits")
    if size is not None and len(out) != size:
        raise _bad(f"{what} is {len(out)} bytes, not {size}")
    return out


def _u32(value: Any, what: str, limit: int = 0xFFFFFFFF) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise _bad(f"{what} must be an integer from 0 to {limit}")
    return value


def _event(i: int, raw: Any) -> Event:
    where = f"event {i}"
    if not isinstance(raw, Mapping):
        raise _bad(f"{where} is not an object")
    missing = sorted(_KEYS - set(raw))
    extra = sorted(set(raw) - _KEYS)
    if missing or extra:
        raise _bad(f"{where} " + (f"lacks {missing}" if missing else f"has unknown key(s) {extra}"))
    imr = _u32(raw["imr"], f"{where} imr", 3)
    event_type = _u32(raw["event_type"], f"{where} event_type")
    digest = _hex(raw["digest"], f"{where} digest", 48)
    name = raw["event"]
    if not isinstance(name, str):
        raise _bad(f"{where} event (its name) must be a string")
    payload = _hex(raw["event_payload"], f"{where} event_payload")
    if imr == 3:
        expected = runtime_digest(event_type, name, payload)
        if expected != digest:
            raise _bad(
                f"{where} ({name!r}) states digest {digest.hex()}, but its type, name and payload hash to "
                f"{expected.hex()}: the event was altered"
            )
        return Event(i, 3, event_type, digest, payload, True, name=name, value=payload if name else None)
    bound = data_is_bound(event_type, payload, digest)
    if event_type in MUST_BIND and not bound:
        raise _bad(f"{where} ({type_name(event_type)}) has a digest that is not the SHA-384 of its payload")
    if name:
        raise _bad(f"{where} on IMR {imr} has a name ({name!r:.40}); only runtime events (IMR 3) are named")
    return Event(i, imr, event_type, digest, payload, bound)


def _locate(doc: Any) -> tuple[list[Any], Mapping[str, Any] | None]:
    """The event list and the object that carried it (whose claims are cross-checked)."""
    holder: Mapping[str, Any] | None = None
    for _ in range(3):  # bare list; {"event_log": ...}; {"tcb_info": {"event_log": ...}}, strings allowed
        if isinstance(doc, str):
            try:
                doc = loads_strict(doc)
            except JsonProblem as exc:
                raise _bad(f"an embedded JSON string {exc}") from None
        if isinstance(doc, list):
            return doc, holder
        if not isinstance(doc, Mapping):
            break
        if "event_log" in doc:
            holder, doc = doc, doc["event_log"]
        elif "tcb_info" in doc:
            doc = doc["tcb_info"]
        else:
            raise _bad("the JSON object has neither an 'event_log' nor a 'tcb_info' member")
    raise _bad("expected a list of events, or an object whose 'event_log' (or 'tcb_info') holds one")


def _cross_check(log: EventLog, holder: Mapping[str, Any]) -> None:
    # dstack's tcb_info repeats the RTMRs and the compose hash: they must agree with what the log proves.
    claimed = [holder.get(f"rtmr{i}") for i in range(4)]
    if all(c is not None for c in claimed):
        compare_rtmrs(log.rtmrs, [_hex(c, f"tcb_info rtmr{i}", 48) for i, c in enumerate(claimed)], what="tcb_info's")
    if holder.get("compose_hash") is not None:
        stated = _hex(holder["compose_hash"], "tcb_info compose_hash")
        if log.compose_hash is not None and stated != log.compose_hash:
            raise _bad(
                f"tcb_info states compose_hash {stated.hex()}, but the log's compose-hash event is "
                f"{log.compose_hash.hex()}"
            )


def parse_dstack(text: str) -> EventLog:
    """Parse a dstack / tappd JSON log; raise ``event_log_invalid`` on any malformation."""
    try:
        doc = loads_strict(text)
    except JsonProblem as exc:
        raise _bad(f"the document {exc}") from None
    raw_events, holder = _locate(doc)
    log = EventLog("dstack", tuple(_event(i, raw) for i, raw in enumerate(raw_events)))
    if holder is not None:
        _cross_check(log, holder)
    return log
