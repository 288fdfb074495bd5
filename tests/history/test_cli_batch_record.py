"""``tdxverify batch --record``: every item's outcome in the history, its id as the worker (both databases)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tdxverify.cli import main
from tdxverify.history import History, Window

from .fakes import COLLATERAL, FORGE, NEW, NOW, OLD

AT = datetime.fromtimestamp(NOW, timezone.utc)


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    quotes = tmp_path / "quotes"
    quotes.mkdir()
    for i in range(4):
        (quotes / f"old-{i}.bin").write_bytes(FORGE.quote(rtmr3=OLD, report_data=bytes([i]) * 64))
    (quotes / "new-0.bin").write_bytes(FORGE.quote(rtmr3=NEW))
    (quotes / "forged.bin").write_bytes(FORGE.quote(rtmr3=OLD, corrupt="quote_signature"))
    (quotes / "junk.hex").write_text("00" * 20)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"accepted_statuses": ["UpToDate"], "measurements": {"rtmr3": [OLD.hex()]}}))
    collateral = tmp_path / "collateral.json"
    collateral.write_text(json.dumps(COLLATERAL))
    root = tmp_path / "root.der"
    root.write_bytes(FORGE.root_ca_der)
    return {"quotes": quotes, "collateral": collateral, "policy": policy, "root": root}


def _batch(inputs: dict[str, Path], *extra: str) -> list[str]:
    return [
        "batch",
        str(inputs["quotes"]),
        str(inputs["collateral"]),
        "--root-ca",
        str(inputs["root"]),
        "--now",
        str(NOW),
        "--policy",
        str(inputs["policy"]),
        "--jobs",
        "1",
        "--no-progress",
        *extra,
    ]


def test_batch_records_every_outcome(inputs: dict[str, Path], db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(_batch(inputs, "--record", db_url))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(lines) == 7  # the output is what it is without --record
    with History(db_url) as h:
        rows = {o.worker: o for o in h.outcomes(Window(start=AT - timedelta(days=1), end=AT + timedelta(days=1)))}
    assert set(rows) == {"old-0.bin", "old-1.bin", "old-2.bin", "old-3.bin", "new-0.bin", "forged.bin", "junk.hex"}
    assert all(o.source == "batch" and o.attested_at == AT for o in rows.values())
    assert all(rows[f"old-{i}.bin"].ok and rows[f"old-{i}.bin"].rtmr3 == OLD.hex() for i in range(4))
    assert rows["old-2.bin"].report_data == (bytes([2]) * 64).hex()
    new = rows["new-0.bin"]  # verified, rejected by the policy: measurements kept
    assert not new.ok and new.error_code == "policy_violation" and new.rtmr3 == NEW.hex()
    forged = rows["forged.bin"]  # the chain failed: no measurements, but the quote's kind
    assert (forged.ok, forged.error_code, forged.rtmr3, forged.tee_type, forged.quote_version) == (
        False,
        "quote_signature_invalid",
        None,
        "TDX",
        4,
    )
    assert rows["junk.hex"].error_code == "quote_format" and rows["junk.hex"].tee_type is None
    code = main(["history", "workers", "--rtmr3", OLD.hex(), "--db", db_url, "--now", str(NOW), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["count"] == 4


def test_batch_bad_record_url_stops_before_verifying(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_batch(inputs, "--record", "mysql://db/x"))
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "history_url_invalid" in err


def test_batch_without_record_writes_nothing(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("TDXVERIFY_HISTORY_URL", raising=False)
    assert main(_batch(inputs)) == 1
    assert not (tmp_path / "state").exists()
    assert main(_batch(inputs, "--record")) == 1  # the default database
    assert (tmp_path / "state" / "tdxverify" / "history.sqlite3").is_file()
