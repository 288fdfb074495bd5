"""A NEAR-like sandbox for testing attestation-gated contracts in Python: runtime, register contract, workers.

>>> from tdxverify.near import NearCli, RegisterContract, near, tgas
>>> cli = NearCli()                                       # fresh chain, funded root account "near"
>>> _ = cli.create_account("outlayer.near", initial_balance=near(50))

See ``docs/contract-simulation.md``. The pytest plugin
(:mod:`tdxverify.near.pytest_plugin`) gives fixtures for all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accounts import AccessKey, Account, FullAccess, FunctionCallPermission, borsh_size
    from .base58 import b58decode, b58encode
    from .contract import Contract, ContractPanic, Env, Promise, call, init, view
    from .deployment import Deployment, deploy_register_contract
    from .facade import DEFAULT_CALL_GAS, NearCli
    from .gas import DEFAULT_GAS_MODEL, MAX_PREPAID_GAS, GasModel
    from .keys import KeyPair, PublicKey
    from .outcome import Failure, NearExecutionError, ReceiptOutcome, TransactionOutcome
    from .register import DEFAULT_METHOD_NAMES, DEFAULT_RECEIVER, KEY_ALLOWANCE, MAX_COLLATERALS, RegisterContract
    from .runtime import AccessKeyView, AccountView, Chain
    from .units import GAS_PRICE, NEAR, STORAGE_PRICE_PER_BYTE, TGAS, format_near, near, tgas
    from .worker import Measurements, RegistrationResult, SimulatedWorker

# name -> submodule: imported on first use, so loading the pytest plugin (or this package) stays cheap
_EXPORTS = {
    "AccessKey": "accounts",
    "AccessKeyView": "runtime",
    "Account": "accounts",
    "AccountView": "runtime",
    "Chain": "runtime",
    "Contract": "contract",
    "ContractPanic": "contract",
    "DEFAULT_CALL_GAS": "facade",
    "DEFAULT_GAS_MODEL": "gas",
    "DEFAULT_METHOD_NAMES": "register",
    "DEFAULT_RECEIVER": "register",
    "Deployment": "deployment",
    "Env": "contract",
    "Failure": "outcome",
    "FullAccess": "accounts",
    "FunctionCallPermission": "accounts",
    "GAS_PRICE": "units",
    "GasModel": "gas",
    "KEY_ALLOWANCE": "register",
    "KeyPair": "keys",
    "MAX_COLLATERALS": "register",
    "MAX_PREPAID_GAS": "gas",
    "Measurements": "worker",
    "NEAR": "units",
    "NearCli": "facade",
    "NearExecutionError": "outcome",
    "Promise": "contract",
    "PublicKey": "keys",
    "ReceiptOutcome": "outcome",
    "RegisterContract": "register",
    "RegistrationResult": "worker",
    "STORAGE_PRICE_PER_BYTE": "units",
    "SimulatedWorker": "worker",
    "TGAS": "units",
    "TransactionOutcome": "outcome",
    "b58decode": "base58",
    "b58encode": "base58",
    "borsh_size": "accounts",
    "call": "contract",
    "deploy_register_contract": "deployment",
    "format_near": "units",
    "init": "contract",
    "near": "units",
    "tgas": "units",
    "view": "contract",
}

__all__ = [
    "DEFAULT_CALL_GAS",
    "DEFAULT_GAS_MODEL",
    "DEFAULT_METHOD_NAMES",
    "DEFAULT_RECEIVER",
    "GAS_PRICE",
    "KEY_ALLOWANCE",
    "MAX_COLLATERALS",
    "MAX_PREPAID_GAS",
    "NEAR",
    "STORAGE_PRICE_PER_BYTE",
    "TGAS",
    "AccessKey",
    "AccessKeyView",
    "Account",
    "AccountView",
    "Chain",
    "Contract",
    "ContractPanic",
    "Deployment",
    "Env",
    "Failure",
    "FullAccess",
    "FunctionCallPermission",
    "GasModel",
    "KeyPair",
    "Measurements",
    "NearCli",
    "NearExecutionError",
    "Promise",
    "PublicKey",
    "ReceiptOutcome",
    "RegisterContract",
    "RegistrationResult",
    "SimulatedWorker",
    "TransactionOutcome",
    "b58decode",
    "b58encode",
    "borsh_size",
    "call",
    "deploy_register_contract",
    "format_near",
    "init",
    "near",
    "tgas",
    "view",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
