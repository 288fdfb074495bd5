"""Speed of the contract simulation: one worker registration (forge quote + register_worker_key + AddKey).

Measured on the shared 2-core dev machine (2026-12, under load): registration mean 17.8 ms (median 14 ms:
a cold tdxverify.verify, collateral parsed twice, state copies), worker quote 0.37 ms.
"""

from __future__ import annotations

from typing import Any

from tdxverify.near import Chain, Measurements, NearCli
from tdxverify.near.deployment import deploy_register_contract
from tdxverify.testing import Forge

TARGETS = {"register": 80e-3, "quote": 10e-3}


def _setup() -> tuple[Any, Forge]:
    forge = Forge(seed="bench")
    chain = Chain(extra={"root_ca": forge.root_ca_der})
    chain.set_time(forge.now)
    d = deploy_register_contract(NearCli(chain), registrar_balance=100 * 10**24)
    d.update_collateral(forge.collateral()).raise_for_failure()
    d.approve_measurements(Measurements()).raise_for_failure()
    return d, forge


def test_registration(benchmark: Any) -> None:
    d, forge = _setup()

    def fresh() -> tuple[tuple[Any, bytes], dict[str, Any]]:
        worker = d.worker(forge, Measurements())
        return (worker, worker.quote()), {}

    def register(worker: Any, quote: bytes) -> Any:
        return worker.attempt(quote)

    out = benchmark.pedantic(register, setup=fresh, rounds=30)
    assert out.ok
    assert benchmark.stats.stats.mean < TARGETS["register"]


def test_worker_quote(benchmark: Any) -> None:
    d, forge = _setup()
    worker = d.worker(forge, Measurements())
    quote = benchmark(worker.quote)
    assert quote[:2] == b"\x04\x00"
    assert benchmark.stats.stats.mean < TARGETS["quote"]
