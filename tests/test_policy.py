"""Policy rules, loading and their errors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tdxverify import Policy, PolicyError, load_policy, verify
from tdxverify.testing import Forge

FORGE = Forge(seed="policy")
RTMR3 = bytes.fromhex("ab" * 48)
KEY = b"worker-key-hash-" * 2


def verdict_for(policy: Policy | None = None, **quote: object):  # type: ignore[no-untyped-def]
    return verify(FORGE.quote(**quote), FORGE.collateral(), now=FORGE.now, root_ca=FORGE.root_ca_der, policy=policy)


def test_all_rules_pass_and_are_reported() -> None:
    policy = Policy(
        measurements={"rtmr3": frozenset({RTMR3}), "mr_signer_seam": frozenset({bytes(48)})},
        report_data=KEY,
        min_tcb_evaluation_data_number=17,
        max_collateral_age_seconds=int(timedelta(days=30).total_seconds()),
        require_sept_ve_disable=True,
        accepted_advisory_ids=frozenset(),
    )
    v = verdict_for(policy, rtmr3=RTMR3, report_data=KEY + bytes(32))
    assert v.ok and v.policy is not None
    names = [c.name for c in v.policy.checks]
    assert names == [
        "status",
        "advisory_ids",
        "measurement:mr_signer_seam",
        "measurement:rtmr3",
        "sept_ve_disable",
        "report_data",
        "tcb_evaluation_data_number",
        "collateral_age",
    ]
    assert all(c.ok for c in v.policy.checks)


@pytest.mark.parametrize(
    "policy,quote,failed",
    [
        (Policy(measurements={"rtmr3": frozenset({RTMR3})}), {}, "measurement:rtmr3"),
        (Policy(report_data=KEY), {"report_data": bytes(64)}, "report_data"),
        (Policy(min_tcb_evaluation_data_number=18), {}, "tcb_evaluation_data_number"),
        (Policy(max_collateral_age_seconds=3600), {}, "collateral_age"),
        (Policy(require_sept_ve_disable=True), {"td_attributes": bytes(8)}, "sept_ve_disable"),
        (Policy(measurements={"mr_enclave": frozenset({bytes(32)})}), {}, "measurement:mr_enclave"),
    ],
)
def test_each_rule_can_fail(policy: Policy, quote: dict[str, object], failed: str) -> None:
    with pytest.raises(PolicyError) as info:
        verdict_for(policy, **quote)
    assert info.value.code == "policy_violation"
    assert failed in info.value.message
    rejected = info.value.verdict
    assert rejected is not None
    assert [c.name for c in rejected.policy.failures] == [failed]  # type: ignore[attr-defined]


def test_status_and_advisories() -> None:
    ti = FORGE.tcb_info().with_status("SWHardeningNeeded", ("INTEL-SA-00001",))
    col = FORGE.collateral(tcb_info=ti)
    quote = FORGE.quote()
    kw = {"now": FORGE.now, "root_ca": FORGE.root_ca_der}
    with pytest.raises(PolicyError) as info:
        verify(quote, col, policy=Policy(), **kw)  # type: ignore[arg-type]
    assert "SWHardeningNeeded is not accepted" in info.value.message
    lenient = Policy(accepted_statuses=frozenset({"UpToDate", "SWHardeningNeeded"}))
    assert verify(quote, col, policy=lenient, **kw).ok  # type: ignore[arg-type]
    strict_adv = Policy(accepted_statuses=lenient.accepted_statuses, accepted_advisory_ids=frozenset({"INTEL-SA-2"}))
    with pytest.raises(PolicyError) as info:
        verify(quote, col, policy=strict_adv, **kw)  # type: ignore[arg-type]
    assert "INTEL-SA-00001" in info.value.message


def test_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"measurements": {"rtmr3": ["0x" + RTMR3.hex()]}, "report_data": KEY.hex()}))
    policy = load_policy(path)
    assert policy.measurements["rtmr3"] == frozenset({RTMR3}) and policy.report_data == KEY
    assert verdict_for(policy, rtmr3=RTMR3, report_data=KEY + bytes(32)).ok
    assert load_policy(path.read_text()) == policy


@pytest.mark.parametrize(
    "doc,words",
    [
        ({"measurement": {}}, "unknown key"),
        ({"accepted_statuses": ["UpToDat"]}, "unknown TCB status"),
        ({"accepted_statuses": []}, "empty"),
        ({"accepted_statuses": "UpToDate"}, "list of strings"),
        ({"measurements": {"rtmr9": ["00"]}}, "unknown measurement"),
        ({"measurements": {"rtmr3": []}}, "empty approved list"),
        ({"measurements": {"rtmr3": ["zz"]}}, "not valid hex"),
        ({"allow_debug": "yes"}, "true or false"),
        ({"report_data": "00" * 65}, "1 to 64 bytes"),
        ({"min_tcb_evaluation_data_number": -1}, "non-negative"),
        ({"max_collateral_age_seconds": True}, "non-negative"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_policies(doc: object, words: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(json.dumps(doc)) if isinstance(doc, dict) else Policy.from_mapping(doc)  # type: ignore[arg-type]
    assert info.value.code == "policy_invalid"
    assert words in info.value.message


def test_unreadable_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "missing.json")
    assert info.value.code == "input_invalid"
    with pytest.raises(PolicyError) as info:
        load_policy("{not json")
    assert info.value.code == "policy_invalid"
