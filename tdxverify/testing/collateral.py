"""Forge Intel collateral: TCB info and QE identity JSON, signed, in both collateral formats.

Specs (:class:`TcbInfoSpec`, :class:`QeIdentitySpec`) render to JSON text laid
out as Intel's PCS serves it (compact, Intel's member order, upper-case hex);
:func:`sign_text` signs the exact text with the TCB signing key (ECDSA P-256,
raw r||s); :func:`quote_collateral_v3` and :func:`pcs_response` wrap the
signed text in dcap-qvl's ``QuoteCollateralV3`` JSON shape and in Intel PCS v4
response bodies; :func:`pcs_bundle` gathers those bodies with the issuer
chains and CRLs into the PCS bundle ``tdxverify.load_collateral`` accepts.

Defaults describe one modern TDX platform (FMSPC ``B0C06F000000``, PCE-ID
``0000``, PCK SGX components ``DEFAULT_SGX_COMPONENTS``, PCESVN 11) that the
default forged quote (:mod:`tdxverify.testing.quotes`) matches as UpToDate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .quotes import ForgeError, sign_raw

__all__ = [
    "DEFAULT_FMSPC",
    "DEFAULT_NOW",
    "DEFAULT_PCE_ID",
    "DEFAULT_PCE_SVN",
    "DEFAULT_SGX_COMPONENTS",
    "ModuleTcbLevelSpec",
    "QeIdentitySpec",
    "QeTcbLevelSpec",
    "TcbComponent",
    "TcbInfoSpec",
    "TcbLevelSpec",
    "TdxModuleIdentitySpec",
    "TdxModuleSpec",
    "default_qe_identity",
    "default_tcb_info",
    "format_time",
    "pcs_bundle",
    "pcs_response",
    "quote_collateral_v3",
    "sign_text",
]

DEFAULT_NOW = datetime(2025, 7, 1, tzinfo=timezone.utc)
"""The verification time the default collateral is fresh at."""
DEFAULT_ISSUE_DATE = DEFAULT_NOW - timedelta(days=10)
DEFAULT_NEXT_UPDATE = DEFAULT_ISSUE_DATE + timedelta(days=30)

DEFAULT_FMSPC = bytes.fromhex("B0C06F000000")
DEFAULT_PCE_ID = bytes.fromhex("0000")
DEFAULT_SGX_COMPONENTS: tuple[int, ...] = (3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0)
"""The SGX TCB component SVNs of the default PCK certificate."""
DEFAULT_PCE_SVN = 11
"""The PCESVN of the default PCK certificate."""

_TCB_DATE_CURRENT = datetime(2024, 3, 13, tzinfo=timezone.utc)
_TCB_DATE_OLD = datetime(2023, 8, 9, tzinfo=timezone.utc)


def format_time(value: datetime | str) -> str:
    """A time as Intel writes it (``2025-06-19T10:16:03Z``); strings pass through unchanged."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ForgeError("collateral times must be timezone-aware datetimes (or preformatted strings)")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(value: bytes) -> str:
    return value.hex().upper()


@dataclass(frozen=True)
class TcbComponent:
    """One TCB component: SVN plus Intel's optional category / type labels."""

    svn: int
    category: str | None = None
    type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"svn": self.svn}
        if self.category is not None:
            out["category"] = self.category
        if self.type is not None:
            out["type"] = self.type
        return out


Components = tuple[int | TcbComponent, ...]


def _components(values: Components) -> list[dict[str, Any]]:
    return [(c if isinstance(c, TcbComponent) else TcbComponent(c)).to_json() for c in values]


# Intel labels the first few components; kept so forged text reads like the real thing.
_SGX_LABELS = (
    ("BIOS", "Early Microcode Update"),
    ("OS/VMM", "SGX Late Microcode Update"),
    ("OS/VMM", "TXT SINIT"),
    ("BIOS", None),
    ("BIOS", None),
    ("BIOS", None),
    (None, None),
    ("OS/VMM", "SEAMLDR ACM"),
)
_TDX_LABELS = (
    ("OS/VMM", "TDX Module"),
    ("OS/VMM", "TDX Module"),
    ("OS/VMM", "TDX Late Microcode Update"),
)


def labelled(svns: tuple[int, ...], labels: tuple[tuple[str | None, str | None], ...]) -> Components:
    """Components with Intel-style category/type labels on the first entries."""
    out: list[int | TcbComponent] = []
    for i, svn in enumerate(svns):
        cat, typ = labels[i] if i < len(labels) else (None, None)
        out.append(TcbComponent(svn, cat, typ))
    return tuple(out)


@dataclass(frozen=True)
class TcbLevelSpec:
    """A platform TCB level: 16 SGX components, PCESVN, and (TDX) 16 TDX components."""

    sgx_components: Components
    pce_svn: int
    tdx_components: Components | None = None
    status: str = "UpToDate"
    tcb_date: datetime | str = _TCB_DATE_CURRENT
    advisory_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        tcb: dict[str, Any] = {"sgxtcbcomponents": _components(self.sgx_components), "pcesvn": self.pce_svn}
        if self.tdx_components is not None:
            tcb["tdxtcbcomponents"] = _components(self.tdx_components)
        out: dict[str, Any] = {"tcb": tcb, "tcbDate": format_time(self.tcb_date), "tcbStatus": self.status}
        if self.advisory_ids:
            out["advisoryIDs"] = list(self.advisory_ids)
        return out


@dataclass(frozen=True)
class ModuleTcbLevelSpec:
    """A TDX module identity TCB level (keyed by the module's ISVSVN, TEE_TCB_SVN[0])."""

    isv_svn: int
    status: str = "UpToDate"
    tcb_date: datetime | str = _TCB_DATE_CURRENT
    advisory_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tcb": {"isvsvn": self.isv_svn},
            "tcbDate": format_time(self.tcb_date),
            "tcbStatus": self.status,
        }
        if self.advisory_ids:
            out["advisoryIDs"] = list(self.advisory_ids)
        return out


QeTcbLevelSpec = ModuleTcbLevelSpec
"""QE identity TCB levels have the same shape (keyed by the QE's ISVSVN)."""


@dataclass(frozen=True)
class TdxModuleSpec:
    """``tdxModule``: the module signer and attributes (used for module version 0)."""

    mrsigner: bytes = bytes(48)
    attributes: bytes = bytes(8)
    attributes_mask: bytes = b"\xff" * 8

    def to_json(self) -> dict[str, Any]:
        return {
            "mrsigner": _hex(self.mrsigner),
            "attributes": _hex(self.attributes),
            "attributesMask": _hex(self.attributes_mask),
        }


@dataclass(frozen=True)
class TdxModuleIdentitySpec:
    """One ``tdxModuleIdentities`` entry (``TDX_%02X`` of the module version, TEE_TCB_SVN[1])."""

    id: str = "TDX_01"
    mrsigner: bytes = bytes(48)
    attributes: bytes = bytes(8)
    attributes_mask: bytes = b"\xff" * 8
    tcb_levels: tuple[ModuleTcbLevelSpec, ...] = (
        ModuleTcbLevelSpec(4),
        ModuleTcbLevelSpec(2, "OutOfDate", _TCB_DATE_OLD),
    )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **TdxModuleSpec(self.mrsigner, self.attributes, self.attributes_mask).to_json(),
            "tcbLevels": [lvl.to_json() for lvl in self.tcb_levels],
        }


_DEFAULT_TDX_COMPONENTS = (5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_OLD_ADVISORIES = ("INTEL-SA-00837", "INTEL-SA-00960")


def _default_levels(tdx: bool, sgx_components: tuple[int, ...], pce_svn: int) -> tuple[TcbLevelSpec, ...]:
    tdx_current = labelled(_DEFAULT_TDX_COMPONENTS, _TDX_LABELS) if tdx else None
    current = TcbLevelSpec(labelled(sgx_components, _SGX_LABELS), pce_svn, tdx_current)
    # An older level: same components, an older PCESVN. Platforms below the current level land here.
    old = TcbLevelSpec(
        labelled(sgx_components, _SGX_LABELS),
        max(pce_svn - 6, 0),
        tdx_current,
        status="OutOfDate",
        tcb_date=_TCB_DATE_OLD,
        advisory_ids=_OLD_ADVISORIES,
    )
    return (current, old)


@dataclass(frozen=True)
class TcbInfoSpec:
    """TCB info (v3; ``id`` "TDX" or "SGX"). Members render in Intel's order.

    ``tdx_module`` / ``tdx_module_identities`` are emitted when not ``None``
    (TDX TCB info has both). ``extra`` members are appended verbatim
    (verifiers must ignore unknown members).
    """

    id: str = "TDX"
    version: int = 3
    issue_date: datetime | str = DEFAULT_ISSUE_DATE
    next_update: datetime | str = DEFAULT_NEXT_UPDATE
    fmspc: bytes = DEFAULT_FMSPC
    pce_id: bytes = DEFAULT_PCE_ID
    tcb_type: int = 0
    tcb_evaluation_data_number: int = 17
    tdx_module: TdxModuleSpec | None = TdxModuleSpec()
    tdx_module_identities: tuple[TdxModuleIdentitySpec, ...] | None = (
        TdxModuleIdentitySpec("TDX_03", tcb_levels=(ModuleTcbLevelSpec(3),)),
        TdxModuleIdentitySpec("TDX_01"),
    )
    tcb_levels: tuple[TcbLevelSpec, ...] = _default_levels(True, DEFAULT_SGX_COMPONENTS, DEFAULT_PCE_SVN)
    extra: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The object as a dict in Intel's member order."""
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "issueDate": format_time(self.issue_date),
            "nextUpdate": format_time(self.next_update),
            "fmspc": _hex(self.fmspc),
            "pceId": _hex(self.pce_id),
            "tcbType": self.tcb_type,
            "tcbEvaluationDataNumber": self.tcb_evaluation_data_number,
        }
        if self.tdx_module is not None:
            out["tdxModule"] = self.tdx_module.to_json()
        if self.tdx_module_identities is not None:
            out["tdxModuleIdentities"] = [m.to_json() for m in self.tdx_module_identities]
        out["tcbLevels"] = [lvl.to_json() for lvl in self.tcb_levels]
        out.update(self.extra)
        return out

    def to_text(self) -> str:
        """Compact JSON text, as Intel serves it."""
        return _dumps(self.to_json())

    def with_status(self, status: str, advisory_ids: tuple[str, ...] = (), level: int = 0) -> TcbInfoSpec:
        """A copy whose platform TCB level ``level`` (0: the default quote's level) has this status."""
        levels = list(self.tcb_levels)
        levels[level] = replace(levels[level], status=status, advisory_ids=tuple(advisory_ids))
        return replace(self, tcb_levels=tuple(levels))

    def with_module_status(
        self, status: str, advisory_ids: tuple[str, ...] = (), module_id: str = "TDX_01", level: int = 0
    ) -> TcbInfoSpec:
        """A copy whose module identity ``module_id`` has this status at TCB level ``level``."""
        if self.tdx_module_identities is None:
            raise ForgeError("this TCB info has no tdxModuleIdentities")
        idents = list(self.tdx_module_identities)
        for i, ident in enumerate(idents):
            if ident.id == module_id:
                levels = list(ident.tcb_levels)
                levels[level] = replace(levels[level], status=status, advisory_ids=tuple(advisory_ids))
                idents[i] = replace(ident, tcb_levels=tuple(levels))
                return replace(self, tdx_module_identities=tuple(idents))
        raise ForgeError(f"no module identity {module_id!r} in this TCB info")


def default_tcb_info(
    tee: str = "TDX",
    *,
    fmspc: bytes = DEFAULT_FMSPC,
    pce_id: bytes = DEFAULT_PCE_ID,
    sgx_components: tuple[int, ...] = DEFAULT_SGX_COMPONENTS,
    pce_svn: int = DEFAULT_PCE_SVN,
    issue_date: datetime | str = DEFAULT_ISSUE_DATE,
    next_update: datetime | str = DEFAULT_NEXT_UPDATE,
) -> TcbInfoSpec:
    """TCB info whose top level is exactly the given platform (UpToDate), for ``tee`` "TDX" or "SGX"."""
    if tee not in ("TDX", "SGX"):
        raise ForgeError(f"tee must be 'TDX' or 'SGX', not {tee!r}")
    if len(sgx_components) != 16:
        raise ForgeError(f"sgx_components must have 16 SVNs, got {len(sgx_components)}")
    tdx = tee == "TDX"
    spec = TcbInfoSpec(
        id=tee,
        issue_date=issue_date,
        next_update=next_update,
        fmspc=fmspc,
        pce_id=pce_id,
        tcb_levels=_default_levels(tdx, tuple(sgx_components), pce_svn),
    )
    if not tdx:
        spec = replace(spec, tdx_module=None, tdx_module_identities=None)
    return spec


@dataclass(frozen=True)
class QeIdentitySpec:
    """QE identity (v2; ``id`` "TD_QE" for TDX quotes, "QE" for SGX). Members in Intel's order."""

    id: str = "TD_QE"
    version: int = 2
    issue_date: datetime | str = DEFAULT_ISSUE_DATE
    next_update: datetime | str = DEFAULT_NEXT_UPDATE
    tcb_evaluation_data_number: int = 17
    miscselect: bytes = bytes(4)
    miscselect_mask: bytes = b"\xff" * 4
    attributes: bytes = bytes.fromhex("11000000000000000000000000000000")
    attributes_mask: bytes = bytes.fromhex("FBFFFFFFFFFFFFFF0000000000000000")
    mrsigner: bytes = bytes.fromhex("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5")
    isvprodid: int = 2
    tcb_levels: tuple[QeTcbLevelSpec, ...] = (
        QeTcbLevelSpec(4),
        QeTcbLevelSpec(2, "OutOfDate", _TCB_DATE_OLD, ("INTEL-SA-00615",)),
    )
    extra: tuple[tuple[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The object as a dict in Intel's member order."""
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "issueDate": format_time(self.issue_date),
            "nextUpdate": format_time(self.next_update),
            "tcbEvaluationDataNumber": self.tcb_evaluation_data_number,
            "miscselect": _hex(self.miscselect),
            "miscselectMask": _hex(self.miscselect_mask),
            "attributes": _hex(self.attributes),
            "attributesMask": _hex(self.attributes_mask),
            "mrsigner": _hex(self.mrsigner),
            "isvprodid": self.isvprodid,
            "tcbLevels": [lvl.to_json() for lvl in self.tcb_levels],
        }
        out.update(self.extra)
        return out

    def to_text(self) -> str:
        """Compact JSON text, as Intel serves it."""
        return _dumps(self.to_json())

    def with_status(self, status: str, advisory_ids: tuple[str, ...] = (), level: int = 0) -> QeIdentitySpec:
        """A copy whose QE TCB level ``level`` (0: the one the default QE matches) has this status."""
        levels = list(self.tcb_levels)
        levels[level] = replace(levels[level], status=status, advisory_ids=tuple(advisory_ids))
        return replace(self, tcb_levels=tuple(levels))


def default_qe_identity(
    tee: str = "TDX",
    *,
    issue_date: datetime | str = DEFAULT_ISSUE_DATE,
    next_update: datetime | str = DEFAULT_NEXT_UPDATE,
) -> QeIdentitySpec:
    """The QE identity the default QE report of a ``tee`` ("TDX" or "SGX") quote matches at level 0."""
    if tee == "TDX":
        return QeIdentitySpec(issue_date=issue_date, next_update=next_update)
    if tee == "SGX":
        return QeIdentitySpec(
            id="QE",
            issue_date=issue_date,
            next_update=next_update,
            mrsigner=bytes.fromhex("8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF"),
            isvprodid=1,
            tcb_levels=(
                QeTcbLevelSpec(8),
                QeTcbLevelSpec(6, "OutOfDate", _TCB_DATE_OLD, ("INTEL-SA-00615",)),
            ),
        )
    raise ForgeError(f"tee must be 'TDX' or 'SGX', not {tee!r}")


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sign_text(text: str | bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """Sign the exact UTF-8 bytes of ``text`` (64 bytes r||s), as Intel signs TCB info / QE identity."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return sign_raw(key, data)


def quote_collateral_v3(
    *,
    tcb_info: str,
    tcb_info_signature: bytes,
    qe_identity: str,
    qe_identity_signature: bytes,
    tcb_info_issuer_chain: str,
    qe_identity_issuer_chain: str | None = None,
    pck_crl_issuer_chain: str,
    root_ca_crl: bytes,
    pck_crl: bytes,
    pck_certificate_chain: str | None = None,
) -> dict[str, str]:
    """dcap-qvl's ``QuoteCollateralV3`` JSON object (CRLs as hex DER, signatures as hex r||s).

    ``qe_identity_issuer_chain`` defaults to ``tcb_info_issuer_chain`` (Intel
    signs both with the TCB signing key). ``pck_certificate_chain`` is added
    only when given.
    """
    out = {
        "pck_crl_issuer_chain": pck_crl_issuer_chain,
        "root_ca_crl": bytes(root_ca_crl).hex(),
        "pck_crl": bytes(pck_crl).hex(),
        "tcb_info_issuer_chain": tcb_info_issuer_chain,
        "tcb_info": tcb_info,
        "tcb_info_signature": bytes(tcb_info_signature).hex(),
        "qe_identity_issuer_chain": (
            qe_identity_issuer_chain if qe_identity_issuer_chain is not None else tcb_info_issuer_chain
        ),
        "qe_identity": qe_identity,
        "qe_identity_signature": bytes(qe_identity_signature).hex(),
    }
    if pck_certificate_chain is not None:
        out["pck_certificate_chain"] = pck_certificate_chain
    return out


def pcs_response(kind: str, text: str, signature: bytes) -> str:
    """An Intel PCS v4 response body embedding ``text`` byte-for-byte.

    ``kind`` is ``"tcbInfo"`` or ``"enclaveIdentity"``; gives
    ``{"tcbInfo":<text>,"signature":"<hex>"}``.
    """
    if kind not in ("tcbInfo", "enclaveIdentity"):
        raise ForgeError(f"kind must be 'tcbInfo' or 'enclaveIdentity', not {kind!r}")
    # Built by concatenation: the signed member must keep its exact bytes.
    return '{"' + kind + '":' + text + ',"signature":"' + bytes(signature).hex() + '"}'


def pcs_bundle(
    *,
    tcb_info_response: str,
    qe_identity_response: str,
    tcb_info_issuer_chain: str,
    qe_identity_issuer_chain: str | None = None,
    pck_crl_issuer_chain: str,
    root_ca_crl: bytes,
    pck_crl: bytes,
    pck_certificate_chain: str | None = None,
) -> dict[str, str]:
    """The PCS bundle collateral format: PCS response bodies as served, chains (PEM), CRLs (hex DER).

    The issuer chains are what Intel sends in the ``TCB-Info-Issuer-Chain`` /
    ``SGX-Enclave-Identity-Issuer-Chain`` / ``SGX-PCK-CRL-Issuer-Chain``
    response headers. ``qe_identity_issuer_chain`` defaults to
    ``tcb_info_issuer_chain``.
    """
    out = {
        "tcb_info_response": tcb_info_response,
        "tcb_info_issuer_chain": tcb_info_issuer_chain,
        "qe_identity_response": qe_identity_response,
        "qe_identity_issuer_chain": (
            qe_identity_issuer_chain if qe_identity_issuer_chain is not None else tcb_info_issuer_chain
        ),
        "pck_crl_issuer_chain": pck_crl_issuer_chain,
        "root_ca_crl": bytes(root_ca_crl).hex(),
        "pck_crl": bytes(pck_crl).hex(),
    }
    if pck_certificate_chain is not None:
        out["pck_certificate_chain"] = pck_certificate_chain
    return out
