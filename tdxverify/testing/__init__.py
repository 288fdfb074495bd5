"""The quote forge: a synthetic Intel PKI, signed quotes and collateral, for tests.

:class:`Forge` bundles the three builders. Everything is deterministic from
the seed, and everything it makes by default verifies (status UpToDate) at
:attr:`Forge.now` against :attr:`Forge.root_ca_der`::

    from tdxverify.testing import Forge
    import tdxverify

    forge = Forge(seed="my-tests")
    quote = forge.quote(rtmr3=bytes(48), report_data=b"k" * 64)
    verdict = tdxverify.verify(quote, forge.collateral(), now=forge.now, root_ca=forge.root_ca_der)

Nothing here is secure: every private key is derivable from the seed.
The lower layers are public too: :mod:`tdxverify.testing.quotes`,
:mod:`tdxverify.testing.collateral`, :mod:`tdxverify.testing.pki`.
See ``docs/forge.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .collateral import (
    DEFAULT_NOW,
    QeIdentitySpec,
    TcbInfoSpec,
    default_qe_identity,
    default_tcb_info,
    pcs_bundle,
    pcs_response,
    quote_collateral_v3,
    sign_text,
)
from .pki import DEFAULT_SEED, PkiSpec, TestPki, build_pki
from .quotes import (
    REGIONS,
    EnclaveReportSpec,
    ForgedQuote,
    ForgeError,
    QuoteSpec,
    TdReportSpec,
    derive_p256_key,
    flip,
    forge_quote,
    raw_public_key,
)

__all__ = [
    "DEFAULT_NOW",
    "DEFAULT_SEED",
    "REGIONS",
    "EnclaveReportSpec",
    "Forge",
    "ForgeError",
    "ForgedQuote",
    "PkiSpec",
    "QeIdentitySpec",
    "QuoteSpec",
    "TcbInfoSpec",
    "TdReportSpec",
    "TestPki",
    "flip",
]

_QUOTE_FIELDS = frozenset(f.name for f in dataclasses.fields(QuoteSpec))
_TD_FIELDS = frozenset(f.name for f in dataclasses.fields(TdReportSpec))
_ENCLAVE_FIELDS = frozenset(f.name for f in dataclasses.fields(EnclaveReportSpec))


class Forge:
    """A synthetic PKI plus quote and collateral builders that agree with each other.

    ``seed`` determines every key, certificate and signature. ``pki`` is a
    :class:`~tdxverify.testing.pki.PkiSpec` (its ``seed`` is replaced by
    ``seed``) to change the certificates, e.g. the PCK's TCB components.
    """

    now: int = int(DEFAULT_NOW.timestamp())
    """Unix seconds at which every default certificate, CRL and collateral item is valid."""

    def __init__(self, seed: bytes | str = DEFAULT_SEED, *, pki: PkiSpec | None = None) -> None:
        self.seed = seed
        self.pki: TestPki = build_pki(dataclasses.replace(pki or PkiSpec(), seed=seed))
        self.attestation_key: ec.EllipticCurvePrivateKey = derive_p256_key(seed, "forge/attestation-key")

    # ------------------------------------------------------------------ trust root

    @property
    def root_ca_der(self) -> bytes:
        """The synthetic root CA certificate (DER): pass it as ``root_ca=``."""
        return self.pki.root_der

    @property
    def attestation_key_raw(self) -> bytes:
        """The 64-byte attestation public key the quotes carry."""
        return raw_public_key(self.attestation_key)

    # ------------------------------------------------------------------ quotes

    def quote_spec(self, spec: QuoteSpec | None = None, **overrides: Any) -> QuoteSpec:
        """A :class:`QuoteSpec` with flat overrides applied.

        Keys are resolved in order: a :class:`QuoteSpec` field (``version``,
        ``qe_auth_data``, ``corrupt`` ...); a TD report field for TDX quotes
        (``mr_td``, ``rtmr3``, ``tee_tcb_svn`` ...) or an enclave report field
        for SGX quotes (``mr_enclave``, ``attributes`` ...), ``report_data``
        going to whichever body the quote has; ``qe_`` + an enclave report
        field for the QE report (``qe_isv_svn``, ``qe_mr_signer``,
        ``qe_report_data`` ...). ``corrupt`` may be one region name or several.
        """
        base = spec if spec is not None else QuoteSpec()
        top = {k: v for k, v in overrides.items() if k in _QUOTE_FIELDS}
        if "corrupt" in top:
            top["corrupt"] = _regions(top["corrupt"])
        base = dataclasses.replace(base, **top)
        if base.is_sgx and base.pce_svn is None:
            # SGX QEs write the platform's PCE SVN into the header.
            base = dataclasses.replace(base, pce_svn=self.pki.spec.sgx.pce_svn)
        body: dict[str, Any] = {}
        qe: dict[str, Any] = {}
        for key, value in overrides.items():
            if key in _QUOTE_FIELDS:
                continue
            if key in (_ENCLAVE_FIELDS if base.is_sgx else _TD_FIELDS):
                body[key] = value
            elif key.startswith("qe_") and key[3:] in _ENCLAVE_FIELDS:
                qe[key[3:]] = value
            else:
                kind = "SGX" if base.is_sgx else "TDX"
                raise ForgeError(f"{key!r} is not a field of QuoteSpec, the {kind} report or (with qe_) the QE report")
        if body:
            if base.is_sgx:
                base = dataclasses.replace(base, enclave=dataclasses.replace(base.enclave, **body))
            else:
                base = dataclasses.replace(base, td=dataclasses.replace(base.td, **body))
        if qe:
            base = dataclasses.replace(base, qe_report=dataclasses.replace(base.effective_qe_report, **qe))
        return base

    def forged_quote(self, spec: QuoteSpec | None = None, **overrides: Any) -> ForgedQuote:
        """Like :meth:`quote`, with the map of where each region landed."""
        return forge_quote(
            self.quote_spec(spec, **overrides),
            attestation_key=self.attestation_key,
            pck_key=self.pki.pck_key,
            pck_chain_pem=self.pki.pck_chain_pem,
        )

    def quote(self, spec: QuoteSpec | None = None, **overrides: Any) -> bytes:
        """Signed quote bytes; see :meth:`quote_spec` for the overrides.

        ``forge.quote()`` is a TDX v4 quote; ``version=5`` a TDX 1.5 v5 quote;
        ``version=3`` an SGX quote.
        """
        return self.forged_quote(spec, **overrides).raw

    # ------------------------------------------------------------------ collateral

    def tcb_info(self, tee: str = "TDX", **overrides: Any) -> TcbInfoSpec:
        """TCB info matching this PKI's PCK certificate (top level UpToDate), fields overridable."""
        sgx = self.pki.spec.sgx
        spec = default_tcb_info(
            tee,
            fmspc=sgx.fmspc,
            pce_id=sgx.pce_id,
            sgx_components=tuple(sgx.cpu_svn_components),
            pce_svn=sgx.pce_svn,
        )
        return dataclasses.replace(spec, **overrides)

    def qe_identity(self, tee: str = "TDX", **overrides: Any) -> QeIdentitySpec:
        """QE identity the default QE report matches (level 0, UpToDate), fields overridable."""
        return dataclasses.replace(default_qe_identity(tee), **overrides)

    def collateral(
        self,
        tee: str = "TDX",
        *,
        tcb_info: TcbInfoSpec | str | None = None,
        qe_identity: QeIdentitySpec | str | None = None,
        tcb_info_signature: bytes | None = None,
        qe_identity_signature: bytes | None = None,
        with_pck_chain: bool = False,
        format: str = "dcap-qvl",
    ) -> dict[str, str]:
        """Signed collateral for a ``tee`` ("TDX" or "SGX") quote, as a JSON-ready dict.

        ``format`` "dcap-qvl" gives dcap-qvl's ``QuoteCollateralV3``;
        "pcs-bundle" gives Intel PCS v4 response bodies with their issuer
        chains and the CRLs. ``tcb_info`` / ``qe_identity`` may be specs or
        exact JSON text (signed as given); the signatures may be replaced.
        ``with_pck_chain`` adds ``pck_certificate_chain``.
        """
        if format not in ("dcap-qvl", "pcs-bundle"):
            raise ForgeError(f"format must be 'dcap-qvl' or 'pcs-bundle', not {format!r}")
        ti_text, qe_text = self._texts(tee, tcb_info, qe_identity)
        key = self.pki.tcb_signing_key
        if tcb_info_signature is None:
            tcb_info_signature = sign_text(ti_text, key)
        if qe_identity_signature is None:
            qe_identity_signature = sign_text(qe_text, key)
        pck_chain = self.pki.pck_chain_pem if with_pck_chain else None
        if format == "pcs-bundle":
            return pcs_bundle(
                tcb_info_response=pcs_response("tcbInfo", ti_text, tcb_info_signature),
                qe_identity_response=pcs_response("enclaveIdentity", qe_text, qe_identity_signature),
                tcb_info_issuer_chain=self.pki.tcb_info_issuer_chain_pem,
                pck_crl_issuer_chain=self.pki.pck_crl_issuer_chain_pem,
                root_ca_crl=self.pki.root_crl_der,
                pck_crl=self.pki.pck_crl_der,
                pck_certificate_chain=pck_chain,
            )
        return quote_collateral_v3(
            tcb_info=ti_text,
            tcb_info_signature=tcb_info_signature,
            qe_identity=qe_text,
            qe_identity_signature=qe_identity_signature,
            tcb_info_issuer_chain=self.pki.tcb_info_issuer_chain_pem,
            pck_crl_issuer_chain=self.pki.pck_crl_issuer_chain_pem,
            root_ca_crl=self.pki.root_crl_der,
            pck_crl=self.pki.pck_crl_der,
            pck_certificate_chain=pck_chain,
        )

    def pcs_responses(
        self,
        tee: str = "TDX",
        *,
        tcb_info: TcbInfoSpec | str | None = None,
        qe_identity: QeIdentitySpec | str | None = None,
    ) -> tuple[str, str]:
        """Intel PCS v4 response bodies ``(tcbInfo body, enclaveIdentity body)``, signed."""
        ti_text, qe_text = self._texts(tee, tcb_info, qe_identity)
        key = self.pki.tcb_signing_key
        return (
            pcs_response("tcbInfo", ti_text, sign_text(ti_text, key)),
            pcs_response("enclaveIdentity", qe_text, sign_text(qe_text, key)),
        )

    def _texts(
        self, tee: str, tcb_info: TcbInfoSpec | str | None, qe_identity: QeIdentitySpec | str | None
    ) -> tuple[str, str]:
        ti = tcb_info if tcb_info is not None else self.tcb_info(tee)
        qe = qe_identity if qe_identity is not None else self.qe_identity(tee)
        return (
            ti if isinstance(ti, str) else ti.to_text(),
            qe if isinstance(qe, str) else qe.to_text(),
        )


def _regions(value: str | Iterable[str]) -> frozenset[str]:
    return frozenset({value}) if isinstance(value, str) else frozenset(value)
