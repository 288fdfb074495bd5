"""A ``near``-CLI-shaped facade over the simulated chain, holding the test's keys like a keychain.

::

    cli = NearCli()                                   # a fresh chain with a funded root account ``near``
    cli.create_account("outlayer.near", initial_balance=near(50))
    cli.deploy("operator.outlayer.near", RegisterContract, init_args={...}, init_signer="outlayer.near")
    out = cli.call("outlayer.near", "operator.outlayer.near", "add_approved_rtmr3", {"rtmr3": "..."}, gas=tgas(100))
    assert out.ok, out.failure
    cli.view("operator.outlayer.near", "get_approved_rtmr3")

Amounts are yoctoNEAR integers, or NEAR as decimal text (``deposit="0.1"``).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import VerificationError
from .accounts import (
    AccessKey,
    Action,
    AddKey,
    CreateAccount,
    DeleteKey,
    DeployContract,
    FullAccess,
    FunctionCall,
    FunctionCallPermission,
    Transfer,
)
from .contract import Contract
from .keys import KeyPair, PublicKey
from .outcome import TransactionOutcome
from .runtime import AccessKeyView, AccountView, Chain
from .transaction import Transaction
from .units import NEAR, TGAS, near

__all__ = ["DEFAULT_CALL_GAS", "NearCli"]

DEFAULT_CALL_GAS = 30 * TGAS
"""Gas ``near call`` attaches without ``--gas`` (near-cli's default)."""

ROOT_ACCOUNT = "near"


def _amount(value: int | str) -> int:
    if isinstance(value, bool):
        raise VerificationError("amount must be yoctoNEAR (int) or NEAR text", code="input_invalid", step="near")
    if isinstance(value, int):
        if value < 0:
            raise VerificationError(f"negative amount {value}", code="input_invalid", step="near")
        return value
    return near(value)


class NearCli:
    """``near call / view / send / create-account / list-keys / state`` against a :class:`Chain`.

    The facade keeps a keychain: every account it creates gets a full access
    key whose pair it remembers, and :meth:`import_key` adds more (a worker's
    key). Calls sign with the given ``key`` or the account's first key.
    """

    def __init__(self, chain: Chain | None = None, *, root_balance: int = 10**9 * NEAR) -> None:
        self.chain = chain if chain is not None else Chain()
        self.keychain: dict[str, list[KeyPair]] = {}
        if ROOT_ACCOUNT not in self.chain.accounts:
            root = KeyPair.from_seed(b"\x01" * 32)
            self.chain.add_genesis_account(ROOT_ACCOUNT, root_balance, root.public_key)
            self.keychain[ROOT_ACCOUNT] = [root]

    # ------------------------------------------------------------------ keys

    def import_key(self, account_id: str, key: KeyPair) -> None:
        """Let the facade sign for ``account_id`` with ``key`` (e.g. a worker's function-call key)."""
        keys = self.keychain.setdefault(account_id, [])
        if key not in keys:
            keys.append(key)

    def _signing_key(self, signer: str, key: KeyPair | PublicKey | None) -> KeyPair:
        if isinstance(key, KeyPair):
            return key
        keys = self.keychain.get(signer, [])
        if key is not None:
            for k in keys:
                if k.public_key == key:
                    return k
            raise VerificationError(
                f"no private key for {key} of {signer} in the keychain: import_key() it first",
                code="input_invalid",
                step="near",
            )
        if not keys:
            raise VerificationError(
                f"no key for {signer} in the keychain: create the account with this facade or import_key() one",
                code="input_invalid",
                step="near",
            )
        return keys[0]

    def sign_and_send(
        self, signer: str, receiver: str, actions: list[Action], *, key: KeyPair | PublicKey | None = None
    ) -> TransactionOutcome:
        """Sign ``actions`` to ``receiver`` with the next nonce of the key, submit, return the outcome."""
        pair = self._signing_key(signer, key)
        on_chain = self.chain.accounts.get(signer)
        access = on_chain.keys.get(pair.public_key) if on_chain else None
        nonce = (access.nonce if access else 0) + 1
        tx = Transaction(signer, pair.public_key, nonce, receiver, tuple(actions))
        return self.chain.submit(tx.sign(pair))

    # ------------------------------------------------------------------ near CLI commands

    def create_account(
        self,
        account_id: str,
        *,
        master_account: str | None = None,
        initial_balance: int | str = 100 * NEAR,
        key: KeyPair | None = None,
    ) -> TransactionOutcome:
        """``near create-account ID --masterAccount M --initialBalance B``: a sub-account with a full access key.

        ``master_account`` defaults to the parent (``outlayer.near`` for
        ``operator.outlayer.near``, the root ``near`` for ``outlayer.near``).
        """
        master = master_account or account_id.partition(".")[2] or ROOT_ACCOUNT
        pair = key or KeyPair.generate()
        actions: list[Action] = [
            CreateAccount(),
            Transfer(_amount(initial_balance)),
            AddKey(pair.public_key, AccessKey(0, FullAccess())),
        ]
        out = self.sign_and_send(master, account_id, actions)
        if out.ok:
            self.import_key(account_id, pair)
        return out

    def deploy(
        self,
        account_id: str,
        contract: type[Contract],
        *,
        init_method: str | None = "new",
        init_args: dict[str, Any] | None = None,
        gas: int = 100 * TGAS,
    ) -> TransactionOutcome:
        """``near deploy ACCOUNT --initFunction new --initArgs ...``: code and init in one transaction."""
        actions: list[Action] = [DeployContract(contract)]
        if init_method is not None:
            actions.append(FunctionCall(init_method, json.dumps(init_args or {}).encode(), gas, 0))
        return self.sign_and_send(account_id, account_id, actions)

    def call(
        self,
        signer: str,
        contract: str,
        method: str,
        args: dict[str, Any] | str | None = None,
        *,
        gas: int = DEFAULT_CALL_GAS,
        deposit: int | str = 0,
        key: KeyPair | PublicKey | None = None,
    ) -> TransactionOutcome:
        """``near call CONTRACT METHOD ARGS --accountId SIGNER --gas G --deposit D``.

        ``args`` is a dict or the JSON text the CLI would pass (sent byte for byte).
        """
        raw = args.encode() if isinstance(args, str) else json.dumps(args or {}).encode()
        return self.sign_and_send(signer, contract, [FunctionCall(method, raw, gas, _amount(deposit))], key=key)

    def view(self, contract: str, method: str, args: dict[str, Any] | None = None) -> Any:
        """``near view CONTRACT METHOD ARGS``: the returned JSON value; a failure raises ``NearExecutionError``."""
        return self.chain.view(contract, method, args)

    def send(self, sender: str, receiver: str, amount: int | str) -> TransactionOutcome:
        """``near send SENDER RECEIVER AMOUNT`` (amount: yoctoNEAR int or NEAR text)."""
        return self.sign_and_send(sender, receiver, [Transfer(_amount(amount))])

    def add_key(
        self,
        account_id: str,
        public_key: PublicKey,
        *,
        receiver_id: str | None = None,
        method_names: tuple[str, ...] = (),
        allowance: int | str | None = None,
    ) -> TransactionOutcome:
        """``near add-key``: full access, or a FunctionCall key when ``receiver_id`` is given."""
        perm: FullAccess | FunctionCallPermission
        if receiver_id is None:
            perm = FullAccess()
        else:
            perm = FunctionCallPermission(
                receiver_id, tuple(method_names), None if allowance is None else _amount(allowance)
            )
        return self.sign_and_send(account_id, account_id, [AddKey(public_key, AccessKey(0, perm))])

    def delete_key(self, account_id: str, public_key: PublicKey) -> TransactionOutcome:
        """``near delete-key``."""
        return self.sign_and_send(account_id, account_id, [DeleteKey(public_key)])

    def view_account(self, account_id: str) -> AccountView:
        """``near state ACCOUNT``."""
        return self.chain.view_account(account_id)

    def view_access_key(self, account_id: str, public_key: PublicKey) -> AccessKeyView | None:
        """``near view-access-key ACCOUNT KEY`` (``None`` if absent)."""
        return self.chain.access_key(account_id, public_key)

    def view_access_keys(self, account_id: str) -> list[AccessKeyView]:
        """``near list-keys ACCOUNT``."""
        return self.chain.view_access_keys(account_id)
