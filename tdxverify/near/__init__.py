"""A NEAR-like sandbox for testing attestation-gated contracts in Python: runtime, register contract, workers.

>>> from tdxverify.near import NearCli, RegisterContract, near, tgas
>>> cli = NearCli()                                       # fresh chain, funded root account "near"
>>> _ = cli.create_account("outlayer.near", initial_balance=near(50))

See ``docs/contract-simulation.md``. The pytest plugin
(:mod:`tdxverify.near.pytest_plugin`) gives fixtures for all of it.
"""

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
