"""Accounts, access keys and actions: the data a NEAR shard stores, with its storage-staking size."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .keys import PublicKey

if TYPE_CHECKING:
    from .contract import Contract

__all__ = [
    "ACCOUNT_RECORD_BYTES",
    "EXTRA_BYTES_PER_RECORD",
    "AccessKey",
    "Account",
    "Action",
    "AddKey",
    "CreateAccount",
    "DeleteKey",
    "DeployContract",
    "FullAccess",
    "FunctionCall",
    "FunctionCallPermission",
    "Transfer",
    "borsh_size",
    "is_valid_account_id",
]

ACCOUNT_RECORD_BYTES = 100
"""``storage_num_bytes_account``: what the account record itself costs in storage."""

EXTRA_BYTES_PER_RECORD = 40
"""``storage_num_extra_bytes_record``: added for every access key and every contract storage entry."""

_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")


def is_valid_account_id(account_id: object) -> bool:
    """NEAR's account ID rule: 2-64 chars of ``a-z 0-9 - _ .``, no leading/trailing or doubled separators."""
    return isinstance(account_id, str) and 2 <= len(account_id) <= 64 and bool(_ACCOUNT_ID.match(account_id))


@dataclass(frozen=True)
class FullAccess:
    """A key that may sign any transaction for its account."""

    def to_dict(self) -> object:
        """As NEAR RPC prints it."""
        return "FullAccess"


@dataclass(frozen=True)
class FunctionCallPermission:
    """A key that may only call ``method_names`` (any, if empty) on ``receiver_id``, spending ``allowance``."""

    receiver_id: str
    method_names: tuple[str, ...] = ()
    allowance: int | None = None
    """yoctoNEAR left to spend on gas; ``None`` is unlimited."""

    def to_dict(self) -> object:
        """As NEAR RPC prints it."""
        return {
            "FunctionCall": {
                "allowance": None if self.allowance is None else str(self.allowance),
                "receiver_id": self.receiver_id,
                "method_names": list(self.method_names),
            }
        }


Permission = FullAccess | FunctionCallPermission


@dataclass(frozen=True)
class AccessKey:
    """An access key: its nonce and permission."""

    nonce: int
    permission: Permission

    @property
    def storage_bytes(self) -> int:
        """Borsh size of the stored key record (NEAR charges this plus the public key plus 40)."""
        size = 8 + 1  # nonce, permission tag
        perm = self.permission
        if isinstance(perm, FunctionCallPermission):
            size += 1 + (16 if perm.allowance is not None else 0)
            size += 4 + len(perm.receiver_id.encode())
            size += 4 + sum(4 + len(m.encode()) for m in perm.method_names)
        return size


@dataclass(frozen=True)
class CreateAccount:
    """Create the receipt's receiver account."""


@dataclass(frozen=True)
class DeployContract:
    """Deploy contract code (a :class:`~tdxverify.near.contract.Contract` class) on the receiver."""

    contract: type[Contract]


@dataclass(frozen=True)
class FunctionCall:
    """Call ``method_name`` with JSON ``args`` (bytes), ``gas`` attached and ``deposit`` yoctoNEAR."""

    method_name: str
    args: bytes
    gas: int
    deposit: int = 0


@dataclass(frozen=True)
class Transfer:
    """Move ``deposit`` yoctoNEAR to the receiver."""

    deposit: int


@dataclass(frozen=True)
class AddKey:
    """Add ``public_key`` with ``access_key`` to the receiver (only the account itself may)."""

    public_key: PublicKey
    access_key: AccessKey


@dataclass(frozen=True)
class DeleteKey:
    """Delete ``public_key`` from the receiver (only the account itself may)."""

    public_key: PublicKey


Action = CreateAccount | DeployContract | FunctionCall | Transfer | AddKey | DeleteKey


def action_name(action: Action) -> str:
    """The action's NEAR name (``FunctionCall``, ``AddKey`` ...)."""
    return type(action).__name__


def action_deposit(action: Action) -> int:
    """yoctoNEAR the action moves to the receiver."""
    if isinstance(action, (Transfer, FunctionCall)):
        return action.deposit
    return 0


def borsh_size(value: Any) -> int:
    """Bytes a JSON-shaped value takes when Borsh-serialized as a struct (the size model of contract state).

    Strings are a 4-byte length plus UTF-8; lists a 4-byte count plus items;
    objects are structs (fields only, no names); integers u64; booleans and
    ``None`` one byte.
    """
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return 8
    if isinstance(value, str):
        return 4 + len(value.encode())
    if isinstance(value, (list, tuple)):
        return 4 + sum(borsh_size(v) for v in value)
    if isinstance(value, dict):
        return sum(borsh_size(v) for v in value.values())
    raise TypeError(f"contract state holds a {type(value).__name__}; only JSON values can be stored")


@dataclass
class Account:
    """An account on the simulated chain. Mutated only by the runtime."""

    account_id: str
    amount: int
    keys: dict[PublicKey, AccessKey] = field(default_factory=dict)
    contract: type[Contract] | None = None
    state: Any = None
    """The contract's state (a JSON value, stored under ``STATE``), ``None`` before ``new``."""

    @property
    def code_size(self) -> int:
        """Bytes of contract code (the modelled wasm size), 0 without a contract."""
        return self.contract.code_size if self.contract is not None else 0

    @property
    def state_bytes(self) -> int:
        """Storage bytes of the contract state entry (key ``STATE``, Borsh-sized value, record overhead)."""
        if self.state is None:
            return 0
        return len(b"STATE") + borsh_size(self.state) + EXTRA_BYTES_PER_RECORD

    @property
    def storage_usage(self) -> int:
        """Bytes NEAR charges storage staking for: account record, code, keys, contract state."""
        keys = sum(33 + key.storage_bytes + EXTRA_BYTES_PER_RECORD for key in self.keys.values())
        return ACCOUNT_RECORD_BYTES + self.code_size + keys + self.state_bytes
