"""``tdxverify serve``: a verification service with a self-refreshing collateral cache.

Needs the ``server`` extra (Starlette + uvicorn). See ``docs/service.md``::

    from tdxverify.server import ServiceConfig, create_app
    app = create_app(ServiceConfig(cache_dir=Path("/var/cache/tdxverify")))   # any ASGI server

Modules: :mod:`.config` (settings and limits), :mod:`.clock` (time source),
:mod:`.cache` (per-platform collateral), :mod:`.refresher` (background
refresh), :mod:`.inputs` (request bodies), :mod:`.service` (the pieces
together, the outcome hook), :mod:`.metrics` (Prometheus text), :mod:`.app`
(routes), :mod:`.runner` (uvicorn).
"""

from __future__ import annotations

from .app import create_app
from .clock import Clock, FixedClock, ManualClock, SystemClock
from .config import PlatformKey, ServiceConfig, parse_duration
from .service import Service, VerifyOutcome

__all__ = [
    "Clock",
    "FixedClock",
    "ManualClock",
    "PlatformKey",
    "Service",
    "ServiceConfig",
    "SystemClock",
    "VerifyOutcome",
    "create_app",
    "parse_duration",
]
