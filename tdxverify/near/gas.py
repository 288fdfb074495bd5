"""The gas model: NEAR's fee parameters where they exist, documented estimates where they do not.

Action and host-function costs are nearcore's ``parameters.snap`` values (gas
units). Running a contract costs what its wasm would burn; the simulation
runs Python, so the wasm part is a *model*: contract loading by code size
(nearcore's formula with the deployed contract's size), a per-byte cost for
parsing JSON arguments and collateral, and a fixed cost for one DCAP quote
verification. ``docs/contract-simulation.md`` explains the choice of numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .units import TGAS

__all__ = ["DEFAULT_GAS_MODEL", "MAX_PREPAID_GAS", "Fee", "GasModel"]

MAX_PREPAID_GAS = 300 * TGAS
"""Largest prepaid gas a function call may carry in this simulation (the long-standing 300 Tgas limit)."""


@dataclass(frozen=True)
class Fee:
    """One fee of NEAR's fee config: gas burnt when sending (sender is / is not receiver) and on execution."""

    send_sir: int
    send_not_sir: int
    execution: int

    def send(self, sir: bool) -> int:
        """Send cost; ``sir``: sender is receiver."""
        return self.send_sir if sir else self.send_not_sir


@dataclass(frozen=True)
class GasModel:
    """Gas costs used by the runtime; every field is in gas units."""

    # nearcore parameters.snap (protocol fee config)
    action_receipt_creation: Fee = Fee(108_059_500_000, 108_059_500_000, 108_059_500_000)
    create_account: Fee = Fee(3_850_000_000_000, 3_850_000_000_000, 3_850_000_000_000)
    transfer: Fee = Fee(115_123_062_500, 115_123_062_500, 115_123_062_500)
    function_call: Fee = Fee(200_000_000_000, 200_000_000_000, 780_000_000_000)
    function_call_per_byte: Fee = Fee(2_235_934, 47_683_715, 2_235_934)
    add_full_access_key: Fee = Fee(101_765_125_000, 101_765_125_000, 101_765_125_000)
    add_function_call_key: Fee = Fee(102_217_625_000, 102_217_625_000, 102_217_625_000)
    add_function_call_key_per_byte: Fee = Fee(1_925_331, 47_683_715, 1_925_331)
    delete_key: Fee = Fee(94_946_625_000, 94_946_625_000, 94_946_625_000)
    deploy_contract: Fee = Fee(184_765_750_000, 184_765_750_000, 184_765_750_000)
    deploy_contract_per_byte: Fee = Fee(6_812_999, 47_683_715, 64_572_944)
    contract_loading_base: int = 35_445_963
    contract_loading_byte: int = 1_089_295
    storage_read_base: int = 56_356_845_749
    storage_read_key_byte: int = 30_952_533
    storage_read_value_byte: int = 5_611_004
    storage_write_base: int = 64_196_736_000
    storage_write_key_byte: int = 70_482_867
    storage_write_value_byte: int = 31_018_539
    storage_write_evicted_byte: int = 32_117_307
    log_base: int = 3_543_313_050
    log_byte: int = 13_198_791
    promise_return: int = 560_152_386
    # model estimates (no protocol parameter: these stand for wasm instructions)
    json_parse_byte: int = 1_000_000
    """Per byte of JSON a contract deserializes (arguments, stored collateral): ~1 Mgas/byte of serde in wasm."""
    quote_verification: int = 150 * TGAS
    """One DCAP quote verification (ECDSA P-256 x3, X.509, CRLs, TCB matching) compiled to wasm.
    The deployed contract's README budgets 200-300 Tgas for register_worker_key and warns that two
    verifications would exceed the prepaid gas: 150 Tgas per verification matches both."""


DEFAULT_GAS_MODEL = GasModel()
