"""Differential checks against dcap-qvl (the ``oracle`` extra): the oracle helper itself, and the forge.

Runs whenever dcap-qvl is installed (``pip install -e '.[oracle]'``).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tdxverify
from tdxverify.testing import Forge

pytest.importorskip("dcap_qvl")

from .oracle import OracleResult, oracle_verify
from .vectors import VECTORS_DIR, verifiable_vectors

pytestmark = pytest.mark.oracle

INTEL_ROOT = (VECTORS_DIR / "intel-sgx-root-ca.der").read_bytes()
VECTORS = verifiable_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_oracle_reproduces_the_recorded_verdicts(vector: object) -> None:
    """The expected verdicts of the real vectors came from dcap-qvl: the helper must reproduce them."""
    from .vectors import Vector

    assert isinstance(vector, Vector)
    collateral = vector.collateral
    assert collateral is not None and vector.now is not None
    got = oracle_verify(vector.quote, collateral, vector.now, INTEL_ROOT)
    want = vector.expected["verdict"]
    assert got.ok is want["ok"]
    if want["ok"]:
        assert got.status == want["status"]
        assert got.advisory_set == frozenset(want["advisory_ids"])
        assert got.error is None
    else:
        assert got.status is None and got.advisory_ids == ()
        assert got.error is not None and want["reference_error"] in got.error


def test_oracle_rejects_outside_the_collateral_window() -> None:
    vector = next(v for v in VECTORS if v.expected["verdict"]["ok"])
    collateral = vector.collateral
    assert collateral is not None
    late = oracle_verify(vector.quote, collateral, vector.expected["collateral_valid_until"] + 86_400, INTEL_ROOT)
    assert not late.ok and late.error


def test_oracle_turns_malformed_input_into_a_rejection() -> None:
    vector = VECTORS[0]
    collateral = vector.collateral
    assert collateral is not None and vector.now is not None
    assert not oracle_verify(b"\x04\x00" + bytes(10), collateral, vector.now, INTEL_ROOT).ok
    broken = dict(collateral, tcb_info_signature="zz")
    result = oracle_verify(vector.quote, broken, vector.now, INTEL_ROOT)
    assert result == OracleResult(False, None, (), result.error) and result.error
    other_root = oracle_verify(vector.quote, collateral, vector.now, b"\x30\x03\x02\x01\x00")
    assert not other_root.ok


# --------------------------------------------------------------------------- forged quotes through dcap-qvl

FORGE = Forge(seed="oracle")


def oracle(quote: bytes, collateral: dict[str, str], now: int | None = None) -> OracleResult:
    """dcap-qvl's verdict, after checking that tdxverify reaches the same one.

    Only cases where the two agree go through here; the cases where they
    differ on purpose are in docs/differences.md and the conformance suite.
    """
    at = FORGE.now if now is None else now
    theirs = oracle_verify(quote, collateral, at, FORGE.root_ca_der)
    try:
        verdict = tdxverify.verify(quote, collateral, now=at, root_ca=FORGE.root_ca_der)
    except tdxverify.VerificationError as exc:
        assert not theirs.ok, f"tdxverify rejects ({exc.code}) what dcap-qvl accepts as {theirs.status}"
    else:
        assert theirs.ok, f"tdxverify accepts ({verdict.status}) what dcap-qvl rejects: {theirs.error}"
        assert (verdict.status, frozenset(verdict.advisory_ids)) == (theirs.status, theirs.advisory_set)
    return theirs


@pytest.mark.parametrize(
    ("overrides", "tee"),
    [({}, "TDX"), ({"version": 5}, "TDX"), ({"version": 5, "body_type": 2}, "TDX"), ({"version": 3}, "SGX")],
    ids=["tdx-v4", "tdx15-v5", "tdx10-v5", "sgx-v3"],
)
def test_default_forgery_is_accepted_up_to_date(overrides: dict[str, int], tee: str) -> None:
    quote = FORGE.quote(**overrides)
    assert oracle(quote, FORGE.collateral(tee)) == OracleResult(True, "UpToDate", (), None)
    assert oracle(quote, FORGE.collateral(tee, with_pck_chain=True)).status == "UpToDate"
    # Bytes after the signature data are outside every signature (real quotes carry some).
    assert oracle(FORGE.quote(trailing_data=bytes(70), **overrides), FORGE.collateral(tee)).ok


def test_dcap_qvl_has_no_v5_sgx_support() -> None:
    """A known gap of dcap-qvl 0.7.0 (docs/differences.md): v5 quotes with an SGX body are refused."""
    got = oracle(FORGE.quote(version=5, body_type=1), FORGE.collateral("SGX"))
    assert not got.ok and got.error is not None and "version 3" in got.error


STATUSES = (
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
)


@pytest.mark.parametrize("tee", ["TDX", "SGX"])
@pytest.mark.parametrize("status", STATUSES)
def test_platform_status_comes_through(status: str, tee: str) -> None:
    quote = FORGE.quote(version=3) if tee == "SGX" else FORGE.quote()
    tcb = FORGE.tcb_info(tee).with_status(status, ("INTEL-SA-00001", "INTEL-SA-00002"))
    got = oracle(quote, FORGE.collateral(tee, tcb_info=tcb))
    assert (got.ok, got.status, got.advisory_set) == (True, status, {"INTEL-SA-00001", "INTEL-SA-00002"})


def test_revoked_levels_are_rejected() -> None:
    assert not oracle(FORGE.quote(), FORGE.collateral(tcb_info=FORGE.tcb_info().with_status("Revoked"))).ok
    assert not oracle(FORGE.quote(), FORGE.collateral(tcb_info=FORGE.tcb_info().with_module_status("Revoked"))).ok
    assert not oracle(FORGE.quote(), FORGE.collateral(qe_identity=FORGE.qe_identity().with_status("Revoked"))).ok


def test_module_and_qe_statuses_merge() -> None:
    tcb = (
        FORGE.tcb_info()
        .with_status("SWHardeningNeeded", ("INTEL-SA-P",))
        .with_module_status("OutOfDate", ("INTEL-SA-M",))
    )
    qe = FORGE.qe_identity().with_status("OutOfDate", ("INTEL-SA-Q",))
    got = oracle(FORGE.quote(), FORGE.collateral(tcb_info=tcb, qe_identity=qe))
    assert (got.status, got.advisory_set) == ("OutOfDate", {"INTEL-SA-P", "INTEL-SA-M", "INTEL-SA-Q"})
    # The QE's ISVSVN selecting the older QE identity level.
    got = oracle(FORGE.quote(qe_isv_svn=3), FORGE.collateral())
    assert (got.status, got.advisory_set) == ("OutOfDate", {"INTEL-SA-00615"})
    # Module version 0 uses tdxModule; module ISVSVN 3 lands on TDX_01's OutOfDate level.
    assert oracle(FORGE.quote(tee_tcb_svn=bytes.fromhex("06000300" + "00" * 12)), FORGE.collateral()).ok
    got = oracle(FORGE.quote(tee_tcb_svn=bytes.fromhex("03010300" + "00" * 12)), FORGE.collateral())
    assert got.status == "OutOfDate"


@pytest.mark.parametrize(
    "overrides",
    [
        {"corrupt": "quote_signature"},
        {"corrupt": "body"},
        {"corrupt": "header"},
        {"corrupt": "attestation_key"},
        {"corrupt": "qe_report"},
        {"corrupt": "qe_report_signature"},
        {"corrupt": "qe_auth_data"},
        {"qe_report_data": bytes(64)},
        {"qe_isv_svn": 1},  # below every QE identity level
        {"qe_mr_signer": bytes(32)},
        {"tee_tcb_svn": bytes.fromhex("06010100" + "00" * 12)},  # TDX component below every level
        {"tee_tcb_svn": bytes.fromhex("06020300" + "00" * 12)},  # no TDX_02 module identity
        {"td_attributes": bytes.fromhex("0100001000000000")},  # debug
        {"qe_vendor_id": bytes(16)},
        {"attestation_key_type": 3},
    ],
    ids=repr,
)
def test_forgeries_are_rejected(overrides: dict[str, object]) -> None:
    assert not oracle(FORGE.quote(**overrides), FORGE.collateral()).ok


def test_collateral_forgeries_are_rejected() -> None:
    quote = FORGE.quote()
    assert not oracle(quote, FORGE.collateral(tcb_info_signature=bytes(64))).ok
    assert not oracle(quote, FORGE.collateral(qe_identity_signature=bytes(64))).ok
    assert not oracle(quote, FORGE.collateral("SGX")).ok  # SGX collateral for a TDX quote
    assert not oracle(quote, FORGE.collateral(tcb_info=FORGE.tcb_info(fmspc=bytes(6)))).ok
    assert not oracle(quote, FORGE.collateral(), now=FORGE.now + 40 * 86_400).ok  # past nextUpdate
    assert not oracle(quote, Forge(seed="someone-else").collateral()).ok  # signed under another root
    # The TCB info is signed over its exact text: pretty-printed text verifies too.
    pretty = json.dumps(json.loads(FORGE.tcb_info().to_text()), indent=1)
    assert oracle(quote, FORGE.collateral(tcb_info=pretty)).ok


@settings(max_examples=25)
@given(
    mr_td=st.binary(min_size=48, max_size=48),
    rtmrs=st.lists(st.binary(min_size=48, max_size=48), min_size=4, max_size=4),
    report_data=st.binary(min_size=64, max_size=64),
    mr_config_id=st.binary(min_size=48, max_size=48),
    layout=st.sampled_from([{}, {"version": 5}, {"version": 5, "body_type": 2}]),
)
def test_measurements_never_change_the_verdict(
    mr_td: bytes, rtmrs: list[bytes], report_data: bytes, mr_config_id: bytes, layout: dict[str, int]
) -> None:
    quote = FORGE.quote(
        mr_td=mr_td,
        rtmr0=rtmrs[0],
        rtmr1=rtmrs[1],
        rtmr2=rtmrs[2],
        rtmr3=rtmrs[3],
        report_data=report_data,
        mr_config_id=mr_config_id,
        **layout,
    )
    assert oracle(quote, FORGE.collateral()).status == "UpToDate"


def test_td_relaunch_advised_agrees() -> None:
    """TD 1.5: a module SVN below TEE_TCB_SVN2's gives TDRelaunchAdvised in both verifiers."""
    quote = FORGE.quote(
        version=5,
        tee_tcb_svn=bytes.fromhex("03010300" + "00" * 12),
        tee_tcb_svn2=bytes.fromhex("06010300" + "00" * 12),
    )
    assert oracle(quote, FORGE.collateral()).status == "TDRelaunchAdvised"


def test_tee_tcb_svn2_without_a_platform_level() -> None:
    """A known difference: dcap-qvl 0.7.0 looks up a platform level for TEE_TCB_SVN2 even when the module
    is UpToDate and rejects when there is none; Intel's QVL consults TEE_TCB_SVN2 only for an OutOfDate
    module, and tdxverify follows Intel."""
    quote = FORGE.quote(version=5, tee_tcb_svn2=bytes(16))
    theirs = oracle_verify(quote, FORGE.collateral(), FORGE.now, FORGE.root_ca_der)
    assert not theirs.ok and theirs.error is not None and "TEE_TCB_SVN2" in theirs.error
    ours = tdxverify.verify(quote, FORGE.collateral(), now=FORGE.now, root_ca=FORGE.root_ca_der)
    assert ours.status == "UpToDate"
