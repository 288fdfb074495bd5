"""Report-data binding: public keys (raw hex or NEAR ``ed25519:<base58>``) and key hashes.

A TEE worker proves it holds a key by putting the key, or a hash of it, at the
start of the report data its quote signs. These helpers decode the key forms
operators paste and compute the bytes a policy expects; :mod:`tdxverify.policy`
applies them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import PolicyError

__all__ = ["HASH_ALGORITHMS", "KeyHash", "b58decode", "b58encode", "parse_public_key"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
# Base58 decoding is quadratic in the text's length; keys are 32-64 bytes, so bound it.
_MAX_B58 = 128

HASH_ALGORITHMS: Mapping[str, Callable[[bytes], bytes]] = MappingProxyType(
    {
        "sha256": lambda b: hashlib.sha256(b).digest(),
        "sha512": lambda b: hashlib.sha512(b).digest(),
        "sha3-384": lambda b: hashlib.sha3_384(b).digest(),
    }
)


def _invalid(msg: str) -> PolicyError:
    return PolicyError(f"policy: {msg}", code="policy_invalid", step="policy")


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (NEAR's key encoding)."""
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_ALPHABET[r])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Decode bitcoin-alphabet base58; raises ``policy_invalid`` for a character outside it or an overlong text."""
    if len(text) > _MAX_B58:
        raise _invalid(f"base58 text of {len(text)} characters is longer than any key ({_MAX_B58} at most)")
    n = 0
    for c in text:
        if c not in _INDEX:
            raise _invalid(f"{c!r} is not a base58 character")
        n = n * 58 + _INDEX[c]
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def parse_public_key(value: str | bytes, what: str = "public_key") -> bytes:
    """A raw 32-byte ed25519 key from bytes, 64 hex digits, or NEAR's ``ed25519:<base58>``."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("ed25519:"):
            raw = b58decode(text[len("ed25519:") :])
        elif ":" in text:
            raise _invalid(f"{what}: only ed25519 keys ('ed25519:<base58>') are supported, got {text.split(':')[0]!r}")
        else:
            try:
                raw = bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
            except ValueError:
                raise _invalid(f"{what} is neither 'ed25519:<base58>' nor hex") from None
    else:
        raise _invalid(f"{what} must be bytes or a string, not {type(value).__name__}")
    if len(raw) != 32:
        raise _invalid(f"{what} is {len(raw)} bytes; an ed25519 public key is 32")
    return raw


@dataclass(frozen=True)
class KeyHash:
    """Report data must start with ``prefix || H(message)``.

    NEAR MPC nodes use ``prefix = (1).to_bytes(2, "big")`` (a u16 version),
    ``H = SHA3-384`` and ``message = p2p_tls_key || signer_key`` (raw 32-byte keys):
    ``KeyHash.of_keys(["ed25519:...", "ed25519:..."], "sha3-384", prefix=b"\\0\\1")``.
    """

    algorithm: str
    message: bytes
    prefix: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, str) or self.algorithm not in HASH_ALGORITHMS:
            raise _invalid(f"key_hash algorithm {self.algorithm!r} is not one of {sorted(HASH_ALGORITHMS)}")
        for name in ("message", "prefix"):
            if not isinstance(getattr(self, name), bytes):
                raise _invalid(f"key_hash {name} must be bytes, not {type(getattr(self, name)).__name__}")
        if len(self.expected) > 64:
            raise _invalid(f"key_hash prefix + digest is {len(self.expected)} bytes; report data holds 64")

    @classmethod
    def of_keys(cls, keys: Iterable[str | bytes], algorithm: str, prefix: bytes = b"") -> KeyHash:
        """The hash of raw ed25519 keys concatenated in the given order."""
        if isinstance(keys, (str, bytes)):
            raise _invalid("key_hash keys must be a list of keys")
        raw = [parse_public_key(k, f"key_hash keys[{i}]") for i, k in enumerate(keys)]
        if not raw:
            raise _invalid("key_hash keys is empty")
        return cls(algorithm, b"".join(raw), prefix)

    @property
    def expected(self) -> bytes:
        """The bytes report data must start with."""
        return self.prefix + HASH_ALGORITHMS[self.algorithm](self.message)
