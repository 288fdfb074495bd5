"""One error type, with stable codes.

Every failure anywhere in tdxverify raises a subclass of
:class:`VerificationError`. Callers branch on ``.code`` (a stable snake_case
string listed in :data:`ERROR_CODES` and in ``docs/errors.md``), show
``.message`` to people, and use ``.step`` to see where in the chain it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ERROR_CODES",
    "TIME_CODES",
    "CertificateError",
    "CollateralError",
    "EventLogError",
    "PolicyError",
    "QuoteFormatError",
    "TcbError",
    "VerificationError",
]

# code -> one-line meaning. Codes are part of the public API: never rename one.
ERROR_CODES: Mapping[str, str] = MappingProxyType(
    {
        # input and parsing
        "input_invalid": "an argument (time, path, encoding, root CA) could not be used",
        "input_too_large": "an input (quote, certification data, collateral, event log) exceeds its size limit",
        "quote_format": "the quote bytes are not a well-formed DCAP quote",
        "unsupported_quote_version": "quote version / TEE type combination not supported",
        "unsupported_attestation_key_type": "attestation key type is not ECDSA-P256",
        "unsupported_certification_data": "certification data is not QE report (6) / PCK chain (5)",
        "unknown_qe_vendor": "QE vendor ID is not Intel's",
        # certificates and CRLs
        "root_ca_invalid": "the trust root given is not a usable self-signed CA certificate",
        "untrusted_root": "a chain does not end at the trusted Intel SGX Root CA",
        "pck_chain_invalid": "the PCK certificate chain is malformed or does not verify",
        "tcb_signing_chain_invalid": "the TCB info / QE identity signing chain does not verify",
        "certificate_expired": "a certificate is past its notAfter at the verification time",
        "certificate_not_yet_valid": "a certificate is before its notBefore at the verification time",
        "certificate_revoked": "a CA or signing certificate is listed in a CRL",
        "pck_revoked": "the PCK certificate is listed in the PCK CRL",
        "crl_invalid": "a CRL is malformed, has the wrong issuer, or its signature does not verify",
        "crl_expired": "a CRL is past its nextUpdate at the verification time",
        "crl_not_yet_valid": "a CRL's thisUpdate is after the verification time",
        "pck_extension_invalid": "the PCK certificate's Intel SGX extension is missing or malformed",
        # collateral
        "collateral_format": "collateral is malformed (JSON, field, type, encoding)",
        "collateral_missing": "a required piece of collateral is absent",
        "tcb_info_signature_invalid": "the TCB info signature does not verify",
        "qe_identity_signature_invalid": "the QE identity signature does not verify",
        "collateral_expired": "TCB info or QE identity is past its nextUpdate",
        "collateral_not_yet_valid": "TCB info or QE identity has an issueDate after the verification time",
        "collateral_kind_mismatch": "TCB info / QE identity is not of the kind this quote needs",
        # quote against collateral
        "qe_report_signature_invalid": "the QE report is not signed by the PCK key",
        "qe_report_data_mismatch": "QE report data does not bind the attestation key and QE auth data",
        "qe_identity_mismatch": "the quoting enclave does not match Intel's QE identity",
        "qe_tcb_level_not_found": "no QE identity TCB level matches the QE's ISVSVN",
        "quote_signature_invalid": "the quote is not signed by the attestation key",
        "fmspc_mismatch": "the PCK certificate's FMSPC differs from the TCB info's",
        "pce_id_mismatch": "the PCK certificate's PCE-ID differs from the TCB info's",
        "tcb_level_not_found": "no TCB level in the TCB info matches this platform",
        "tdx_module_mismatch": "the TDX module signer or attributes do not match the TCB info",
        "tdx_module_identity_not_found": "the TCB info has no identity for this TDX module version",
        "tcb_revoked": "the platform, TDX module or QE TCB is Revoked",
        "debug_td": "the TD or enclave runs in debug mode",
        "td_attributes_invalid": "TD attributes or SEAM attributes have bits that must be zero",
        "service_td_bound": "MRSERVICETD is non-zero: a service TD is bound to this TD (allow it by policy)",
        # appraisal
        "policy_violation": "the quote verified, but the policy does not accept it",
        "policy_invalid": "the policy itself is malformed",
        "event_log_invalid": "the event log is malformed or does not replay to the quote's RTMRs",
        "event_log_mismatch": "the event log replays to an RTMR value that differs from the quote's",
        # resource limits
        # fetching collateral
        "collateral_fetch_failed": "collateral could not be fetched from the PCS / PCCS",
        # attestation history (tdxverify.history)
        "history_url_invalid": "the history database URL is neither a SQLite file nor a PostgreSQL URL",
        "history_missing": "there is no attestation history at that location (no file or no schema)",
        "history_unavailable": "the history database could not be opened, reached, read or written",
        "history_schema_unsupported": "the history database's schema is newer than this tdxverify, or damaged",
        # the verification service (tdxverify serve)
        "request_timeout": "a request to the verification service exceeded a documented time limit",
        # the NEAR contract simulation (tdxverify.near)
        "near_execution_failed": "a simulated NEAR transaction, receipt or view call failed (tdxverify.near)",
        # never expected: a bug, reported closed rather than as a traceback
        "internal_error": "an unexpected internal failure; verification did not succeed",
    }
)


# The codes of a failure that only the verification time caused: the same inputs verify at another time.
TIME_CODES: frozenset[str] = frozenset(
    {
        "certificate_expired",
        "certificate_not_yet_valid",
        "crl_expired",
        "crl_not_yet_valid",
        "collateral_expired",
        "collateral_not_yet_valid",
    }
)


class VerificationError(Exception):
    """Base of every tdxverify failure.

    ``code`` is stable and listed in :data:`ERROR_CODES`; ``step`` names the
    stage that failed (``parse``, ``pck_chain``, ``tcb_info`` ...);
    ``message`` says what failed and what to do about it.
    """

    default_code = "internal_error"
    default_step = "verify"

    def __init__(self, message: str, *, code: str | None = None, step: str | None = None) -> None:
        resolved = code if code is not None else self.default_code
        if resolved not in ERROR_CODES:
            raise ValueError(f"undocumented error code {resolved!r}")
        super().__init__(message)
        self.code: str = resolved
        self.step: str = step if step is not None else self.default_step
        self.message: str = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, step={self.step!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, str]:
        """The ``error`` object of the CLI's JSON."""
        return {"code": self.code, "step": self.step, "message": self.message}


class QuoteFormatError(VerificationError):
    """The quote bytes cannot be parsed, or use an unsupported format."""

    default_code = "quote_format"
    default_step = "parse"


class CertificateError(VerificationError):
    """A certificate, chain or CRL problem."""

    default_code = "pck_chain_invalid"
    default_step = "pki"


class CollateralError(VerificationError):
    """Collateral is malformed, missing, unauthenticated or out of date."""

    default_code = "collateral_format"
    default_step = "collateral"


class TcbError(VerificationError):
    """The quote does not match, or is rejected by, Intel's TCB collateral."""

    default_code = "tcb_level_not_found"
    default_step = "tcb"


class PolicyError(VerificationError):
    """Verification succeeded but the appraisal policy rejects the result.

    ``verdict`` carries the verified (but rejected) verdict with every policy
    check, so callers can show what was measured and which rule failed.
    """

    default_code = "policy_violation"
    default_step = "policy"

    def __init__(
        self, message: str, *, code: str | None = None, step: str | None = None, verdict: object | None = None
    ) -> None:
        super().__init__(message, code=code, step=step)
        self.verdict = verdict


class EventLogError(VerificationError):
    """An event log is malformed, too large, or does not replay to the quote's RTMRs."""

    default_code = "event_log_invalid"
    default_step = "event_log"
