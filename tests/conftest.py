import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tdxverify.testing.pcs import PROXY_VARS, PcsServer

# CI runs are reproducible: derandomized, no example database carried between runs.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to 127.0.0.1 go straight there, whatever proxy the environment names."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def upstream() -> Iterator[PcsServer]:
    """An empty PCS-shaped server on 127.0.0.1 (fill it with ``serve_collateral``)."""
    s = PcsServer()
    yield s
    s.close()
