"""``tdxverify verify --record`` and ``tdxverify history ...``: exit codes, human and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tdxverify.cli import main
from tdxverify.history import ENV_VAR, History, Recorder, Window

from ..vectors import verifiable_vectors
from .fakes import NEW, OLD, FakeWorker, approve

NEAR = {v.name: v for v in verifiable_vectors()}["tdx-v4-near-contract"]
NEAR_NOW = "2025-09-17T07:22:55Z"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def everything(url: str) -> list[object]:
    with History(url) as h:
        return list(
            h.outcomes(
                Window(start=datetime(2000, 1, 1, tzinfo=timezone.utc), end=datetime(2100, 1, 1, tzinfo=timezone.utc))
            )
        )


@pytest.fixture
def fleet(db_url: str) -> str:
    """w1, w2 on OLD; w3 on NEW; w2 later fails to verify."""
    with Recorder(db_url, source="test") as rec:
        rec.record(FakeWorker("w1", OLD).attest(approve(OLD)), worker="w1", at=T0)
        rec.record(FakeWorker("w2", OLD).attest(approve(OLD)), worker="w2", at=T0 + timedelta(minutes=10))
        rec.record(FakeWorker("w3", NEW).attest(approve(OLD, NEW)), worker="w3", at=T0 + timedelta(minutes=40))
        rec.record(
            FakeWorker("w2", OLD).attest(corrupt="qe_report_signature"), worker="w2", at=T0 + timedelta(minutes=50)
        )
    return db_url


NOW = ["--now", (T0 + timedelta(minutes=55)).isoformat()]


def test_verify_record_real_vector(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    q, c = str(NEAR.quote_path), str(NEAR.collateral_path)
    code, out, _ = run([q, c, "--now", NEAR_NOW, "--record", db_url, "--worker", "near-1", "--json"], capsys)
    assert code == 0 and json.loads(out)["ok"] is True  # the JSON output is unchanged by recording
    code, _, _ = run([q, c, "--now", "2030-01-01T00:00:00Z", "--record", db_url, "--worker", "near-1"], capsys)
    assert code == 1  # expired collateral: the failure is recorded too
    ok, failed = everything(db_url)
    assert ok.ok and ok.worker == "near-1" and ok.source == "verify"
    assert ok.rtmr3 == NEAR.expected["parsed"]["rtmr3"]
    assert ok.mr_td == NEAR.expected["parsed"]["mr_td"]
    assert ok.attested_at == datetime(2025, 9, 17, 7, 22, 55, tzinfo=timezone.utc)
    assert ok.quote_sha256 is not None and len(ok.quote_sha256) == 64
    assert not failed.ok and failed.error_code and failed.rtmr3 is None
    assert failed.tee_type == "TDX"
    code, out, _ = run(["history", "worker", "near-1", "--db", db_url, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["last_seen_rtmr3"] == NEAR.expected["parsed"]["rtmr3"] and doc["ok"] is False


def test_verify_unparseable_quote_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "q.hex"
    bad.write_text("00" * 10)
    db = str(tmp_path / "h.sqlite3")
    code, _, _ = run([str(bad), str(NEAR.collateral_path), "--record", db, "--worker", "broken"], capsys)
    assert code == 1
    (row,) = everything(db)
    assert row.error_code == "quote_format" and row.tee_type is None


def test_verify_record_default_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    code, _, _ = run([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", NEAR_NOW, "--record"], capsys)
    assert code == 0
    assert (tmp_path / "tdxverify" / "history.sqlite3").is_file()
    # ... and the readers' default is the same file.
    code, out, _ = run(["history", "summary", "--now", NEAR_NOW, "--json"], capsys)
    assert code == 0 and json.loads(out)["attestations"] == 1


def test_verify_record_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q, c = str(NEAR.quote_path), str(NEAR.collateral_path)
    code, _, err = run([q, c, "--now", NEAR_NOW, "--worker", "w"], capsys)
    assert code == 2 and "--worker NAME only makes sense with --record" in err
    code, _, err = run([q, c, "--now", NEAR_NOW, "--record", "mysql://x/y"], capsys)
    assert code == 2 and "history_url_invalid" in err
    blocker = tmp_path / "f"
    blocker.write_text("x")
    code, _, err = run([q, c, "--now", NEAR_NOW, "--record", str(blocker / "h.db")], capsys)
    assert code == 2 and "could not record the outcome" in err and "Traceback" not in err
    code, _, err = run([q, c, "--now", NEAR_NOW, "--record", str(tmp_path / "h.db"), "--worker", ""], capsys)
    assert code == 2 and "input_invalid" in err


def test_history_rtmr3(fleet: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history", "rtmr3", "--since", "1h", "--db", fleet, *NOW, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["since"] == "1h"
    assert [(r["rtmr3"], r["workers"]) for r in doc["rtmr3"]] == [(NEW.hex(), 1), (OLD.hex(), 2)]
    assert doc["window"] == {"start": "2026-12-01T11:55:00Z", "end": "2026-12-01T12:55:00Z"}
    code, out, _ = run(["history", "rtmr3", "--since", "20m", "--db", fleet, *NOW], capsys)
    assert code == 0 and "RTMR3 values attested (last 20m" in out and NEW.hex() in out and OLD.hex() not in out
    code, out, _ = run(["history", "rtmr3", "--since", "1m", "--db", fleet, *NOW], capsys)
    assert code == 0 and "none: no verified attestation in the window" in out


def test_history_workers_gate(fleet: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["history", "workers", "--rtmr3", OLD.hex(), "--since", "1d", "--db", fleet, *NOW, "--json"], capsys
    )
    doc = json.loads(out)
    assert code == 1 and doc["count"] == 2 and [w["worker"] for w in doc["workers"]] == ["w2", "w1"]
    code, out, _ = run(["history", "workers", "--rtmr3", "0x" + OLD.hex().upper(), "--db", fleet, *NOW], capsys)
    assert code == 1 and "2 worker(s) still on RTMR3" in out and "NOT safe to remove" in out and "w1" in out
    later = ["--now", (T0 + timedelta(days=2)).isoformat()]
    code, out, _ = run(["history", "workers", "--rtmr3", OLD.hex(), "--since", "1d", "--db", fleet, *later], capsys)
    assert code == 0 and "0 worker(s)" in out and "safe to remove" in out


def test_history_summary(fleet: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history", "summary", "--since", "24h", "--db", fleet, *NOW, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0
    assert (doc["registered_workers"], doc["attestations"], doc["ok"], doc["failed"]) == (3, 4, 3, 1)
    assert doc["failures_by_code"] == {"qe_report_signature_invalid": 1}
    code, out, _ = run(["history", "summary", "--db", fleet, *NOW], capsys)
    assert code == 0 and "registered workers  3" in out and "qe_report_signature_invalid  1" in out


def test_history_worker(fleet: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history", "worker", "w2", "--db", fleet, *NOW], capsys)
    assert code == 0 and f"last seen RTMR3   {OLD.hex()} at 2026-12-01 12:10:00Z" in out
    assert "FAILED [qe_report_signature_invalid]" in out
    code, out, _ = run(["history", "worker", "w3", "--db", fleet, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["found"] and doc["ok"] and doc["tcb_status"] == "UpToDate"
    assert doc["last_seen_rtmr3"] == NEW.hex() and doc["last_attestation_at"] == "2026-12-01T12:40:00Z"
    code, out, _ = run(["history", "worker", "ghost", "--db", fleet, "--json"], capsys)
    assert code == 1 and json.loads(out)["found"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history"], "required"),
        (["history", "nope"], "invalid choice"),
        (["history", "workers"], "--rtmr3"),
        (["history", "workers", "--rtmr3", "abcd"], "not an RTMR3"),
        (["history", "rtmr3", "--since", "1 hour"], "not a duration"),
        (["history", "rtmr3", "--since", "0h"], "zero"),
        (["history", "rtmr3", "--since", "99999999999d"], "--since"),
        (["history", "rtmr3", "--now", "yesterday"], "--now"),
    ],
)
def test_history_usage_errors(args: list[str], message: str, fleet: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*args, "--db", fleet] if len(args) > 1 else args, capsys)
    assert code == 2 and message in err


def test_history_database_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["history", "workers", "--rtmr3", OLD.hex(), "--db", str(tmp_path / "none.db")], capsys)
    # The gate never says "0 workers" about a database that is not there.
    assert code == 2 and out == "" and "history_missing" in err
    assert not (tmp_path / "none.db").exists()
    code, _, err = run(["history", "summary", "--db", "oracle://x"], capsys)
    assert code == 2 and "history_url_invalid" in err


def test_history_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "h.db")
    code, out, _ = run(["history", "init", "--db", db], capsys)
    assert code == 0 and "schema version 1 ready" in out
    code, out, _ = run(["history", "summary", "--db", db, "--json"], capsys)
    assert code == 0 and json.loads(out)["attestations"] == 0


def test_gate_exit_code_from_a_real_process(fleet: str) -> None:
    args = [sys.executable, "-m", "tdxverify", "history", "workers", "--rtmr3", OLD.hex(), "--db", fleet, *NOW]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "w1" in done.stdout and done.stderr == ""
