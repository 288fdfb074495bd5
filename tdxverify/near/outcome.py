"""Typed results of simulated transactions, and the failure kinds NEAR reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import VerificationError

__all__ = [
    "ACTION_FAILURES",
    "TX_FAILURES",
    "Failure",
    "NearExecutionError",
    "ReceiptOutcome",
    "TransactionOutcome",
]

TX_FAILURES = frozenset(
    {
        "InvalidSignature",
        "SignerDoesNotExist",
        "InvalidNonce",
        "AccessKeyNotFound",
        "ReceiverMismatch",
        "MethodNameMismatch",
        "RequiresFullAccess",
        "DepositWithFunctionCall",
        "NotEnoughAllowance",
        "NotEnoughBalance",
        "LackBalanceForState",
        "TotalPrepaidGasExceeded",
        "InvalidReceiverId",
    }
)
"""Kinds of ``InvalidTxError``: the transaction is refused before anything runs (nothing charged)."""

ACTION_FAILURES = frozenset(
    {
        "ExecutionError",
        "GasExceeded",
        "MethodNotFound",
        "CodeDoesNotExist",
        "ProhibitedInView",
        "ActorNoPermission",
        "AddKeyAlreadyExists",
        "DeleteKeyDoesNotExist",
        "LackBalanceForState",
        "AccountDoesNotExist",
        "AccountAlreadyExists",
        "CreateAccountNotAllowed",
    }
)
"""Kinds of ``ActionError``: a receipt ran and failed; its state changes were rolled back."""


@dataclass(frozen=True)
class Failure:
    """Why a transaction or receipt failed: ``kind`` as NEAR names it, and a message to act on."""

    kind: str
    message: str
    stage: str = "receipt"
    """``"transaction"`` (refused before execution, nothing charged) or ``"receipt"`` (ran, rolled back)."""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"kind": self.kind, "message": self.message, "stage": self.stage}


class NearExecutionError(VerificationError):
    """A simulated transaction or view call failed; ``failure`` says how."""

    default_code = "near_execution_failed"
    default_step = "near"

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.kind}: {failure.message}")
        self.failure = failure


@dataclass(frozen=True)
class ReceiptOutcome:
    """One executed receipt: who sent it where, what it did and cost."""

    receipt_id: str
    predecessor_id: str
    receiver_id: str
    actions: tuple[str, ...]
    ok: bool
    value: Any = None
    failure: Failure | None = None
    logs: tuple[str, ...] = ()
    gas_burnt: int = 0
    tokens_burnt: int = 0


@dataclass(frozen=True)
class TransactionOutcome:
    """The outcome ``near call`` / ``near send`` prints: final status, logs, gas, failure.

    ``ok`` and ``value`` are the final result: the first receipt's, or that of
    the promise it returned. Detached promises (``remove_worker_keys``) run
    and are listed in ``receipts`` but do not decide the status, as on NEAR.
    """

    tx_hash: str
    signer_id: str
    receiver_id: str
    block_height: int
    ok: bool
    value: Any = None
    failure: Failure | None = None
    receipts: tuple[ReceiptOutcome, ...] = ()
    gas_burnt: int = 0
    tokens_burnt: int = 0
    logs: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        """``"SuccessValue"`` or ``"Failure"``, as NEAR RPC names the final status."""
        return "SuccessValue" if self.ok else "Failure"

    @property
    def failure_kind(self) -> str | None:
        """The failure's kind, or ``None`` on success."""
        return self.failure.kind if self.failure else None

    @property
    def failure_message(self) -> str | None:
        """The failure's message, or ``None`` on success."""
        return self.failure.message if self.failure else None

    def raise_for_failure(self) -> TransactionOutcome:
        """Return ``self`` on success, raise :class:`NearExecutionError` on failure."""
        if self.failure is not None:
            raise NearExecutionError(self.failure)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tx_hash": self.tx_hash,
            "status": self.status,
            "value": self.value,
            "failure": self.failure.to_dict() if self.failure else None,
            "logs": list(self.logs),
            "gas_burnt": self.gas_burnt,
            "tokens_burnt": str(self.tokens_burnt),
            "receipts": [
                {
                    "receipt_id": r.receipt_id,
                    "predecessor_id": r.predecessor_id,
                    "receiver_id": r.receiver_id,
                    "actions": list(r.actions),
                    "ok": r.ok,
                    "failure": r.failure.to_dict() if r.failure else None,
                    "logs": list(r.logs),
                    "gas_burnt": r.gas_burnt,
                }
                for r in self.receipts
            ],
        }
