"""NEAR public keys (``ed25519:<base58>``) and ed25519 key pairs made with ``cryptography``."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..errors import VerificationError
from .base58 import b58decode, b58encode

__all__ = ["KeyPair", "PublicKey"]


@dataclass(frozen=True, order=True)
class PublicKey:
    """An ed25519 public key as NEAR names it; ``str()`` gives ``ed25519:<base58>``."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or len(self.data) != 32:
            size = len(self.data) if isinstance(self.data, bytes) else type(self.data).__name__
            raise VerificationError(
                f"an ed25519 public key is 32 bytes, got {size}", code="input_invalid", step="near_key"
            )

    @classmethod
    def parse(cls, text: object) -> PublicKey:
        """Parse ``ed25519:<base58 of 32 bytes>``; anything else raises ``input_invalid`` saying what is wrong."""
        if isinstance(text, PublicKey):
            return text
        if not isinstance(text, str):
            raise VerificationError(
                f"public key must be a string 'ed25519:<base58>', not {type(text).__name__}",
                code="input_invalid",
                step="near_key",
            )
        curve, sep, body = text.partition(":")
        if not sep:
            curve, body = "ed25519", text  # NEAR accepts a bare base58 body as ed25519
        if curve != "ed25519":
            raise VerificationError(
                f"unsupported key type {curve!r} in {text[:40]!r}: the simulation supports ed25519 keys only "
                "(secp256k1 and ml-dsa-65 keys are not modelled)",
                code="input_invalid",
                step="near_key",
            )
        if not body:
            raise VerificationError("public key has an empty base58 body", code="input_invalid", step="near_key")
        raw = b58decode(body)
        if len(raw) != 32:
            raise VerificationError(
                f"ed25519 key {text[:60]!r} decodes to {len(raw)} bytes, not 32: it is truncated or not a public key",
                code="input_invalid",
                step="near_key",
            )
        return cls(raw)

    def __str__(self) -> str:
        return "ed25519:" + b58encode(self.data)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's ed25519 signature of ``message``."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.data).verify(signature, message)
        except Exception:
            return False
        return True


@dataclass(frozen=True)
class KeyPair:
    """An ed25519 key pair; ``seed`` is the 32-byte private key (keep it in a file to survive restarts)."""

    seed: bytes

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh random key pair."""
        private = ed25519.Ed25519PrivateKey.generate()
        return cls(private.private_bytes_raw())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """The key pair of a 32-byte seed."""
        if len(seed) != 32:
            raise VerificationError(
                f"an ed25519 seed is 32 bytes, got {len(seed)}", code="input_invalid", step="near_key"
            )
        return cls(bytes(seed))

    @property
    def _private(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> PublicKey:
        """The public key."""
        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PublicKey(raw)

    def to_near_secret(self) -> str:
        """The private key as NEAR credential files write it: ``ed25519:<base58 of seed || public key>``."""
        return "ed25519:" + b58encode(self.seed + self.public_key.data)

    @classmethod
    def from_near_secret(cls, text: str) -> KeyPair:
        """Parse ``ed25519:<base58>`` of a 64-byte (seed || public key) or 32-byte seed secret key."""
        curve, sep, body = text.partition(":")
        if not sep or curve != "ed25519":
            raise VerificationError(
                "a NEAR secret key looks like 'ed25519:<base58>'", code="input_invalid", step="near_key"
            )
        raw = b58decode(body)
        if len(raw) not in (32, 64):
            raise VerificationError(
                f"ed25519 secret key decodes to {len(raw)} bytes, not 64 (seed || public key) or 32",
                code="input_invalid",
                step="near_key",
            )
        pair = cls(raw[:32])
        if len(raw) == 64 and raw[32:] != pair.public_key.data:
            raise VerificationError(
                "ed25519 secret key: its public half does not belong to its seed (damaged key file)",
                code="input_invalid",
                step="near_key",
            )
        return pair

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``message``."""
        return self._private.sign(message)
