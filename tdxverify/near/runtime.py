"""A small NEAR runtime: accounts, keys, blocks, transactions, receipts with rollback, views, storage staking.

Rules enforced, as NEAR's runtime spec states them: transactions are
validated and charged before anything runs (signature, nonce, key
permission, allowance, balance for prepaid gas and deposit); a receipt's
actions are atomic (any failure restores the receiver account and refunds
the deposit); AddKey / DeleteKey / DeployContract need the predecessor to be
the receiver (``ActorNoPermission``); after a receipt the receiver must hold
``storage_usage x 1e19`` yoctoNEAR (``LackBalanceForState``); unused gas is
refunded to the signer. Receipts a transaction spawns run in the same block.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .accounts import (
    AccessKey,
    Account,
    Action,
    AddKey,
    CreateAccount,
    DeleteKey,
    DeployContract,
    FullAccess,
    FunctionCall,
    FunctionCallPermission,
    Transfer,
    action_deposit,
    action_name,
    borsh_size,
    is_valid_account_id,
)
from .contract import ContractPanic, Env, GasExceeded, HostError, Promise
from .gas import DEFAULT_GAS_MODEL, MAX_PREPAID_GAS, GasModel
from .keys import PublicKey
from .outcome import Failure, NearExecutionError, ReceiptOutcome, TransactionOutcome
from .transaction import SignedTransaction
from .units import GAS_PRICE, STORAGE_PRICE_PER_BYTE, format_near

__all__ = ["GENESIS_TIME_NS", "AccessKeyView", "AccountView", "Chain"]

GENESIS_TIME_NS = 1_700_000_000 * 10**9
"""Default block time of the first block (2023-11-14), nanoseconds."""

ACCESS_KEY_NONCE_RANGE_MULTIPLIER = 1_000_000


@dataclass(frozen=True)
class AccountView:
    """``near state`` / ``view_account``: balance, locked, code and storage."""

    account_id: str
    amount: int
    locked: int
    code_size: int
    storage_usage: int
    has_contract: bool

    @property
    def storage_staked(self) -> int:
        """yoctoNEAR the account must keep for its storage."""
        return self.storage_usage * STORAGE_PRICE_PER_BYTE

    @property
    def available(self) -> int:
        """yoctoNEAR above the storage stake."""
        return max(0, self.amount - self.storage_staked)


@dataclass(frozen=True)
class AccessKeyView:
    """One entry of ``near list-keys`` / ``view_access_key_list``."""

    public_key: PublicKey
    nonce: int
    permission: FullAccess | FunctionCallPermission

    @property
    def is_full_access(self) -> bool:
        """Whether this is a FullAccess key."""
        return isinstance(self.permission, FullAccess)

    def to_dict(self) -> dict[str, Any]:
        """As NEAR RPC prints it."""
        return {
            "public_key": str(self.public_key),
            "access_key": {"nonce": self.nonce, "permission": self.permission.to_dict()},
        }


@dataclass
class _Receipt:
    receipt_id: str
    predecessor_id: str
    receiver_id: str
    signer_id: str
    signer_pk: PublicKey | None
    actions: list[Action]
    prepaid_exec: int
    """Gas prepaid for this receipt: exec fees of its actions plus gas attached to function calls."""
    decides_tx: bool = False


@dataclass
class _ReceiptResult:
    outcome: ReceiptOutcome
    returned: Promise | None = None
    spawned: list[_Receipt] = field(default_factory=list)


def _fail(kind: str, message: str, stage: str = "receipt") -> Failure:
    return Failure(kind, message, stage)


class _ActionError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class Chain:
    """The simulated chain. Tests advance its clock with :meth:`advance` / :meth:`set_time`.

    ``extra`` is handed to every contract call as ``env.extra`` (the register
    contract reads ``root_ca`` from it: the trust root for quote verification,
    Intel's by default).
    """

    def __init__(
        self,
        *,
        genesis_time_ns: int = GENESIS_TIME_NS,
        block_time_ns: int = 10**9,
        gas_model: GasModel = DEFAULT_GAS_MODEL,
        gas_price: int = GAS_PRICE,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.accounts: dict[str, Account] = {}
        self.block_height = 1
        self.block_timestamp = genesis_time_ns
        self.block_time_ns = block_time_ns
        self.gas_model = gas_model
        self.gas_price = gas_price
        self.extra: dict[str, Any] = dict(extra or {})
        self._receipt_counter = 0
        self.view_gas_limit = 10**15
        """Gas a view call may burn (``max_gas_burnt_view``)."""

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> int:
        """Block time in unix seconds."""
        return self.block_timestamp // 10**9

    def advance(self, seconds: float = 0, *, blocks: int | None = None) -> None:
        """Move the clock forward by ``seconds`` (and the height by that many blocks, at least one)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        delta = int(seconds * 10**9)
        n = blocks if blocks is not None else max(1, delta // self.block_time_ns)
        self.block_height += n
        self.block_timestamp += delta if delta else n * self.block_time_ns

    def set_time(self, unix_seconds: int) -> None:
        """Move the clock forward to ``unix_seconds``."""
        target = int(unix_seconds) * 10**9
        if target < self.block_timestamp:
            raise ValueError(f"cannot move time back from {self.now} to {unix_seconds}")
        self.advance((target - self.block_timestamp) / 10**9)
        self.block_timestamp = target

    # ------------------------------------------------------------------ genesis

    def add_genesis_account(self, account_id: str, amount: int, public_key: PublicKey | None = None) -> None:
        """Create an account outside any transaction (genesis / sandbox ``patch_state``)."""
        if not is_valid_account_id(account_id):
            raise NearExecutionError(_fail("InvalidReceiverId", f"{account_id!r} is not a valid account ID"))
        if account_id in self.accounts:
            raise NearExecutionError(_fail("AccountAlreadyExists", f"account {account_id} already exists"))
        acc = Account(account_id, amount)
        if public_key is not None:
            acc.keys[public_key] = AccessKey(self._new_key_nonce(), FullAccess())
        self.accounts[account_id] = acc

    def _new_key_nonce(self) -> int:
        return (self.block_height - 1) * ACCESS_KEY_NONCE_RANGE_MULTIPLIER

    # ------------------------------------------------------------------ queries

    def _account(self, account_id: str) -> Account:
        acc = self.accounts.get(account_id)
        if acc is None:
            raise NearExecutionError(
                _fail("AccountDoesNotExist", f"account {account_id} does not exist", stage="query")
            )
        return acc

    def view_account(self, account_id: str) -> AccountView:
        """Balance, code and storage of ``account_id``."""
        acc = self._account(account_id)
        return AccountView(acc.account_id, acc.amount, 0, acc.code_size, acc.storage_usage, acc.contract is not None)

    def view_access_keys(self, account_id: str) -> list[AccessKeyView]:
        """The account's access keys, sorted by public key."""
        acc = self._account(account_id)
        return [AccessKeyView(pk, k.nonce, k.permission) for pk, k in sorted(acc.keys.items())]

    def access_key(self, account_id: str, public_key: PublicKey) -> AccessKeyView | None:
        """One access key, or ``None``."""
        key = self._account(account_id).keys.get(public_key)
        return AccessKeyView(public_key, key.nonce, key.permission) if key else None

    def contract_state(self, account_id: str) -> Any:
        """The contract's state as a JSON value (a deep copy)."""
        return copy.deepcopy(self._account(account_id).state)

    def snapshot_state(self, account_id: str) -> str:
        """The contract's state as JSON text."""
        return json.dumps(self._account(account_id).state, sort_keys=True)

    def restore_state(self, account_id: str, snapshot: str | Any) -> None:
        """Replace the contract's state (sandbox ``patch_state``); the storage stake must still be covered."""
        acc = self._account(account_id)
        value = json.loads(snapshot) if isinstance(snapshot, str) else copy.deepcopy(snapshot)
        old = acc.state
        acc.state = value
        if acc.storage_usage * STORAGE_PRICE_PER_BYTE > acc.amount:
            acc.state = old
            raise NearExecutionError(self._lack_balance(acc))

    def view(self, contract_id: str, method: str, args: dict[str, Any] | None = None) -> Any:
        """``near view``: run ``method`` read-only; no signer, no state change; failures raise."""
        acc = self._account(contract_id)
        raw = json.dumps(args or {}).encode()
        env = self._env(acc, predecessor="", signer="", signer_pk=None, deposit=0, gas=self.view_gas_limit)
        env.is_view = True
        try:
            value = self._run_method(acc, env, method, raw, view=True)
        except ContractPanic as exc:
            raise NearExecutionError(
                _fail("ExecutionError", f"Smart contract panicked: {exc.message}", "view")
            ) from None
        except GasExceeded:
            raise NearExecutionError(_fail("GasExceeded", "Exceeded the prepaid gas.", "view")) from None
        except _ActionError as exc:
            raise NearExecutionError(Failure(exc.failure.kind, exc.failure.message, "view")) from None
        except HostError as exc:
            raise NearExecutionError(_fail(exc.kind, exc.message, "view")) from None
        return value

    # ------------------------------------------------------------------ transactions

    def _tx_fees(self, signer_id: str, receiver_id: str, actions: tuple[Action, ...]) -> tuple[int, int]:
        """(gas burnt converting the transaction, gas prepaid for executing its receipt)."""
        g = self.gas_model
        sir = signer_id == receiver_id
        send = g.action_receipt_creation.send(sir)
        exe = g.action_receipt_creation.execution
        for a in actions:
            s, e = self._action_fees(a, sir)
            send += s
            exe += e
        return send, exe

    def _action_fees(self, a: Action, sir: bool) -> tuple[int, int]:
        g = self.gas_model
        if isinstance(a, FunctionCall):
            n = len(a.method_name.encode()) + len(a.args)
            return (
                g.function_call.send(sir) + g.function_call_per_byte.send(sir) * n,
                g.function_call.execution + g.function_call_per_byte.execution * n + a.gas,
            )
        if isinstance(a, Transfer):
            return g.transfer.send(sir), g.transfer.execution
        if isinstance(a, CreateAccount):
            return g.create_account.send(sir), g.create_account.execution
        if isinstance(a, DeployContract):
            n = a.contract.code_size
            return (
                g.deploy_contract.send(sir) + g.deploy_contract_per_byte.send(sir) * n,
                g.deploy_contract.execution + g.deploy_contract_per_byte.execution * n,
            )
        if isinstance(a, AddKey):
            perm = a.access_key.permission
            if isinstance(perm, FunctionCallPermission):
                n = sum(len(m.encode()) for m in perm.method_names)
                fee, per = g.add_function_call_key, g.add_function_call_key_per_byte
                return fee.send(sir) + per.send(sir) * n, fee.execution + per.execution * n
            return g.add_full_access_key.send(sir), g.add_full_access_key.execution
        if isinstance(a, DeleteKey):
            return g.delete_key.send(sir), g.delete_key.execution
        raise TypeError(f"not an action: {a!r}")

    def reserved_cost(self, signer_id: str, receiver_id: str, actions: tuple[Action, ...]) -> int:
        """yoctoNEAR a transaction reserves up front: (send + exec fees + attached gas) x gas price + deposits.

        The signer's balance (and a FunctionCall key's allowance) must cover it,
        else ``NotEnoughBalance`` / ``NotEnoughAllowance``.
        """
        send_gas, exec_gas = self._tx_fees(signer_id, receiver_id, actions)
        return (send_gas + exec_gas) * self.gas_price + sum(action_deposit(a) for a in actions)

    def _lack_balance(self, acc: Account, stage: str = "receipt") -> Failure:
        need = acc.storage_usage * STORAGE_PRICE_PER_BYTE
        return _fail(
            "LackBalanceForState",
            f"account {acc.account_id} wouldn't have enough balance to cover storage: it needs "
            f"{format_near(need)} for {acc.storage_usage} bytes but holds {format_near(acc.amount)}; "
            f"send it at least {format_near(need - acc.amount)} more",
            stage,
        )

    def _invalid(self, stx: SignedTransaction) -> Failure | None:
        tx = stx.transaction
        signer = self.accounts.get(tx.signer_id)
        if signer is None:
            return _fail("SignerDoesNotExist", f"signer account {tx.signer_id} does not exist", "transaction")
        key = signer.keys.get(tx.public_key)
        if key is None:
            return _fail(
                "AccessKeyNotFound",
                f"access key {tx.public_key} does not exist on {tx.signer_id} (see `near list-keys {tx.signer_id}`)",
                "transaction",
            )
        if not tx.public_key.verify(stx.signature, tx.hash()):
            return _fail("InvalidSignature", "transaction signature does not verify with the signer key", "transaction")
        if tx.nonce <= key.nonce:
            return _fail(
                "InvalidNonce",
                f"transaction nonce {tx.nonce} must be larger than the key's nonce {key.nonce}",
                "transaction",
            )
        if not is_valid_account_id(tx.receiver_id):
            return _fail("InvalidReceiverId", f"{tx.receiver_id!r} is not a valid account ID", "transaction")
        prepaid = sum(a.gas for a in tx.actions if isinstance(a, FunctionCall))
        if prepaid > MAX_PREPAID_GAS:
            return _fail(
                "TotalPrepaidGasExceeded",
                f"prepaid gas {prepaid} exceeds the maximum {MAX_PREPAID_GAS} (300 Tgas): pass --gas 300000000000000",
                "transaction",
            )
        return None

    def submit(self, stx: SignedTransaction) -> TransactionOutcome:
        """Validate, charge and execute a signed transaction (and every receipt it spawns); one block passes."""
        try:
            return self._submit(stx)
        finally:
            self.advance()

    def _submit(self, stx: SignedTransaction) -> TransactionOutcome:
        tx = stx.transaction
        tx_hash = stx.hash_text
        failure = self._invalid(stx)

        def refused(f: Failure) -> TransactionOutcome:
            return TransactionOutcome(tx_hash, tx.signer_id, tx.receiver_id, self.block_height, False, failure=f)

        if failure:
            return refused(failure)
        signer = self.accounts[tx.signer_id]
        key = signer.keys[tx.public_key]
        send_gas, exec_gas = self._tx_fees(tx.signer_id, tx.receiver_id, tx.actions)
        total = self.reserved_cost(tx.signer_id, tx.receiver_id, tx.actions)
        if total > signer.amount:
            return refused(
                _fail(
                    "NotEnoughBalance",
                    f"sender {tx.signer_id} does not have enough balance {format_near(signer.amount)} for "
                    f"operation costing {format_near(total)} (prepaid gas x gas price "
                    f"{self.gas_price} yocto/gas + deposit): top up {tx.signer_id} or attach less gas",
                    "transaction",
                )
            )
        perm = key.permission
        new_allowance: int | None = None
        if isinstance(perm, FunctionCallPermission) and perm.allowance is not None:
            if total > perm.allowance:
                return refused(
                    _fail(
                        "NotEnoughAllowance",
                        f"access key {tx.public_key} of {tx.signer_id} has {format_near(perm.allowance)} allowance "
                        f"left, this transaction costs {format_near(total)}: add a new key (register the worker again)",
                        "transaction",
                    )
                )
            new_allowance = perm.allowance - total
        if (signer.storage_usage * STORAGE_PRICE_PER_BYTE) > signer.amount - total:
            after = Account(signer.account_id, signer.amount - total, signer.keys, signer.contract, signer.state)
            return refused(self._lack_balance(after, "transaction"))
        if isinstance(perm, FunctionCallPermission):
            if len(tx.actions) != 1 or not isinstance(tx.actions[0], FunctionCall):
                return refused(
                    _fail(
                        "RequiresFullAccess", "a FunctionCall access key can sign one FunctionCall only", "transaction"
                    )
                )
            fc = tx.actions[0]
            if fc.deposit > 0:
                return refused(
                    _fail(
                        "DepositWithFunctionCall",
                        "a FunctionCall access key cannot attach a deposit: sign with a full access key",
                        "transaction",
                    )
                )
            if tx.receiver_id != perm.receiver_id:
                return refused(
                    _fail(
                        "ReceiverMismatch",
                        f"key {tx.public_key} may only call {perm.receiver_id}, not {tx.receiver_id}",
                        "transaction",
                    )
                )
            if perm.method_names and fc.method_name not in perm.method_names:
                return refused(
                    _fail(
                        "MethodNameMismatch",
                        f"key {tx.public_key} may not call {fc.method_name} (allowed: {', '.join(perm.method_names)})",
                        "transaction",
                    )
                )
        # charge
        signer.amount -= total
        if isinstance(perm, FunctionCallPermission) and new_allowance is not None:
            signer.keys[tx.public_key] = AccessKey(
                tx.nonce, FunctionCallPermission(perm.receiver_id, perm.method_names, new_allowance)
            )
        else:
            signer.keys[tx.public_key] = AccessKey(tx.nonce, perm)
        first = _Receipt(
            self._next_receipt_id(),
            tx.signer_id,
            tx.receiver_id,
            tx.signer_id,
            tx.public_key,
            list(tx.actions),
            exec_gas,
            decides_tx=True,
        )
        return self._run_receipts(tx_hash, tx.signer_id, tx.receiver_id, first, send_gas)

    def _next_receipt_id(self) -> str:
        self._receipt_counter += 1
        return f"receipt-{self._receipt_counter}"

    def _run_receipts(
        self, tx_hash: str, signer_id: str, receiver_id: str, first: _Receipt, send_gas: int
    ) -> TransactionOutcome:
        queue: deque[_Receipt] = deque([first])
        outcomes: list[ReceiptOutcome] = []
        final: ReceiptOutcome | None = None
        while queue:
            receipt = queue.popleft()
            result = self._apply_receipt(receipt)
            outcomes.append(result.outcome)
            queue.extend(result.spawned)
            if receipt.decides_tx and (result.returned is None or not result.outcome.ok):
                final = result.outcome
        if final is None:  # a returned promise never ran (cannot happen: it is queued) -> last receipt
            final = outcomes[-1]
        gas = send_gas + sum(o.gas_burnt for o in outcomes)
        logs = tuple(line for o in outcomes for line in o.logs)
        return TransactionOutcome(
            tx_hash,
            signer_id,
            receiver_id,
            self.block_height,
            final.ok,
            value=final.value,
            failure=final.failure,
            receipts=tuple(outcomes),
            gas_burnt=gas,
            tokens_burnt=gas * self.gas_price,
            logs=logs,
        )

    # ------------------------------------------------------------------ receipts

    def _env(
        self, acc: Account, *, predecessor: str, signer: str, signer_pk: PublicKey | None, deposit: int, gas: int
    ) -> Env:
        return Env(
            current_account_id=acc.account_id,
            caller=predecessor,
            signer=signer,
            signer_pk=signer_pk,
            attached_deposit=deposit,
            prepaid_gas=gas,
            block_height=self.block_height,
            block_timestamp=self.block_timestamp,
            account_balance=acc.amount,
            gas_model=self.gas_model,
            extra=self.extra,
        )

    def _apply_receipt(self, r: _Receipt) -> _ReceiptResult:
        g = self.gas_model
        existed = r.receiver_id in self.accounts
        snapshot = copy.deepcopy(self.accounts[r.receiver_id]) if existed else None
        burnt = g.action_receipt_creation.execution
        used = burnt
        logs: list[str] = []
        value: Any = None
        returned: Promise | None = None
        spawned: list[_Receipt] = []
        failure: Failure | None = None
        actor = r.predecessor_id
        try:
            for action in r.actions:
                _, exe = self._action_fees(action, r.predecessor_id == r.receiver_id)
                if isinstance(action, FunctionCall):
                    fee = exe - action.gas
                    burnt += fee
                    used += fee
                    env_result = self._function_call(r, action)
                    burnt += env_result.burnt_gas
                    used += env_result.used_gas
                    logs.extend(env_result.logs)
                    value = env_result.value
                    for p in env_result.promises:
                        child = self._promise_receipt(r, p)
                        if p is env_result.returned:
                            returned = p
                            child.decides_tx = r.decides_tx
                        spawned.append(child)
                    if env_result.failure is not None:
                        raise _ActionError(env_result.failure)
                    continue
                burnt += exe
                used += exe
                actor = self._apply_action(r, action, actor)
            acc = self.accounts.get(r.receiver_id)
            if acc is not None and acc.storage_usage * STORAGE_PRICE_PER_BYTE > acc.amount:
                raise _ActionError(self._lack_balance(acc))
        except _ActionError as exc:
            failure = exc.failure
            spawned = []
            returned = None
            if snapshot is not None:
                self.accounts[r.receiver_id] = snapshot
            else:
                self.accounts.pop(r.receiver_id, None)
            deposit = sum(action_deposit(a) for a in r.actions)
            if deposit and r.predecessor_id in self.accounts:
                self.accounts[r.predecessor_id].amount += deposit
            used = burnt
        refund = max(0, r.prepaid_exec - used)
        if refund:
            self._refund_gas(r, refund * self.gas_price)
        outcome = ReceiptOutcome(
            r.receipt_id,
            r.predecessor_id,
            r.receiver_id,
            tuple(action_name(a) for a in r.actions),
            failure is None,
            value=value if failure is None else None,
            failure=failure,
            logs=tuple(logs),
            gas_burnt=burnt,
            tokens_burnt=burnt * self.gas_price,
        )
        return _ReceiptResult(outcome, returned, spawned)

    def _refund_gas(self, r: _Receipt, amount: int) -> None:
        """Unused gas goes back to the signer, and to the allowance of the key that signed (nearcore #2742)."""
        signer = self.accounts.get(r.signer_id)
        if signer is None:
            return
        signer.amount += amount
        pk = r.signer_pk
        key = signer.keys.get(pk) if pk is not None else None
        if pk is not None and key is not None and isinstance(key.permission, FunctionCallPermission):
            perm = key.permission
            if perm.allowance is not None:
                restored = FunctionCallPermission(perm.receiver_id, perm.method_names, perm.allowance + amount)
                signer.keys[pk] = AccessKey(key.nonce, restored)

    def _promise_receipt(self, parent: _Receipt, p: Promise) -> _Receipt:
        sir = parent.receiver_id == p.receiver_id
        exe = self.gas_model.action_receipt_creation.execution + sum(self._action_fees(a, sir)[1] for a in p.actions)
        return _Receipt(
            self._next_receipt_id(),
            parent.receiver_id,
            p.receiver_id,
            parent.signer_id,
            parent.signer_pk,
            list(p.actions),
            exe,
        )

    def _apply_action(self, r: _Receipt, action: Action, actor: str) -> str:
        """Apply one non-call action; returns the actor for the next action (CreateAccount makes it the receiver)."""
        acc = self.accounts.get(r.receiver_id)
        if isinstance(action, CreateAccount):
            if acc is not None:
                raise _ActionError(_fail("AccountAlreadyExists", f"account {r.receiver_id} already exists"))
            if not r.receiver_id.endswith("." + r.predecessor_id):
                raise _ActionError(
                    _fail(
                        "CreateAccountNotAllowed",
                        f"{r.predecessor_id} cannot create {r.receiver_id}: only its parent account can",
                    )
                )
            self.accounts[r.receiver_id] = Account(r.receiver_id, 0)
            return r.receiver_id
        if acc is None:
            raise _ActionError(
                _fail(
                    "AccountDoesNotExist",
                    f"account {r.receiver_id} does not exist: create it first (near create-account)",
                )
            )
        if isinstance(action, Transfer):
            acc.amount += action.deposit
        elif isinstance(action, (AddKey, DeleteKey, DeployContract)):
            if actor != r.receiver_id:
                raise _ActionError(
                    _fail(
                        "ActorNoPermission",
                        f"Actor {actor} doesn't have permission to account {r.receiver_id} to complete the action "
                        f"{action_name(action)}: a contract can add or delete keys only on its own account — "
                        f"deploy the contract on {r.receiver_id}",
                    )
                )
            if isinstance(action, DeployContract):
                acc.contract = action.contract
            elif isinstance(action, AddKey):
                if action.public_key in acc.keys:
                    raise _ActionError(
                        _fail(
                            "AddKeyAlreadyExists",
                            f"public key {action.public_key} is already used for an existing access key of "
                            f"{acc.account_id}",
                        )
                    )
                acc.keys[action.public_key] = AccessKey(self._new_key_nonce(), action.access_key.permission)
            else:
                if action.public_key not in acc.keys:
                    raise _ActionError(
                        _fail(
                            "DeleteKeyDoesNotExist",
                            f"account {acc.account_id} tries to remove an access key {action.public_key} "
                            "that doesn't exist",
                        )
                    )
                del acc.keys[action.public_key]
        return actor

    def _function_call(self, r: _Receipt, fc: FunctionCall) -> _CallResult:
        acc = self.accounts.get(r.receiver_id)
        if acc is None:
            return _CallResult(failure=_fail("AccountDoesNotExist", f"account {r.receiver_id} does not exist"))
        acc.amount += fc.deposit
        env = self._env(
            acc, predecessor=r.predecessor_id, signer=r.signer_id, signer_pk=r.signer_pk, deposit=fc.deposit, gas=fc.gas
        )
        result = _CallResult()
        try:
            result.value = self._run_method(acc, env, fc.method_name, fc.args, view=False)
            if isinstance(result.value, Promise):
                result.returned = result.value
                result.value = None
                env.burn(self.gas_model.promise_return)
        except ContractPanic as exc:
            result.failure = _fail("ExecutionError", f"Smart contract panicked: {exc.message}")
        except GasExceeded:
            env.burnt_gas = env.used_gas = fc.gas
            result.failure = _fail(
                "GasExceeded",
                f"Exceeded the prepaid gas. ({fc.gas / 10**12:g} Tgas attached to {fc.method_name}: attach more, "
                f"up to 300 Tgas)",
            )
        except HostError as exc:
            result.failure = _fail(exc.kind, exc.message)
        except _ActionError as exc:
            result.failure = exc.failure
        result.burnt_gas = min(env.burnt_gas, fc.gas)
        result.used_gas = min(env.used_gas, fc.gas)
        result.logs = list(env.logs)  # NEAR keeps the logs of a failed call in its outcome
        result.promises = list(env.promises) if result.failure is None else []
        return result

    def _run_method(self, acc: Account, env: Env, method: str, raw_args: bytes, *, view: bool) -> Any:
        g = self.gas_model
        if acc.contract is None:
            raise _ActionError(
                _fail("CodeDoesNotExist", f"account {acc.account_id} has no contract deployed (CompilationError)")
            )
        spec = acc.contract.methods().get(method)
        if spec is None:
            raise _ActionError(
                _fail("MethodNotFound", f"contract on {acc.account_id} has no method {method!r} (MethodResolveError)")
            )
        env.burn(g.contract_loading_base + g.contract_loading_byte * acc.code_size)
        if spec.kind != "view" and env.attached_deposit and not spec.payable:
            env.panic(f"Method {method} doesn't accept deposit")
        env.parse_json(len(raw_args))
        try:
            args = json.loads(raw_args) if raw_args else {}
        except ValueError as exc:
            env.panic(f"Failed to deserialize input from JSON: {exc}")
        if not isinstance(args, dict):
            env.panic("Failed to deserialize input from JSON: arguments must be a JSON object")
        if spec.kind == "init":
            if acc.state is not None:
                env.panic("The contract has already been initialized")
            env.state = None
        else:
            if acc.state is None:
                env.panic("The contract is not initialized: call `new` first")
            size = borsh_size(acc.state)
            env.burn(g.storage_read_base + g.storage_read_key_byte * 5 + g.storage_read_value_byte * size)
            env.state = copy.deepcopy(acc.state)
        if view and spec.kind == "init":
            raise HostError("ProhibitedInView", f"{method} is an initializer and cannot run in a view call")
        fn = getattr(acc.contract(), method)
        value = fn(env, args)
        if spec.kind in ("call", "init"):
            if view:
                raise HostError(
                    "ProhibitedInView", f"{method} writes state (storage_write is not allowed in a view call)"
                )
            try:
                size = borsh_size(env.state)
            except TypeError as exc:
                env.panic(f"cannot serialize contract state: {exc}")
            env.burn(g.storage_write_base + g.storage_write_key_byte * 5 + g.storage_write_value_byte * size)
            acc.state = env.state
        return value


@dataclass
class _CallResult:
    value: Any = None
    returned: Promise | None = None
    failure: Failure | None = None
    burnt_gas: int = 0
    used_gas: int = 0
    logs: list[str] = field(default_factory=list)
    promises: list[Promise] = field(default_factory=list)
