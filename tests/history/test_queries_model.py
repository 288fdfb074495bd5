"""The SQL answers equal a plain-Python model of the same rules, for random histories (both databases)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdxverify.history import History, Outcome, Recorder, Window
from tdxverify.history.schema import ATTESTATIONS
from tdxverify.testing.postgres import create_schema

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
RTMR3S = ("aa" * 48, "bb" * 48, "cc" * 48)

rows = st.lists(
    st.tuples(
        st.sampled_from(["w1", "w2", "w3", None]),  # worker
        st.integers(0, 40),  # minutes after T0 (ties on purpose)
        st.sampled_from([*RTMR3S, None]),  # None: the chain failed, no measurements
        st.booleans(),  # ok (for rows with measurements; False = a policy rejection)
    ),
    max_size=25,
)


def _outcome(worker: str | None, minute: int, rtmr3: str | None, ok: bool) -> Outcome:
    at = T0 + timedelta(minutes=minute)
    if rtmr3 is None:
        return Outcome(attested_at=at, ok=False, worker=worker, error_code="quote_signature_invalid")
    code = None if ok else "policy_violation"
    return Outcome(attested_at=at, ok=ok, worker=worker, rtmr3=rtmr3, tcb_status="UpToDate", error_code=code)


def _model_workers_on(recorded: list[tuple[int, Outcome]], rtmr3: str, w: Window) -> tuple[set[str], int]:
    """Named workers still on ``rtmr3`` and the number of anonymous rows with it (latest verified per worker)."""
    latest: dict[str, tuple[datetime, int, str]] = {}
    anonymous = 0
    for row_id, o in recorded:
        if o.rtmr3 is None or not w.start <= o.attested_at <= w.end:
            continue
        if o.worker is None:
            anonymous += o.rtmr3 == rtmr3
        elif o.worker not in latest or (o.attested_at, row_id) > latest[o.worker][:2]:
            latest[o.worker] = (o.attested_at, row_id, o.rtmr3)
    return {name for name, (_, _, r) in latest.items() if r == rtmr3}, anonymous


def _distinct(outcomes: list[Outcome]) -> int:
    return len({o.worker for o in outcomes if o.worker is not None}) + sum(o.worker is None for o in outcomes)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_queries_match_the_model(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = str(tmp_path_factory.mktemp("model") / "h.sqlite3")
    else:
        url = create_schema(request.getfixturevalue("postgres_admin_url"))
    Recorder(url).close()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(history=rows, start=st.integers(0, 40), length=st.integers(1, 45))
    def check(history: list[tuple[str | None, int, str | None, bool]], start: int, length: int) -> None:
        outcomes = [_outcome(*r) for r in history]
        with Recorder(url) as rec:
            with rec._engine.begin() as conn:
                conn.execute(ATTESTATIONS.delete())
            ids = rec.record_many(outcomes)
        recorded = list(zip(ids, outcomes, strict=True))
        w = Window(start=T0 + timedelta(minutes=start), end=T0 + timedelta(minutes=start + length))
        inside = [o for o in outcomes if w.start <= o.attested_at <= w.end]
        with History(url) as h:
            for rtmr3 in RTMR3S:
                on = h.workers_on(rtmr3, w)
                named, anonymous = _model_workers_on(recorded, rtmr3, w)
                assert {x.worker for x in on.workers if x.named} == named
                assert sum(not x.named for x in on.workers) == anonymous
                had = {o.worker for o in inside if o.rtmr3 == rtmr3 and o.worker is not None}
                assert set(on.moved_on) == had - named
            values = {v.rtmr3: v for v in h.rtmr3_values(w)}
            assert set(values) == {o.rtmr3 for o in inside if o.rtmr3 is not None}
            for rtmr3, v in values.items():
                mine = [o for o in inside if o.rtmr3 == rtmr3]
                assert (v.attestations, v.workers, v.rejected) == (
                    len(mine),
                    _distinct(mine),
                    sum(not o.ok for o in mine),
                )
                assert (v.first_at, v.last_at) == (min(o.attested_at for o in mine), max(o.attested_at for o in mine))
            lasts = [v.last_at for v in h.rtmr3_values(w)]
            assert lasts == sorted(lasts, reverse=True)
            s = h.summary(w)
            assert (s.attestations, s.ok, s.failed) == (
                len(inside),
                sum(o.ok for o in inside),
                sum(not o.ok for o in inside),
            )
            assert s.workers_seen == _distinct(inside)
            assert s.registered_workers == _distinct([o for o in inside if o.ok])
            assert dict(s.failures_by_code) == dict(Counter(o.error_code for o in inside if not o.ok))
            for name in ("w1", "w2", "w3"):
                mine_all = sorted(((o.attested_at, i), o) for i, o in recorded if o.worker == name)
                got = h.worker(name)
                if not mine_all:
                    assert got is None
                    continue
                assert got is not None and got.last == mine_all[-1][1] and got.attestations == len(mine_all)
                seen = [o for _, o in mine_all if o.rtmr3 is not None]
                assert got.last_seen_rtmr3 == (seen[-1].rtmr3 if seen else None)

    check()


def test_model_helpers_agree_on_a_known_case() -> None:
    a, b = RTMR3S[:2]
    recorded = list(enumerate([_outcome("w1", 0, a, True), _outcome("w1", 5, b, True), _outcome(None, 6, a, True)]))
    w = Window(start=T0, end=T0 + timedelta(hours=1))
    assert _model_workers_on(recorded, a, w) == (set(), 1)
    assert _model_workers_on(recorded, b, w) == ({"w1"}, 0)
