"""Every real vector: the verdict equals expected.json at its `now`, and fails closed outside its window."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import tdxverify
from tdxverify import VerificationError
from tdxverify.collateral import load_collateral
from tdxverify.policy import Policy
from tdxverify.verify import Verifier, verify

from .vectors import Vector, verifiable_vectors

VECTORS = verifiable_vectors()
ACCEPTED = [v for v in VECTORS if v.expected["verdict"]["ok"]]


def test_there_are_accepted_and_rejected_vectors() -> None:
    assert len(ACCEPTED) >= 4
    assert len(VECTORS) > len(ACCEPTED)


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_verdict_matches_expected(vec: Vector) -> None:
    expected = vec.expected["verdict"]
    if expected["ok"]:
        verdict = verify(vec.quote, vec.collateral_path, now=vec.now)  # type: ignore[arg-type]
        assert verdict.status == expected["status"]
        assert set(verdict.advisory_ids) == set(expected["advisory_ids"])
        parsed = vec.expected["parsed"]
        assert verdict.fmspc == parsed["fmspc"]
        assert verdict.report_data.hex() == parsed["report_data"]
        assert verdict.tee_type == parsed["tee_type"]
        assert verdict.quote_version == parsed["quote_version"]
        if verdict.tee_type == "TDX":
            assert verdict.mr_td is not None and verdict.mr_td.hex() == parsed["mr_td"]
            assert verdict.rtmr3 is not None and verdict.rtmr3.hex() == parsed["rtmr3"]
        else:
            assert verdict.mr_enclave is not None and verdict.mr_enclave.hex() == parsed["mr_enclave"]
        assert verdict.collateral_expires_at == datetime.fromtimestamp(
            vec.expected["collateral_valid_until"], timezone.utc
        )
    else:
        with pytest.raises(VerificationError) as info:
            verify(vec.quote, vec.collateral_path, now=vec.now)  # type: ignore[arg-type]
        # The reference verifier says "No matching TCB level found".
        assert "TCB level" in expected["reference_error"]
        assert info.value.code == "tcb_level_not_found"


@pytest.mark.parametrize("vec", ACCEPTED, ids=lambda v: v.name)
def test_window_edges(vec: Vector) -> None:
    start, end = vec.expected["collateral_valid_from"], vec.expected["collateral_valid_until"]
    v = Verifier()
    col = load_collateral(vec.collateral_path)  # type: ignore[arg-type]
    # Both edges are inside the window: collateral expires after its nextUpdate, not at it.
    v.verify(vec.quote, col, start)
    late_ok = end - 1
    v.verify(vec.quote, col, late_ok)
    for when, codes in (
        (end + 1, {"collateral_expired", "crl_expired", "certificate_expired"}),
        (start - 1, {"collateral_not_yet_valid", "crl_not_yet_valid", "certificate_not_yet_valid"}),
        (end + 86400 * 365, {"collateral_expired", "crl_expired", "certificate_expired"}),
    ):
        # Both a fresh verifier and the one holding the cached authentication fail closed.
        for verifier in (Verifier(), v):
            with pytest.raises(VerificationError) as info:
                verifier.verify(vec.quote, col, when)
            assert info.value.code in codes, info.value
            assert "refresh" in info.value.message or "verification time" in info.value.message


def test_expired_message_says_when_and_how() -> None:
    vec = ACCEPTED[0]
    with pytest.raises(VerificationError) as info:
        verify(vec.quote, vec.collateral_path, now=vec.expected["collateral_valid_until"] + 1)  # type: ignore[arg-type]
    msg = info.value.message
    assert "expired at" in msg and "fetch-collateral" in msg


def test_verifier_reuses_authenticated_collateral() -> None:
    vec = ACCEPTED[0]
    verifier = Verifier()
    col = load_collateral(vec.collateral_path)  # type: ignore[arg-type]
    first = verifier.authenticate(col, vec.now)
    assert verifier.authenticate(load_collateral(vec.collateral_path), vec.now) is first  # type: ignore[arg-type]
    # An already authenticated collateral is accepted as is, and still time-checked.
    assert verifier.verify(vec.quote, first, vec.now).status == vec.expected["verdict"]["status"]
    with pytest.raises(VerificationError):
        verifier.verify(vec.quote, first, vec.expected["collateral_valid_until"] + 1)


def test_authenticated_collateral_bound_to_its_root() -> None:
    vec = ACCEPTED[0]
    auth = Verifier().authenticate(vec.collateral_path, vec.now)  # type: ignore[arg-type]
    from tdxverify.testing.pki import build_pki

    other = Verifier(root_ca=build_pki().root_der)
    with pytest.raises(VerificationError) as info:
        other.verify(vec.quote, auth, vec.now)
    assert info.value.code == "untrusted_root"


def test_wrong_root_rejects_real_vector() -> None:
    from tdxverify.testing.pki import build_pki

    vec = ACCEPTED[0]
    with pytest.raises(VerificationError) as info:
        verify(vec.quote, vec.collateral_path, now=vec.now, root_ca=build_pki().root_der)  # type: ignore[arg-type]
    assert info.value.code == "untrusted_root"


def test_collateral_of_another_platform() -> None:
    by = {v.name: v for v in VECTORS}
    quote = by["tdx-v4-near-contract"].quote  # FMSPC 20A06F000000
    other = by["tdx-v4-near-mpc-dstack"]  # collateral for FMSPC B0C06F000000, same PCK Platform CA
    with pytest.raises(VerificationError) as info:
        verify(quote, other.collateral_path, now=other.now)  # type: ignore[arg-type]
    assert info.value.code == "fmspc_mismatch"
    assert "20A06F000000" in info.value.message and "B0C06F000000" in info.value.message
    sgx = by["sgx-v3-phala"]
    with pytest.raises(VerificationError) as info:
        verify(by["tdx-v4-phala-uptodate"].quote, sgx.collateral_path, now=sgx.now)  # type: ignore[arg-type]
    assert info.value.code == "collateral_kind_mismatch"


def test_policy_on_real_vector() -> None:
    by = {v.name: v for v in VECTORS}
    vec = by["tdx-v4-near-contract"]
    rtmr3 = bytes.fromhex(vec.expected["parsed"]["rtmr3"])
    key_prefix = bytes.fromhex(vec.expected["parsed"]["report_data"])[:34]
    ok = Policy(measurements={"rtmr3": frozenset({rtmr3})}, report_data=key_prefix)
    verdict = verify(vec.quote, vec.collateral_path, now=vec.now, policy=ok)  # type: ignore[arg-type]
    assert verdict.ok and verdict.policy is not None
    assert [c.name for c in verdict.policy.checks] == ["status", "measurement:rtmr3", "report_data"]
    bad = Policy(measurements={"rtmr3": frozenset({bytes(48)})})
    with pytest.raises(tdxverify.PolicyError) as info:
        verify(vec.quote, vec.collateral_path, now=vec.now, policy=bad)  # type: ignore[arg-type]
    assert info.value.code == "policy_violation"
    assert "rtmr3" in info.value.message
    rejected = info.value.verdict
    assert rejected is not None and rejected.policy is not None and not rejected.policy.ok  # type: ignore[attr-defined]
    sgx = by["sgx-v3-phala"]
    with pytest.raises(tdxverify.PolicyError) as info:
        verify(sgx.quote, sgx.collateral_path, now=sgx.now, policy=Policy())  # type: ignore[arg-type]
    assert "ConfigurationAndSWHardeningNeeded" in info.value.message
    lenient = Policy(accepted_statuses=frozenset({"UpToDate", "ConfigurationAndSWHardeningNeeded"}))
    assert verify(sgx.quote, sgx.collateral_path, now=sgx.now, policy=lenient).ok  # type: ignore[arg-type]


@pytest.mark.parametrize("now", [datetime(2025, 9, 17, 7, 22, 55), True, "yesterday"])
def test_bad_now(now: object) -> None:
    vec = ACCEPTED[0]
    with pytest.raises(VerificationError) as info:
        verify(vec.quote, vec.collateral_path, now=now)  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"


def test_to_dict_shape() -> None:
    vec = next(v for v in ACCEPTED if v.name == "tdx-v4-near-contract")
    d = verify(vec.quote, vec.collateral_path, now=vec.now).to_dict()  # type: ignore[arg-type]
    assert d["ok"] is True and d["error"] is None and d["policy"] is None
    assert d["status"] == "UpToDate" and d["fmspc"] == "20A06F000000" and d["tee_type"] == "TDX"
    for key in (
        "mr_td",
        "rtmr0",
        "rtmr1",
        "rtmr2",
        "rtmr3",
        "mr_seam",
        "mr_signer_seam",
        "mr_config_id",
        "mr_owner",
        "mr_owner_config",
        "td_attributes",
        "xfam",
        "tee_tcb_svn",
    ):
        assert d["measurements"][key] == vec.expected["parsed"][key]
    assert d["report_data"] == vec.expected["parsed"]["report_data"]
    assert d["collateral"]["expires_at"] == "2025-10-02T07:03:51Z"
