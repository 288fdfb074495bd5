"""NEAR amounts and gas units: yoctoNEAR integers, Tgas, and parsing of "10 NEAR"-style text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..errors import VerificationError

__all__ = ["GAS_PRICE", "NEAR", "STORAGE_PRICE_PER_BYTE", "TGAS", "format_near", "near", "tgas"]

NEAR = 10**24
"""One NEAR in yoctoNEAR."""

TGAS = 10**12
"""One teragas."""

GAS_PRICE = 10**8
"""yoctoNEAR per gas unit: the protocol's minimum gas price, what mainnet charges when blocks are not full."""

STORAGE_PRICE_PER_BYTE = 10**19
"""yoctoNEAR an account must hold per byte of state (``storage_amount_per_byte``: 1 NEAR per 100 kB)."""


def near(amount: int | str | Decimal) -> int:
    """``amount`` NEAR in yoctoNEAR: ``near(10)``, ``near("0.5")``; exact, no floats."""
    if isinstance(amount, (bool, float)):
        raise VerificationError(
            f"NEAR amount {amount!r}: pass an int, a decimal string or a Decimal (floats are not exact)",
            code="input_invalid",
            step="near",
        )
    try:
        value = Decimal(amount) * NEAR
    except (InvalidOperation, ValueError) as exc:
        raise VerificationError(
            f"NEAR amount {amount!r} is not a number; write e.g. near('0.1')", code="input_invalid", step="near"
        ) from exc
    if value != value.to_integral_value() or value < 0:
        raise VerificationError(
            f"NEAR amount {amount!r} is negative or finer than one yoctoNEAR", code="input_invalid", step="near"
        )
    return int(value)


def tgas(amount: int | str | Decimal) -> int:
    """``amount`` Tgas in gas units: ``tgas(300)``."""
    return int(Decimal(amount) * TGAS)


def format_near(yocto: int) -> str:
    """yoctoNEAR as a short NEAR string: ``"10 NEAR"``, ``"0.0042 NEAR"``."""
    text = format(Decimal(yocto) / NEAR, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} NEAR"
