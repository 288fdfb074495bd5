"""The register contract, step by step through the deployment and maintenance guide, on the simulated chain.

Each test is one procedure of the guide (or one failure it must survive),
driven through the near-CLI facade with the plugin's fixtures; where the
guide's command cannot work on NEAR the test runs it, shows the failure, and
runs the command that works (docs/contract-simulation.md lists them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tdxverify.near import (
    KEY_ALLOWANCE,
    FunctionCallPermission,
    KeyPair,
    Measurements,
    NearCli,
    NearExecutionError,
    PublicKey,
    SimulatedWorker,
    TransactionOutcome,
    near,
    tgas,
)
from tdxverify.near.accounts import Transfer
from tdxverify.near.deployment import Deployment, deploy_register_contract
from tdxverify.near.register import DEFAULT_METHOD_NAMES
from tdxverify.testing import Forge
from tdxverify.testing.collateral import DEFAULT_NOW

from .near_contracts import Recorder

NEW_IMAGE = Measurements(rtmr3=b"\x44" * 48)


def fails(out: TransactionOutcome, kind: str, *fragments: str) -> None:
    assert not out.ok, f"expected {kind}, got success"
    assert out.failure is not None
    assert out.failure.kind == kind, out.failure
    for fragment in fragments:
        assert fragment in out.failure.message, (fragment, out.failure.message)


def contract_snapshot(d: Deployment) -> tuple[str, list[str], int]:
    """Everything a failed registration must leave untouched: contract state, operator keys, storage."""
    keys = [str(k.public_key) for k in d.operator_keys()]
    return d.cli.chain.snapshot_state(d.contract_id), keys, d.cli.view_account(d.contract_id).storage_usage


# ---------------------------------------------------------------------------- Step 2: deploy


def test_step2_deploy_and_verify_deployment(near_deployment: Deployment) -> None:
    d = near_deployment
    assert d.deploy_outcome.ok
    # near view <contract> get_operator_account  -> the operator account (here: the contract's own)
    assert d.view("get_operator_account") == "operator.outlayer.near"
    assert d.view("get_init_worker_account") == "worker1.outlayer.near"
    assert d.view("get_approved_rtmr3") == [] and d.view("get_approved_measurements") == []
    assert d.view("get_collateral") is None and d.view("get_collaterals") == []
    acc = d.cli.view_account(d.contract_id)
    assert acc.has_contract and acc.code_size == 527_840
    assert acc.amount >= acc.storage_staked  # the code alone stakes ~5.3 NEAR
    assert acc.storage_staked > near(5)
    # deploying twice re-runs `new`: refused, nothing changes
    again = d.cli.call(d.contract_id, d.contract_id, "new", {"owner_id": "x.near", "init_worker_account": "y.near"})
    fails(again, "ExecutionError", "already been initialized")
    assert d.view("get_owner") == "outlayer.near"


def test_deploy_init_args_checked(near_cli: NearCli) -> None:
    near_cli.create_account("outlayer.near", initial_balance=near(50))
    near_cli.create_account("operator.outlayer.near", initial_balance=near(10))
    from tdxverify.near import RegisterContract

    out = near_cli.deploy("operator.outlayer.near", RegisterContract, init_args={"owner_id": "outlayer.near"})
    fails(out, "ExecutionError", "init_worker_account")
    # the failed init rolled the deploy back too: one receipt, one outcome
    assert not near_cli.view_account("operator.outlayer.near").has_contract


# ---------------------------------------------------------------------------- Steps 3-4: collateral


def test_step4_initial_collateral_guide_command_vs_working_command(
    near_deployment: Deployment, near_forge: Forge
) -> None:
    d = near_deployment
    collateral = near_forge.collateral()
    # the guide: near call ... update_collateral "$(cat collateral.json | jq -c)"  -> the object *is* the args
    guide = d.cli.call(d.owner_id, d.contract_id, "update_collateral", json.dumps(collateral), gas=tgas(300))
    fails(guide, "ExecutionError", "missing field `collateral`", "tojson")
    assert d.view("get_collateral") is None
    # what works: {"collateral": <the JSON as a string>, "index": 0}
    before = d.cli.view_account(d.contract_id).storage_usage
    out = d.update_collateral(collateral)
    assert out.ok, out.failure
    assert out.logs == ("Quote collateral updated at index 0 (total slots: 1)",)
    stored = d.view("get_collateral")
    assert isinstance(stored, str) and json.loads(stored) == collateral
    grown = d.cli.view_account(d.contract_id).storage_usage - before
    assert len(stored) < grown < len(stored) + 100  # the stored string plus its length prefix
    # the guide's monitoring query: `.tcbInfo.issueDate` is not there; `fromjson | .tcb_info | fromjson` is
    doc = json.loads(stored)
    assert "tcbInfo" not in doc
    assert json.loads(doc["tcb_info"])["issueDate"] == "2025-06-21T00:00:00Z"


def test_guide_interface_accepts_collateral_object(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    collateral = near_forge.collateral()
    out = d.owner_call("update_collateral", {"collateral": collateral})
    assert out.ok, out.failure
    assert json.loads(d.view("get_collateral")) == collateral


def test_collateral_slots_no_gaps_at_most_two(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    text = json.dumps(near_forge.collateral())
    fails(d.update_collateral(text, index=1), "ExecutionError", "Fill lower collateral indices first")
    fails(d.update_collateral(text, index=2), "ExecutionError", "index must be < 2")
    assert d.update_collateral(text, index=0).ok
    assert d.update_collateral(text, index=1).ok
    assert d.update_collateral(text, index=1).ok  # overwriting a slot is fine
    fails(d.update_collateral(text, index=2), "ExecutionError", "index must be < 2")
    assert d.view("get_collaterals") == [text, text]


def test_fmspc_selects_the_collateral_slot(near_deployment: Deployment, near_forge: Forge) -> None:
    from tdxverify.testing.pki import PkiSpec, SgxExtensionSpec

    d = near_deployment
    other = Forge(seed="tdxverify-near-plugin", pki=PkiSpec(sgx=SgxExtensionSpec(fmspc=bytes.fromhex("20A06F000000"))))
    assert other.root_ca_der == near_forge.root_ca_der
    m = Measurements()
    d.approve_measurements(m).raise_for_failure()
    # only the self-hosted platform's collateral: a Phala-FMSPC quote has no slot
    d.update_collateral(near_forge.collateral(), index=0).raise_for_failure()
    phala = d.worker(other, m)
    fails(phala.attempt(), "ExecutionError", "No cached collateral for quote FMSPC 20a06f000000", "update_collateral")
    # slot 1 for the other platform: both fleets register without deleting each other's collateral
    d.update_collateral(other.collateral(), index=1).raise_for_failure()
    assert phala.register().registered
    assert d.worker(near_forge, m).register().registered


def test_registration_needs_stored_collateral(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    d.approve_rtmr3(Measurements().rtmr3).raise_for_failure()
    out = d.worker(near_forge).attempt()
    fails(out, "ExecutionError", "no collateral stored", "update_collateral")


# ---------------------------------------------------------------------------- Step 6: approve, register


def test_step6_add_rtmr3_then_worker_registers_with_function_call_key(
    near_deployment: Deployment, near_forge: Forge
) -> None:
    d = near_deployment
    m = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    out = d.approve_rtmr3(m.rtmr3)
    assert out.ok and d.view("get_approved_rtmr3") == [m.rtmr3.hex()]
    worker = d.worker(near_forge, m)
    keys_before = len(d.operator_keys())
    result = worker.register()
    assert result.registered and result.attempts == 1 and not result.already_registered
    reg = result.last
    assert reg is not None and reg.ok
    assert 100 * 10**12 < reg.gas_burnt < 300 * 10**12  # quote verification dominates (the model: 150 Tgas)
    assert any("Measurements from TDX quote" in line and m.rtmr3.hex() in line for line in reg.logs)
    assert [r.actions for r in reg.receipts] == [("FunctionCall",), ("AddKey",)]
    # near view-access-keys operator.outlayer.near: the new key, FunctionCall to outlayer.near, 10 NEAR
    keys = d.operator_keys()
    assert len(keys) == keys_before + 1
    new = next(k for k in keys if k.public_key == worker.public_key)
    assert isinstance(new.permission, FunctionCallPermission)
    assert new.permission.receiver_id == "outlayer.near"
    assert new.permission.method_names == DEFAULT_METHOD_NAMES
    assert new.permission.allowance == KEY_ALLOWANCE == near(10)
    assert new.to_dict()["access_key"]["permission"]["FunctionCall"]["allowance"] == str(near(10))


def test_operator_key_can_do_exactly_what_it_is_for(near_ready: Deployment, near_worker: SimulatedWorker) -> None:
    d = near_ready
    assert near_worker.register().registered
    d.cli.deploy("outlayer.near", Recorder).raise_for_failure()
    out = near_worker.call_as_operator("resolve_execution", {"request_id": 1})
    assert out.ok, out.failure
    assert d.cli.view("outlayer.near", "get_calls") == [["operator.outlayer.near", str(near_worker.public_key)]]
    # gas came out of the key's allowance
    key = d.cli.chain.access_key("operator.outlayer.near", near_worker.public_key)
    assert key is not None and isinstance(key.permission, FunctionCallPermission)
    assert key.permission.allowance is not None and key.permission.allowance < near(10)
    fails(near_worker.call_as_operator("other_method"), "MethodNameMismatch", "resolve_execution")
    fails(near_worker.call_as_operator(receiver_id="register.outlayer.near"), "ReceiverMismatch", "outlayer.near")
    cli = d.cli
    with_deposit = cli.call(
        "operator.outlayer.near", "outlayer.near", "resolve_execution", {}, deposit=1, key=near_worker.key
    )
    fails(with_deposit, "DepositWithFunctionCall")
    send = cli.sign_and_send("operator.outlayer.near", "outlayer.near", [Transfer(1)], key=near_worker.key)
    fails(send, "RequiresFullAccess")


def test_worker_allowance_is_spent_by_burnt_gas_and_runs_out(
    near_ready: Deployment, near_worker: SimulatedWorker
) -> None:
    d = near_ready
    assert near_worker.register().registered
    d.cli.deploy("outlayer.near", Recorder).raise_for_failure()

    def allowance() -> int:
        key = d.cli.view_access_key("operator.outlayer.near", near_worker.public_key)
        assert key is not None and isinstance(key.permission, FunctionCallPermission)
        assert key.permission.allowance is not None
        return key.permission.allowance

    # each call reserves 300 Tgas x 1e8 = 0.03 NEAR (+ fees) of the allowance; the unused gas comes back
    before = allowance()
    out = near_worker.call_as_operator("resolve_execution", gas=tgas(300))
    assert out.ok and allowance() == before - out.tokens_burnt
    # a key whose allowance no longer covers the reservation is refused before execution
    chain = d.cli.chain
    key = chain.accounts["operator.outlayer.near"].keys[near_worker.public_key]
    assert isinstance(key.permission, FunctionCallPermission)
    low = FunctionCallPermission(key.permission.receiver_id, key.permission.method_names, near("0.02"))
    chain.accounts["operator.outlayer.near"].keys[near_worker.public_key] = type(key)(key.nonce, low)
    fails(near_worker.call_as_operator("resolve_execution", gas=tgas(300)), "NotEnoughAllowance", "allowance")
    assert near_worker.call_as_operator("resolve_execution", gas=tgas(100)).ok  # 0.01 NEAR reservation fits


def test_worker_checks_its_key_first(near_ready: Deployment, near_worker: SimulatedWorker) -> None:
    first = near_worker.register()
    assert first.registered and first.attempts == 1
    # restart with the same key file: nothing to do, no transaction sent
    height = near_ready.cli.chain.block_height
    restarted = near_ready.worker(near_worker.forge, near_worker.measurements, key=near_worker.key)
    again = restarted.register()
    assert again.registered and again.already_registered and again.attempts == 0
    assert near_ready.cli.chain.block_height == height


# ---------------------------------------------------------------------------- rolling update


def test_rolling_update_new_rtmr3_while_old_stays_approved(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    old = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    d.approve_rtmr3(old.rtmr3).raise_for_failure()
    old_worker = d.worker(near_forge, old)
    assert old_worker.register().registered
    # the new image's worker is not approved yet: the message shows what it measured
    new_worker = d.worker(near_forge, NEW_IMAGE)
    out = new_worker.attempt()
    fails(out, "ExecutionError", "Worker measurements not approved", f"RTMR3={NEW_IMAGE.rtmr3.hex()}", "MRTD=")
    # approve the new RTMR3 next to the old one
    d.approve_rtmr3(NEW_IMAGE.rtmr3).raise_for_failure()
    assert d.view("get_approved_rtmr3") == [old.rtmr3.hex(), NEW_IMAGE.rtmr3.hex()]
    assert new_worker.register().registered
    # old workers keep working (and a restarted old worker still registers)
    assert d.worker(near_forge, old).register().registered
    assert old_worker.is_registered()


def test_remove_old_rtmr3_then_old_image_fails(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    old = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    for m in (old, NEW_IMAGE):
        d.approve_rtmr3(m.rtmr3).raise_for_failure()
    old_worker = d.worker(near_forge, old)
    assert old_worker.register().registered
    out = d.owner_call("remove_approved_rtmr3", {"rtmr3": old.rtmr3.hex()})
    assert out.ok and d.view("get_approved_rtmr3") == [NEW_IMAGE.rtmr3.hex()]
    late = d.worker(near_forge, old, max_attempts=3, retry_interval=60)
    before = contract_snapshot(d)
    result = late.register()
    assert not result.registered and result.attempts == 3
    for o in result.outcomes:
        fails(o, "ExecutionError", "Worker measurements not approved", f"RTMR3={old.rtmr3.hex()}")
    assert contract_snapshot(d) == before
    # the old image's keys stay until the owner removes them
    assert old_worker.is_registered()
    ghost = KeyPair.from_seed(b"\x77" * 32).public_key
    rm = d.owner_call("remove_worker_keys", {"public_keys": [str(old_worker.public_key), str(ghost)]})
    assert rm.ok  # detached promises: the missing key fails alone
    assert [r.ok for r in rm.receipts] == [True, True, False]
    assert rm.receipts[2].failure is not None and rm.receipts[2].failure.kind == "DeleteKeyDoesNotExist"
    assert not old_worker.is_registered()
    assert d.worker(near_forge, NEW_IMAGE).register().registered


def test_measurement_sets_deployed_interface(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    a, b = Measurements(), NEW_IMAGE
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    assert d.approve_measurements(a).ok
    assert d.approve_measurements(a).ok  # duplicates are not stored twice
    assert d.view("get_approved_measurements") == [a.to_contract()]
    assert d.view("is_measurements_approved", {"measurements": a.to_contract()}) is True
    assert d.view("is_measurements_approved", {"measurements": b.to_contract()}) is False
    # a set approves only itself: same RTMR3 with another MRTD is not approved
    other_fw = Measurements(mr_td=b"\x99" * 48)
    fails(d.worker(near_forge, other_fw).attempt(), "ExecutionError", "MRTD=" + "99" * 48)
    assert d.approve_measurements(b, clear_others=True).ok
    assert d.view("get_approved_measurements") == [b.to_contract()]
    fails(d.worker(near_forge, a).attempt(), "ExecutionError", "Worker measurements not approved")
    assert d.worker(near_forge, b).register().registered
    bad = dict(a.to_contract(), rtmr1="ab")
    fails(d.owner_call("add_approved_measurements", {"measurements": bad}), "ExecutionError", "Invalid rtmr1 format")
    fails(d.owner_call("add_approved_rtmr3", {"rtmr3": "zz" * 48}), "ExecutionError", "Invalid rtmr3 format")
    assert d.owner_call("remove_approved_measurements", {"measurements": b.to_contract()}).ok
    assert d.view("get_approved_measurements") == []
    d.approve_measurements(a).raise_for_failure()
    assert d.owner_call("clear_all_approved_measurements", {}).ok
    assert d.view("get_approved_measurements") == []


def test_uppercase_approval_never_matches(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    m = Measurements(rtmr3=b"\xab" * 48)
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    out = d.owner_call("add_approved_rtmr3", {"rtmr3": m.rtmr3.hex().upper()})
    assert out.ok and any("lowercase" in line for line in out.logs)
    fails(d.worker(near_forge, m).attempt(), "ExecutionError", "Worker measurements not approved")


# ---------------------------------------------------------------------------- stale collateral


def test_stale_collateral_fails_until_refreshed_then_retry_succeeds(
    near_deployment: Deployment, near_forge: Forge
) -> None:
    d = near_deployment
    m = Measurements()
    stale = near_forge.collateral(
        tcb_info=near_forge.tcb_info(
            issue_date=DEFAULT_NOW - timedelta(days=40), next_update=DEFAULT_NOW - timedelta(days=1)
        )
    )
    d.update_collateral(stale).raise_for_failure()
    d.approve_rtmr3(m.rtmr3).raise_for_failure()
    worker = d.worker(near_forge, m, retry_interval=60, max_attempts=5)
    seen: list[int] = []

    def operator_on_call(attempt: int, out: TransactionOutcome) -> None:
        seen.append(attempt)
        fails(out, "ExecutionError", "TDX quote verification failed", "collateral_expired", "TCB info", "expired at")
        if attempt == 2:  # the on-call operator fetches fresh collateral and updates the contract
            d.update_collateral(near_forge.collateral()).raise_for_failure()

    before = contract_snapshot(d)
    result = worker.register(on_failure=operator_on_call)
    assert seen == [1, 2]
    assert result.registered and result.attempts == 3
    assert contract_snapshot(d) != before  # the refreshed collateral and the new key


def test_verification_uses_block_time(near_ready: Deployment, near_forge: Forge) -> None:
    d = near_ready
    worker = d.worker(near_forge, Measurements())
    quote = worker.quote()
    d.cli.chain.advance(25 * 86400)  # past the default collateral's nextUpdate (issue date + 30 days)
    fails(worker.attempt(quote), "ExecutionError", "TDX quote verification failed", "expired at")


# ---------------------------------------------------------------------------- who may call


MANAGEMENT_CALLS: list[tuple[str, Callable[[Measurements, str], dict[str, Any]]]] = [
    ("update_collateral", lambda m, c: {"collateral": c, "index": 0}),
    ("add_approved_rtmr3", lambda m, c: {"rtmr3": m.rtmr3.hex()}),
    ("remove_approved_rtmr3", lambda m, c: {"rtmr3": m.rtmr3.hex()}),
    ("add_approved_measurements", lambda m, c: {"measurements": m.to_contract()}),
    ("remove_approved_measurements", lambda m, c: {"measurements": m.to_contract()}),
    ("clear_all_approved_measurements", lambda m, c: {}),
    ("remove_worker_keys", lambda m, c: {"public_keys": []}),
    ("transfer_ownership", lambda m, c: {"new_owner": "mallory.near"}),
]


@pytest.mark.parametrize("method,make_args", MANAGEMENT_CALLS, ids=[m for m, _ in MANAGEMENT_CALLS])
def test_non_owner_management_calls_rejected(
    near_ready: Deployment, near_forge: Forge, method: str, make_args: Callable[[Measurements, str], dict[str, Any]]
) -> None:
    d = near_ready
    d.cli.create_account("mallory.near", initial_balance=near(10))
    before = contract_snapshot(d)
    args = make_args(Measurements(), json.dumps(near_forge.collateral()))
    for signer in ("mallory.near", d.registrar_id, d.contract_id):
        out = d.cli.call(signer, d.contract_id, method, args, gas=tgas(300))
        fails(out, "ExecutionError", "Only owner can call this method")
    assert contract_snapshot(d) == before


def test_only_the_registrar_may_register(near_ready: Deployment, near_forge: Forge) -> None:
    d = near_ready
    worker = d.worker(near_forge, Measurements(), signer_id=d.owner_id)
    fails(worker.attempt(), "ExecutionError", "Only worker1.outlayer.near can call register_worker_key")


def test_transfer_ownership(near_ready: Deployment) -> None:
    d = near_ready
    d.cli.create_account("ops.outlayer.near", master_account="outlayer.near", initial_balance=near(5))
    assert d.owner_call("transfer_ownership", {"new_owner": "ops.outlayer.near"}).ok
    assert d.view("get_owner") == "ops.outlayer.near"
    fails(d.owner_call("add_approved_rtmr3", {"rtmr3": "00" * 48}), "ExecutionError", "Only owner")
    assert d.cli.call("ops.outlayer.near", d.contract_id, "add_approved_rtmr3", {"rtmr3": "00" * 48}).ok


# ---------------------------------------------------------------------------- hostile quotes


def test_quote_binding_another_key(near_ready: Deployment, near_forge: Forge, near_worker: SimulatedWorker) -> None:
    d = near_ready
    attacker = KeyPair.from_seed(b"\x66" * 32)
    # a genuine quote whose report data binds the attacker's key, submitted for the worker's key
    quote = near_forge.quote(**Measurements().quote_fields(), report_data=attacker.public_key.data + bytes(32))
    before = contract_snapshot(d)
    out = near_worker.attempt(quote)
    fails(out, "ExecutionError", "Public key mismatch", f"report_data[0:32]={attacker.public_key.data.hex()}")
    assert contract_snapshot(d) == before
    # report_data[32:64] is not constrained: anything there still registers the right key
    q2 = near_forge.quote(**Measurements().quote_fields(), report_data=near_worker.public_key.data + b"\xee" * 32)
    assert near_worker.attempt(q2).ok and near_worker.is_registered()


def test_replayed_quote(near_ready: Deployment, near_forge: Forge, near_worker: SimulatedWorker) -> None:
    d = near_ready
    quote = near_worker.quote()
    assert near_worker.attempt(quote).ok
    # the same quote and key again: verification passes, the AddKey fails (the key exists), nothing changes
    before = contract_snapshot(d)
    again = near_worker.attempt(quote)
    fails(again, "AddKeyAlreadyExists", str(near_worker.public_key))
    assert contract_snapshot(d) == before
    # someone replays the observed quote with their own key: the binding does not match
    thief = d.worker(near_forge, Measurements(), key=KeyPair.from_seed(b"\x55" * 32))
    fails(thief.attempt(quote), "ExecutionError", "Public key mismatch")
    assert not thief.is_registered()
    # and once the collateral window has passed, the old quote is dead whatever key comes with it
    d.cli.chain.advance(30 * 86400)
    fails(near_worker.attempt(quote), "ExecutionError", "TDX quote verification failed", "expired")


def test_debug_td_rejected(near_ready: Deployment, near_forge: Forge) -> None:
    worker = near_ready.worker(
        near_forge, Measurements(), quote_overrides={"td_attributes": bytes.fromhex("0100001000000000")}
    )
    fails(worker.attempt(), "ExecutionError", "TDX quote verification failed", "[debug_td]", "debug mode")


def test_forged_signature_rejected(near_ready: Deployment, near_forge: Forge) -> None:
    worker = near_ready.worker(near_forge, Measurements(), quote_overrides={"corrupt": "quote_signature"})
    fails(worker.attempt(), "ExecutionError", "TDX quote verification failed", "[quote_signature_invalid]")


def test_bad_quote_hex_and_bad_key(near_ready: Deployment, near_worker: SimulatedWorker) -> None:
    d = near_ready
    base = {"public_key": str(near_worker.public_key)}
    out = d.cli.call(
        d.registrar_id, d.contract_id, "register_worker_key", {**base, "tdx_quote_hex": "zz"}, gas=tgas(300)
    )
    fails(out, "ExecutionError", "Invalid quote hex encoding", "invalid character 'z' at index 0")
    for text, why in ((near_worker.quote().hex()[:-1], "odd number"), ("0x" + near_worker.quote().hex(), "'x'")):
        args = {**base, "tdx_quote_hex": text}
        out = d.cli.call(d.registrar_id, d.contract_id, "register_worker_key", args, gas=tgas(300))
        fails(out, "ExecutionError", "Invalid quote hex encoding", why)
    spaced = " ".join(near_worker.quote().hex()[i : i + 2] for i in range(0, 20, 2))
    out = d.cli.call(
        d.registrar_id, d.contract_id, "register_worker_key", {**base, "tdx_quote_hex": spaced}, gas=tgas(300)
    )
    fails(out, "ExecutionError", "Invalid quote hex encoding", "' '")
    out = d.cli.call(
        d.registrar_id, d.contract_id, "register_worker_key", {**base, "tdx_quote_hex": "00" * 50}, gas=tgas(300)
    )
    fails(out, "ExecutionError", "Failed to parse TDX quote")
    bad_key = {"public_key": "ed25519:0OIl", "tdx_quote_hex": near_worker.quote().hex()}
    out = d.cli.call(d.registrar_id, d.contract_id, "register_worker_key", bad_key, gas=tgas(300))
    fails(out, "ExecutionError", "Failed to deserialize input from JSON", "invalid base58 character '0'")


@pytest.mark.parametrize(
    "status,advisories,message",
    [
        ("OutOfDate", ("INTEL-SA-00837",), "TDX TCB status not acceptable: OutOfDate"),
        ("SWHardeningNeeded", ("INTEL-SA-00615",), "TDX TCB status not acceptable: SWHardeningNeeded"),
        ("UpToDate", ("INTEL-SA-01036",), "outstanding security advisories: INTEL-SA-01036"),
    ],
)
def test_tcb_status_must_be_exactly_up_to_date_without_advisories(
    near_deployment: Deployment, near_forge: Forge, status: str, advisories: tuple[str, ...], message: str
) -> None:
    d = near_deployment
    m = Measurements()
    d.update_collateral(
        near_forge.collateral(tcb_info=near_forge.tcb_info().with_status(status, advisories))
    ).raise_for_failure()
    d.approve_measurements(m).raise_for_failure()
    worker = d.worker(near_forge, m, max_attempts=2)
    before = contract_snapshot(d)
    result = worker.register()
    assert not result.registered
    for o in result.outcomes:
        fails(o, "ExecutionError", "TDX quote verification failed", message)
    assert contract_snapshot(d) == before


# ---------------------------------------------------------------------------- gas and deposits


def test_gas_account_runs_dry_then_topped_up(near_cli: NearCli, near_forge: Forge) -> None:
    d = deploy_register_contract(near_cli, registrar_balance=near("0.05"))
    m = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    d.approve_measurements(m).raise_for_failure()
    # each registration burns ~0.0154 NEAR, but 300 Tgas x 1e8 = 0.03 NEAR (+ fees) must be reserved up front
    assert d.worker(near_forge, m).register().registered
    assert d.worker(near_forge, m).register().registered
    dry = near_cli.view_account(d.registrar_id).amount
    assert dry < near("0.031")
    worker = d.worker(near_forge, m, max_attempts=4)

    def top_up(attempt: int, out: TransactionOutcome) -> None:
        # the guide's "Out of gas": refused before execution
        fails(out, "NotEnoughBalance", "worker1.outlayer.near", "top up")
        assert out.failure is not None and out.failure.stage == "transaction"
        assert near_cli.view_account(d.registrar_id).amount == dry  # refused: nothing charged
        if attempt == 2:
            near_cli.send("outlayer.near", d.registrar_id, "5").raise_for_failure()  # near send ... 5

    result = worker.register(on_failure=top_up)
    assert result.registered and result.attempts == 3
    # charged only for the gas burnt (prepaid 300 Tgas reserved, unused refunded)
    spent = dry + near(5) - near_cli.view_account(d.registrar_id).amount
    last = result.last
    assert last is not None and spent == last.tokens_burnt


def test_worker_waits_for_approval(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    m = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    worker = d.worker(near_forge, m, retry_interval=60, max_attempts=10)
    t0 = d.cli.chain.now

    def owner_approves_late(poll: int) -> None:
        if poll == 3:
            d.approve_measurements(m).raise_for_failure()

    result = worker.register(wait_for_approval=True, on_wait=owner_approves_late)
    assert result.registered and result.waits == 3 and result.attempts == 1
    assert d.cli.chain.now >= t0 + 3 * 60
    never = d.worker(near_forge, NEW_IMAGE, max_attempts=2).register(wait_for_approval=True)
    assert not never.registered and never.waits == 2 and never.outcomes == ()


def test_register_with_default_cli_gas_exceeds_prepaid_gas(
    near_ready: Deployment, near_worker: SimulatedWorker
) -> None:
    d = near_ready
    args = {"public_key": str(near_worker.public_key), "tdx_quote_hex": near_worker.quote().hex()}
    balance = d.cli.view_account(d.registrar_id).amount
    out = d.cli.call(d.registrar_id, d.contract_id, "register_worker_key", args)  # near call without --gas: 30 Tgas
    fails(out, "GasExceeded", "Exceeded the prepaid gas")
    assert out.gas_burnt > tgas(30)  # all attached gas is burnt, plus the fees
    assert d.cli.view_account(d.registrar_id).amount == balance - out.tokens_burnt
    assert not near_worker.is_registered()
    over = d.cli.call(d.registrar_id, d.contract_id, "register_worker_key", args, gas=tgas(301))
    fails(over, "TotalPrepaidGasExceeded", "300 Tgas")


def test_guide_readme_deposit_is_rejected_and_refunded(near_ready: Deployment, near_worker: SimulatedWorker) -> None:
    d = near_ready
    args = {"public_key": str(near_worker.public_key), "tdx_quote_hex": near_worker.quote().hex()}
    balance = d.cli.view_account(d.registrar_id).amount
    out = d.cli.call(d.registrar_id, d.contract_id, "register_worker_key", args, gas=tgas(300), deposit="0.1")
    fails(out, "ExecutionError", "Method register_worker_key doesn't accept deposit")
    assert d.cli.view_account(d.registrar_id).amount == balance - out.tokens_burnt  # the 0.1 NEAR came back


# ---------------------------------------------------------------------------- storage staking


def test_contract_account_short_of_storage_for_collateral(near_cli: NearCli, near_forge: Forge) -> None:
    d = deploy_register_contract(near_cli, contract_balance=near("5.3"))
    acc = near_cli.view_account(d.contract_id)
    assert acc.amount >= acc.storage_staked  # code + state fit
    collateral = near_forge.collateral()
    out = d.update_collateral(collateral)
    fails(out, "LackBalanceForState", "operator.outlayer.near", "send it at least")
    assert d.view("get_collateral") is None
    assert near_cli.view_account(d.contract_id).storage_usage == acc.storage_usage
    near_cli.send("outlayer.near", d.contract_id, "1").raise_for_failure()
    assert d.update_collateral(collateral).ok


def test_contract_account_short_of_storage_for_the_new_key(
    near_ready: Deployment, near_worker: SimulatedWorker
) -> None:
    d = near_ready
    cli, chain = d.cli, d.cli.chain
    acc = cli.view_account(d.contract_id)
    margin = 10**21  # 100 bytes of storage: less than one access key needs
    amount = acc.amount - acc.storage_staked - margin
    cost = chain.reserved_cost(d.contract_id, "outlayer.near", (Transfer(amount),)) - amount
    cli.send(d.contract_id, "outlayer.near", amount - cost).raise_for_failure()
    assert cli.view_account(d.contract_id).amount - cli.view_account(d.contract_id).storage_staked == margin
    out = near_worker.attempt()
    # verification passed and the call succeeded; the AddKey receipt cannot pay for the key's storage
    assert out.receipts[0].ok
    fails(out, "LackBalanceForState", "operator.outlayer.near")
    assert not near_worker.is_registered()
    cli.send("outlayer.near", d.contract_id, "0.1").raise_for_failure()
    assert near_worker.register().registered


# ---------------------------------------------------------------------------- deployment layouts


def test_guide_layout_add_key_fails_actor_no_permission(near_guide_deployment: Deployment, near_forge: Forge) -> None:
    d = near_guide_deployment
    assert d.contract_id == "register.outlayer.near"
    assert d.view("get_operator_account") == "operator.outlayer.near"
    m = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    d.approve_rtmr3(m.rtmr3).raise_for_failure()
    worker = d.worker(near_forge, m, max_attempts=2)
    keys_before = d.operator_keys()
    result = worker.register()
    assert not result.registered
    out = result.last
    assert out is not None
    # the quote verified and the contract call succeeded ...
    assert out.receipts[0].ok and out.receipts[0].receiver_id == "register.outlayer.near"
    assert any("TEE verification passed" in line for line in out.logs)
    # ... but NEAR refuses the AddKey on another account
    fails(out, "ActorNoPermission", "register.outlayer.near", "operator.outlayer.near", "AddKey")
    assert out.receipts[1].receiver_id == "operator.outlayer.near"
    assert d.operator_keys() == keys_before


def test_guide_init_without_gas_account(near_cli: NearCli, near_forge: Forge) -> None:
    """`new {owner_id, operator_account_id}` exactly as the guide writes it: the operator account registers."""
    from tdxverify.near import RegisterContract

    for account, amount in (("outlayer.near", 100), ("operator.outlayer.near", 10), ("register.outlayer.near", 10)):
        near_cli.create_account(account, initial_balance=near(amount)).raise_for_failure()
    init = {"owner_id": "outlayer.near", "operator_account_id": "operator.outlayer.near"}
    near_cli.deploy("register.outlayer.near", RegisterContract, init_args=init).raise_for_failure()
    assert near_cli.view("register.outlayer.near", "get_operator_account") == "operator.outlayer.near"
    assert near_cli.view("register.outlayer.near", "get_init_worker_account") == "operator.outlayer.near"
    m = Measurements()
    near_cli.call(
        "outlayer.near",
        "register.outlayer.near",
        "update_collateral",
        {"collateral": near_forge.collateral()},
        gas=tgas(300),
    ).raise_for_failure()
    near_cli.call(
        "outlayer.near", "register.outlayer.near", "add_approved_rtmr3", {"rtmr3": m.rtmr3.hex()}
    ).raise_for_failure()
    worker = SimulatedWorker(
        near_cli,
        near_forge,
        signer_id="operator.outlayer.near",
        contract_id="register.outlayer.near",
        key_account_id="operator.outlayer.near",
        measurements=m,
        max_attempts=1,
    )
    fails(worker.attempt(), "ActorNoPermission", "operator.outlayer.near")


def test_workable_layout_contract_on_operator_account(near_deployment: Deployment, near_forge: Forge) -> None:
    d = near_deployment
    assert d.contract_id == d.operator_id == "operator.outlayer.near"
    m = Measurements()
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    d.approve_rtmr3(m.rtmr3).raise_for_failure()
    result = d.worker(near_forge, m).register()
    assert result.registered
    assert result.last is not None and [r.receiver_id for r in result.last.receipts] == [d.operator_id] * 2


# ---------------------------------------------------------------------------- state as JSON


def test_state_snapshot_and_restore(near_ready: Deployment, near_forge: Forge) -> None:
    d = near_ready
    chain = d.cli.chain
    snap = chain.snapshot_state(d.contract_id)
    state = json.loads(snap)
    assert state["owner_id"] == "outlayer.near" and len(state["collaterals"]) == 1
    d.approve_rtmr3(NEW_IMAGE.rtmr3).raise_for_failure()
    assert d.view("get_approved_rtmr3") == [NEW_IMAGE.rtmr3.hex()]
    chain.restore_state(d.contract_id, snap)
    assert d.view("get_approved_rtmr3") == []
    assert chain.contract_state(d.contract_id) == state
    # a restored state must still be paid for
    huge = dict(state, collaterals=["x" * 2_000_000])
    with pytest.raises(NearExecutionError) as err:
        chain.restore_state(d.contract_id, huge)
    assert err.value.failure.kind == "LackBalanceForState" and err.value.code == "near_execution_failed"
    assert chain.contract_state(d.contract_id) == state


def test_public_key_string_round_trip(near_worker: SimulatedWorker) -> None:
    text = str(near_worker.public_key)
    assert text.startswith("ed25519:") and PublicKey.parse(text) == near_worker.public_key
    assert near_worker.report_data == near_worker.public_key.data + bytes(32)


def test_worker_key_file_survives_restart(near_ready: Deployment, near_forge: Forge, tmp_path: Path) -> None:
    key_file = tmp_path / "worker-key.json"
    first = near_ready.worker(near_forge, Measurements(), key_file=key_file)
    assert key_file.exists()
    creds = json.loads(key_file.read_text())
    assert creds["public_key"] == str(first.public_key) and creds["account_id"] == "operator.outlayer.near"
    assert first.register().registered
    restarted = near_ready.worker(near_forge, Measurements(), key_file=key_file)
    assert restarted.public_key == first.public_key
    again = restarted.register()
    assert again.already_registered and again.attempts == 0
    assert near_ready.cli.view_access_key("operator.outlayer.near", first.public_key) is not None


def test_configured_receiver_and_methods(near_cli: NearCli, near_forge: Forge) -> None:
    from tdxverify.near import RegisterContract

    for account, amount in (("outlayer.near", 100), ("operator.outlayer.near", 10), ("worker1.outlayer.near", 5)):
        near_cli.create_account(account, initial_balance=near(amount)).raise_for_failure()
    init = {
        "owner_id": "outlayer.near",
        "init_worker_account": "worker1.outlayer.near",
        "outlayer_contract_id": "jobs.outlayer.near",
        "method_names": ["resolve_execution"],
    }
    deployed = near_cli.deploy("operator.outlayer.near", RegisterContract, init_args=init).raise_for_failure()
    bad = dict(init, method_names=[])
    near_cli.create_account("other.outlayer.near", master_account="outlayer.near", initial_balance=near(10))
    fails(near_cli.deploy("other.outlayer.near", RegisterContract, init_args=bad), "ExecutionError", "method_names")
    m = Measurements()
    d = Deployment(
        near_cli,
        "workable",
        "operator.outlayer.near",
        "outlayer.near",
        "operator.outlayer.near",
        "worker1.outlayer.near",
        "jobs.outlayer.near",
        deployed,
    )
    d.update_collateral(near_forge.collateral()).raise_for_failure()
    d.approve_measurements(m).raise_for_failure()
    worker = d.worker(near_forge, m)
    assert worker.register().registered
    key = near_cli.view_access_key("operator.outlayer.near", worker.public_key)
    assert key is not None and isinstance(key.permission, FunctionCallPermission)
    assert key.permission.receiver_id == "jobs.outlayer.near"
    assert key.permission.method_names == ("resolve_execution",)
