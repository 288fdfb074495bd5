"""The real tdx-v4-near-contract vector through the simulated register contract, with Intel's pinned root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdxverify.near import Chain, NearCli, PublicKey
from tdxverify.near.deployment import Deployment, deploy_register_contract

from .vectors import VECTORS_DIR

VECTOR = VECTORS_DIR / "tdx-v4-near-contract"


def _deployment_at(now: int) -> tuple[NearCli, Deployment]:
    chain = Chain()  # no root_ca in extra: the contract verifies against the pinned Intel SGX Root CA
    chain.set_time(now)
    cli = NearCli(chain)
    return cli, deploy_register_contract(cli)


def test_real_quote_registers_inside_its_window_and_not_after_expiry() -> None:
    expected = json.loads((VECTOR / "expected.json").read_text())
    parsed = expected["parsed"]
    quote = bytes.fromhex((VECTOR / "quote.hex").read_text().strip())
    collateral_text = (VECTOR / "collateral.json").read_text()
    key = PublicKey(bytes.fromhex(parsed["report_data"])[:32])  # the key this quote binds
    assert "root_ca" not in Chain().extra

    cli, d = _deployment_at(expected["now"])
    # deployment took a few blocks (one second each): still well inside the collateral window
    assert expected["now"] <= cli.chain.now < expected["collateral_valid_until"] - 3600
    assert d.update_collateral(collateral_text).ok  # the real collateral, as its JSON text
    assert d.view("get_collateral") == collateral_text
    assert d.approve_rtmr3(parsed["rtmr3"]).ok
    out = cli.call(
        d.registrar_id,
        d.contract_id,
        "register_worker_key",
        {"public_key": str(key), "tdx_quote_hex": quote.hex()},
        gas=300 * 10**12,
    )
    assert out.ok, out.failure
    assert any(f"rtmr3={parsed['rtmr3']}" in line for line in out.logs)
    assert any(f"mrtd={parsed['mr_td']}" in line for line in out.logs)
    assert cli.chain.access_key(d.operator_id, key) is not None
    assert [k.public_key for k in cli.view_access_keys(d.operator_id) if not k.is_full_access] == [key]

    # the same quote one day after its collateral expired: rejected, naming what expired
    late = expected["collateral_valid_until"] + 86400
    cli2, d2 = _deployment_at(late)
    assert d2.update_collateral(collateral_text).ok
    assert d2.approve_rtmr3(parsed["rtmr3"]).ok
    out2 = cli2.call(
        d2.registrar_id,
        d2.contract_id,
        "register_worker_key",
        {"public_key": str(key), "tdx_quote_hex": quote.hex()},
        gas=300 * 10**12,
    )
    assert not out2.ok and out2.failure is not None
    assert out2.failure.kind == "ExecutionError"
    assert "TDX quote verification failed" in out2.failure.message
    assert "expired at" in out2.failure.message
    assert cli2.chain.access_key(d2.operator_id, key) is None


def test_real_quote_for_another_key_is_refused() -> None:
    expected = json.loads((VECTOR / "expected.json").read_text())
    quote = bytes.fromhex((VECTOR / "quote.hex").read_text().strip())
    cli, d = _deployment_at(expected["now"])
    d.update_collateral((VECTOR / "collateral.json").read_text()).raise_for_failure()
    d.approve_rtmr3(expected["parsed"]["rtmr3"]).raise_for_failure()
    other = PublicKey(b"\x01" * 32)
    out = cli.call(
        d.registrar_id,
        d.contract_id,
        "register_worker_key",
        {"public_key": str(other), "tdx_quote_hex": quote.hex()},
        gas=300 * 10**12,
    )
    assert not out.ok and out.failure is not None and "Public key mismatch" in out.failure.message


def test_monitoring_the_stored_collateral(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The guide's freshness check, done right: the view returns a string; `fromjson | .tcb_info | fromjson`."""
    from tdxverify.cli import main

    expected = json.loads((VECTOR / "expected.json").read_text())
    text = (VECTOR / "collateral.json").read_text()
    cli, d = _deployment_at(expected["now"])
    d.update_collateral(text).raise_for_failure()
    stored = d.view("get_collateral")
    # `near view ... get_collateral | jq -r '.tcbInfo.issueDate'`: jq cannot index a string -> nothing useful
    assert isinstance(stored, str)
    # `... | jq -r 'fromjson | .tcb_info | fromjson | .issueDate'`
    issue_date = json.loads(json.loads(stored)["tcb_info"])["issueDate"]
    assert issue_date.startswith("20")
    # `... | jq -r . > collateral.json && tdxverify collateral collateral.json`: exit 0 while fresh, 1 after
    path = tmp_path / "collateral.json"
    path.write_text(stored)
    assert main(["collateral", str(path), "--now", str(cli.chain.now), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert main(["collateral", str(path), "--now", str(expected["collateral_valid_until"] + 86400)]) == 1
