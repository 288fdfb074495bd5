"""Tests written to kill mutants of verify.py / tcb.py / pki.py that the suite let survive.

Each test pins a behaviour callers rely on that no other test in the mutation subset checked:
the step an error names, every field of the verdict, the policy result carried by verdicts
and errors, which part a Revoked message names, and what time-window messages say.
See docs/threat-model.md ("Mutation testing") for the run and the survivors left alone.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tdxverify import PolicyError, TcbError, VerificationError, Verifier, load_collateral, load_policy, verify
from tdxverify.collateral import authenticate_collateral
from tdxverify.pck import pck_extension_of
from tdxverify.pki import TimeBound, load_root_ca
from tdxverify.policy import Policy
from tdxverify.quote import parse_quote
from tdxverify.tcb import evaluate_tcb, match_tcb_levels, platform_tcb_level, sorted_tcb_levels, tdx_module_status
from tdxverify.testing import Forge
from tdxverify.testing.pki import DEFAULT_FMSPC, DEFAULT_PCE_ID, PkiSpec, key_usage

from .test_tcb import level, qe_identity, qe_report, sgx_info, svn16, tdx_info, tee
from .test_tcb import pck as tcb_pck

SUITE = Path(__file__).resolve().parent.parent / "vectors" / "conformance"
FORGE = Forge(seed="mutation-killers")
NOW = datetime.fromtimestamp(FORGE.now, timezone.utc)

REJECTED = sorted(
    d.name for d in SUITE.iterdir() if d.is_dir() and not json.loads((d / "expected.json").read_text())["verdict"]["ok"]
)


# Error steps finer than the pipeline step the conformance suite names (which document they concern).
SUB_STEPS = {
    "collateral": {"tcb_info", "qe_identity", "root_ca_crl"},
    "pck_chain": {"pck_crl", "pck_extension"},
    "platform_tcb": {"tcb"},
    "header": {"parse"},
}


@pytest.mark.parametrize("name", REJECTED)
def test_conformance_failure_names_its_step(name: str) -> None:
    # The CLI JSON's error.step is public: each failure must name the pipeline step the suite expects
    # (or the document within it), never a default.
    d = SUITE / name
    exp = json.loads((d / "expected.json").read_text())
    policy = load_policy(exp["policy"]) if exp["policy"] is not None else None
    with pytest.raises(VerificationError) as info:
        verify(
            d / "quote.bin",
            d / "collateral.json",
            now=exp["now"],
            root_ca=(d / "root_ca.der").read_bytes(),
            policy=policy,
        )
    assert info.value.code == exp["verdict"]["code"]
    assert info.value.step == exp["step"] or info.value.step in SUB_STEPS.get(exp["step"], set()), info.value.step


def _verify(quote: bytes, collateral: object, policy: Policy | None = None, now: int | None = None):  # type: ignore[no-untyped-def]
    return Verifier(root_ca=FORGE.root_ca_der, policy=policy).verify(
        quote, collateral, FORGE.now if now is None else now
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [3, 4, 5])
def test_verdict_carries_every_verified_fact(version: int) -> None:
    tee = "SGX" if version == 3 else "TDX"
    raw = FORGE.quote(version=version)
    col = FORGE.collateral(tee)
    v = _verify(raw, col)
    auth = authenticate_collateral(load_collateral(col), now=NOW, root=load_root_ca(FORGE.root_ca_der))
    assert (v.status, v.platform_status, v.qe_status) == ("UpToDate", "UpToDate", "UpToDate")
    assert v.module_status == (None if tee == "SGX" else "UpToDate")
    assert (v.tee_type, v.quote_version) == (tee, version)
    assert (v.fmspc, v.pce_id, v.ppid) == (DEFAULT_FMSPC.hex().upper(), DEFAULT_PCE_ID.hex(), bytes(range(16)).hex())
    assert v.tcb_date is not None and v.tcb_date.tzinfo is not None
    assert v.tcb_evaluation_data_number == auth.tcb_info.tcb_evaluation_data_number == 17
    assert v.collateral_expires_at == auth.expires_at
    facts = v.collateral
    assert (facts.tcb_info_issue_date, facts.tcb_info_next_update) == (
        auth.tcb_info.issue_date,
        auth.tcb_info.next_update,
    )
    assert (facts.qe_identity_issue_date, facts.qe_identity_next_update) == (
        auth.qe_identity.issue_date,
        auth.qe_identity.next_update,
    )
    assert (facts.tcb_evaluation_data_number, facts.expires_at) == (17, auth.expires_at)
    assert v.verified_at == NOW
    assert v.quote == parse_quote(raw) and v.report == parse_quote(raw).report


def test_verdict_statuses_come_from_their_own_part() -> None:
    qe_old = FORGE.collateral(qe_identity=FORGE.qe_identity().with_status("OutOfDate"))
    v = _verify(FORGE.quote(), qe_old)
    assert (v.status, v.platform_status, v.qe_status, v.module_status) == (
        "OutOfDate",
        "UpToDate",
        "OutOfDate",
        "UpToDate",
    )
    mod_old = FORGE.collateral(tcb_info=FORGE.tcb_info().with_module_status("OutOfDate"))
    v = _verify(FORGE.quote(), mod_old)
    assert (v.platform_status, v.qe_status, v.module_status) == ("UpToDate", "UpToDate", "OutOfDate")
    plat_old = FORGE.collateral(tcb_info=FORGE.tcb_info().with_status("SWHardeningNeeded", ("INTEL-SA-00615",)))
    v = _verify(FORGE.quote(), plat_old)
    assert (v.platform_status, v.qe_status, v.module_status) == ("SWHardeningNeeded", "UpToDate", "UpToDate")


def test_policy_result_is_in_the_verdict_and_in_the_error() -> None:
    raw, col = FORGE.quote(), FORGE.collateral()
    ok = _verify(raw, col, Policy(max_collateral_age_seconds=10**9))
    assert ok.policy is not None and ok.policy.ok
    assert [c.name for c in ok.policy.checks] == ["status", "collateral_age"]
    # The age rule is evaluated at the verification time: a year later the same collateral is too old
    # (checked on a verifier whose collateral window still holds, so only the policy can fail).
    issued = authenticate_collateral(load_collateral(col), now=NOW, root=load_root_ca(FORGE.root_ca_der))
    age = int((NOW - issued.tcb_info.issue_date).total_seconds())
    with pytest.raises(PolicyError) as info:
        _verify(raw, col, Policy(max_collateral_age_seconds=age - 1))
    rejected = info.value.verdict
    assert rejected is not None and rejected.policy is not None  # type: ignore[attr-defined]
    assert [c.name for c in rejected.policy.failures] == ["collateral_age"]  # type: ignore[attr-defined]
    assert f"{age}s" in info.value.message and f"{age - 1}s" in info.value.message
    assert _verify(raw, col, Policy(max_collateral_age_seconds=age)).policy.ok  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("case", "part"),
    [("module_revoked", "TDX module"), ("platform_revoked", "platform"), ("qe_tcb_revoked", "QE")],
)
def test_revoked_message_names_the_revoked_part(case: str, part: str) -> None:
    d = SUITE / case
    exp = json.loads((d / "expected.json").read_text())
    with pytest.raises(TcbError) as info:
        verify(d / "quote.bin", d / "collateral.json", now=exp["now"], root_ca=(d / "root_ca.der").read_bytes())
    assert info.value.code == "tcb_revoked"
    assert f"Intel rates this {part} Revoked" in info.value.message


def test_reserved_td_attribute_message_shows_only_the_offending_bits() -> None:
    attrs = bytes.fromhex("0000000000000010")  # bit 60: reserved (OTHER)
    with pytest.raises(VerificationError) as info:
        _verify(FORGE.quote(td_attributes=attrs), FORGE.collateral())
    assert info.value.code == "td_attributes_invalid"
    assert "mask 0x1000000000000000" in info.value.message


def _auth() -> object:
    return authenticate_collateral(load_collateral(FORGE.collateral()), now=NOW, root=load_root_ca(FORGE.root_ca_der))


def test_tdx_tcb_info_without_tdx_module_cannot_rate_a_module() -> None:
    info = _auth().tcb_info  # type: ignore[attr-defined]
    report = parse_quote(FORGE.quote()).report
    with pytest.raises(TcbError) as err:
        tdx_module_status(dataclasses.replace(info, tdx_module=None), report)  # type: ignore[arg-type]
    assert (err.value.code, err.value.step) == ("collateral_kind_mismatch", "tdx_module")


@pytest.mark.parametrize("svn", ["06010300", "04000300"])  # module version 1 (identity TDX_01), version 0 (tdxModule)
def test_module_result_reports_version_and_svn(svn: str) -> None:
    info = _auth().tcb_info  # type: ignore[attr-defined]
    report = parse_quote(FORGE.quote(tee_tcb_svn=bytes.fromhex(svn + "00" * 12))).report
    result = tdx_module_status(info, report)  # type: ignore[arg-type]
    assert (result.isvsvn, result.version) == (int(svn[:2], 16), int(svn[2:4], 16))
    assert result.identity_id == ("TDX_01" if svn[2:4] == "01" else None)


def test_sgx_platform_match_names_its_sgx_level() -> None:
    col = load_collateral(FORGE.collateral("SGX"))
    ext = pck_extension_of(FORGE.pki.pck)
    assert ext.fmspc == FORGE.pki.spec.sgx.fmspc
    match = match_tcb_levels(col.tcb_info, ext, None)
    assert match.sgx_level is match.level and match.level is not None


def _bound(kind: str) -> TimeBound:
    return TimeBound(
        kind=kind,  # type: ignore[arg-type]
        label=f"test {kind}",
        step="collateral",
        not_before=datetime(2025, 1, 1, tzinfo=timezone.utc),
        not_after=datetime(2025, 2, 1, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize("kind", ["certificate", "crl", "tcb_info", "qe_identity"])
def test_time_window_messages_say_which_edge_and_when(kind: str) -> None:
    b = _bound(kind)
    with pytest.raises(VerificationError) as early:
        b.check(datetime(2024, 12, 31, tzinfo=timezone.utc))
    assert f"test {kind} is not valid before 2025-01-01T00:00:00Z (verification time 2024-12-31T00:00:00Z)" in (
        early.value.message
    )
    with pytest.raises(VerificationError) as late:
        b.check(datetime(2025, 3, 1, tzinfo=timezone.utc))
    assert f"test {kind} expired at 2025-02-01T00:00:00Z (verification time 2025-03-01T00:00:00Z)" in late.value.message
    assert early.value.step == late.value.step == "collateral"


def test_time_window_messages_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        with pytest.raises(VerificationError) as late:
            _bound("crl").check(datetime(2025, 3, 1, tzinfo=timezone(timedelta(hours=-5))))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "expired at 2025-02-01T00:00:00Z (verification time 2025-03-01T05:00:00Z)" in late.value.message


def test_sorted_levels_rank_tdx_components_whatever_the_served_order() -> None:
    # Same SGX components and PCESVN: the level with the higher TDX components comes first even
    # when served after the lower one, so a platform that meets it is rated by it.
    low = level(sgx=svn16(2, 0), pce=3, status="OutOfDate")
    high = level(sgx=svn16(2, 0), pce=3, tdx=svn16(0, 0, 1), status="UpToDate")
    info = tdx_info((low, high))
    assert sorted_tcb_levels(info) == (high, low)
    assert platform_tcb_level(info, tcb_pck(svn16(2, 5), 3), tee(0, 0, 1)) == high


def test_tcb_kind_mismatches_name_the_document_at_fault() -> None:
    info = sgx_info((level(sgx=svn16(2), tdx=None),))
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(info, qe_identity(ident="TD_QE"), tcb_pck(svn16(2)), qe_report(), qe_report())
    assert (exc.value.code, exc.value.step) == ("collateral_kind_mismatch", "qe_identity")
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(tdx_info(), qe_identity(ident="QE"), tcb_pck(), qe_report(), qe_report())
    assert (exc.value.code, exc.value.step) == ("collateral_kind_mismatch", "tcb")


def test_module_identity_with_nonzero_attributes_is_a_module_mismatch() -> None:
    # SEAM attributes must be zero and equal the identity's: an identity demanding other attributes
    # can never be met.
    info = _auth().tcb_info  # type: ignore[attr-defined]
    odd = tuple(
        dataclasses.replace(i, attributes=b"\x01" + i.attributes[1:]) if i.id == "TDX_01" else i
        for i in info.tdx_module_identities
    )
    report = parse_quote(FORGE.quote()).report
    with pytest.raises(TcbError) as err:
        tdx_module_status(dataclasses.replace(info, tdx_module_identities=odd), report)  # type: ignore[arg-type]
    assert (err.value.code, err.value.step) == ("tdx_module_mismatch", "tdx_module")
    assert "SEAM attributes" in err.value.message


def test_off_curve_attestation_key_is_a_quote_signature_failure() -> None:
    # The embedded key is not a P-256 point (the QE report data binds it, so the quote gets that far).
    with pytest.raises(VerificationError) as err:
        _verify(FORGE.quote(attestation_key=b"\x01" * 64), FORGE.collateral())
    assert err.value.code == "quote_signature_invalid"
    assert "attestation key is not a point on P-256" in err.value.message
    assert err.value.step == "quote_signature"


def test_crl_issuer_without_crl_sign_is_refused() -> None:
    # The Platform CA issues the PCK CRL: without keyUsage cRLSign its CRL must not be trusted.
    forge = Forge(seed="mutation-killers", pki=PkiSpec(key_usages={"platform_ca": key_usage(key_cert_sign=True)}))
    with pytest.raises(VerificationError) as err:
        Verifier(root_ca=forge.root_ca_der).verify(forge.quote(), forge.collateral(), forge.now)
    assert err.value.code == "crl_invalid"
    assert "cRLSign" in err.value.message or "CRL" in err.value.message


@pytest.mark.parametrize("usage", [{"crl_sign": True}, {"key_cert_sign": True}])
def test_root_without_cert_or_crl_signing_is_no_root(usage: dict[str, bool]) -> None:
    forge = Forge(seed="mutation-killers", pki=PkiSpec(key_usages={"root": key_usage(**usage)}))
    with pytest.raises(VerificationError) as err:
        load_root_ca(forge.root_ca_der)
    assert err.value.code == "root_ca_invalid"


def test_reused_authenticated_collateral_is_checked_at_the_verification_time() -> None:
    verifier = Verifier(root_ca=FORGE.root_ca_der)
    auth = verifier.authenticate(FORGE.collateral(), FORGE.now)
    assert verifier.verify(FORGE.quote(), auth, FORGE.now).status == "UpToDate"
    later = FORGE.now + 400 * 24 * 3600
    with pytest.raises(VerificationError) as err:
        verifier.verify(FORGE.quote(), auth, later)
    assert err.value.code in {"collateral_expired", "crl_expired", "certificate_expired"}


@pytest.mark.parametrize("cn", ["Test SGX PCK CA", "Test SGX PCK Platform Processor CA"])
def test_pck_issued_by_neither_platform_nor_processor_ca_is_refused(cn: str) -> None:
    # Which PCK CRL applies depends on the issuing CA's kind: a CA whose name says neither (or both)
    # is refused with the chain's code, not guessed.
    forge = Forge(seed="mutation-killers", pki=PkiSpec(common_names={"platform_ca": cn}))
    with pytest.raises(VerificationError) as err:
        Verifier(root_ca=forge.root_ca_der).verify(forge.quote(), forge.collateral(), forge.now)
    assert (err.value.code, err.value.step) == ("pck_chain_invalid", "pck_chain")
    assert "neither a PCK Platform CA nor a PCK Processor CA" in err.value.message
