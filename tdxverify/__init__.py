"""tdxverify: verify Intel DCAP attestation quotes (TDX v4/v5, SGX v3) in pure Python.

>>> import tdxverify
>>> verdict = tdxverify.verify(quote_bytes, collateral, now=...)   # doctest: +SKIP
>>> verdict.status, verdict.rtmr3, verdict.report_data               # doctest: +SKIP

Every failure raises a :class:`VerificationError` with a stable ``code``.
"""

from .batch import BatchError, BatchItem, BatchResult, CollateralSet, iter_verify, verify_many
from .collateral import AuthenticatedCollateral, Collateral, load_collateral
from .errors import (
    ERROR_CODES,
    CertificateError,
    CollateralError,
    PolicyError,
    QuoteFormatError,
    TcbError,
    VerificationError,
)
from .policy import Policy, load_policy
from .quote import Quote, load_quote, parse_quote
from .verdict import Verdict
from .verify import Verifier, verify

__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "AuthenticatedCollateral",
    "BatchError",
    "BatchItem",
    "BatchResult",
    "CertificateError",
    "Collateral",
    "CollateralError",
    "CollateralSet",
    "Policy",
    "PolicyError",
    "Quote",
    "QuoteFormatError",
    "TcbError",
    "Verdict",
    "VerificationError",
    "Verifier",
    "__version__",
    "iter_verify",
    "load_collateral",
    "load_policy",
    "load_quote",
    "parse_quote",
    "verify",
    "verify_many",
]
