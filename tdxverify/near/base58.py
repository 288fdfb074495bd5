"""Base58 (Bitcoin alphabet), as NEAR writes keys and hashes: ``ed25519:<base58>``."""

from __future__ import annotations

from ..errors import VerificationError

__all__ = ["ALPHABET", "b58decode", "b58encode"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode bytes; each leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rem = divmod(number, 58)
        digits.append(ALPHABET[rem])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode base58 text; an unknown character raises ``input_invalid`` naming it and its position."""
    if not isinstance(text, str):
        raise VerificationError(
            f"base58 text must be a str, not {type(text).__name__}", code="input_invalid", step="near"
        )
    number = 0
    for pos, char in enumerate(text):
        digit = _INDEX.get(char)
        if digit is None:
            raise VerificationError(
                f"invalid base58 character {char!r} at position {pos}: base58 has no 0, O, I or l and no "
                "punctuation; copy the key again",
                code="input_invalid",
                step="near",
            )
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body
