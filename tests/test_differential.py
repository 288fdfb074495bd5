"""Differential tests: tdxverify against dcap-qvl 0.7.0, case by case.

Subjects: every conformance case (``tdxverify.testing.conformance.CASES``),
every real vector with collateral, and a few forged probes that pin the
differences ``docs/differences.md`` claims but the conformance suite does not
exercise. Each subject runs through ``tdxverify.verify`` and through dcap-qvl
(``tests/oracle.py``) with the same quote, collateral, root and time, and is
classified: both accept (then status and advisory IDs must agree), both reject,
we reject and dcap-qvl accepts, or we accept and dcap-qvl rejects.

dcap-qvl has no appraisal policy, so the accept/reject comparison runs
tdxverify without the case's policy; what the policy then changes is checked
separately (``POLICY_NOTES``). dcap-qvl cannot read a PCS bundle, so such
collateral is handed to it as QuoteCollateralV3 with the signed members cut
out of the served bodies byte for byte.

``KNOWN`` lists every disagreement with the ``docs/differences.md`` bullet it
relies on. The tests fail on a disagreement that is not listed, on a listed
entry that no longer disagrees, and on any "we accept, dcap-qvl rejects" entry
whose bullet does not name the Intel QVL source that accepts it too.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest

import tdxverify
from tdxverify import load_policy
from tdxverify.testing import Forge
from tdxverify.testing.conformance import CASES, Material, build
from tdxverify.testing.pki import PkiSpec, SgxExtensionSpec

pytest.importorskip("dcap_qvl")

from .oracle import oracle_verify
from .vectors import VECTORS_DIR, verifiable_vectors

pytestmark = pytest.mark.oracle

DIFFERENCES_MD = Path(__file__).resolve().parent.parent / "docs" / "differences.md"

BOTH_ACCEPT = "both accept"
BOTH_REJECT = "both reject"
STATUS_DIFFERS = "both accept, status or advisories differ"
WE_REJECT = "we reject, dcap-qvl accepts"
WE_ACCEPT = "we accept, dcap-qvl rejects"
AGREEMENTS = (BOTH_ACCEPT, BOTH_REJECT)


@dataclass(frozen=True)
class Known:
    """A documented disagreement: its kind, the bold lead of its docs/differences.md bullet, and for
    ``WE_ACCEPT`` the Intel QVL source file (named in that bullet) that accepts the same input and the
    words of dcap-qvl's rejection (so the entry cannot pass on a rejection for another reason)."""

    kind: str
    bullet: str
    intel: str = ""
    dcap_error: str = ""


# Bold leads of the docs/differences.md bullets the table relies on.
SIZES = "Sizes must add up exactly."
PEM = "The PEM chain is parsed strictly"
OUTER_TYPE = "The v4/v5 outer certification data must be type 6"
CHAINS = "Chains are built by subject/issuer linkage, not by position"
ROOT_VALIDITY = "The trusted root's own validity period is checked"
CRL_THIS_UPDATE = "CRL thisUpdate is checked"
PCK_CRL_ISSUER = "`pck_crl_issuer_chain` is read and verified"
PCE_ID = "PCE-ID is compared"
QE_AUTH = "QE auth data may have any length"
QE_REPORT_DATA = "QE report data must be the hash followed by 32 zero bytes."
CPUSVN = "SGX components are matched from the PCK certificate's 16 CPUSVN component INTEGERs"
SEAM = "SEAM attributes must be zero."
TD_ATTR_ACCEPTED = "TD attributes that dcap-qvl refuses are accepted."
SVN2 = "TEE_TCB_SVN2 is read only by the relaunch check."
SERVICE_TD = "A non-zero MRSERVICETD (TD 1.5) is rejected by default"
DEBUG_TD = "A debug TD is rejected by default"
APPRAISAL = "A `Policy` is appraisal, on top of verification."

SVN2_ERROR = "Failed to evaluate the current TDX TCB (TEE_TCB_SVN2)"

KNOWN: dict[str, Known] = {
    # conformance suite
    "conformance:qe_auth_data_empty": Known(WE_ACCEPT, QE_AUTH, "QuoteStructures.cpp", "Invalid QE auth data length"),
    "conformance:qe_auth_data_64_bytes": Known(
        WE_ACCEPT, QE_AUTH, "QuoteStructures.cpp", "Invalid QE auth data length"
    ),
    "conformance:qe_report_data_upper_half_nonzero": Known(WE_REJECT, QE_REPORT_DATA),
    "conformance:pce_id_mismatch": Known(WE_REJECT, PCE_ID),
    # probes: TD 1.5 TEE_TCB_SVN2
    "probe:svn2_without_platform_level": Known(WE_ACCEPT, SVN2, "TDRelaunchCheck.cpp", SVN2_ERROR),
    "probe:svn2_unknown_module_version": Known(WE_ACCEPT, SVN2, "TDRelaunchCheck.cpp", SVN2_ERROR),
    "probe:svn2_module_below_levels": Known(WE_ACCEPT, SVN2, "TDRelaunchCheck.cpp", SVN2_ERROR),
    "probe:svn2_without_platform_level_module_old": Known(WE_ACCEPT, SVN2, "TDRelaunchCheck.cpp", SVN2_ERROR),
    # probes: quote format
    "probe:pem_chain_trailing_byte": Known(WE_REJECT, PEM),
    "probe:outer_type_5_around_qe_report": Known(WE_REJECT, OUTER_TYPE),
    "probe:signature_data_slack": Known(WE_REJECT, SIZES),
    "probe:qe_certification_data_slack": Known(WE_REJECT, SIZES),
    # probes: TD attributes, TDX module, TCB level matching
    "probe:td_attributes_without_sept_ve_disable": Known(
        WE_ACCEPT, TD_ATTR_ACCEPTED, "QuoteVerifier.cpp", "SEPT_VE_DISABLE is not enabled"
    ),
    "probe:td_attributes_migratable": Known(
        WE_ACCEPT, TD_ATTR_ACCEPTED, "QuoteVerifier.cpp", "TD migration is enabled"
    ),
    "probe:seam_attributes_match_under_mask": Known(WE_REJECT, SEAM),
    "probe:cpusvn_octets_below_level": Known(WE_ACCEPT, CPUSVN, "TcbLevelCheck.cpp", "No matching TCB level found"),
    "probe:cpusvn_components_below_level": Known(WE_REJECT, CPUSVN),
    # probes: trust
    "probe:root_ca_expired": Known(WE_REJECT, ROOT_VALIDITY),
    "probe:pck_crl_issued_after_now": Known(WE_REJECT, CRL_THIS_UPDATE),
    "probe:pck_crl_issuer_chain_wrong_ca": Known(WE_REJECT, PCK_CRL_ISSUER),
    "probe:pck_chain_extra_root": Known(WE_REJECT, CHAINS),
    "probe:pck_chain_root_first": Known(WE_ACCEPT, CHAINS, "CertificateChain.cpp", "CaUsedAsEndEntity"),
}
"""Every disagreement between tdxverify (without policy) and dcap-qvl, keyed by subject name."""

POLICY_NOTES: dict[str, Known] = {
    # explicit opt-ins: Intel's QVL leaves these to appraisal; dcap-qvl always refuses
    "conformance:service_td_allowed_by_policy": Known(
        WE_ACCEPT, SERVICE_TD, "QuoteVerifier.cpp", "Invalid MR service TD"
    ),
    "conformance:debug_td_allowed_by_policy": Known(WE_ACCEPT, DEBUG_TD, "QuoteVerifier.cpp", "Debug mode is enabled"),
    # appraisal rules dcap-qvl does not have
    "conformance:policy_rtmr3_not_approved": Known(WE_REJECT, APPRAISAL),
    "conformance:policy_report_data_mismatch": Known(WE_REJECT, APPRAISAL),
    "conformance:policy_status_not_accepted": Known(WE_REJECT, APPRAISAL),
}
"""Policy cases whose verdict *with* the policy differs from dcap-qvl's: the opt-in or rule responsible."""


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: str | None = None
    advisories: frozenset[str] = frozenset()
    detail: str = ""  # error code (tdxverify) or message (dcap-qvl)


def ours(mat: Material, *, with_policy: bool = False) -> Outcome:
    policy = load_policy(mat.policy) if with_policy and mat.policy is not None else None
    try:
        verdict = tdxverify.verify(mat.quote, mat.collateral, now=mat.now, root_ca=mat.root_ca_der, policy=policy)
    except tdxverify.VerificationError as exc:
        return Outcome(False, detail=str(exc.code))
    return Outcome(True, verdict.status, frozenset(verdict.advisory_ids))


def theirs(mat: Material) -> Outcome:
    got = oracle_verify(mat.quote, as_quote_collateral_v3(mat.collateral), mat.now, mat.root_ca_der)
    if not got.ok:
        return Outcome(False, detail=got.error or "")
    return Outcome(True, got.status, got.advisory_set)


def classify(we: Outcome, they: Outcome) -> str:
    if we.ok and they.ok:
        return BOTH_ACCEPT if (we.status, we.advisories) == (they.status, they.advisories) else STATUS_DIFFERS
    if not we.ok and not they.ok:
        return BOTH_REJECT
    return WE_ACCEPT if we.ok else WE_REJECT


def _signed_member(response: str, member: str) -> tuple[str, str]:
    """The exact text of ``member`` inside a PCS response body, and the body's signature."""
    found = re.search(rf'"{member}"\s*:\s*', response)
    assert found, f"no {member} in the PCS response"
    _, end = json.JSONDecoder().raw_decode(response, found.end())
    return response[found.end() : end], str(json.loads(response)["signature"])


def as_quote_collateral_v3(collateral: Mapping[str, Any]) -> dict[str, Any]:
    """dcap-qvl reads only QuoteCollateralV3: cut a PCS bundle's signed members out as served."""
    col = dict(collateral)
    if "tcb_info_response" in col:
        col["tcb_info"], col["tcb_info_signature"] = _signed_member(col.pop("tcb_info_response"), "tcbInfo")
    if "qe_identity_response" in col:
        col["qe_identity"], col["qe_identity_signature"] = _signed_member(
            col.pop("qe_identity_response"), "enclaveIdentity"
        )
    return col


# --------------------------------------------------------------------------- subjects

PROBE_FORGE_SEED = "tdxverify-differential"


@cache
def _base_forge() -> Forge:
    return Forge(seed=PROBE_FORGE_SEED)


def _forge(**pki: Any) -> Forge:
    """The probes' forge, or one with a changed PKI (same seed, same keys)."""
    return Forge(seed=PROBE_FORGE_SEED, pki=PkiSpec(**pki)) if pki else _base_forge()


def _svn(*head: int) -> bytes:
    return bytes(head) + bytes(16 - len(head))


def _td_attributes(*flip_bits: int) -> bytes:
    value = int.from_bytes(bytes.fromhex("0000001000000000"), "little")  # the default: SEPT_VE_DISABLE only
    for bit in flip_bits:
        value ^= 1 << bit
    return value.to_bytes(8, "little")


def _days(n: float) -> datetime:
    return datetime.fromtimestamp(_forge().now, timezone.utc) + timedelta(days=n)


def _mat(
    quote: bytes | None = None, collateral: Mapping[str, Any] | None = None, forge: Forge | None = None
) -> Material:
    f = forge or _forge()
    return Material(
        quote=f.quote() if quote is None else quote,
        collateral=f.collateral() if collateral is None else dict(collateral),
        root_ca_der=f.root_ca_der,
        now=f.now,
    )


def _quote(**overrides: Any) -> Material:
    return _mat(_forge().quote(**overrides))


def _collateral(**changes: str) -> Material:
    return _mat(collateral={**_forge().collateral(), **changes})


def _pck_data(*names: str, extra: str = "") -> bytes:
    return (_forge().pki.pem(*names) + extra).encode() + b"\x00"


def _signature_data_slack() -> Material:
    f = _forge()
    size = struct.unpack_from("<I", f.quote(), 632)[0]  # v4: header 48 + TD report 584
    return _mat(f.quote(signature_data_size=size + 70, trailing_data=bytes(70)))


def _qe_certification_data_slack() -> Material:
    # Declare 8 more bytes in the outer (type 6) certification data and the signature data, and supply them:
    # unexplained bytes after the nested PCK chain inside the QE report certification data.
    f = _forge()
    regions = f.forged_quote().regions
    raw = bytearray(f.quote(trailing_data=bytes(8)))
    outer = regions["certification_data"][0]
    struct.pack_into("<I", raw, outer + 2, struct.unpack_from("<I", raw, outer + 2)[0] + 8)
    struct.pack_into("<I", raw, 632, struct.unpack_from("<I", raw, 632)[0] + 8)
    return _mat(bytes(raw))


def _seam_attributes_under_mask() -> Material:
    f = _forge()
    spec = f.tcb_info()
    attrs = bytes.fromhex("0100000000000000")
    idents = tuple(dataclasses.replace(m, attributes=attrs) for m in spec.tdx_module_identities or ())
    return _mat(
        f.quote(seam_attributes=attrs),
        f.collateral(tcb_info=dataclasses.replace(spec, tdx_module_identities=idents)),
    )


def _cpusvn_octets(components_below: bool) -> Material:
    comps = tuple(_forge().pki.spec.sgx.cpu_svn_components)
    if components_below:  # octets meet the top level, the component INTEGERs do not meet any
        sgx = SgxExtensionSpec(cpu_svn=bytes(comps), cpu_svn_components=(0, *comps[1:]))
    else:  # the component INTEGERs meet the top level, the octets none
        sgx = SgxExtensionSpec(cpu_svn=bytes(16))
    f = _forge(sgx=sgx)
    return _mat(f.quote(), f.collateral(tcb_info=_forge().tcb_info()), f)


@dataclass(frozen=True)
class Probe:
    """A forged subject and tdxverify's outcome on it: a status if accepted, else the error code."""

    make: Callable[[], Material]
    expect: str


PROBES: dict[str, Probe] = {
    "svn2_without_platform_level": Probe(lambda: _quote(version=5, tee_tcb_svn2=bytes(16)), "UpToDate"),
    "svn2_unknown_module_version": Probe(lambda: _quote(version=5, tee_tcb_svn2=_svn(6, 2, 3)), "UpToDate"),
    "svn2_module_below_levels": Probe(lambda: _quote(version=5, tee_tcb_svn2=_svn(2, 3, 3)), "UpToDate"),
    "svn2_without_platform_level_module_old": Probe(
        lambda: _quote(version=5, tee_tcb_svn=_svn(2, 1, 3), tee_tcb_svn2=_svn(6, 1, 1)), "OutOfDate"
    ),
    "pem_chain_trailing_byte": Probe(
        lambda: _quote(pck_cert_data=_forge().pki.pck_chain_pem.encode() + b"X"), "quote_format"
    ),
    "outer_type_5_around_qe_report": Probe(lambda: _quote(certification_data_type=5), "quote_format"),
    "signature_data_slack": Probe(_signature_data_slack, "quote_format"),
    "qe_certification_data_slack": Probe(_qe_certification_data_slack, "quote_format"),
    "td_attributes_without_sept_ve_disable": Probe(lambda: _quote(td_attributes=_td_attributes(28)), "UpToDate"),
    "td_attributes_migratable": Probe(lambda: _quote(td_attributes=_td_attributes(29)), "UpToDate"),
    "td_attributes_pks_kl_perfmon": Probe(lambda: _quote(td_attributes=_td_attributes(30, 31, 63)), "UpToDate"),
    "td_attributes_bit16_icssd": Probe(lambda: _quote(td_attributes=_td_attributes(16)), "UpToDate"),
    "td_attributes_bit18": Probe(lambda: _quote(td_attributes=_td_attributes(18)), "UpToDate"),
    "td_attributes_bit27_lass": Probe(lambda: _quote(td_attributes=_td_attributes(27)), "UpToDate"),
    "td_attributes_bit62_tpa": Probe(lambda: _quote(td_attributes=_td_attributes(62)), "UpToDate"),
    "seam_attributes_match_under_mask": Probe(_seam_attributes_under_mask, "tdx_module_mismatch"),
    "cpusvn_octets_below_level": Probe(lambda: _cpusvn_octets(components_below=False), "UpToDate"),
    "cpusvn_components_below_level": Probe(lambda: _cpusvn_octets(components_below=True), "tcb_level_not_found"),
    "root_ca_expired": Probe(
        lambda: _mat(forge=_forge(validity={"root": (_days(-400), _days(-1))})), "certificate_expired"
    ),
    "pck_crl_issued_after_now": Probe(
        lambda: _mat(forge=_forge(crl_validity={"platform_crl": (_days(1), _days(40))})), "crl_not_yet_valid"
    ),
    "pck_crl_issuer_chain_wrong_ca": Probe(
        lambda: _collateral(pck_crl_issuer_chain=_forge().pki.pem("tcb_signing", "root")), "crl_invalid"
    ),
    "pck_chain_extra_root": Probe(
        lambda: _quote(
            pck_cert_data=_pck_data("pck", "platform_ca", "root", extra=Forge(seed="another-pki").pki.pem("root"))
        ),
        "pck_chain_invalid",
    ),
    "pck_chain_root_first": Probe(lambda: _quote(pck_cert_data=_pck_data("root", "platform_ca", "pck")), "UpToDate"),
    "pck_chain_without_root": Probe(lambda: _quote(pck_cert_data=_pck_data("pck", "platform_ca")), "UpToDate"),
}
"""Forged cases for documented differences the conformance suite does not cover."""

INTEL_ROOT = (VECTORS_DIR / "intel-sgx-root-ca.der").read_bytes()


def _vector_material(name: str) -> Material:
    vector = next(v for v in verifiable_vectors() if v.name == name)
    collateral, now = vector.collateral, vector.now
    assert collateral is not None and now is not None
    return Material(quote=vector.quote, collateral=collateral, root_ca_der=INTEL_ROOT, now=now)


def _subjects() -> dict[str, Callable[[], Material]]:
    out: dict[str, Callable[[], Material]] = {}
    for case in CASES:
        out[f"conformance:{case.name}"] = partial(build, case)
    for vector in verifiable_vectors():
        out[f"vector:{vector.name}"] = partial(_vector_material, vector.name)
    for name, probe in PROBES.items():
        out[f"probe:{name}"] = probe.make
    return out


SUBJECTS = _subjects()


@dataclass(frozen=True)
class Result:
    we: Outcome
    they: Outcome
    kind: str


@cache
def material(name: str) -> Material:
    return SUBJECTS[name]()


@cache
def result(name: str) -> Result:
    mat = material(name)
    we, they = ours(mat), theirs(mat)
    return Result(we, they, classify(we, they))


def _describe(r: Result) -> str:
    def one(o: Outcome) -> str:
        return f"accepts {o.status} {sorted(o.advisories)}" if o.ok else f"rejects ({o.detail})"

    return f"tdxverify {one(r.we)}; dcap-qvl {one(r.they)}"


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(SUBJECTS))
def test_every_disagreement_is_documented(name: str) -> None:
    r = result(name)
    if r.kind in AGREEMENTS:
        assert name not in KNOWN, f"{name} is listed as '{KNOWN[name].kind}' but now agrees: {_describe(r)}"
        return
    assert name in KNOWN, f"undocumented difference '{r.kind}' for {name}: {_describe(r)}"
    assert KNOWN[name].kind == r.kind, f"{name}: listed as '{KNOWN[name].kind}', found '{r.kind}': {_describe(r)}"


@pytest.mark.parametrize("name", list(PROBES))
def test_probe_exercises_what_it_names(name: str) -> None:
    """Each probe reaches the tdxverify outcome it was built for (not a failure somewhere else)."""
    we = result(f"probe:{name}").we
    assert (we.status if we.ok else we.detail) == PROBES[name].expect


def test_table_names_only_real_subjects() -> None:
    assert set(KNOWN) <= set(SUBJECTS)
    assert set(POLICY_NOTES) <= set(SUBJECTS)


def _bullets() -> dict[str, str]:
    """docs/differences.md bullets by their bold lead (the text between the first pair of ``**``)."""
    text = DIFFERENCES_MD.read_text()
    out: dict[str, str] = {}
    for block in re.split(r"\n(?=- |#)", text):
        flat = " ".join(block.split())
        lead = re.match(r"- \*\*(.+?)\*\*", flat)
        if lead:
            out[lead.group(1)] = flat
    return out


def test_every_entry_cites_a_bullet_and_looser_entries_are_intel_backed() -> None:
    bullets = _bullets()
    for name, known in {**KNOWN, **POLICY_NOTES}.items():
        assert known.bullet in bullets, f"{name}: no docs/differences.md bullet '**{known.bullet}**'"
        if known.kind == WE_ACCEPT:
            # The hard rule: we may be looser than dcap-qvl only where Intel's QVL accepts the same input.
            body = bullets[known.bullet]
            assert known.intel, f"{name}: tdxverify accepts what dcap-qvl rejects, with no Intel QVL source named"
            assert known.intel in body and "Intel's QVL" in body, f"{name}: bullet does not cite {known.intel}"
            assert known.dcap_error, f"{name}: no dcap-qvl rejection reason recorded"
            assert known.dcap_error in result(name).they.detail, f"{name}: dcap-qvl rejects for another reason"


def test_pcs_bundle_is_handed_over_as_served() -> None:
    """dcap-qvl cannot read a PCS bundle; the signed members it is given are the served bytes, unchanged."""
    name = "conformance:tdx_pcs_bundle_collateral"
    mat = material(name)
    assert not oracle_verify(mat.quote, mat.collateral, mat.now, mat.root_ca_der).ok
    converted = as_quote_collateral_v3(mat.collateral)
    for member in ("tcb_info", "qe_identity"):
        served = mat.collateral[f"{member}_response"]
        assert converted[member] in served and json.loads(served)["signature"] == converted[f"{member}_signature"]
    assert result(name).kind == BOTH_ACCEPT


def test_no_status_differences() -> None:
    """Where both accept, status and advisory IDs agree everywhere (no STATUS_DIFFERS entry exists)."""
    differing = [n for n in SUBJECTS if result(n).kind == STATUS_DIFFERS]
    assert differing == [], [(n, _describe(result(n))) for n in differing]
    assert all(k.kind != STATUS_DIFFERS for k in KNOWN.values())


def test_conformance_verdicts_hold_without_policy() -> None:
    """The comparison uses tdxverify without policy; for policy-free cases that is the case's own verdict."""
    for case in CASES:
        r = result(f"conformance:{case.name}")
        if material(f"conformance:{case.name}").policy is None:
            assert r.we.ok is case.accepted, case.name
            if case.accepted:
                assert (r.we.status, r.we.advisories) == (case.status, frozenset(case.advisory_ids)), case.name
            else:
                assert r.we.detail == case.code, case.name


@pytest.mark.parametrize(
    "case", [c for c in CASES if material(f"conformance:{c.name}").policy is not None], ids=lambda c: c.name
)
def test_policy_cases_are_appraisal(case: Any) -> None:
    """With its policy a case may differ from dcap-qvl only as POLICY_NOTES says: an explicit opt-in
    (which Intel's QVL leaves to appraisal too) or an appraisal rule dcap-qvl does not have."""
    name = f"conformance:{case.name}"
    mat = material(name)
    with_policy = ours(mat, with_policy=True)
    assert with_policy.ok is case.accepted
    kind = classify(with_policy, result(name).they)
    if kind in AGREEMENTS:
        assert name not in POLICY_NOTES, f"{name}: listed in POLICY_NOTES but agrees with dcap-qvl"
        return
    assert name in POLICY_NOTES, f"{name}: with its policy, undocumented '{kind}'"
    assert POLICY_NOTES[name].kind == kind
    if kind == WE_REJECT:
        assert with_policy.detail == "policy_violation", name
    else:
        # an opt-in only lifts a check tdxverify makes by default: without the policy it is rejected
        assert not result(name).we.ok, name


def test_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Counts of the comparison, printed in the test output: the suite plus real vectors, then the probes."""
    groups = {
        "conformance + real vectors": [n for n in SUBJECTS if not n.startswith("probe:")],
        "probes": [n for n in SUBJECTS if n.startswith("probe:")],
    }
    lines = []
    for label, names in groups.items():
        counts = Counter(result(n).kind for n in names)
        agreements = counts[BOTH_ACCEPT] + counts[BOTH_REJECT]
        assert agreements + counts[STATUS_DIFFERS] + counts[WE_REJECT] + counts[WE_ACCEPT] == len(names)
        lines.append(
            f"{label}: {len(names)} compared, {agreements} agree "
            f"({counts[BOTH_ACCEPT]} both accept, {counts[BOTH_REJECT]} both reject), "
            f"{counts[WE_REJECT]} we reject/dcap-qvl accepts, {counts[WE_ACCEPT]} we accept/dcap-qvl rejects, "
            f"{counts[STATUS_DIFFERS]} status differs"
        )
        for kind in (WE_REJECT, WE_ACCEPT, STATUS_DIFFERS):
            lines += [f"  {kind}: {n}" for n in names if result(n).kind == kind]
    listed = Counter(k.kind for k in KNOWN.values())
    found = Counter(result(n).kind for n in SUBJECTS if result(n).kind not in AGREEMENTS)
    assert listed == found
    with capsys.disabled():
        print("\n" + "\n".join(lines))


@pytest.mark.parametrize("bit", range(64))
def test_td_attribute_bits_agree_with_dcap_qvl(bit: int) -> None:
    """Each TD attribute bit flipped alone: our verdict equals dcap-qvl's, but for documented ones."""
    mat = _quote(td_attributes=_td_attributes(bit))
    we, they = ours(mat), theirs(mat)
    if bit in (28, 29):
        # SEPT_VE_DISABLE cleared / MIGRATABLE set: we accept with Intel (differences.md).
        assert we.ok and not they.ok
    else:
        assert classify(we, they) in (BOTH_ACCEPT, BOTH_REJECT), f"bit {bit}: {we} vs {they}"
