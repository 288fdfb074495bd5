"""Report-data binding rules: public keys (hex, NEAR base58), key hashes (NEAR MPC on the real quote), the zero rest."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdxverify import Policy, PolicyError, load_policy, verify
from tdxverify.binding import KeyHash, b58decode, b58encode, parse_public_key
from tdxverify.testing import Forge

from .vectors import VECTORS_DIR

MPC = VECTORS_DIR / "tdx-v4-near-mpc-dstack"
MPC_EXPECTED = json.loads((MPC / "expected.json").read_text())
P2P = MPC_EXPECTED["near_p2p_public_key"]
SIGNER = MPC_EXPECTED["near_signer_public_key"]
FORGE = Forge(seed="binding")
KEY = bytes(range(32))


def verify_mpc(policy: Policy) -> object:
    return verify((MPC / "quote.bin").read_bytes(), MPC / "collateral.json", now=MPC_EXPECTED["now"], policy=policy)


def forged(policy: Policy, report_data: bytes) -> object:
    quote = FORGE.quote(report_data=report_data)
    return verify(quote, FORGE.collateral(), now=FORGE.now, root_ca=FORGE.root_ca_der, policy=policy)


def test_near_mpc_quote_binds_its_two_published_keys() -> None:
    mpc = KeyHash.of_keys([P2P, SIGNER], "sha3-384", prefix=(1).to_bytes(2, "big"))
    raw = parse_public_key(P2P) + parse_public_key(SIGNER)
    assert mpc.expected == b"\x00\x01" + hashlib.sha3_384(raw).digest()
    v = verify_mpc(Policy(key_hash=mpc))
    checks = {c.name: c.ok for c in v.policy.checks}  # type: ignore[attr-defined]
    assert checks == {"status": True, "key_hash": True, "report_data_rest": True}
    # The same rule from JSON, keys in NEAR's text form.
    doc = {"key_hash": {"algorithm": "sha3-384", "keys": [P2P, SIGNER], "prefix": "0001"}}
    assert load_policy(json.dumps(doc)).key_hash == mpc
    assert verify_mpc(load_policy(json.dumps(doc))).ok  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "key_hash",
    [
        KeyHash.of_keys([SIGNER, P2P], "sha3-384", prefix=b"\x00\x01"),  # keys swapped
        KeyHash.of_keys([P2P, P2P], "sha3-384", prefix=b"\x00\x01"),  # wrong signer key
        KeyHash.of_keys([P2P, SIGNER], "sha3-384", prefix=b"\x00\x02"),  # wrong version
        KeyHash.of_keys([P2P, SIGNER], "sha256", prefix=b"\x00\x01"),  # wrong hash
    ],
)
def test_wrong_keys_are_rejected_on_the_real_quote(key_hash: KeyHash) -> None:
    with pytest.raises(PolicyError) as info:
        verify_mpc(Policy(key_hash=key_hash))
    assert info.value.code == "policy_violation"
    failed = [c.name for c in info.value.verdict.policy.failures]  # type: ignore[attr-defined]
    assert failed == ["key_hash", "report_data_rest"] or failed == ["key_hash"]
    assert "key_hash: report data starts with 0001e4faaeda" in info.value.message


def test_public_key_rule_hex_and_base58() -> None:
    near = "ed25519:" + b58encode(KEY)
    for given_key in (KEY, KEY.hex(), near, "0x" + KEY.hex()):
        assert Policy(public_key=given_key).public_key == KEY  # type: ignore[arg-type]
    v = forged(Policy(public_key=near), KEY + bytes(32))
    assert [c.name for c in v.policy.checks] == ["status", "public_key", "report_data_rest"]  # type: ignore[attr-defined]
    with pytest.raises(PolicyError) as info:
        forged(Policy(public_key=near), bytes(31) + b"\x01" + bytes(32))
    assert [c.name for c in info.value.verdict.policy.failures] == ["public_key"]  # type: ignore[attr-defined]
    with pytest.raises(PolicyError) as info:
        forged(Policy(public_key=near), KEY + b"\x01" + bytes(31))
    assert [c.name for c in info.value.verdict.policy.failures] == ["report_data_rest"]  # type: ignore[attr-defined]
    # The register contract leaves bytes 32-63 unchecked: say so explicitly.
    assert forged(Policy(public_key=near, report_data_rest_zero=False), KEY + b"\x01" * 32).ok  # type: ignore[attr-defined]


def test_key_hash_over_bytes() -> None:
    nonce = b"challenge-123"
    for alg, fn in (("sha256", hashlib.sha256), ("sha512", hashlib.sha512), ("sha3-384", hashlib.sha3_384)):
        digest = fn(nonce).digest()
        rd = digest.ljust(64, b"\0")
        assert forged(Policy(key_hash=KeyHash(alg, nonce)), rd).ok  # type: ignore[attr-defined]
        doc = {"key_hash": {"algorithm": alg, "message": nonce.hex()}}
        assert load_policy(json.dumps(doc)).key_hash == KeyHash(alg, nonce)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"public_key": "ed25519:0OIl"}, "not a base58 character"),
        ({"public_key": "ed25519:" + b58encode(bytes(31) + b"\x01")[:-2]}, "an ed25519 public key is 32"),
        ({"public_key": "secp256k1:abc"}, "only ed25519"),
        ({"public_key": "zz"}, "neither"),
        ({"public_key": 5}, "bytes or a string"),
        ({"public_key": "ed25519:" + "2" * 200}, "longer than any key"),
        ({"public_key": KEY, "key_hash": KeyHash("sha256", b"x")}, "give one of them"),
        ({"public_key": KEY, "report_data": b"\x01"}, "contradicts public_key"),
        ({"key_hash": "sha256"}, "KeyHash"),
    ],
)
def test_invalid_binding_rules(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy(**kwargs)  # type: ignore[arg-type]
    assert info.value.code == "policy_invalid"
    assert words in info.value.message


@pytest.mark.parametrize(
    "doc,words",
    [
        ({"key_hash": {"algorithm": "md5", "message": "00"}}, "must be one of"),
        ({"key_hash": {"algorithm": "sha256"}}, "exactly one of"),
        ({"key_hash": {"algorithm": "sha256", "message": "00", "keys": []}}, "exactly one of"),
        ({"key_hash": {"algorithm": "sha256", "keys": []}}, "empty"),
        ({"key_hash": {"algorithm": "sha256", "keys": {"a": 1}}}, "list of strings"),
        ({"key_hash": {"algorithm": "sha512", "message": "00", "prefix": "00"}}, "report data holds 64"),
        ({"key_hash": {"algorithm": "sha256", "message": "00", "salt": "00"}}, "unknown key"),
        ({"key_hash": {"algorithm": "sha256", "message": None}}, "null"),
        ({"key_hash": []}, "must be an object"),
        ({"public_key": ["ed25519:x"]}, "must be a string"),
    ],
)
def test_invalid_binding_json(doc: dict[str, object], words: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(json.dumps(doc))
    assert info.value.code == "policy_invalid"
    assert words in info.value.message


@given(st.binary(max_size=64))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


def test_base58_known_value() -> None:
    # NEAR's text form of the vector's signer key decodes to 32 bytes and encodes back unchanged.
    raw = parse_public_key(SIGNER)
    assert len(raw) == 32 and "ed25519:" + b58encode(raw) == SIGNER
    assert b58encode(b"\0\0\x01") == "112" and b58decode("") == b""


def test_policy_doc_mpc_example_verifies_the_real_quote() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "policy.md").read_text()
    block = next(b for b in re.findall(r"```json\n(.*?)```", doc, re.S) if "key_hash" in b)
    policy = load_policy(block)
    v = verify(
        (MPC / "quote.bin").read_bytes(),
        MPC / "collateral.json",
        now=MPC_EXPECTED["now"],
        policy=policy,
        event_log=MPC / "tcb_info.json",
    )
    assert [c.name for c in v.policy.checks if c.ok] == ["status", "key_hash", "report_data_rest", "event:compose-hash"]
