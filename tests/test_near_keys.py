"""NEAR's base58 and ``ed25519:`` key strings: known encodings, round trips, and clear errors for bad keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdxverify import VerificationError
from tdxverify.near import KeyPair, PublicKey, b58decode, b58encode


@pytest.mark.parametrize(
    "raw,text",
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (bytes(range(1, 11)), "4HUtbHhN2TkpR"),
        (b"\xff" * 4, "7YXq9G"),
    ],
)
def test_known_encodings(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


@given(st.binary(max_size=80))
def test_round_trip(raw: bytes) -> None:
    assert b58decode(b58encode(raw)) == raw


@given(st.binary(min_size=32, max_size=32))
def test_public_key_round_trip(raw: bytes) -> None:
    key = PublicKey(raw)
    assert PublicKey.parse(str(key)) == key
    assert str(key).startswith("ed25519:")


def test_known_near_key() -> None:
    # an all-zero key is 32 leading-zero bytes: 32 ones
    assert str(PublicKey(bytes(32))) == "ed25519:" + "1" * 32
    assert PublicKey.parse("ed25519:" + "1" * 32).data == bytes(32)


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("ed25519:", "empty base58 body"),
        ("ed25519:abc0", "invalid base58 character '0' at position 3"),
        ("ed25519:IlO", "invalid base58 character 'I'"),
        ("ed25519:" + b58encode(b"\x05" * 31), "decodes to 31 bytes, not 32"),
        ("ed25519:" + b58encode(b"\x05" * 33), "decodes to 33 bytes"),
        ("secp256k1:" + b58encode(b"\x05" * 64), "unsupported key type 'secp256k1'"),
        ("ed25519:abc def", "invalid base58 character ' '"),
    ],
)
def test_bad_keys_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(VerificationError) as err:
        PublicKey.parse(text)
    assert err.value.code == "input_invalid"
    assert fragment in err.value.message


def test_non_string_key() -> None:
    with pytest.raises(VerificationError, match="must be a string"):
        PublicKey.parse(42)
    with pytest.raises(VerificationError, match="32 bytes"):
        PublicKey(b"short")


def test_bare_base58_is_ed25519() -> None:
    key = KeyPair.from_seed(b"\x02" * 32).public_key
    assert PublicKey.parse(b58encode(key.data)) == key


def test_key_pair_signs_and_verifies() -> None:
    pair = KeyPair.from_seed(b"\x03" * 32)
    sig = pair.sign(b"message")
    assert pair.public_key.verify(sig, b"message")
    assert not pair.public_key.verify(sig, b"messagf")
    assert KeyPair.generate().public_key != pair.public_key
    with pytest.raises(VerificationError, match="32 bytes"):
        KeyPair.from_seed(b"\x00" * 31)


def test_near_secret_round_trip_and_damage() -> None:
    pair = KeyPair.from_seed(b"\x04" * 32)
    secret = pair.to_near_secret()
    assert secret.startswith("ed25519:") and len(b58decode(secret[8:])) == 64
    assert KeyPair.from_near_secret(secret) == pair
    assert KeyPair.from_near_secret("ed25519:" + b58encode(pair.seed)) == pair
    other = KeyPair.from_seed(b"\x05" * 32).public_key.data
    with pytest.raises(VerificationError, match="does not belong"):
        KeyPair.from_near_secret("ed25519:" + b58encode(pair.seed + other))
    with pytest.raises(VerificationError, match="not 64"):
        KeyPair.from_near_secret("ed25519:" + b58encode(b"\x01" * 40))
    with pytest.raises(VerificationError, match="ed25519:<base58>"):
        KeyPair.from_near_secret(b58encode(pair.seed))
