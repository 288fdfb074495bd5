"""Size limits on untrusted input, checked before any parsing work.

Every limit is far above anything Intel's quoting enclaves or PCS produce
(``docs/limits.md`` has the genuine sizes), so only hostile or corrupt input
reaches one. A :class:`Limits` value can be passed to :func:`tdxverify.parse_quote`,
:func:`tdxverify.load_quote`, :func:`tdxverify.load_collateral`,
:func:`tdxverify.verify` and :class:`tdxverify.Verifier` to raise or lower them.
Exceeding one raises :class:`~tdxverify.errors.VerificationError` with code
``input_too_large``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import VerificationError

__all__ = ["DEFAULT_LIMITS", "Limits", "check_size"]

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    """Maximum sizes in bytes (characters for text) of untrusted inputs."""

    quote: int = 128 * KIB
    """A whole quote, raw (its hex or base64 text may be up to 4x this). Genuine: about 5 KiB."""
    certification_data: int = 64 * KIB
    """One certification data element of a quote (the PCK chain). Genuine: about 4 KiB."""
    collateral: int = 4 * MIB
    """A whole collateral document (JSON text). Genuine: about 25 KiB."""
    collateral_member: int = 1 * MIB
    """One member of collateral: TCB info or QE identity text, a PCS response, a chain, a CRL. Genuine: under 8 KiB."""

    def __post_init__(self) -> None:
        for name in ("quote", "certification_data", "collateral", "collateral_member"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise VerificationError(
                    f"Limits.{name} must be a positive integer, not {value!r}", code="input_invalid", step="input"
                )


DEFAULT_LIMITS = Limits()


def check_size(
    size: int,
    limit: int,
    what: str,
    *,
    name: str,
    step: str,
    error: type[VerificationError] = VerificationError,
    truncated: bool = False,
) -> None:
    """Raise ``error`` with code ``input_too_large`` if ``size`` exceeds ``limit``.

    ``name`` is the :class:`Limits` field, for the message. ``truncated``: only
    ``size`` bytes were read (a file read stops just past the limit).
    """
    if size > limit:
        measured = f"more than {limit} bytes" if truncated else f"{size} bytes"
        raise error(
            f"{what} is {measured}, over the limit of {limit} (Limits.{name}); no genuine input is near "
            f"that size, so it is corrupt or hostile. If it is genuine, pass limits=Limits({name}=...)",
            code="input_too_large",
            step=step,
        )
