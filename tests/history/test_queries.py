"""The guide's questions, answered from recorded outcomes, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tdxverify import VerificationError
from tdxverify.history import History, Recorder, Window

from .fakes import NEW, OLD, FakeWorker, approve

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
THIRD = bytes.fromhex("33" * 48)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def window(hours_back: float, now_hours: float) -> Window:
    return Window.since(timedelta(hours=hours_back), at(now_hours))


@pytest.fixture
def history(db_url: str) -> History:
    """A fleet's day: a, b on OLD; c joins on NEW; a migrates; d anonymous; e fails without measurements."""
    old, new = approve(OLD), approve(OLD, NEW)
    with Recorder(db_url, source="test") as rec:
        rec.record(FakeWorker("a", OLD).attest(old), worker="a", at=at(0))
        rec.record(FakeWorker("b", OLD).attest(old), worker="b", at=at(0.5))
        rec.record(FakeWorker("a", OLD).attest(old), worker="a", at=at(1))
        rec.record(FakeWorker("c", NEW).attest(new), worker="c", at=at(2))
        rec.record(FakeWorker("a", NEW).attest(new), worker="a", at=at(3))  # a migrates
        rec.record(FakeWorker("anon", OLD).attest(new), worker=None, at=at(3.5))
        rec.record(FakeWorker("b", OLD).attest(corrupt="quote_signature"), worker="b", at=at(4))  # no measurements
        rec.record(FakeWorker("x", THIRD).attest(new), worker="x", at=at(4.5))  # policy rejects THIRD
        rec.record(FakeWorker("late", OLD).attest(old), worker="late", at=at(30))  # after every `now` below but one
    h = History(db_url)
    yield h  # type: ignore[misc]
    h.close()


def test_rtmr3_values_newest_first_with_worker_counts(history: History) -> None:
    values = history.rtmr3_values(window(5, 5))
    assert [v.rtmr3 for v in values] == [THIRD.hex(), OLD.hex(), NEW.hex()]
    third, old, new = values
    assert (old.workers, old.attestations, old.rejected) == (3, 4, 0)  # a, b and the anonymous one
    assert (old.first_at, old.last_at) == (at(0), at(3.5))
    assert (new.workers, new.attestations) == (2, 2)
    assert (third.workers, third.rejected) == (1, 1)


def test_rtmr3_window_is_closed_at_both_ends(history: History) -> None:
    assert [v.rtmr3 for v in history.rtmr3_values(window(2, 3))] == [NEW.hex(), OLD.hex()]  # OLD at 01:00 incl.
    assert [v.rtmr3 for v in history.rtmr3_values(window(0.99, 3))] == [NEW.hex()]
    only = history.rtmr3_values(Window(start=at(3), end=at(3)))
    assert [(v.rtmr3, v.attestations) for v in only] == [(NEW.hex(), 1)]
    assert history.rtmr3_values(window(1, 29)) == ()  # nothing from 28:00 to 29:00
    assert history.rtmr3_values(window(1, -1)) == ()  # before anything


def test_gate_counts_workers_still_on_the_rtmr3(history: History) -> None:
    on = history.workers_on(OLD.hex(), window(24, 5))
    # a moved to NEW; b's last verified quote was OLD (its failed one proves nothing); the anonymous row counts.
    assert [w.worker for w in on.workers if w.named] == ["b"]
    assert on.count == 2
    anon = next(w for w in on.workers if not w.named)
    assert anon.worker.startswith("(unnamed: row ") and anon.at == at(3.5)
    assert on.moved_on == ("a",)
    b = next(w for w in on.workers if w.named)
    assert (b.at, b.ok, b.tcb_status) == (at(0.5), True, "UpToDate")


def test_gate_upper_case_and_window_end(history: History) -> None:
    assert history.workers_on(OLD.hex().upper(), window(24, 5)).count == 2
    # Before a migrated, a counts as on OLD.
    assert {w.worker for w in history.workers_on(OLD.hex(), window(24, 2.5)).workers if w.named} == {"a", "b"}
    # A day after the last OLD attestation the window is empty: safe to remove.
    assert history.workers_on(OLD.hex(), window(24, 3.5 + 24.01)).count == 0
    # The late OLD worker at 30:00 reopens it.
    assert [w.worker for w in history.workers_on(OLD.hex(), window(24, 30)).workers] == ["late"]


def test_gate_counts_policy_rejected_workers(history: History) -> None:
    on = history.workers_on(THIRD.hex(), window(24, 5))
    assert [(w.worker, w.ok, w.error_code) for w in on.workers] == [("x", False, "policy_violation")]


def test_new_rtmr3_workers(history: History) -> None:
    on = history.workers_on(NEW.hex(), window(24, 5))
    assert [w.worker for w in on.workers] == ["a", "c"]  # newest first
    assert on.moved_on == ()


def test_summary(history: History) -> None:
    s = history.summary(window(24, 5))
    assert s.attestations == 8 and s.ok == 6 and s.failed == 2
    assert dict(s.failures_by_code) == {"policy_violation": 1, "quote_signature_invalid": 1}
    assert s.registered_workers == 4  # a, b, c and the anonymous one succeeded
    assert s.workers_seen == 5  # and x
    assert s.rtmr3_values == 3
    empty = history.summary(window(1, 20))
    assert (empty.attestations, empty.ok, empty.failed, empty.registered_workers, empty.workers_seen) == (0, 0, 0, 0, 0)
    assert dict(empty.failures_by_code) == {}


def test_worker_last_seen(history: History) -> None:
    b = history.worker("b", now=at(5))
    assert b is not None
    assert b.last.attested_at == at(4) and not b.last.ok and b.last.error_code == "quote_signature_invalid"
    assert (b.last_seen_rtmr3, b.last_seen_rtmr3_at) == (OLD.hex(), at(0.5))
    assert b.attestations == 2
    a = history.worker("a", now=at(5))
    assert a is not None and a.last_seen_rtmr3 == NEW.hex() and a.last.ok and a.last.tcb_status == "UpToDate"
    assert history.worker("a", now=at(2)).last_seen_rtmr3 == OLD.hex()  # type: ignore[union-attr]
    assert history.worker("late", now=at(5)) is None  # not yet
    assert history.worker("late") is not None
    assert history.worker("nobody") is None


def test_outcomes_listing(history: History) -> None:
    rows = history.outcomes(window(24, 5), worker="a")
    assert [r.attested_at for r in rows] == [at(0), at(1), at(3)]
    assert all(isinstance(r.ok, bool) for r in rows)


def test_same_time_ties_go_to_the_later_row(db_url: str) -> None:
    with Recorder(db_url) as rec:
        rec.record(FakeWorker("t", OLD).attest(), worker="t", at=T0)
        rec.record(FakeWorker("t", NEW).attest(), worker="t", at=T0)
    with History(db_url) as h:
        assert h.workers_on(OLD.hex(), window(1, 0)).count == 0
        assert h.workers_on(NEW.hex(), window(1, 0)).count == 1
        assert h.worker("t").last_seen_rtmr3 == NEW.hex()  # type: ignore[union-attr]


def test_error_result_is_an_error() -> None:
    assert isinstance(FakeWorker("q", OLD).attest(corrupt="quote_signature"), VerificationError)
