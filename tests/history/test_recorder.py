"""Recording outcomes: what a row holds for each kind of result, and that it reads back exactly."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdxverify import VerificationError, parse_quote
from tdxverify.history import History, HistoryError, Outcome, OutcomeBuffer, Recorder, Window
from tdxverify.history.schema import ATTESTATIONS
from tdxverify.testing.postgres import create_schema

from .fakes import FORGE, NEW, NOW, OLD, FakeWorker, approve

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _rows(url: str) -> list[Outcome]:
    with History(url) as h:
        return list(h.outcomes(Window(start=datetime(1, 1, 2, tzinfo=timezone.utc), end=T0 + timedelta(days=3650))))


def test_verdict_row_has_every_field(db_url: str) -> None:
    result = FakeWorker("w1", OLD).attest()
    assert not isinstance(result, VerificationError)
    with Recorder(db_url, source="test") as rec:
        row_id = rec.record(result, worker="w1", at=T0, raw_quote=b"raw")
    (row,) = _rows(db_url)
    assert row_id >= 1
    assert row.ok and row.worker == "w1" and row.source == "test" and row.attested_at == T0
    assert row.error_code is None and row.tcb_status == "UpToDate" and row.advisory_ids == ()
    assert row.rtmr3 == OLD.hex() and row.mr_td == result.mr_td.hex()  # type: ignore[union-attr]
    assert row.rtmr0 == result.rtmr0.hex() and row.rtmr2 == result.rtmr2.hex()  # type: ignore[union-attr]
    assert row.report_data == result.report_data.hex()
    assert row.fmspc == result.fmspc
    assert row.tcb_evaluation_data_number == result.tcb_evaluation_data_number
    assert row.tee_type == "TDX" and row.quote_version == 4
    assert row.quote_sha256 == hashlib.sha256(b"raw").hexdigest()


def test_default_time_is_the_verification_time(db_url: str) -> None:
    result = FakeWorker("w1", OLD).attest()
    with Recorder(db_url) as rec:
        rec.record(result)
    (row,) = _rows(db_url)
    assert row.attested_at == datetime.fromtimestamp(NOW, timezone.utc)
    assert row.worker is None and row.source == "library"


def test_chain_failure_keeps_no_measurements(db_url: str) -> None:
    worker = FakeWorker("w2", OLD)
    err = worker.attest(corrupt="quote_signature")
    assert isinstance(err, VerificationError) and err.code == "quote_signature_invalid"
    raw = worker.quote(corrupt="quote_signature")
    with Recorder(db_url) as rec:
        rec.record(err, worker="w2", at=T0, quote=parse_quote(raw), raw_quote=raw)
    (row,) = _rows(db_url)
    assert not row.ok
    assert (row.error_code, row.error_step) == ("quote_signature_invalid", err.step)
    assert row.error_message == err.message
    assert row.tee_type == "TDX" and row.quote_version == 4  # from the parsed quote, not from a verdict
    # The chain failed: its claimed measurements prove nothing and are not recorded.
    assert row.rtmr3 is None and row.mr_td is None and row.report_data is None and row.tcb_status is None
    assert row.quote_sha256 == hashlib.sha256(raw).hexdigest()


def test_policy_rejection_keeps_the_verified_measurements(db_url: str) -> None:
    err = FakeWorker("w3", OLD).attest(policy=approve(NEW))
    assert isinstance(err, VerificationError) and err.code == "policy_violation"
    with Recorder(db_url) as rec:
        rec.record(err, worker="w3", at=T0)
    (row,) = _rows(db_url)
    assert not row.ok and row.error_code == "policy_violation"
    assert row.rtmr3 == OLD.hex() and row.tcb_status == "UpToDate"


def test_advisories_are_recorded_sorted(db_url: str) -> None:
    result = FakeWorker("w4", OLD).attest()
    assert not isinstance(result, VerificationError)
    advised = dataclasses.replace(result, advisory_ids=("INTEL-SA-00837", "INTEL-SA-00615"), status="SWHardeningNeeded")
    with Recorder(db_url) as rec:
        rec.record(advised, worker="w4", at=T0)
    (row,) = _rows(db_url)
    assert row.advisory_ids == ("INTEL-SA-00615", "INTEL-SA-00837") and row.tcb_status == "SWHardeningNeeded"


def test_record_many_is_one_transaction(db_url: str) -> None:
    w = FakeWorker("w5", OLD)
    outcomes = [Outcome.of(w.attest(), worker=f"w5-{i}", at=T0 + timedelta(seconds=i)) for i in range(5)]
    with Recorder(db_url) as rec:
        ids = rec.record_many(outcomes)
        assert ids == sorted(ids) and len(set(ids)) == 5
        assert rec.record_many([]) == []
        # The third row breaks a NOT NULL constraint: the two before it must not stay.
        bad = [*outcomes[:2], Outcome(attested_at=T0, ok=True, source=None)]  # type: ignore[arg-type]
        with pytest.raises(HistoryError) as info:
            rec.record_many(bad)
        assert info.value.code == "history_unavailable"
    assert len(_rows(db_url)) == 5  # the failed group left nothing behind


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"worker": ""}, "input_invalid"),
        ({"worker": "  "}, "input_invalid"),
        ({"worker": "a\x00b"}, "input_invalid"),
        ({"at": datetime(2026, 1, 1)}, "input_invalid"),  # naive
        ({"at": "yesterday"}, "input_invalid"),
        ({"at": 1e20}, "input_invalid"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object], code: str) -> None:
    with Recorder(tmp_path / "h.sqlite3") as rec, pytest.raises(HistoryError) as info:
        rec.record(FakeWorker("w", OLD).attest(), **kwargs)  # type: ignore[arg-type]
    assert info.value.code == code


def test_not_a_result_is_refused(tmp_path: Path) -> None:
    with Recorder(tmp_path / "h.sqlite3") as rec, pytest.raises(HistoryError) as info:
        rec.record("ok")  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"


def test_unwritable_location_is_a_history_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(HistoryError) as info:
        Recorder(blocker / "sub" / "h.sqlite3")
    assert info.value.code == "history_unavailable"
    not_sqlite = tmp_path / "garbage.sqlite3"
    not_sqlite.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(HistoryError) as info:
        Recorder(not_sqlite)
    assert info.value.code == "history_unavailable"
    assert "garbage.sqlite3" in info.value.message


def test_unreachable_postgres_is_a_history_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HistoryError) as info:
        Recorder(f"postgresql://someone:secret@127.0.0.1:{port}/nothing")
    assert info.value.code == "history_unavailable"
    assert "secret" not in info.value.message and f":{port}/nothing" in info.value.message


_name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_names = st.one_of(st.none(), st.text(_name_chars, min_size=1).filter(str.strip))
_times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(timezone.utc))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_what_is_recorded_reads_back_identical(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('rt') / 'h.sqlite3'}"
    else:
        url = create_schema(request.getfixturevalue("postgres_admin_url"))
    verdict = FakeWorker("rt", OLD).attest()
    error = FakeWorker("rt", OLD).attest(policy=approve(NEW))
    with Recorder(url, source="rt") as rec:

        @settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
        @given(worker=_names, at=_times, which=st.sampled_from(["verdict", "error", "failure"]))
        def roundtrip(worker: str | None, at: datetime, which: str) -> None:
            result = {"verdict": verdict, "error": error, "failure": VerificationError("x", code="quote_format")}[which]
            expected = Outcome.of(result, worker=worker, source="rt", at=at)
            row_id = rec.record(result, worker=worker, at=at)
            with rec._engine.connect() as conn:  # read the one row back, by id
                got = conn.execute(sa.select(ATTESTATIONS).where(ATTESTATIONS.c.id == row_id)).mappings().one()
            assert Outcome.from_row(got) == expected

        roundtrip()


def test_forge_now_is_what_the_fakes_use() -> None:
    assert float(FORGE.now) == NOW


def test_buffer_commits_in_groups(db_url: str) -> None:
    ticks = iter(float(t) for t in range(1000))
    result = FakeWorker("buf", OLD).attest()
    with Recorder(db_url) as rec:
        with OutcomeBuffer(rec.record_many, size=3, max_delay=100.0, clock=lambda: next(ticks)) as buf:
            for i in range(7):
                buf.add(Outcome.of(result, worker=f"b{i}", at=T0))
                assert buf.committed == 3 * ((i + 1) // 3)
            assert buf.pending == 1 and len(_rows(db_url)) == 6
        assert buf.committed == 7 and len(_rows(db_url)) == 7  # leaving the block commits the rest


def test_buffer_commits_old_outcomes_and_on_error(tmp_path: Path) -> None:
    now = [0.0]
    result = FakeWorker("buf", OLD).attest()
    url = tmp_path / "h.sqlite3"
    with Recorder(url) as rec:
        assert rec.buffered().size == 100
        buf = OutcomeBuffer(rec.record_many, size=100, max_delay=2.0, clock=lambda: now[0])
        buf.add(Outcome.of(result, worker="slow-1", at=T0))
        now[0] = 2.5
        buf.add(Outcome.of(result, worker="slow-2", at=T0))  # the first waited long enough: both go
        assert buf.committed == 2
        with pytest.raises(KeyboardInterrupt), buf:
            buf.add(Outcome.of(result, worker="interrupted", at=T0))
            raise KeyboardInterrupt
        with pytest.raises(ValueError):
            rec.buffered(size=0)
    assert [r.worker for r in _rows(str(url))] == ["slow-1", "slow-2", "interrupted"]
