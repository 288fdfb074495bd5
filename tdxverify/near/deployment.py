"""One call to stand up the register contract in either layout, with its owner, registrar and receiver accounts.

Layouts:

* ``"workable"`` — what the deployed contract requires: the contract on the
  operator account (``operator.outlayer.near``), so its key promise targets
  its own account and NEAR accepts the AddKey;
* ``"guide"`` — the deployment guide's: the contract on
  ``register.outlayer.near`` with ``operator_account_id`` =
  ``operator.outlayer.near``. Verification passes, and the AddKey then fails
  ``ActorNoPermission``: a contract cannot add keys to another account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..testing import Forge
from .facade import NearCli
from .outcome import NearExecutionError, TransactionOutcome
from .register import DEFAULT_RECEIVER, RegisterContract
from .runtime import AccessKeyView
from .units import NEAR, TGAS
from .worker import Measurements, SimulatedWorker

__all__ = ["LAYOUTS", "Deployment", "deploy_register_contract"]

LAYOUTS = ("workable", "guide")


@dataclass
class Deployment:
    """A deployed register contract and the accounts around it."""

    cli: NearCli
    layout: str
    contract_id: str
    owner_id: str
    operator_id: str
    """Where worker keys are meant to land (``get_operator_account``)."""
    registrar_id: str
    """The gas account that signs ``register_worker_key`` (``init_worker_account``)."""
    receiver_id: str
    deploy_outcome: TransactionOutcome

    # ---------------------------------------------------------------- owner actions

    def owner_call(self, method: str, args: Mapping[str, Any], *, gas: int = 300 * TGAS) -> TransactionOutcome:
        """Call ``method`` as the owner (300 Tgas, as the guide does)."""
        return self.cli.call(self.owner_id, self.contract_id, method, dict(args), gas=gas)

    def update_collateral(self, collateral: Mapping[str, Any] | str, index: int = 0) -> TransactionOutcome:
        """``update_collateral {collateral: <JSON text>, index}`` — the command that works."""
        import json

        text = collateral if isinstance(collateral, str) else json.dumps(dict(collateral), separators=(",", ":"))
        return self.owner_call("update_collateral", {"collateral": text, "index": index})

    def approve_rtmr3(self, rtmr3: bytes | str) -> TransactionOutcome:
        """``add_approved_rtmr3``."""
        value = rtmr3.hex() if isinstance(rtmr3, bytes) else rtmr3
        return self.owner_call("add_approved_rtmr3", {"rtmr3": value})

    def approve_measurements(self, m: Measurements, *, clear_others: bool = False) -> TransactionOutcome:
        """``add_approved_measurements``."""
        return self.owner_call(
            "add_approved_measurements", {"measurements": m.to_contract(), "clear_others": clear_others}
        )

    # ---------------------------------------------------------------- workers and views

    def worker(self, forge: Forge | None, measurements: Measurements | None = None, **kwargs: Any) -> SimulatedWorker:
        """A worker registering through this deployment (keyword arguments go to :class:`SimulatedWorker`)."""
        return SimulatedWorker(
            self.cli,
            forge,
            signer_id=kwargs.pop("signer_id", self.registrar_id),
            contract_id=self.contract_id,
            key_account_id=kwargs.pop("key_account_id", self.operator_id),
            measurements=measurements,
            **kwargs,
        )

    def operator_keys(self) -> list[AccessKeyView]:
        """``near list-keys`` of the operator account."""
        return self.cli.view_access_keys(self.operator_id)

    def view(self, method: str, args: Mapping[str, Any] | None = None) -> Any:
        """``near view CONTRACT method``."""
        return self.cli.view(self.contract_id, method, dict(args or {}))


def _ensure(cli: NearCli, account_id: str, balance: int) -> None:
    if account_id in cli.chain.accounts:
        return
    out = cli.create_account(account_id, initial_balance=balance)
    if not out.ok:
        assert out.failure is not None
        raise NearExecutionError(out.failure)


def deploy_register_contract(
    cli: NearCli,
    *,
    layout: str = "workable",
    owner_id: str = "outlayer.near",
    operator_id: str = "operator.outlayer.near",
    registrar_id: str = "worker1.outlayer.near",
    receiver_id: str = DEFAULT_RECEIVER,
    contract_balance: int = 10 * NEAR,
    registrar_balance: int = 5 * NEAR,
) -> Deployment:
    """Create the accounts and deploy + init the register contract in ``layout``; raises if deployment fails."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    _ensure(cli, owner_id, 1000 * NEAR)
    _ensure(cli, receiver_id, 10 * NEAR)
    _ensure(cli, registrar_id, registrar_balance)
    if layout == "workable":
        contract_id = operator_id
        _ensure(cli, operator_id, contract_balance)
        init = {"owner_id": owner_id, "init_worker_account": registrar_id, "outlayer_contract_id": receiver_id}
    else:
        contract_id = "register." + owner_id
        _ensure(cli, operator_id, 10 * NEAR)
        _ensure(cli, contract_id, contract_balance)
        init = {"owner_id": owner_id, "operator_account_id": operator_id, "init_worker_account": registrar_id}
    out = cli.deploy(contract_id, RegisterContract, init_args=init)
    if not out.ok:
        assert out.failure is not None
        raise NearExecutionError(out.failure)
    return Deployment(cli, layout, contract_id, owner_id, operator_id, registrar_id, receiver_id, out)
