"""What ``tdxverify serve`` is configured with, and the limits it enforces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import VerificationError
from ..pccs import PckCa, TeeType, pcs_base_url
from ..policy import Policy

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "PlatformKey", "ServiceConfig", "parse_duration"]

DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
"""A quote is a few KiB and collateral tens of KiB: 1 MiB leaves room and bounds memory per request."""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``"6h"``, ``"90m"``, ``"30s"``, ``"1.5d"``, ``"250ms"`` or bare seconds -> seconds (else ``input_invalid``)."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        raise VerificationError(
            f"{text!r:.40} is not a duration: give a number with an optional unit ms, s, m, h or d (e.g. 6h)",
            code="input_invalid",
            step="config",
        )
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True, order=True)
class PlatformKey:
    """What one cache entry is for: TEE type, FMSPC (6 bytes) and the PCK CA of the platform's PCK certificate."""

    tee: TeeType
    fmspc: bytes
    ca: PckCa

    @property
    def fmspc_hex(self) -> str:
        return self.fmspc.hex().upper()

    @property
    def slug(self) -> str:
        """A file-name-safe name, e.g. ``tdx-20A06F000000-platform``."""
        return f"{self.tee.lower()}-{self.fmspc_hex}-{self.ca}"

    def labels(self) -> dict[str, str]:
        return {"tee": self.tee, "fmspc": self.fmspc_hex, "ca": self.ca}

    @classmethod
    def parse(cls, fmspc: str, ca: str = "platform", tee: str = "tdx") -> PlatformKey:
        """From query-string style text (case-insensitive); ``input_invalid`` with what to send otherwise."""
        if not re.fullmatch(r"[0-9a-fA-F]{12}", fmspc):
            raise VerificationError(
                f"fmspc {fmspc!r:.40} is not 12 hex digits (6 bytes, e.g. 20A06F000000); "
                "`tdxverify parse QUOTE` shows a platform's FMSPC",
                code="input_invalid",
                step="request",
            )
        ca_l, tee_u = ca.lower(), tee.upper()
        if ca_l not in ("platform", "processor"):
            raise VerificationError(
                f"ca {ca!r:.40} is neither 'platform' nor 'processor'", code="input_invalid", step="request"
            )
        if tee_u not in ("TDX", "SGX"):
            raise VerificationError(f"tee {tee!r:.40} is neither 'tdx' nor 'sgx'", code="input_invalid", step="request")
        return cls(tee=tee_u, fmspc=bytes.fromhex(fmspc), ca=ca_l)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the service needs; the CLI builds one from its flags.

    Times are seconds. Defaults are the documented ones (``docs/service.md``).
    """

    pccs_url: str | None = None
    """Intel PCS (``None``) or a PCCS base URL."""
    cache_dir: Path | None = None
    """Where collateral is persisted (one file per platform key); ``None`` keeps it in memory only."""
    refresh_interval: float = 6 * 3600.0
    root_ca: bytes | None = None
    """DER/PEM of another trust root (tests, the forge); default the pinned Intel SGX Root CA."""
    policy: Policy | None = None
    """The default appraisal policy; a request may send its own instead."""
    default_platform: PlatformKey | None = None
    """What ``GET /tdx/collateral`` serves; also fetched at start."""
    warm: tuple[PlatformKey, ...] = ()
    """Platforms fetched at start (besides the default) and kept fresh."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    request_timeout: float = 10.0
    """Bound on reading a request body and on one verification."""
    upstream_timeout: float = 30.0
    """Bound on each request to the PCS / PCCS."""
    workers: int = 4
    """Threads that verify (and fetch), off the event loop."""
    retries: int = 4
    """Attempts per refresh cycle before waiting for the next one."""
    retry_backoff: float = 2.0
    """First back-off between attempts; doubles each time, capped by the refresh interval."""
    min_refresh: float = 60.0
    """Shortest time between two refreshes of one platform that succeeded."""
    negative_ttl: float = 60.0
    """How long a failed first fetch of a platform is remembered, so a burst of requests does not hammer upstream."""
    max_platforms: int = 64
    """Most platforms cached at once: bounds what arbitrary quotes can make the service fetch and keep."""
    tick: float = 1.0
    """How often the refresher looks for due work (seconds of the monotonic clock)."""

    def __post_init__(self) -> None:
        pcs_base_url(self.pccs_url)  # input_invalid for an unusable URL
        for name in ("refresh_interval", "request_timeout", "upstream_timeout", "retry_backoff", "tick"):
            value = getattr(self, name)
            if not value > 0:
                raise VerificationError(f"{name} must be positive, not {value!r}", code="input_invalid", step="config")
        for name in ("max_request_bytes", "workers", "retries", "max_platforms"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise VerificationError(
                    f"{name} must be a positive integer, not {value!r}", code="input_invalid", step="config"
                )
        if self.min_refresh < 0 or self.negative_ttl < 0:
            raise VerificationError("min_refresh and negative_ttl must not be negative", code="input_invalid")
