"""Transactions: who signs, with which key and nonce, which actions to whom; hashing and signing.

The hash is SHA-256 over a canonical JSON encoding (NEAR hashes the Borsh
encoding); signatures are real ed25519 signatures of that hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .accounts import (
    AccessKey,
    Action,
    AddKey,
    CreateAccount,
    DeleteKey,
    DeployContract,
    FullAccess,
    FunctionCall,
    Transfer,
)
from .base58 import b58encode
from .keys import KeyPair, PublicKey

__all__ = ["SignedTransaction", "Transaction"]


def _action_json(action: Action) -> Any:
    if isinstance(action, FunctionCall):
        return ["FunctionCall", action.method_name, action.args.hex(), action.gas, str(action.deposit)]
    if isinstance(action, Transfer):
        return ["Transfer", str(action.deposit)]
    if isinstance(action, AddKey):
        return ["AddKey", str(action.public_key), _key_json(action.access_key)]
    if isinstance(action, DeleteKey):
        return ["DeleteKey", str(action.public_key)]
    if isinstance(action, DeployContract):
        return ["DeployContract", f"{action.contract.__module__}.{action.contract.__qualname__}"]
    if isinstance(action, CreateAccount):
        return ["CreateAccount"]
    raise TypeError(f"not an action: {action!r}")


def _key_json(key: AccessKey) -> Any:
    perm = key.permission
    return [key.nonce, "FullAccess" if isinstance(perm, FullAccess) else perm.to_dict()]


@dataclass(frozen=True)
class Transaction:
    """An unsigned transaction."""

    signer_id: str
    public_key: PublicKey
    nonce: int
    receiver_id: str
    actions: tuple[Action, ...]

    def hash(self) -> bytes:
        """SHA-256 of the canonical encoding."""
        body = [
            self.signer_id,
            str(self.public_key),
            self.nonce,
            self.receiver_id,
            [_action_json(a) for a in self.actions],
        ]
        return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).digest()

    def sign(self, key: KeyPair) -> SignedTransaction:
        """Sign with ``key`` (which should be ``public_key``'s pair)."""
        return SignedTransaction(self, key.sign(self.hash()))


@dataclass(frozen=True)
class SignedTransaction:
    """A transaction and its ed25519 signature."""

    transaction: Transaction
    signature: bytes

    @property
    def hash_text(self) -> str:
        """The transaction hash in base58, as explorers show it."""
        return b58encode(self.transaction.hash())
