"""What a contract sees: the ``env`` of one call (context, gas, logs, state, promises) and the method decorators.

A contract is a class of methods ``(self, env, args) -> value``, each marked
:func:`init`, :func:`call` (optionally ``payable``) or :func:`view`. State is
one JSON value in ``env.state`` (near-sdk's ``STATE`` entry): ``call``
methods may change it and it is written back when they return; a panic
(:meth:`Env.panic`) discards every change of the receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, TypeVar

from .accounts import AccessKey, Action, AddKey, DeleteKey, FunctionCallPermission, Transfer
from .gas import GasModel
from .keys import PublicKey

__all__ = [
    "Contract",
    "ContractPanic",
    "Env",
    "GasExceeded",
    "HostError",
    "MethodSpec",
    "Promise",
    "call",
    "init",
    "view",
]


class ContractPanic(Exception):
    """The contract panicked (``env::panic_str`` / a failed ``assert!``); the receipt is rolled back."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GasExceeded(Exception):
    """The call used more gas than was attached."""


class HostError(Exception):
    """A host function refused (e.g. ``ProhibitedInView``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class MethodSpec:
    """How a contract method may be called."""

    kind: str  # "init" | "call" | "view"
    payable: bool = False


F = TypeVar("F", bound=Callable[..., Any])


def _mark(spec: MethodSpec) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        fn.__near_method__ = spec  # type: ignore[attr-defined]
        return fn

    return deco


def init(fn: F) -> F:
    """Mark the initializer (``#[init]``): runs once, on an account without state."""
    return _mark(MethodSpec("init"))(fn)


def call(fn: F | None = None, *, payable: bool = False) -> Any:
    """Mark a state-changing method; ``payable=True`` lets it accept an attached deposit."""
    if fn is None:
        return _mark(MethodSpec("call", payable))
    return _mark(MethodSpec("call", payable))(fn)


def view(fn: F) -> F:
    """Mark a read-only method (callable with ``near view``)."""
    return _mark(MethodSpec("view"))(fn)


class Contract:
    """Base of simulated contracts. ``code_size`` stands for the wasm's size (storage staking, loading gas)."""

    code_size: ClassVar[int] = 0

    @classmethod
    def methods(cls) -> dict[str, MethodSpec]:
        """Exported methods and how each may be called."""
        out: dict[str, MethodSpec] = {}
        for name in dir(cls):
            spec = getattr(getattr(cls, name, None), "__near_method__", None)
            if isinstance(spec, MethodSpec):
                out[name] = spec
        return out


@dataclass
class Promise:
    """A receipt the contract schedules (``Promise::new(receiver)...``); actions run when it executes."""

    receiver_id: str
    actions: list[Action] = field(default_factory=list)


@dataclass
class Env:
    """The context and host functions of one contract call."""

    current_account_id: str
    caller: str
    """The predecessor (read it as :attr:`predecessor_account_id`)."""
    signer: str
    """The signer (read it as :attr:`signer_account_id`)."""
    signer_pk: PublicKey | None
    attached_deposit: int
    prepaid_gas: int
    block_height: int
    block_timestamp: int
    """Nanoseconds since the unix epoch (``env::block_timestamp()``)."""
    account_balance: int
    gas_model: GasModel
    is_view: bool = False
    state: Any = None
    logs: list[str] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
    burnt_gas: int = 0
    used_gas: int = 0
    """Burnt gas plus gas prepaid to the receipts this call creates."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Runtime-provided services (the register contract reads its quote ``root_ca`` here)."""

    def _no_view(self, what: str) -> None:
        if self.is_view:
            raise HostError("ProhibitedInView", f"{what} is not available in a view call (views have no signer)")

    @property
    def predecessor_account_id(self) -> str:
        """``env::predecessor_account_id()``: who sent this receipt (prohibited in views)."""
        self._no_view("predecessor_account_id")
        return self.caller

    @property
    def signer_account_id(self) -> str:
        """``env::signer_account_id()``: who signed the transaction (prohibited in views)."""
        self._no_view("signer_account_id")
        return self.signer

    @property
    def signer_account_pk(self) -> PublicKey | None:
        """``env::signer_account_pk()``: the key that signed the transaction (prohibited in views)."""
        self._no_view("signer_account_pk")
        return self.signer_pk

    @property
    def block_timestamp_seconds(self) -> int:
        """Block time in whole seconds (``block_timestamp / 1e9``)."""
        return self.block_timestamp // 1_000_000_000

    def burn(self, gas: int) -> None:
        """Charge ``gas``; past the attached gas the call fails with ``Exceeded the prepaid gas``."""
        self.burnt_gas += gas
        self.used_gas += gas
        if self.used_gas > self.prepaid_gas:
            raise GasExceeded()

    def panic(self, message: str) -> NoReturn:
        """Abort the call with ``message`` (``Smart contract panicked: message``)."""
        raise ContractPanic(message)

    def require(self, condition: bool, message: str) -> None:
        """``assert!(condition, message)``."""
        if not condition:
            raise ContractPanic(message)

    def log(self, message: str) -> None:
        """``env::log_str``: a log line in the outcome."""
        self.burn(self.gas_model.log_base + self.gas_model.log_byte * len(message.encode()))
        self.logs.append(message)

    def parse_json(self, size: int) -> None:
        """Charge for deserializing ``size`` bytes of JSON (the model's wasm cost)."""
        self.burn(self.gas_model.json_parse_byte * size)

    def promise(self, receiver_id: str) -> Promise:
        """Schedule a new receipt to ``receiver_id``; add actions with the ``promise_*`` methods."""
        if self.is_view:
            raise HostError("ProhibitedInView", "promise_create is not allowed in a view call")
        p = Promise(receiver_id)
        self.promises.append(p)
        self.burn(self.gas_model.action_receipt_creation.send(receiver_id == self.current_account_id))
        self.used_gas += self.gas_model.action_receipt_creation.execution
        return p

    def promise_add_access_key(
        self, p: Promise, public_key: PublicKey, allowance: int | None, receiver_id: str, method_names: tuple[str, ...]
    ) -> None:
        """``Promise::add_access_key_allowance``: a FunctionCall key on ``p``'s receiver."""
        fees, per_byte = self.gas_model.add_function_call_key, self.gas_model.add_function_call_key_per_byte
        size = sum(len(m.encode()) for m in method_names)
        sir = p.receiver_id == self.current_account_id
        self.burn(fees.send(sir) + per_byte.send(sir) * size)
        self.used_gas += fees.execution + per_byte.execution * size
        perm = FunctionCallPermission(receiver_id, tuple(method_names), allowance)
        p.actions.append(AddKey(public_key, AccessKey(0, perm)))

    def promise_delete_key(self, p: Promise, public_key: PublicKey) -> None:
        """``Promise::delete_key``."""
        sir = p.receiver_id == self.current_account_id
        self.burn(self.gas_model.delete_key.send(sir))
        self.used_gas += self.gas_model.delete_key.execution
        p.actions.append(DeleteKey(public_key))

    def promise_transfer(self, p: Promise, amount: int) -> None:
        """``Promise::transfer``."""
        if amount > self.account_balance:
            raise ContractPanic(f"cannot transfer {amount} yoctoNEAR: the account holds {self.account_balance}")
        sir = p.receiver_id == self.current_account_id
        self.burn(self.gas_model.transfer.send(sir))
        self.used_gas += self.gas_model.transfer.execution
        self.account_balance -= amount
        p.actions.append(Transfer(amount))
