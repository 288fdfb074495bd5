"""The verification pipeline: Intel's chain of trust from root to report data.

One function per step, called in order by :meth:`Verifier.verify`; each
either returns what the next step needs or raises a coded
:class:`~tdxverify.errors.VerificationError`. Reading the ``_step_*``
functions top to bottom follows the chain:

1. header          supported version / TEE, ECDSA-P256 key, Intel QE vendor
2. collateral      TCB info and QE identity authenticated, of the kind the quote needs
3. pck_chain       PCK certificate chain to the trusted root, unrevoked, valid now
4. qe_report       QE report signed by the PCK key
5. qe_report_data  QE report binds the attestation key and QE auth data
6. qe_identity     the QE is Intel's TD_QE / QE at a known TCB level
7. quote_signature header + body signed by the attestation key
8. platform_match  FMSPC and PCE-ID of the PCK certificate equal the TCB info's
9. platform_tcb    the platform's TCB level
10. tdx_module     TDX module identity and TCB level
11. tcb_status     platform, module and QE statuses merged; Revoked fails
12. attributes     debug, reserved attribute bits, MRSERVICETD
then, if given, the appraisal :class:`~tdxverify.policy.Policy`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import tcb
from .collateral import AuthenticatedCollateral, Collateral, authenticate_collateral, load_and_authenticate
from .errors import (
    CertificateError,
    CollateralError,
    PolicyError,
    QuoteFormatError,
    TcbError,
    VerificationError,
)
from .eventlog.attach import EventLogInput, attach_event_log
from .limits import Limits
from .pki import PckChain, as_utc, check_time_window, load_root_ca, verify_pck_chain, verify_raw_signature
from .policy import Policy
from .quote import (
    ATTESTATION_KEY_ECDSA_P256,
    CERT_PCK_CHAIN,
    CERT_QE_REPORT,
    INTEL_QE_VENDOR_ID,
    EnclaveReport,
    QeReportCertificationData,
    Quote,
    TdReport10,
    TdReport15,
    decode_pem_chain,
    load_quote_with,
)
from .verdict import CollateralFacts, Verdict

__all__ = ["Verifier", "resolve_now", "verify"]

QuoteInput = Quote | bytes | bytearray | str | os.PathLike[str]
CollateralInput = Collateral | AuthenticatedCollateral | str | bytes | os.PathLike[str] | Mapping[str, Any]

_CACHE_SIZE = 32
_PCK_CACHE_SIZE = 1024

# TDATTRIBUTES bits rejected as reserved: TUD 1-7, SEC 8-15, 17 and 23-26, OTHER 32-61 -- the
# bits the TDX module ABI reserves that no TDX version has since defined, which is also exactly
# the set dcap-qvl rejects. Newer ABIs define 16 (ICSSD), 27 (LASS) and 62 (TPA), and 18-22 are
# accepted by dcap-qvl; rejecting them would fail genuine TDs that Intel's QVL (which checks no
# attribute bit but DEBUG) accepts. Bit 0 is DEBUG; 28 SEPT_VE_DISABLE, 29 MIGRATABLE, 30 PKS,
# 31 KL and 63 PERFMON are features left to policy.
_TD_ATTR_RESERVED = 0x3FFF_FFFF_0782_FFFE
_TD_ATTR_DEBUG = 0x1
_SGX_ATTR_DEBUG = 0x2


def resolve_now(now: int | float | datetime | None) -> datetime:
    """Verification time as an aware UTC datetime (``None``: the current time)."""
    return datetime.now(timezone.utc) if now is None else as_utc(now)


# ----------------------------------------------------------------------------- crypto helpers


def _p256_key(raw64: bytes, what: str, code: str, step: str) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + raw64)
    except ValueError:
        raise VerificationError(
            f"the {what} is not a point on P-256: the quote is corrupt or forged", code=code, step=step
        ) from None


# ----------------------------------------------------------------------------- the steps


def _step_header(quote: Quote) -> None:
    """1. A quote format this verifier supports, from Intel's quoting enclave."""
    h = quote.header
    supported = {(3, "SGX"), (4, "TDX"), (5, "TDX")}
    if (h.version, quote.tee) not in supported:
        raise QuoteFormatError(
            f"quote version {h.version} for {quote.tee} is not supported (TDX v4/v5 and SGX v3 are)",
            code="unsupported_quote_version",
            step="header",
        )
    if h.attestation_key_type != ATTESTATION_KEY_ECDSA_P256:
        raise QuoteFormatError(
            f"attestation key type {h.attestation_key_type} is not ECDSA-256-with-P-256 (2), the only one "
            "Intel's DCAP quoting enclaves use",
            code="unsupported_attestation_key_type",
            step="header",
        )
    if h.qe_vendor_id != INTEL_QE_VENDOR_ID:
        raise QuoteFormatError(
            f"QE vendor ID {h.qe_vendor_id.hex()} is not Intel's ({INTEL_QE_VENDOR_ID.hex()}): "
            "this quote was not produced by Intel's quoting enclave",
            code="unknown_qe_vendor",
            step="header",
        )


def _step_collateral_kind(quote: Quote, auth: AuthenticatedCollateral) -> None:
    """2. Collateral (already authenticated) of the kind this quote needs."""
    want_tcb, want_qe = ("TDX", "TD_QE") if quote.tee == "TDX" else ("SGX", "QE")
    if auth.tcb_info.id != want_tcb:
        raise CollateralError(
            f"the TCB info is for {auth.tcb_info.id}, but a {quote.tee} quote needs {want_tcb} TCB info: "
            "fetch the collateral for this quote (tdxverify fetch-collateral QUOTE)",
            code="collateral_kind_mismatch",
            step="collateral",
        )
    if quote.tee == "TDX" and auth.tcb_info.version < 3:
        raise CollateralError(
            f"TDX quotes need TCB info version 3, got version {auth.tcb_info.version}",
            code="collateral_kind_mismatch",
            step="collateral",
        )
    if auth.qe_identity.id != want_qe:
        raise CollateralError(
            f"the QE identity is for {auth.qe_identity.id}, but a {quote.tee} quote is signed by {want_qe}: "
            "fetch the collateral for this quote",
            code="collateral_kind_mismatch",
            step="collateral",
        )


def _qe_certification(quote: Quote) -> QeReportCertificationData:
    sig = quote.signature_data
    if quote.version >= 4 and sig.certification_data.cert_type != CERT_QE_REPORT:
        raise QuoteFormatError(
            f"certification data type is {sig.certification_data.cert_type}; a v{quote.version} quote must "
            "carry QE report certification data (type 6)",
            code="unsupported_certification_data",
            step="pck_chain",
        )
    qe = sig.qe_report_certification
    if qe is None:  # the parser sets it whenever the structure is there
        raise QuoteFormatError("the quote has no QE report", code="unsupported_certification_data")
    return qe


def _step_pck_chain(
    quote: Quote,
    auth: AuthenticatedCollateral,
    root: x509.Certificate,
    now: datetime,
    cache: _LruCache[tuple[bytes, tuple[bytes, ...]], PckChain] | None = None,
) -> PckChain:
    """3. The PCK chain (quote's own, else the collateral's) verifies to the root, unrevoked.

    With a ``cache`` (the Verifier's), a chain already verified against the same
    authenticated collateral is reused after re-checking its time bounds at ``now``.
    """
    qe = _qe_certification(quote)
    chain: tuple[bytes, ...] | None = None
    if qe.certification_data.cert_type == CERT_PCK_CHAIN:
        chain = qe.certification_data.pck_chain
    elif auth.pck_certificate_chain:
        chain = tuple(c.public_bytes(serialization.Encoding.DER) for c in auth.pck_certificate_chain)
    if not chain:
        raise CertificateError(
            f"the quote carries certification data type {qe.certification_data.cert_type}, not a PCK "
            "certificate chain (5), and the collateral has no pck_certificate_chain: add the platform's "
            "PCK chain to the collateral",
            code="unsupported_certification_data",
            step="pck_chain",
        )
    key = (auth.collateral.fingerprint, chain)
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        check_time_window(cached.time_bounds, cached.window, now)
        return cached
    pck = verify_pck_chain(
        chain,
        root=root,
        now=now,
        crls=auth.crls,
        verified_links=auth.verified_links,
        known=auth.decoded_certificates,
    )
    if cache is not None:
        cache.put(key, pck)
    return pck


def _step_qe_report_signature(quote: Quote, pck: PckChain) -> None:
    """4. The QE report is signed by the PCK key."""
    qe = _qe_certification(quote)
    if not verify_raw_signature(pck.public_key, qe.qe_report.raw, qe.qe_report_signature):
        raise VerificationError(
            "the QE report signature does not verify with the PCK certificate's key: the quote was not "
            "produced on the platform the PCK certificate names, or it was altered",
            code="qe_report_signature_invalid",
            step="qe_report",
        )


def _step_qe_report_data(quote: Quote) -> None:
    """5. QE report data = SHA-256(attestation key || QE auth data) || 32 zero bytes."""
    qe = _qe_certification(quote)
    sig = quote.signature_data
    expected = hashlib.sha256(sig.attestation_key + qe.qe_auth_data).digest()
    rd = qe.qe_report.report_data
    if rd[:32] != expected or rd[32:] != bytes(32):
        raise VerificationError(
            "the QE report does not bind this attestation key and QE auth data (report data is not "
            "SHA-256(attestation key || auth data) followed by zeros): the key was swapped",
            code="qe_report_data_mismatch",
            step="qe_report_data",
        )


def _step_qe_identity(quote: Quote, auth: AuthenticatedCollateral) -> tcb.QeResult:
    """6. The quoting enclave is the one Intel's QE identity describes; its TCB status."""
    return tcb.qe_identity_status(auth.qe_identity, _qe_certification(quote).qe_report)


def _step_quote_signature(quote: Quote, keys: _LruCache[bytes, ec.EllipticCurvePublicKey] | None = None) -> None:
    """7. The attestation key signed header + body.

    ``keys`` (the Verifier's): attestation keys already decoded, by their 64
    raw bytes; a QE keeps its key across quotes. Only valid points are cached.
    """
    raw = quote.signature_data.attestation_key
    key = keys.get(raw) if keys is not None else None
    if key is None:
        key = _p256_key(raw, "attestation key", "quote_signature_invalid", "quote_signature")
        if keys is not None:
            keys.put(raw, key)
    if not verify_raw_signature(key, quote.signed_region, quote.signature_data.signature):
        raise VerificationError(
            "the quote signature does not verify with the attestation key: the header or body was altered",
            code="quote_signature_invalid",
            step="quote_signature",
        )


def _step_platform_match(pck: PckChain, auth: AuthenticatedCollateral) -> None:
    """8. The TCB info is for this platform: FMSPC and PCE-ID."""
    ext, info = pck.extension, auth.tcb_info
    if ext.fmspc != info.fmspc:
        raise TcbError(
            f"the PCK certificate's FMSPC {ext.fmspc_hex} differs from the TCB info's "
            f"{info.fmspc.hex().upper()}: fetch the TCB info for FMSPC {ext.fmspc_hex}",
            code="fmspc_mismatch",
            step="platform_match",
        )
    if ext.pce_id != info.pce_id:
        raise TcbError(
            f"the PCK certificate's PCE-ID {ext.pce_id.hex()} differs from the TCB info's {info.pce_id.hex()}",
            code="pce_id_mismatch",
            step="platform_match",
        )


def _step_platform_tcb(quote: Quote, pck: PckChain, auth: AuthenticatedCollateral) -> tcb.PlatformMatch:
    """9. The highest TCB level the platform meets (SGX components, PCESVN, TDX components)."""
    tee_tcb_svn = quote.report.tee_tcb_svn if isinstance(quote.report, TdReport10) else None
    return tcb.match_tcb_levels(auth.tcb_info, pck.extension, tee_tcb_svn)


def _step_tdx_module(quote: Quote, auth: AuthenticatedCollateral) -> tcb.ModuleResult | None:
    """10. The TDX module is Intel's and at a known TCB level (TDX only)."""
    if not isinstance(quote.report, TdReport10):
        return None
    return tcb.tdx_module_status(auth.tcb_info, quote.report)


def _step_tcb_status(
    quote: Quote,
    platform: tcb.PlatformMatch,
    qe: tcb.QeResult,
    module: tcb.ModuleResult | None,
    auth: AuthenticatedCollateral,
) -> tcb.TcbResult:
    """11. One status from platform, module and QE, as Intel's QVL merges them; Revoked fails."""
    merged = tcb.converge(platform, qe, module, report=quote.report, tcb_info=auth.tcb_info)
    parts = (
        ("platform", platform.status),
        ("QE", qe.status),
        ("TDX module", module.status if module else None),
    )
    which = [name for name, status in parts if status == "Revoked"]
    if merged.revoked or which:
        raise TcbError(
            f"Intel rates this {' and '.join(which) or 'TCB'} Revoked: the platform must not be trusted "
            f"(advisories: {', '.join(merged.advisory_ids) or 'none'})",
            code="tcb_revoked",
            step="tcb_status",
        )
    return merged


def _step_attributes(quote: Quote, policy: Policy | None) -> None:
    """12. No debug TD / enclave (unless allowed), no reserved bits, no bound service TD."""
    allow_debug = policy.allow_debug if policy else False
    report = quote.report
    if isinstance(report, EnclaveReport):
        if report.attributes[0] & _SGX_ATTR_DEBUG and not allow_debug:
            raise VerificationError(
                "the enclave runs in debug mode: its memory is readable by the host; never trust it in "
                "production (a policy with allow_debug accepts it for testing)",
                code="debug_td",
                step="attributes",
            )
        return
    attrs = int.from_bytes(report.td_attributes, "little")
    if attrs & _TD_ATTR_DEBUG and not allow_debug:
        raise VerificationError(
            "the TD runs in debug mode: the host can read and change its state; never trust it in "
            "production (a policy with allow_debug accepts it for testing)",
            code="debug_td",
            step="attributes",
        )
    if attrs & _TD_ATTR_RESERVED:
        raise VerificationError(
            f"TD attributes {report.td_attributes.hex()} set reserved bits "
            f"(mask {attrs & _TD_ATTR_RESERVED:#018x}) that the TDX module ABI requires to be zero",
            code="td_attributes_invalid",
            step="attributes",
        )
    if isinstance(report, TdReport15) and any(report.mr_service_td) and not (policy and policy.allow_service_td):
        raise VerificationError(
            f"MRSERVICETD is {report.mr_service_td.hex()}: a service TD is bound to this TD and can act on "
            "it; accept that explicitly with a policy (allow_service_td) if it is expected",
            code="service_td_bound",
            step="attributes",
        )


# ----------------------------------------------------------------------------- the verifier


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LruCache(Generic[K, V]):
    """A small thread-safe LRU map (one per Verifier: no global state)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class Verifier:
    """Verifies quotes against a trust root, reusing authenticated collateral.

    Collateral is authenticated once per distinct content (signatures, chains,
    CRLs) and reused while ``now`` stays inside its validity window; every
    call re-checks the time bounds, so a cached collateral fails closed the
    moment it expires. Verified PCK chains are reused the same way, per
    collateral.
    """

    def __init__(
        self, root_ca: bytes | None = None, policy: Policy | None = None, limits: Limits | None = None
    ) -> None:
        self.root: x509.Certificate = load_root_ca(root_ca)
        self._root_fp: tuple[x509.Certificate | None, bytes] = (None, b"")
        self.policy = policy
        self.limits = limits
        """Size limits on quotes and collateral given as bytes/text (``None``: the defaults)."""
        self._collateral_cache: _LruCache[Collateral, AuthenticatedCollateral] = _LruCache(_CACHE_SIZE)
        # Content hash of collateral given as text / bytes / a mapping -> the Collateral loaded from it.
        self._loaded_cache: _LruCache[bytes, Collateral] = _LruCache(_CACHE_SIZE)
        self._pck_cache: _LruCache[tuple[bytes, tuple[bytes, ...]], PckChain] = _LruCache(_PCK_CACHE_SIZE)
        self._key_cache: _LruCache[bytes, ec.EllipticCurvePublicKey] = _LruCache(_PCK_CACHE_SIZE)
        # Type-5 certification data (the PEM text) -> its DER certificates: a platform sends the same chain
        # with every quote, so a hit skips the base64 decoding; only chains that decoded are kept.
        self._chain_cache: _LruCache[bytes, tuple[bytes, ...]] = _LruCache(_PCK_CACHE_SIZE)
        # Steps 6 and 8-11 passed for this key (see _verify): the verified chain and the verdict fields they gave.
        self._tcb_cache: _LruCache[Hashable, tuple[PckChain, dict[str, Any]]] = _LruCache(_PCK_CACHE_SIZE)

    def authenticate(
        self, collateral: CollateralInput, now: int | float | datetime | None = None
    ) -> AuthenticatedCollateral:
        """Authenticate collateral at ``now`` (cached by content)."""
        t = resolve_now(now)
        if isinstance(collateral, AuthenticatedCollateral):
            if collateral.root_fingerprint != self._root_fingerprint:
                raise CertificateError(
                    "this collateral was authenticated against a different trust root",
                    code="untrusted_root",
                    step="collateral",
                )
            collateral.check_time(t)
            return collateral
        if isinstance(collateral, Collateral):
            cached = self._collateral_cache.get(collateral)
            if cached is None:
                cached = authenticate_collateral(collateral, now=t, root=self.root)
                self._collateral_cache.put(collateral, cached)
            else:
                cached.check_time(t)
            return cached
        # Text, bytes, a mapping or a path: found by content hash without loading, else loaded
        # with the signatures checked before the TCB info and QE identity are parsed.
        digest = _content_digest(collateral)
        col = self._loaded_cache.get(digest) if digest is not None else None
        cached = self._collateral_cache.get(col) if col is not None else None
        if cached is not None:
            cached.check_time(t)
            return cached
        auth = load_and_authenticate(collateral, now=t, root=self.root, limits=self.limits)
        if digest is not None:
            self._loaded_cache.put(digest, auth.collateral)
        self._collateral_cache.put(auth.collateral, auth)
        return auth

    def _decode_chain(self, data: bytes, offset: int) -> tuple[bytes, ...]:
        chain = self._chain_cache.get(data)
        if chain is None:
            chain = decode_pem_chain(data, offset)
            self._chain_cache.put(data, chain)
        return chain

    @property
    def _root_fingerprint(self) -> bytes:
        # Remembered with the root it belongs to: a reassigned ``root`` gets its own fingerprint.
        root = self.root  # read once: another thread may reassign it meanwhile
        cached, fp = self._root_fp
        if cached is not root:
            fp = root.fingerprint(hashes.SHA256())
            self._root_fp = (root, fp)
        return fp

    def verify(
        self,
        quote: QuoteInput,
        collateral: CollateralInput,
        now: int | float | datetime | None = None,
        event_log: EventLogInput | None = None,
    ) -> Verdict:
        """Verify ``quote`` against ``collateral`` at ``now``; see :func:`verify`."""
        try:
            return self._verify(quote, collateral, resolve_now(now), event_log)
        except VerificationError:
            raise
        except Exception as exc:  # fail closed, never a traceback in place of a verdict
            raise VerificationError(
                f"internal error during verification ({type(exc).__name__}: {exc}); the quote is NOT "
                "verified. Please report this with the quote and collateral.",
                code="internal_error",
            ) from exc

    def _verify(
        self, quote_in: QuoteInput, collateral: CollateralInput, now: datetime, event_log: EventLogInput | None = None
    ) -> Verdict:
        quote = (
            quote_in
            if isinstance(quote_in, Quote)
            else load_quote_with(quote_in, limits=self.limits, decode=self._decode_chain)
        )
        _step_header(quote)
        auth = self.authenticate(collateral, now)
        _step_collateral_kind(quote, auth)
        pck = _step_pck_chain(quote, auth, self.root, now, self._pck_cache)
        _step_qe_report_signature(quote, pck)
        _step_qe_report_data(quote)
        # Steps 6 and 8-11 are a function of the collateral, the PCK leaf, the QE report and four TD report
        # fields (_tcb_key), never of the time: a key seen before passed them all, so they would pass again.
        tcb_key = _tcb_key(quote, pck, auth)
        rated = self._tcb_cache.get(tcb_key)
        if rated is None or rated[0] is not pck:
            qe_result = _step_qe_identity(quote, auth)
            _step_quote_signature(quote, self._key_cache)
            _step_platform_match(pck, auth)
            platform = _step_platform_tcb(quote, pck, auth)
            module = _step_tdx_module(quote, auth)
            merged = _step_tcb_status(quote, platform, qe_result, module, auth)
            rated = (pck, _rated_fields(pck, auth, merged))
            self._tcb_cache.put(tcb_key, rated)
        else:
            _step_quote_signature(quote, self._key_cache)
        _step_attributes(quote, self.policy)
        verdict = _make_verdict(quote, rated[1], now)
        if event_log is not None:
            verdict = attach_event_log(verdict, event_log)
        if self.policy is not None:
            verdict = _appraise(verdict, self.policy, now)
        return verdict


def _content_digest(src: object) -> bytes | None:
    """SHA-256 naming collateral content given as text, bytes or a JSON-shaped mapping; else None.

    Loading is deterministic, so equal content loads to an equal ``Collateral``.
    Paths are not hashed (the file may change between calls).
    """
    if isinstance(src, str) and src.lstrip().startswith(("{", "[")):
        return hashlib.sha256(b"t" + src.encode("utf-8", "surrogatepass")).digest()
    if isinstance(src, (bytes, bytearray, memoryview)):
        return hashlib.sha256(b"b" + bytes(src)).digest()
    if isinstance(src, Mapping):
        items = list(src.items())
        if all(type(k) is str and type(v) is str for k, v in items):
            # The common shape (every member a string): hash the members, length-prefixed, in key order.
            h = hashlib.sha256(b"s")
            for key, value in sorted(items):
                for part in (key.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass")):
                    h.update(len(part).to_bytes(8, "big") + part)
            return h.digest()
        try:
            text = json.dumps(src, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):  # bytes values, odd keys: load without caching
            return None
        return hashlib.sha256(b"m" + text.encode("utf-8", "surrogatepass")).digest()
    return None


def _tcb_key(quote: Quote, pck: PckChain, auth: AuthenticatedCollateral) -> Hashable:
    """Everything steps 6 and 8-11 read: collateral, PCK chain, QE report, the TD report's TCB fields.

    The chain is the verified ``PckChain`` object by identity (the cache holds it, so its id stays its
    own): its leaf's SGX extension is all those steps read of it.
    """
    qe = _qe_certification(quote)
    report = quote.report
    fields: tuple[bytes, ...] = ()
    if isinstance(report, TdReport10):
        fields = (report.tee_tcb_svn, report.mr_signer_seam, report.seam_attributes)
        if isinstance(report, TdReport15):
            fields += (report.tee_tcb_svn2,)
    return (auth.collateral.fingerprint, id(pck), qe.qe_report.raw, type(report), fields)


def _rated_fields(pck: PckChain, auth: AuthenticatedCollateral, merged: tcb.TcbResult) -> dict[str, Any]:
    """The verdict fields that come from the collateral, the PCK chain and the TCB rating, not the quote."""
    facts = CollateralFacts(
        tcb_info_issue_date=auth.tcb_info.issue_date,
        tcb_info_next_update=auth.tcb_info.next_update,
        qe_identity_issue_date=auth.qe_identity.issue_date,
        qe_identity_next_update=auth.qe_identity.next_update,
        tcb_evaluation_data_number=auth.tcb_info.tcb_evaluation_data_number,
        expires_at=auth.expires_at,
    )
    return {
        "status": merged.status,
        "advisory_ids": merged.advisory_ids,
        "platform_status": merged.platform_status,
        "qe_status": merged.qe_status,
        "module_status": merged.module_status,
        "fmspc": pck.extension.fmspc_hex,
        "pce_id": pck.extension.pce_id.hex(),
        "ppid": pck.extension.ppid.hex(),
        "tcb_date": merged.tcb_date,
        "tcb_evaluation_data_number": auth.tcb_info.tcb_evaluation_data_number,
        "collateral_expires_at": auth.expires_at,
        "collateral": facts,
    }


def _make_verdict(quote: Quote, rated: dict[str, Any], now: datetime) -> Verdict:
    return Verdict(
        tee_type=quote.tee, quote_version=quote.version, report=quote.report, verified_at=now, quote=quote, **rated
    )


def _appraise(verdict: Verdict, policy: Policy, now: datetime) -> Verdict:
    result = policy.evaluate(verdict, now)
    appraised = replace(verdict, policy=result)
    if not result.ok:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in result.failures)
        raise PolicyError(f"the quote verified but the policy rejects it: {failed}", verdict=appraised)
    return appraised


def verify(
    quote: QuoteInput,
    collateral: CollateralInput,
    *,
    now: int | float | datetime | None = None,
    root_ca: bytes | None = None,
    policy: Policy | None = None,
    event_log: EventLogInput | None = None,
    limits: Limits | None = None,
) -> Verdict:
    """Verify a DCAP quote against Intel collateral.

    ``quote``: a :class:`Quote`, raw bytes, hex/base64 text or a path.
    ``collateral``: anything :func:`tdxverify.load_collateral` accepts.
    ``now``: unix seconds or an aware datetime (``None``: current time).
    ``root_ca``: DER/PEM of another trust root (tests); default the pinned Intel SGX Root CA.
    ``policy``: appraisal rules; without one every status but ``Revoked`` is accepted and reported.
    ``event_log``: a TD's event log (:mod:`tdxverify.eventlog`: parsed, bytes, JSON text or a path); it must
    replay to the quote's RTMR0-3, and the verdict then carries its events and named values.
    ``limits``: size limits on the quote and collateral (``input_too_large``); default ``DEFAULT_LIMITS``.

    Returns a :class:`Verdict`; raises :class:`VerificationError` (with a stable ``code``) on any failure.
    """
    return Verifier(root_ca=root_ca, policy=policy, limits=limits).verify(quote, collateral, now, event_log)
