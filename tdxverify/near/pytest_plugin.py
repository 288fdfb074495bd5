"""pytest fixtures for contract-simulation tests (entry point ``pytest11``: ``tdxverify_near``).

Every fixture is function-scoped except the forge, is prefixed ``near_`` so
it cannot shadow a project's own fixtures, and imports the simulation only
when used (loading the plugin costs nothing)::

    def test_worker_registers(near_deployment, near_forge, near_measurements):
        near_deployment.update_collateral(near_forge.collateral()).raise_for_failure()
        near_deployment.approve_rtmr3(near_measurements.rtmr3).raise_for_failure()
        worker = near_deployment.worker(near_forge, near_measurements)
        assert worker.register().registered

Fixtures: ``near_forge`` (a :class:`~tdxverify.testing.Forge`, session),
``near_cli`` (a :class:`~tdxverify.near.NearCli` on a fresh chain whose
clock is at ``near_forge.now`` and whose quote trust root is the forge's),
``near_chain`` (its :class:`~tdxverify.near.Chain`), ``near_measurements``
(the default image), ``near_deployment`` (the register contract deployed in
the workable layout, no collateral or approvals yet),
``near_guide_deployment`` (the guide's layout), ``near_ready`` (deployment
with the forge's collateral stored and ``near_measurements`` approved),
``near_worker`` (a worker of ``near_ready``) and ``near_make_worker`` (a
factory: ``near_make_worker(measurements=None, **SimulatedWorker kwargs)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..testing import Forge
    from .deployment import Deployment
    from .facade import NearCli
    from .runtime import Chain
    from .worker import Measurements, SimulatedWorker

FORGE_SEED = "tdxverify-near-plugin"


@pytest.fixture(scope="session")
def near_forge() -> Forge:
    """A quote forge (synthetic Intel PKI) shared by the session."""
    from ..testing import Forge

    return Forge(seed=FORGE_SEED)


@pytest.fixture
def near_cli(near_forge: Forge) -> NearCli:
    """A ``near`` CLI facade over a fresh chain: clock at ``near_forge.now``, forge root as the quote trust root."""
    from .facade import NearCli
    from .runtime import Chain

    chain = Chain(extra={"root_ca": near_forge.root_ca_der})
    chain.set_time(near_forge.now)
    return NearCli(chain)


@pytest.fixture
def near_chain(near_cli: NearCli) -> Chain:
    """The chain under ``near_cli``."""
    return near_cli.chain


@pytest.fixture
def near_measurements() -> Measurements:
    """The default worker image's measurements."""
    from .worker import Measurements

    return Measurements()


@pytest.fixture
def near_deployment(near_cli: NearCli) -> Deployment:
    """The register contract on ``operator.outlayer.near`` (owner ``outlayer.near``, gas account
    ``worker1.outlayer.near``, keys for ``outlayer.near``), initialized, nothing stored yet."""
    from .deployment import deploy_register_contract

    return deploy_register_contract(near_cli, layout="workable")


@pytest.fixture
def near_guide_deployment(near_cli: NearCli) -> Deployment:
    """The guide's layout: contract on ``register.outlayer.near``, keys meant for ``operator.outlayer.near``."""
    from .deployment import deploy_register_contract

    return deploy_register_contract(near_cli, layout="guide")


@pytest.fixture
def near_ready(near_deployment: Deployment, near_forge: Forge, near_measurements: Measurements) -> Deployment:
    """``near_deployment`` with the forge's collateral in slot 0 and ``near_measurements`` approved (full set)."""
    near_deployment.update_collateral(near_forge.collateral()).raise_for_failure()
    near_deployment.approve_measurements(near_measurements).raise_for_failure()
    return near_deployment


@pytest.fixture
def near_make_worker(near_ready: Deployment, near_forge: Forge) -> Callable[..., SimulatedWorker]:
    """``near_make_worker(measurements=None, **kwargs)``: a new worker registering through ``near_ready``."""

    def make(measurements: Measurements | None = None, **kwargs: Any) -> SimulatedWorker:
        return near_ready.worker(near_forge, measurements, **kwargs)

    return make


@pytest.fixture
def near_worker(near_make_worker: Callable[..., SimulatedWorker], near_measurements: Measurements) -> SimulatedWorker:
    """A worker running the approved image (not registered yet)."""
    return near_make_worker(near_measurements)
