"""`tdxverify collateral` (freshness report) and `tdxverify fetch-collateral` (from a local PCS-shaped server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tdxverify.cli import main
from tdxverify.collateral import load_collateral
from tdxverify.testing.pcs import PROXY_VARS
from tdxverify.testing.pki import build_pki

from .test_pccs import NEAR, VECTORS, PcsServer, Route, serve_vector
from .vectors import Vector

ROOT_DER = Path(__file__).resolve().parent.parent / "vectors" / "intel-sgx-root-ca.der"


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def pcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[PcsServer]:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    s = PcsServer()
    yield s
    s.close()


# --------------------------------------------------------------------------- tdxverify collateral


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_collateral_fresh(vec: Vector, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(vec.collateral_path)
    assert main(["collateral", path, "--now", str(vec.now)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FRESH:")
    assert f"FMSPC {vec.expected['parsed']['fmspc']}" in out
    assert main(["collateral", path, "--now", str(vec.now), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["authenticated"] is True and report["error"] is None
    assert report["tee_type"] == vec.expected["parsed"]["tee_type"]
    assert report["tcb_info"]["fmspc"] == vec.expected["parsed"]["fmspc"]
    assert report["expires_at"] == _iso(vec.expected["collateral_valid_until"])
    assert report["valid_from"] == _iso(vec.expected["collateral_valid_from"])
    assert isinstance(report["tcb_evaluation_data_number"], int)
    assert report["root_ca"]["pinned"] is True
    labels = [w["label"] for w in report["windows"]]
    assert any("TCB info" in lb for lb in labels) and any("QE identity" in lb for lb in labels)


def test_collateral_expired_and_not_yet_valid(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(NEAR.collateral_path)
    until, start = NEAR.expected["collateral_valid_until"], NEAR.expected["collateral_valid_from"]
    assert main(["collateral", path, "--now", str(until + 1)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("NOT FRESH: [")
    assert "EXPIRED" in out and "tdxverify fetch-collateral" in out
    assert main(["collateral", path, "--now", _iso(until + 1), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["fresh"] is False and report["authenticated"] is True
    assert report["error"]["code"] in {"crl_expired", "collateral_expired"}
    assert report["seconds_until_expiry"] < 0
    assert main(["collateral", path, "--now", str(start - 1), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["error"]["code"] in {"collateral_not_yet_valid", "crl_not_yet_valid"}
    assert main(["collateral", path, "--now", str(start - 1)]) == 1
    assert "NOT YET VALID" in capsys.readouterr().out


def test_collateral_forged_or_malformed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**(NEAR.collateral or {}), "qe_identity_signature": "11" * 64}))
    assert main(["collateral", str(forged), "--now", str(NEAR.now)]) == 1
    assert capsys.readouterr().out.startswith("NOT AUTHENTIC: [qe_identity_signature_invalid]")
    assert main(["collateral", str(forged), "--now", str(NEAR.now), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["authenticated"] is False and report["error"]["code"] == "qe_identity_signature_invalid"

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert main(["collateral", str(garbage), "--now", str(NEAR.now)]) == 1
    assert "NOT USABLE: [collateral_format]" in capsys.readouterr().out
    assert main(["collateral", str(garbage), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["error"]["code"] == "collateral_format"


def test_collateral_root_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(NEAR.collateral_path)
    assert main(["collateral", path, "--now", str(NEAR.now), "--root-ca", str(ROOT_DER), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["root_ca"]["pinned"] is True
    other = tmp_path / "other-root.der"
    other.write_bytes(build_pki().root_der)
    assert main(["collateral", path, "--now", str(NEAR.now), "--root-ca", str(other), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["error"]["code"] == "untrusted_root" and report["root_ca"]["pinned"] is False
    bad = tmp_path / "bad-root.der"
    bad.write_bytes(b"not a certificate")
    assert main(["collateral", path, "--root-ca", str(bad)]) == 1
    assert "[root_ca_invalid]" in capsys.readouterr().out


def test_collateral_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    data = (NEAR.collateral_path or Path()).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["collateral", "-", "--now", str(NEAR.now)]) == 0
    assert capsys.readouterr().out.startswith("FRESH:")


def test_collateral_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(NEAR.collateral_path)
    assert main(["collateral", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["collateral", path, "--now", "yesterday"]) == 2
    assert main(["collateral", path, "--no-such-flag"]) == 2
    assert main(["collateral"]) == 2
    assert main(["collateral", path, "--root-ca", str(tmp_path / "missing.der")]) == 2


# --------------------------------------------------------------------------- tdxverify fetch-collateral


def test_fetch_collateral_writes_and_verifies(
    pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_vector(pcs, NEAR)
    quote, out = str(NEAR.quote_path), tmp_path / "collateral.json"
    args = ["fetch-collateral", quote, "--pccs-url", pcs.url, "-o", str(out), "--now", str(NEAR.now)]
    assert main([*args, "--format", "pcs-bundle"]) == 0
    err = capsys.readouterr().err
    assert "FMSPC 20A06F000000" in err and "PCK platform CA" in err and f"PCCS {pcs.url}" in err
    assert "tcbEvaluationDataNumber 17" in err and _iso(NEAR.expected["collateral_valid_until"]) in err
    assert str(out) in err
    doc = json.loads(out.read_text())
    assert doc["source"]["fmspc"] == "20A06F000000" and doc["source"]["service"] == "PCCS"
    assert load_collateral(out).format == "pcs-bundle"
    # The written file verifies the quote, and reports fresh.
    assert main([quote, str(out), "--now", str(NEAR.now), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "UpToDate"
    assert main(["collateral", str(out), "--now", str(NEAR.now)]) == 0
    assert "format           pcs-bundle" in capsys.readouterr().out


def test_fetch_collateral_to_stdout(pcs: PcsServer, capsys: pytest.CaptureFixture[str]) -> None:
    sgx = next(v for v in VECTORS if v.name == "sgx-v3-phala")
    serve_vector(pcs, sgx)
    args = ["fetch-collateral", str(sgx.quote_path), "--pccs-url", pcs.url, "--now", str(sgx.now)]
    assert main([*args, "--update", "early"]) == 0
    captured = capsys.readouterr()
    assert load_collateral(captured.out).tcb_info.id == "SGX"
    assert "-> stdout" in captured.err
    assert pcs.requests[0].endswith("&update=early")


def test_fetch_collateral_http_failure(pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_vector(pcs, NEAR)
    pcs.routes["/tdx/certification/v4/tcb"] = Route(404)
    out = tmp_path / "collateral.json"
    rc = main(["fetch-collateral", str(NEAR.quote_path), "--pccs-url", pcs.url, "-o", str(out), "--now", str(NEAR.now)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "[collateral_fetch_failed]" in err and "HTTP 404" in err and f"{pcs.url}/tdx/certification/v4/tcb" in err
    assert not out.exists()


def test_fetch_collateral_timeout(pcs: PcsServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve_vector(pcs, NEAR)
    pcs.routes["/tdx/certification/v4/qe/identity"].delay = 10
    assert main(["fetch-collateral", str(NEAR.quote_path), "--pccs-url", pcs.url, "--timeout", "0.3"]) == 1
    err = capsys.readouterr().err
    assert "[collateral_fetch_failed]" in err and "no answer within 0.3 s" in err


@pytest.mark.parametrize("when", ["expired", "forged"])
def test_fetch_collateral_never_writes_unusable_collateral(
    pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], when: str
) -> None:
    serve_vector(pcs, NEAR)
    now = NEAR.now
    if when == "expired":
        # e.g. a PCCS serving a stale cache: genuine, but out of date at T.
        now = NEAR.expected["collateral_valid_until"] + 1
        codes = {"crl_expired", "collateral_expired"}
    else:
        route = pcs.routes["/tdx/certification/v4/tcb"]
        route.body = route.body.replace(b'"tcbEvaluationDataNumber":17', b'"tcbEvaluationDataNumber":18', 1)
        codes = {"tcb_info_signature_invalid"}
    out = tmp_path / "collateral.json"
    out.write_text("previous collateral")
    rc = main(["fetch-collateral", str(NEAR.quote_path), "--pccs-url", pcs.url, "-o", str(out), "--now", str(now)])
    assert rc == 1
    err = capsys.readouterr().err
    assert any(f"[{c}]" in err for c in codes), err
    assert "Nothing was written" in err
    assert out.read_text() == "previous collateral"


def test_fetch_collateral_errors(pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_vector(pcs, NEAR)
    quote = str(NEAR.quote_path)
    for args in (
        ["--pccs-url", "ftp://pccs.example"],
        ["--pccs-url", pcs.url + "/sgx/certification/v3"],
        ["--timeout", "0"],
        ["--timeout", "soon"],
        ["--update", "later"],
        ["--tls-ca", str(tmp_path / "missing.pem")],
        ["--pccs-url", pcs.url, "-o", str(tmp_path / "no-such-dir" / "c.json"), "--now", str(NEAR.now)],
        ["--no-such-flag"],
    ):
        assert main(["fetch-collateral", quote, *args]) == 2, args
    assert main(["fetch-collateral", str(tmp_path / "missing.bin")]) == 2
    assert main(["fetch-collateral"]) == 2
    capsys.readouterr()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x04\x00" + b"\x00" * 30)
    assert main(["fetch-collateral", str(bad), "--pccs-url", pcs.url]) == 1
    assert "[quote_format]" in capsys.readouterr().err
    assert pcs.requests == []  # usage errors are found before any request
    # -o naming a directory: fetched and checked, then the write fails: a usage error.
    assert main(["fetch-collateral", quote, "--pccs-url", pcs.url, "-o", str(tmp_path), "--now", str(NEAR.now)]) == 2
    assert "cannot write the collateral" in capsys.readouterr().err
    assert tmp_path.is_dir()
