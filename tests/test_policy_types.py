"""Issue 12 item 5: a Policy built in Python (or JSON) checks its types; nothing silently means something else."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tdxverify import Policy, PolicyError, load_policy, verify
from tdxverify.testing import Forge

FORGE = Forge(seed="policy-types")
RT = bytes.fromhex("ab" * 48)


def verdict_for(policy: Policy, collateral: dict[str, str] | None = None, **quote: object) -> object:
    return verify(
        FORGE.quote(**quote), collateral or FORGE.collateral(), now=FORGE.now, root_ca=FORGE.root_ca_der, policy=policy
    )


def invalid(words: str, **kwargs: object) -> None:
    with pytest.raises(PolicyError) as info:
        Policy(**kwargs)  # type: ignore[arg-type]
    assert info.value.code == "policy_invalid", info.value
    assert words in info.value.message


def test_bytes_value_in_measurements_is_refused_not_a_substring_test() -> None:
    # Before: `rt in b"\xff" + rt + b"\xff"` is True, so this approved `rt` (and every slice of it).
    invalid("not bytes", measurements={"rtmr3": b"\xff" + RT + b"\xff"})
    invalid("not bytes", measurements={"rtmr3": RT})
    invalid("not str", measurements={"rtmr3": RT.hex()})
    invalid("must hold bytes values", measurements={"rtmr3": [RT.hex()]})
    invalid("48 bytes", measurements={"rtmr3": [RT[:47]]})
    invalid("mapping of name", measurements=[("rtmr3", {RT})])
    # A list, tuple or set of bytes is fine and is stored as a frozenset.
    for given in ([RT], (RT,), {RT}, frozenset({RT})):
        p = Policy(measurements={"rtmr3": given})  # type: ignore[dict-item]
        assert p.measurements["rtmr3"] == frozenset({RT})
    assert verdict_for(Policy(measurements={"rtmr3": [RT]}), rtmr3=RT).ok  # type: ignore[attr-defined, dict-item]


def test_dict_passed_as_a_list_is_refused() -> None:
    invalid("not dict", accepted_statuses={"UpToDate": True})
    invalid("not dict", accepted_advisory_ids={"INTEL-SA-00001": 1})
    invalid("not dict", measurements={"rtmr3": {RT: True}})
    invalid("not str", accepted_statuses="UpToDate")
    with pytest.raises(PolicyError) as info:
        load_policy(json.dumps({"accepted_advisory_ids": {"INTEL-SA-00001": True}}))
    assert info.value.code == "policy_invalid" and "list of strings" in info.value.message
    with pytest.raises(PolicyError) as info:
        load_policy(json.dumps({"measurements": {"rtmr3": {RT.hex(): 1}}}))
    assert info.value.code == "policy_invalid" and "list of strings" in info.value.message


def test_str_report_data_is_policy_invalid_not_internal_error() -> None:
    invalid("report_data must be bytes", report_data="aa" * 32)
    invalid("report_data must be bytes", report_data=[1, 2])
    invalid("must be True or False", allow_debug="yes")
    invalid("must be True or False", report_data_rest_zero=1)
    invalid("non-negative integer", max_collateral_age_seconds="3600")
    invalid("non-negative integer", min_tcb_evaluation_data_number=1.5)


@pytest.mark.parametrize(
    "key",
    [
        "accepted_statuses",
        "accepted_advisory_ids",
        "allow_debug",
        "measurements",
        "report_data",
        "public_key",
        "key_hash",
        "event_values",
        "min_tcb_evaluation_data_number",
        "max_collateral_age_seconds",
    ],
)
def test_json_null_never_disables_a_rule(key: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(json.dumps({key: None}))
    assert info.value.code == "policy_invalid"
    assert f"{key} is null: omit the key" in info.value.message


def test_collateral_age_considers_the_qe_identity() -> None:
    # TCB info fresh (issued 1 day ago), QE identity 20 days old: a 7-day limit must fail on the QE identity.
    now = datetime.fromtimestamp(FORGE.now, timezone.utc)
    col = FORGE.collateral(
        tcb_info=FORGE.tcb_info(issue_date=now - timedelta(days=1), next_update=now + timedelta(days=29)),
        qe_identity=FORGE.qe_identity(issue_date=now - timedelta(days=20), next_update=now + timedelta(days=10)),
    )
    week = int(timedelta(days=7).total_seconds())
    with pytest.raises(PolicyError) as info:
        verdict_for(Policy(max_collateral_age_seconds=week), col)
    (failed,) = info.value.verdict.policy.failures  # type: ignore[attr-defined]
    assert failed.name == "collateral_age"
    assert "the QE identity is too old" in failed.detail
    assert f"TCB info {86400}s" in failed.detail and f"QE identity {20 * 86400}s" in failed.detail
    assert verdict_for(Policy(max_collateral_age_seconds=21 * 86400), col).ok  # type: ignore[attr-defined]
