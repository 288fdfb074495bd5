"""A conformance suite for DCAP quote verifiers, built with the forge.

Each :class:`Case` is a named, deterministic (quote, collateral, root CA, time,
policy) with the outcome Intel's rules give: accepted with a TCB status and
advisory IDs, or rejected with one of tdxverify's error codes. The suite covers
a failure of every verification step and every TCB status outcome.

``python -m tdxverify.testing.conformance OUT_DIR`` writes every case as
``OUT_DIR/<name>/{quote.bin,collateral.json,root_ca.der,expected.json}`` plus
``OUT_DIR/manifest.json``, byte-identically from the seed, so other verifiers
can run it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from .collateral import ModuleTcbLevelSpec, QeTcbLevelSpec, TcbInfoSpec, TdxModuleIdentitySpec
from .pki import PkiSpec, SgxExtensionSpec

__all__ = ["CASES", "SEED", "Case", "Material", "build", "main", "write_suite"]

SEED = "tdxverify-conformance-v1"


@dataclass(frozen=True)
class Material:
    """The inputs of one case."""

    quote: bytes
    collateral: Mapping[str, str]
    root_ca_der: bytes
    now: int
    policy: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Case:
    """One conformance case and its expected outcome.

    ``code`` is ``None`` for an accepted quote (then ``status`` and
    ``advisory_ids`` are what the verdict must say), else the error code.
    """

    name: str
    step: str
    description: str
    make: Callable[[], Material]
    code: str | None = None
    status: str | None = None
    advisory_ids: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code is None

    def expectation(self) -> dict[str, Any]:
        if self.accepted:
            return {"ok": True, "status": self.status, "advisory_ids": sorted(self.advisory_ids)}
        return {"ok": False, "code": self.code}


# --------------------------------------------------------------------------- building blocks


def _forge(pki: PkiSpec | None = None, seed: str = SEED) -> Any:
    from . import Forge  # the package imports this module's siblings; import late to avoid a cycle

    return Forge(seed=seed, pki=pki)


@cache
def _base() -> Any:
    return _forge()


def _material(
    *,
    forge: Any = None,
    quote: Mapping[str, Any] | None = None,
    tee: str | None = None,
    tcb_info: TcbInfoSpec | str | None = None,
    qe_identity: Any = None,
    collateral: Mapping[str, Any] | None = None,
    now: int | None = None,
    root_from: Any = None,
    policy: Mapping[str, Any] | None = None,
    patch: Mapping[str, str] | None = None,
    drop: Sequence[str] = (),
) -> Material:
    f = forge or _base()
    q = dict(quote or {})
    if tee is None:
        tee = "SGX" if q.get("version") == 3 or q.get("body_type") == 1 else "TDX"
    col = dict(f.collateral(tee, tcb_info=tcb_info, qe_identity=qe_identity, **(collateral or {})))
    col.update(patch or {})
    for key in drop:
        del col[key]
    return Material(
        quote=f.quote(**q),
        collateral=col,
        root_ca_der=(root_from or f).root_ca_der,
        now=now if now is not None else f.now,
        policy=policy,
    )


def _ti(tee: str = "TDX", forge: Any = None, **kw: Any) -> TcbInfoSpec:
    spec: TcbInfoSpec = (forge or _base()).tcb_info(tee)
    return dataclasses.replace(spec, **kw) if kw else spec


def _qe(tee: str = "TDX", **kw: Any) -> Any:
    return _base().qe_identity(tee, **kw)


def _now() -> datetime:
    return datetime.fromtimestamp(_base().now, timezone.utc)


def _pki(**kw: Any) -> Any:
    return _forge(PkiSpec(**kw))


def _window(days_from: float, days_to: float) -> tuple[datetime, datetime]:
    return (_now() + timedelta(days=days_from), _now() + timedelta(days=days_to))


def _level_status(status: str, advisories: tuple[str, ...] = (), tee: str = "TDX") -> TcbInfoSpec:
    return _ti(tee).with_status(status, advisories)


def _tdx_levels_swapped() -> TcbInfoSpec:
    spec = _ti()
    return dataclasses.replace(spec, tcb_levels=tuple(reversed(spec.tcb_levels)))


def _only_higher_levels() -> TcbInfoSpec:
    # Every level needs a PCESVN above the platform's: no level matches.
    spec = _ti()
    levels = tuple(dataclasses.replace(lv, pce_svn=lv.pce_svn + 20) for lv in spec.tcb_levels)
    return dataclasses.replace(spec, tcb_levels=levels)


def _platform_at_lower_level() -> TcbInfoSpec:
    # The top level needs PCESVN + 1: the platform matches the second level (OutOfDate).
    spec = _ti()
    top, old = spec.tcb_levels
    top = dataclasses.replace(top, pce_svn=top.pce_svn + 1)
    old = dataclasses.replace(old, pce_svn=old.pce_svn + 6)  # exactly the platform's PCESVN
    return dataclasses.replace(spec, tcb_levels=(top, old))


def _module_levels(*levels: ModuleTcbLevelSpec, ident: str = "TDX_01") -> TcbInfoSpec:
    spec = _ti()
    idents = tuple(
        dataclasses.replace(m, tcb_levels=levels) if m.id == ident else m for m in spec.tdx_module_identities or ()
    )
    return dataclasses.replace(spec, tdx_module_identities=idents)


def _qe_levels(*levels: QeTcbLevelSpec, tee: str = "TDX") -> Any:
    return _qe(tee, tcb_levels=levels)


def _svn(*head: int) -> bytes:
    return bytes(head) + bytes(16 - len(head))


_SA = ("INTEL-SA-00001", "INTEL-SA-00002")
_QE_SA = ("INTEL-SA-00615",)
_MOD_SA = ("INTEL-SA-00999",)
_RTMR3 = bytes.fromhex("11" * 48)


def _cases() -> list[Case]:
    C = Case
    m = _material
    cases: list[Case] = [
        # ------------------------------------------------------------ accepted, every status outcome
        C("tdx_v4_up_to_date", "verdict", "Genuine TDX v4 quote, current TCB", lambda: m(), status="UpToDate"),
        C(
            "tdx_v5_tdx15_up_to_date",
            "verdict",
            "TDX v5 quote, TD report 1.5",
            lambda: m(quote={"version": 5}),
            status="UpToDate",
        ),
        C(
            "tdx_v5_tdx10_up_to_date",
            "verdict",
            "TDX v5 quote with a TD report 1.0 body (type 2)",
            lambda: m(quote={"version": 5, "body_type": 2}),
            status="UpToDate",
        ),
        C("sgx_v3_up_to_date", "verdict", "Genuine SGX v3 quote", lambda: m(quote={"version": 3}), status="UpToDate"),
        C(
            "tdx_pcs_bundle_collateral",
            "collateral",
            "Collateral as Intel PCS v4 response bodies",
            lambda: m(collateral={"format": "pcs-bundle"}),
            status="UpToDate",
        ),
        C(
            "platform_sw_hardening_needed",
            "tcb_status",
            "Platform level SWHardeningNeeded with advisories",
            lambda: m(tcb_info=_level_status("SWHardeningNeeded", _SA)),
            status="SWHardeningNeeded",
            advisory_ids=_SA,
        ),
        C(
            "platform_configuration_needed",
            "tcb_status",
            "Platform level ConfigurationNeeded",
            lambda: m(tcb_info=_level_status("ConfigurationNeeded", _SA)),
            status="ConfigurationNeeded",
            advisory_ids=_SA,
        ),
        C(
            "platform_configuration_and_sw_hardening_needed",
            "tcb_status",
            "ConfigurationAndSWHardeningNeeded",
            lambda: m(tcb_info=_level_status("ConfigurationAndSWHardeningNeeded", _SA)),
            status="ConfigurationAndSWHardeningNeeded",
            advisory_ids=_SA,
        ),
        C(
            "platform_out_of_date",
            "tcb_status",
            "Platform level OutOfDate (non-terminal without a policy)",
            lambda: m(tcb_info=_level_status("OutOfDate", _SA)),
            status="OutOfDate",
            advisory_ids=_SA,
        ),
        C(
            "platform_out_of_date_configuration_needed",
            "tcb_status",
            "OutOfDateConfigurationNeeded",
            lambda: m(tcb_info=_level_status("OutOfDateConfigurationNeeded", _SA)),
            status="OutOfDateConfigurationNeeded",
            advisory_ids=_SA,
        ),
        C(
            "platform_matches_lower_level",
            "platform_tcb",
            "PCESVN below the top level: the OutOfDate level rates it",
            lambda: m(tcb_info=_platform_at_lower_level()),
            status="OutOfDate",
            advisory_ids=("INTEL-SA-00837", "INTEL-SA-00960"),
        ),
        C(
            "tcb_levels_served_lowest_first",
            "platform_tcb",
            "Levels out of order: the highest matching one wins",
            lambda: m(tcb_info=_tdx_levels_swapped()),
            status="UpToDate",
        ),
        C(
            "module_out_of_date",
            "tdx_module",
            "TDX module SVN 2: module level OutOfDate",
            lambda: m(quote={"tee_tcb_svn": _svn(2, 1, 3)}),
            status="OutOfDate",
        ),
        C(
            "module_out_of_date_advisories",
            "tdx_module",
            "Module level OutOfDate with advisories: union",
            lambda: m(
                quote={"tee_tcb_svn": _svn(2, 1, 3)},
                tcb_info=_module_levels(
                    ModuleTcbLevelSpec(4), ModuleTcbLevelSpec(2, "OutOfDate", advisory_ids=_MOD_SA)
                ),
            ),
            status="OutOfDate",
            advisory_ids=_MOD_SA,
        ),
        C(
            "module_version_0_uses_tdx_module",
            "tdx_module",
            "Module version 0: tdxModule, no module TCB level",
            lambda: m(quote={"tee_tcb_svn": _svn(5, 0, 3)}),
            status="UpToDate",
        ),
        C(
            "module_identity_id_case_insensitive",
            "tdx_module",
            "tdxModuleIdentities id in lower case matches",
            lambda: m(tcb_info=dataclasses.replace(_ti(), tdx_module_identities=(TdxModuleIdentitySpec("tdx_01"),))),
            status="UpToDate",
        ),
        C(
            "tee_tcb_svn_index_rule",
            "platform_tcb",
            "Module version > 0: TEE_TCB_SVN bytes 0-1 not compared",
            lambda: m(quote={"tee_tcb_svn": _svn(4, 1, 3)}),
            status="UpToDate",
        ),
        C(
            "qe_out_of_date",
            "qe_identity",
            "QE ISVSVN 2: QE level OutOfDate",
            lambda: m(quote={"qe_isv_svn": 2}),
            status="OutOfDate",
            advisory_ids=_QE_SA,
        ),
        C(
            "qe_out_of_date_platform_configuration_needed",
            "tcb_status",
            "QE OutOfDate + platform ConfigurationNeeded: OutOfDateConfigurationNeeded",
            lambda: m(quote={"qe_isv_svn": 2}, tcb_info=_level_status("ConfigurationNeeded", _SA)),
            status="OutOfDateConfigurationNeeded",
            advisory_ids=_SA + _QE_SA,
        ),
        C(
            "advisories_union_platform_module_qe",
            "tcb_status",
            "Advisory IDs from platform, module and QE",
            lambda: m(
                quote={"qe_isv_svn": 2, "tee_tcb_svn": _svn(2, 1, 3)},
                tcb_info=_module_levels(
                    ModuleTcbLevelSpec(4), ModuleTcbLevelSpec(2, "OutOfDate", advisory_ids=_MOD_SA)
                ).with_status("SWHardeningNeeded", _SA),
            ),
            status="OutOfDate",
            advisory_ids=_SA + _MOD_SA + _QE_SA,
        ),
        C(
            "td_relaunch_advised",
            "tcb_status",
            "TDX 1.5: module OutOfDate, TEE_TCB_SVN2 current: TDRelaunchAdvised",
            lambda: m(quote={"version": 5, "tee_tcb_svn": _svn(2, 1, 3), "tee_tcb_svn2": _svn(4, 1, 3)}),
            status="TDRelaunchAdvised",
        ),
        C(
            "td_relaunch_advised_configuration_needed",
            "tcb_status",
            "TDRelaunchAdvisedConfigurationNeeded",
            lambda: m(
                quote={"version": 5, "tee_tcb_svn": _svn(2, 1, 3), "tee_tcb_svn2": _svn(4, 1, 3)},
                tcb_info=_level_status("ConfigurationNeeded", _SA),
            ),
            status="TDRelaunchAdvisedConfigurationNeeded",
            advisory_ids=_SA,
        ),
        C(
            "td_relaunch_not_advised_when_svn2_old",
            "tcb_status",
            "TEE_TCB_SVN2 also old: stays OutOfDate",
            lambda: m(quote={"version": 5, "tee_tcb_svn": _svn(2, 1, 3), "tee_tcb_svn2": _svn(2, 1, 3)}),
            status="OutOfDate",
        ),
        C(
            "sgx_platform_out_of_date",
            "tcb_status",
            "SGX platform OutOfDate",
            lambda: m(quote={"version": 3}, tcb_info=_level_status("OutOfDate", _SA, "SGX")),
            status="OutOfDate",
            advisory_ids=_SA,
        ),
        C(
            "sgx_qe_out_of_date",
            "qe_identity",
            "SGX QE ISVSVN 6: OutOfDate",
            lambda: m(quote={"version": 3, "qe_isv_svn": 6}),
            status="OutOfDate",
            advisory_ids=_QE_SA,
        ),
        C(
            "trailing_data_ignored",
            "parse",
            "Bytes after the signature data are outside every signature",
            lambda: m(quote={"trailing_data": b"\x00" * 70}),
            status="UpToDate",
        ),
        C(
            "qe_auth_data_empty",
            "qe_report_data",
            "QE auth data of length 0 (Intel hashes any length)",
            lambda: m(quote={"qe_auth_data": b""}),
            status="UpToDate",
        ),
        C(
            "qe_auth_data_64_bytes",
            "qe_report_data",
            "QE auth data of 64 bytes",
            lambda: m(quote={"qe_auth_data": bytes(range(64))}),
            status="UpToDate",
        ),
        C(
            "tcb_info_unknown_member_ignored",
            "collateral",
            "Unknown members in TCB info are ignored",
            lambda: m(tcb_info=_ti(extra=(("futureField", {"x": 1}),))),
            status="UpToDate",
        ),
        C(
            "pck_chain_from_collateral",
            "pck_chain",
            "Quote without a PCK chain; chain from the collateral",
            lambda: m(
                quote={"pck_cert_data_type": 3, "pck_cert_data": bytes(range(32))}, collateral={"with_pck_chain": True}
            ),
            status="UpToDate",
        ),
        C(
            "pck_issued_by_processor_ca",
            "pck_chain",
            "PCK certificate from the PCK Processor CA",
            lambda: m(forge=_pki(pck_ca="processor")),
            status="UpToDate",
        ),
        C(
            "service_td_allowed_by_policy",
            "attributes",
            "Non-zero MRSERVICETD accepted by an explicit policy",
            lambda: m(quote={"version": 5, "mr_service_td": b"\x22" * 48}, policy={"allow_service_td": True}),
            status="UpToDate",
        ),
        C(
            "debug_td_allowed_by_policy",
            "attributes",
            "Debug TD accepted by an explicit policy (testing only)",
            lambda: m(quote={"td_attributes": bytes.fromhex("0100001000000000")}, policy={"allow_debug": True}),
            status="UpToDate",
        ),
        C(
            "policy_rtmr3_approved",
            "policy",
            "RTMR3 on the approved list",
            lambda: m(quote={"rtmr3": _RTMR3}, policy={"measurements": {"rtmr3": [_RTMR3.hex()]}}),
            status="UpToDate",
        ),
        # ------------------------------------------------------------ rejected: header
        C(
            "unsupported_version_6",
            "header",
            "Quote version 6",
            lambda: m(quote={"version": 6}),
            code="unsupported_quote_version",
        ),
        C(
            "v4_with_sgx_tee_type",
            "header",
            "Version 4 with TEE type SGX",
            lambda: m(quote={"tee_type": 0}),
            code="unsupported_quote_version",
        ),
        C(
            "v5_with_sgx_body",
            "header",
            "Version 5 with an SGX body: not a supported combination",
            lambda: m(quote={"version": 5, "body_type": 1}),
            code="unsupported_quote_version",
        ),
        C(
            "attestation_key_type_3",
            "header",
            "Attestation key type 3 (not ECDSA-P256)",
            lambda: m(quote={"attestation_key_type": 3}),
            code="unsupported_attestation_key_type",
        ),
        C(
            "qe_vendor_not_intel",
            "header",
            "QE vendor ID is not Intel's",
            lambda: m(quote={"qe_vendor_id": b"\x01" * 16}),
            code="unknown_qe_vendor",
        ),
        C(
            "v5_body_size_mismatch",
            "parse",
            "v5 body descriptor size differs from the body type's",
            lambda: m(quote={"version": 5, "body_size": 600}),
            code="quote_format",
        ),
        C(
            "outer_certification_type_5",
            "pck_chain",
            "v4 outer certification data is a bare PCK chain (5), no QE report",
            lambda: m(
                quote={
                    "certification_data_type": 5,
                    "outer_certification_data": _base().pki.pck_chain_pem.encode() + b"\x00",
                }
            ),
            code="unsupported_certification_data",
        ),
        C(
            "pck_cert_data_not_pem",
            "parse",
            "Type-5 certification data that is not PEM",
            lambda: m(quote={"pck_cert_data": b"\xff" * 100}),
            code="quote_format",
        ),
        # ------------------------------------------------------------ rejected: collateral
        C(
            "collateral_expired",
            "collateral",
            "TCB info past its nextUpdate",
            lambda: m(tcb_info=_ti(issue_date=_now() - timedelta(days=40), next_update=_now() - timedelta(days=10))),
            code="collateral_expired",
        ),
        C(
            "collateral_not_yet_valid",
            "collateral",
            "TCB info issued after the verification time",
            lambda: m(tcb_info=_ti(issue_date=_now() + timedelta(days=1), next_update=_now() + timedelta(days=31))),
            code="collateral_not_yet_valid",
        ),
        C(
            "qe_identity_expired",
            "collateral",
            "QE identity past its nextUpdate",
            lambda: m(qe_identity=_qe(issue_date=_now() - timedelta(days=40), next_update=_now() - timedelta(days=1))),
            code="collateral_expired",
        ),
        C(
            "tcb_info_signature_tampered",
            "collateral",
            "TCB info signature does not verify",
            lambda: m(collateral={"tcb_info_signature": bytes(31) + b"\x01" + bytes(31) + b"\x01"}),
            code="tcb_info_signature_invalid",
        ),
        C(
            "tcb_info_text_altered",
            "collateral",
            "TCB info changed after signing (status raised to UpToDate)",
            lambda: m(patch={"tcb_info": _level_status("OutOfDate").to_text()}),
            code="tcb_info_signature_invalid",
        ),
        C(
            "qe_identity_signature_tampered",
            "collateral",
            "QE identity signature does not verify",
            lambda: m(collateral={"qe_identity_signature": bytes(31) + b"\x01" + bytes(31) + b"\x01"}),
            code="qe_identity_signature_invalid",
        ),
        C(
            "qe_identity_text_altered",
            "collateral",
            "QE identity changed after signing",
            lambda: m(patch={"qe_identity": _qe(isvprodid=3).to_text()}),
            code="qe_identity_signature_invalid",
        ),
        C(
            "sgx_tcb_info_for_tdx_quote",
            "collateral",
            "SGX TCB info + QE identity for a TDX quote",
            lambda: m(tee="SGX"),
            code="collateral_kind_mismatch",
        ),
        C(
            "tdx_collateral_for_sgx_quote",
            "collateral",
            "TDX collateral for an SGX quote",
            lambda: m(quote={"version": 3}, tee="TDX"),
            code="collateral_kind_mismatch",
        ),
        C(
            "untrusted_root",
            "collateral",
            "Everything signed by another PKI than the trusted root",
            lambda: m(forge=_forge(None, SEED + "/other"), root_from=_base()),
            code="untrusted_root",
        ),
        C(
            "tcb_signing_cert_expired",
            "collateral",
            "TCB signing certificate past notAfter",
            lambda: m(forge=_pki(validity={"tcb_signing": _window(-400, -1)})),
            code="certificate_expired",
        ),
        C(
            "tcb_signing_cert_revoked",
            "collateral",
            "TCB signing certificate on the root CA CRL",
            lambda: m(forge=_pki(revoked={"root_crl": ["tcb_signing"]})),
            code="certificate_revoked",
        ),
        C(
            "tcb_signing_cert_rogue",
            "collateral",
            "TCB signing certificate not signed by the root",
            lambda: m(forge=_pki(signers={"tcb_signing": "rogue"})),
            code="tcb_signing_chain_invalid",
        ),
        C(
            "tcb_info_malformed_json",
            "collateral",
            "TCB info is not JSON",
            lambda: m(tcb_info="{not json"),
            code="collateral_format",
        ),
        C(
            "tcb_info_missing_field",
            "collateral",
            "TCB info lacks tcbLevels",
            lambda: m(
                tcb_info=json.dumps(
                    {k: v for k, v in _ti().to_json().items() if k != "tcbLevels"}, separators=(",", ":")
                )
            ),
            code="collateral_format",
        ),
        C(
            "collateral_missing_pck_crl",
            "collateral",
            "Collateral without the PCK CRL",
            lambda: m(drop=["pck_crl"]),
            code="collateral_missing",
        ),
        # ------------------------------------------------------------ rejected: PCK chain and CRLs
        C(
            "pck_revoked",
            "pck_chain",
            "PCK certificate on the PCK CRL",
            lambda: m(forge=_pki(revoked={"platform_crl": ["pck"]})),
            code="pck_revoked",
        ),
        C(
            "pck_platform_ca_revoked",
            "pck_chain",
            "PCK Platform CA on the root CA CRL",
            lambda: m(forge=_pki(revoked={"root_crl": ["platform_ca"]})),
            code="certificate_revoked",
        ),
        C(
            "pck_cert_expired",
            "pck_chain",
            "PCK certificate past notAfter",
            lambda: m(forge=_pki(validity={"pck": _window(-400, -1)})),
            code="certificate_expired",
        ),
        C(
            "pck_cert_not_yet_valid",
            "pck_chain",
            "PCK certificate before notBefore",
            lambda: m(forge=_pki(validity={"pck": _window(1, 400)})),
            code="certificate_not_yet_valid",
        ),
        C(
            "pck_crl_expired",
            "pck_chain",
            "PCK CRL past nextUpdate",
            lambda: m(forge=_pki(crl_validity={"platform_crl": _window(-40, -1)})),
            code="crl_expired",
        ),
        C(
            "root_crl_expired",
            "collateral",
            "Root CA CRL past nextUpdate",
            lambda: m(forge=_pki(crl_validity={"root_crl": _window(-40, -1)})),
            code="crl_expired",
        ),
        C(
            "pck_crl_wrong_signer",
            "pck_chain",
            "PCK CRL signed by a key other than its issuer's",
            lambda: m(forge=_pki(signers={"platform_crl": "rogue"})),
            code="crl_invalid",
        ),
        C(
            "pck_cert_rogue_signer",
            "pck_chain",
            "PCK certificate not signed by the PCK Platform CA",
            lambda: m(forge=_pki(signers={"pck": "rogue"})),
            code="pck_chain_invalid",
        ),
        C(
            "pck_extension_missing_fields",
            "pck_chain",
            "PCK certificate whose SGX extension is empty",
            lambda: m(forge=_pki(sgx_extension_der=bytes.fromhex("3000"))),
            code="pck_extension_invalid",
        ),
        C(
            "pck_chain_without_pck_certificate",
            "pck_chain",
            "Neither the quote nor the collateral has a PCK chain",
            lambda: m(quote={"pck_cert_data_type": 3, "pck_cert_data": bytes(range(32))}),
            code="unsupported_certification_data",
        ),
        # ------------------------------------------------------------ rejected: QE report
        C(
            "qe_report_signature_corrupted",
            "qe_report",
            "QE report signature altered",
            lambda: m(quote={"corrupt": "qe_report_signature"}),
            code="qe_report_signature_invalid",
        ),
        C(
            "qe_report_altered",
            "qe_report",
            "QE report altered after signing",
            lambda: m(quote={"corrupt": "qe_report"}),
            code="qe_report_signature_invalid",
        ),
        C(
            "qe_report_data_wrong",
            "qe_report_data",
            "QE report (validly signed) binds another key",
            lambda: m(quote={"qe_report_data": b"\x33" * 64}),
            code="qe_report_data_mismatch",
        ),
        C(
            "qe_report_data_upper_half_nonzero",
            "qe_report_data",
            "Hash right, upper 32 bytes not zero",
            lambda: m(quote={"qe_report_data": _base_qe_rd()[:32] + b"\x01" * 32}),
            code="qe_report_data_mismatch",
        ),
        C(
            "qe_auth_data_altered",
            "qe_report_data",
            "QE auth data altered",
            lambda: m(quote={"corrupt": "qe_auth_data"}),
            code="qe_report_data_mismatch",
        ),
        C(
            "attestation_key_swapped",
            "qe_report_data",
            "Another attestation key embedded (and used to sign)",
            lambda: m(quote={"corrupt": "attestation_key"}),
            code="qe_report_data_mismatch",
        ),
        # ------------------------------------------------------------ rejected: QE identity
        C(
            "qe_mrsigner_wrong",
            "qe_identity",
            "QE MRSIGNER is not Intel's",
            lambda: m(quote={"qe_mr_signer": b"\x44" * 32}),
            code="qe_identity_mismatch",
        ),
        C(
            "qe_isvprodid_wrong",
            "qe_identity",
            "QE ISVPRODID 1 (the SGX QE) for a TD QE identity",
            lambda: m(quote={"qe_isv_prod_id": 1}),
            code="qe_identity_mismatch",
        ),
        C(
            "qe_debug",
            "qe_identity",
            "QE report with the DEBUG attribute",
            lambda: m(quote={"qe_attributes": bytes.fromhex("1700000000000000e700000000000000")}),
            code="qe_identity_mismatch",
        ),
        C(
            "qe_miscselect_wrong",
            "qe_identity",
            "QE MISCSELECT differs under the mask",
            lambda: m(quote={"qe_misc_select": 1}),
            code="qe_identity_mismatch",
        ),
        C(
            "qe_isvsvn_below_all_levels",
            "qe_identity",
            "QE ISVSVN 1: below every QE TCB level",
            lambda: m(quote={"qe_isv_svn": 1}),
            code="qe_tcb_level_not_found",
        ),
        C(
            "qe_tcb_revoked",
            "tcb_status",
            "QE TCB level Revoked",
            lambda: m(qe_identity=_qe_levels(QeTcbLevelSpec(4, "Revoked"))),
            code="tcb_revoked",
        ),
        # ------------------------------------------------------------ rejected: quote signature
        C(
            "quote_body_altered",
            "quote_signature",
            "TD report altered after signing",
            lambda: m(quote={"corrupt": "body"}),
            code="quote_signature_invalid",
        ),
        C(
            "quote_header_altered",
            "quote_signature",
            "Header user data altered after signing",
            lambda: m(quote={"corrupt": "header"}),
            code="quote_signature_invalid",
        ),
        C(
            "quote_signature_corrupted",
            "quote_signature",
            "Quote signature altered",
            lambda: m(quote={"corrupt": "quote_signature"}),
            code="quote_signature_invalid",
        ),
        C(
            "quote_signature_zero",
            "quote_signature",
            "Quote signature of zeros (r = s = 0)",
            lambda: m(quote={"quote_signature": bytes(64)}),
            code="quote_signature_invalid",
        ),
        C(
            "sgx_quote_body_altered",
            "quote_signature",
            "SGX enclave report altered after signing",
            lambda: m(quote={"version": 3, "corrupt": "body"}),
            code="quote_signature_invalid",
        ),
        # ------------------------------------------------------------ rejected: platform
        C(
            "fmspc_mismatch",
            "platform_match",
            "TCB info for another FMSPC",
            lambda: m(tcb_info=_ti(fmspc=bytes.fromhex("00906ED50000"))),
            code="fmspc_mismatch",
        ),
        C(
            "pce_id_mismatch",
            "platform_match",
            "TCB info for another PCE-ID",
            lambda: m(tcb_info=_ti(pce_id=b"\x00\x01")),
            code="pce_id_mismatch",
        ),
        C(
            "tcb_level_not_found_pcesvn",
            "platform_tcb",
            "PCESVN below every level",
            lambda: m(tcb_info=_only_higher_levels()),
            code="tcb_level_not_found",
        ),
        C(
            "tcb_level_not_found_tdx_components",
            "platform_tcb",
            "TEE_TCB_SVN[2] below every level's TDX component",
            lambda: m(quote={"tee_tcb_svn": _svn(6, 1, 1)}),
            code="tcb_level_not_found",
        ),
        C(
            "tcb_level_not_found_cpusvn",
            "platform_tcb",
            "A CPUSVN component below every level",
            lambda: m(
                forge=_pki(sgx=SgxExtensionSpec(cpu_svn_components=(1, *_base_components()[1:]))), tcb_info=_ti()
            ),
            code="tcb_level_not_found",
        ),
        C(
            "platform_revoked",
            "tcb_status",
            "Platform TCB level Revoked",
            lambda: m(tcb_info=_level_status("Revoked", _SA)),
            code="tcb_revoked",
        ),
        C(
            "sgx_platform_revoked",
            "tcb_status",
            "SGX platform TCB level Revoked",
            lambda: m(quote={"version": 3}, tcb_info=_level_status("Revoked", _SA, "SGX")),
            code="tcb_revoked",
        ),
        # ------------------------------------------------------------ rejected: TDX module
        C(
            "mr_signer_seam_not_intel",
            "tdx_module",
            "MRSIGNER_SEAM differs from the TCB info's",
            lambda: m(quote={"mr_signer_seam": b"\x55" * 48}),
            code="tdx_module_mismatch",
        ),
        C(
            "seam_attributes_nonzero",
            "tdx_module",
            "SEAM attributes not zero",
            lambda: m(quote={"seam_attributes": bytes.fromhex("0100000000000000")}),
            code="tdx_module_mismatch",
        ),
        C(
            "module_identity_not_found",
            "tdx_module",
            "Module version 2: no TDX_02 identity",
            lambda: m(quote={"tee_tcb_svn": _svn(6, 2, 3)}),
            code="tdx_module_identity_not_found",
        ),
        C(
            "module_svn_below_all_levels",
            "tdx_module",
            "Module SVN 1: below every module TCB level",
            lambda: m(quote={"tee_tcb_svn": _svn(1, 1, 3)}),
            code="tcb_level_not_found",
        ),
        C(
            "module_revoked",
            "tcb_status",
            "Module TCB level Revoked",
            lambda: m(tcb_info=_module_levels(ModuleTcbLevelSpec(4, "Revoked"))),
            code="tcb_revoked",
        ),
        # ------------------------------------------------------------ rejected: attributes
        C(
            "debug_td",
            "attributes",
            "TD with the DEBUG attribute",
            lambda: m(quote={"td_attributes": bytes.fromhex("0100001000000000")}),
            code="debug_td",
        ),
        C(
            "td_attributes_reserved_bit",
            "attributes",
            "TD attributes with a reserved bit (bit 8)",
            lambda: m(quote={"td_attributes": bytes.fromhex("0001001000000000")}),
            code="td_attributes_invalid",
        ),
        C(
            "td_attributes_reserved_high_bit",
            "attributes",
            "TD attributes with a reserved bit (bit 40)",
            lambda: m(quote={"td_attributes": bytes.fromhex("0000001000010000")}),
            code="td_attributes_invalid",
        ),
        C(
            "sgx_debug_enclave",
            "attributes",
            "SGX enclave with the DEBUG attribute",
            lambda: m(quote={"version": 3, "attributes": bytes.fromhex("0700000000000000e700000000000000")}),
            code="debug_td",
        ),
        C(
            "service_td_bound",
            "attributes",
            "TD 1.5 with a non-zero MRSERVICETD",
            lambda: m(quote={"version": 5, "mr_service_td": b"\x22" * 48}),
            code="service_td_bound",
        ),
        # ------------------------------------------------------------ rejected: policy
        C(
            "policy_rtmr3_not_approved",
            "policy",
            "RTMR3 not on the approved list",
            lambda: m(policy={"measurements": {"rtmr3": [_RTMR3.hex()]}}),
            code="policy_violation",
        ),
        C(
            "policy_report_data_mismatch",
            "policy",
            "Report data does not bind the expected key",
            lambda: m(policy={"report_data": "ab" * 32}),
            code="policy_violation",
        ),
        C(
            "policy_status_not_accepted",
            "policy",
            "SWHardeningNeeded not accepted by the policy",
            lambda: m(tcb_info=_level_status("SWHardeningNeeded", _SA), policy={"accepted_statuses": ["UpToDate"]}),
            code="policy_violation",
        ),
    ]
    names = [c.name for c in cases]
    if len(names) != len(set(names)):
        raise AssertionError("duplicate case names")
    return cases


def _base_components() -> tuple[int, ...]:
    return tuple(_base().pki.spec.sgx.cpu_svn_components)


def _base_qe_rd() -> bytes:
    from .quotes import qe_report_data_for

    return qe_report_data_for(_base().attestation_key_raw, bytes(range(32)))


CASES: tuple[Case, ...] = tuple(_cases())
"""Every case, in a stable order."""


def build(case: Case) -> Material:
    """The inputs of a case (deterministic)."""
    return case.make()


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_suite(out: Path, cases: Sequence[Case] = CASES) -> list[Path]:
    """Write every case under ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    manifest = []
    for case in cases:
        mat = build(case)
        d = out / case.name
        d.mkdir(exist_ok=True)
        files = {
            "quote.bin": mat.quote,
            "collateral.json": _json(dict(mat.collateral)),
            "root_ca.der": mat.root_ca_der,
            "expected.json": _json(
                {
                    "name": case.name,
                    "step": case.step,
                    "description": case.description,
                    "now": mat.now,
                    "policy": dict(mat.policy) if mat.policy is not None else None,
                    "verdict": case.expectation(),
                }
            ),
        }
        for fname, data in files.items():
            (d / fname).write_bytes(data)
            written.append(d / fname)
        manifest.append({"name": case.name, "step": case.step, "verdict": case.expectation()})
    (out / "manifest.json").write_bytes(
        _json({"seed": SEED, "generator": "tdxverify.testing.conformance", "cases": manifest})
    )
    written.append(out / "manifest.json")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m tdxverify.testing.conformance OUT_DIR", file=sys.stderr)
        return 2
    files = write_suite(Path(args[0]))
    print(f"wrote {len(CASES)} cases ({len(files)} files) to {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
