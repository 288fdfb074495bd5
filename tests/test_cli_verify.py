"""The CLI's main job: `tdxverify QUOTE COLLATERAL`, exit codes 0/1/2, JSON and human output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tdxverify.cli import main

from .vectors import Vector, verifiable_vectors

BY = {v.name: v for v in verifiable_vectors()}
NEAR = BY["tdx-v4-near-contract"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("vec", list(BY.values()), ids=lambda v: v.name)
def test_json_verdict_per_vector(vec: Vector, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(vec.quote_path), str(vec.collateral_path), "--now", str(vec.now), "--json"], capsys)
    doc = json.loads(out)
    expected = vec.expected["verdict"]
    assert doc["ok"] is expected["ok"]
    assert code == (0 if expected["ok"] else 1)
    if expected["ok"]:
        assert doc["status"] == expected["status"]
        assert sorted(doc["advisory_ids"]) == sorted(expected["advisory_ids"])
        assert doc["error"] is None
        assert doc["fmspc"] == vec.expected["parsed"]["fmspc"]
    else:
        assert doc["error"]["code"] == "tcb_level_not_found"
        assert doc["measurements"] is None  # nothing measured is shown for an unverified quote
        assert doc["status"] is None


def test_human_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", "2025-09-17T07:22:55Z"], capsys)
    assert code == 0
    assert out.startswith("VERIFIED: TDX quote v4, TCB status UpToDate")
    for field in ("mr_td", "rtmr0", "rtmr3", "report_data"):
        assert NEAR.expected["parsed"][field] in out
    assert "valid until 2025-10-02 07:03:51Z" in out


def test_not_up_to_date_is_said_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    sgx = BY["sgx-v3-phala"]
    code, out, _ = run([str(sgx.quote_path), str(sgx.collateral_path), "--now", str(sgx.now)], capsys)
    assert code == 0
    assert "WARNING: the TCB is not UpToDate (ConfigurationAndSWHardeningNeeded)" in out
    assert "INTEL-SA-00289, INTEL-SA-00615" in out


def test_expired_collateral(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", "2026-01-01T00:00:00Z"], capsys)
    assert code == 1
    assert out.startswith("NOT VERIFIED: [")
    assert "expired at 2025-10-02T07:03:51Z" in out and "fetch-collateral" in out


def test_policy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"measurements": {"rtmr3": [NEAR.expected["parsed"]["rtmr3"]]}}))
    base = [str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"]
    code, out, _ = run([*base, "--policy", str(good)], capsys)
    assert code == 0
    assert json.loads(out)["policy"]["ok"] is True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"measurements": {"rtmr3": ["00" * 48]}}))
    code, out, _ = run([*base, "--policy", str(bad)], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert doc["error"]["code"] == "policy_violation"
    # The quote verified, so what it measured is shown next to the failed rule.
    assert doc["measurements"]["rtmr3"] == NEAR.expected["parsed"]["rtmr3"]
    assert [c["ok"] for c in doc["policy"]["checks"]] == [True, False]
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"measurement": {}}))
    code, out, _ = run([*base, "--policy", str(typo)], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "policy_invalid"


def test_bad_inputs_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "c.json"
    garbage.write_text("{not json")
    code, out, _ = run([str(NEAR.quote_path), str(garbage), "--now", str(NEAR.now), "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "collateral_format"
    q = tmp_path / "q.hex"
    q.write_text("zz!!")
    code, out, _ = run([str(q), str(NEAR.collateral_path), "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "input_invalid"
    root = tmp_path / "root.der"
    root.write_bytes(b"not a certificate")
    code, out, _ = run([str(NEAR.quote_path), str(NEAR.collateral_path), "--root-ca", str(root), "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "root_ca_invalid"


@pytest.mark.parametrize(
    "args",
    [
        ["only-one-arg"],
        ["q", "c", "--bogus"],
        ["MISSING_Q", "MISSING_C"],
        ["QUOTE", "COLLATERAL", "--now", "next tuesday"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        str(NEAR.quote_path) if a == "QUOTE" else str(NEAR.collateral_path) if a == "COLLATERAL" else a for a in args
    ]
    code, _, err = run(args, capsys)
    assert code == 2
    assert "usage" in err


def test_console_script_never_tracebacks(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x04\x00\x02\x00\x81" + b"\xff" * 3000)
    late = ["--now", "2030-01-01T00:00:00Z"]
    for args in ([str(bad), str(NEAR.collateral_path)], [str(NEAR.quote_path), str(NEAR.collateral_path), *late]):
        result = subprocess.run([sys.executable, "-m", "tdxverify", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        assert "NOT VERIFIED" in result.stdout
