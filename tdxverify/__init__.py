"""tdxverify: verify Intel DCAP attestation quotes (TDX v4/v5, SGX v3)."""

from .errors import (
    ERROR_CODES,
    CertificateError,
    CollateralError,
    PolicyError,
    QuoteFormatError,
    TcbError,
    VerificationError,
)
from .quote import Quote, load_quote, parse_quote

__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "CertificateError",
    "CollateralError",
    "PolicyError",
    "Quote",
    "QuoteFormatError",
    "TcbError",
    "VerificationError",
    "__version__",
    "load_quote",
    "parse_quote",
]
