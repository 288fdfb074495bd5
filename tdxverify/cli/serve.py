"""``tdxverify serve``: the verification service with a self-refreshing collateral cache (``docs/service.md``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..errors import VerificationError
from .common import EXIT_OK, Parser, UsageError, parse_time, read_input, read_root
from .history import add_record_arguments, serve_recording

NAME = "serve"
USAGE = (
    "tdxverify serve [--host 127.0.0.1] [--port 8080] [--pccs-url URL] [--cache-dir DIR] [--refresh 6h]",
    "                [--policy FILE] [--default-fmspc FMSPC] [--platform FMSPC[:CA[:TEE]]] [--now T] ...",
)


def build_parser() -> Parser:
    p = Parser(
        prog="tdxverify serve",
        description="Serve POST /v1/verify, GET /v1/collateral, /tdx/collateral, /healthz and /metrics, "
        "keeping Intel collateral fresh in a cache (needs the 'server' extra).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080; 0: any free port)")
    p.add_argument("--pccs-url", help="PCCS base URL, e.g. https://pccs.internal:8081 (default: Intel PCS)")
    p.add_argument("--cache-dir", help="directory where collateral is persisted (default: memory only)")
    p.add_argument("--refresh", default="6h", help="refresh interval per platform (default: 6h; e.g. 30m, 1d)")
    p.add_argument("--policy", help="policy JSON every request must pass (a request policy can only add rules)")
    p.add_argument("--root-ca", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA (tests)")
    p.add_argument("--default-fmspc", help="the platform GET /tdx/collateral serves (fetched at start)")
    p.add_argument("--default-ca", choices=("platform", "processor"), default="platform", help="its PCK CA")
    p.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="FMSPC[:CA[:TEE]]",
        help="also fetch this platform at start and keep it fresh (repeatable; CA platform, TEE tdx by default)",
    )
    p.add_argument(
        "--now", help="check validity at this fixed time (unix seconds or ISO-8601), for demos and tests only"
    )
    p.add_argument("--max-request-bytes", type=int, default=1024 * 1024, help="request body limit (default: 1 MiB)")
    p.add_argument("--request-timeout", default="10s", help="limit on reading a body and on verifying (default 10s)")
    p.add_argument("--upstream-timeout", default="30s", help="limit on each PCS / PCCS request (default: 30s)")
    p.add_argument("--retries", type=int, default=4, help="attempts per refresh cycle (default: 4)")
    p.add_argument("--retry-backoff", default="2s", help="first back-off between attempts, doubling (default: 2s)")
    p.add_argument("--workers", type=int, default=4, help="verification threads (default: 4)")
    p.add_argument("--max-platforms", type=int, default=64, help="most platforms cached at once (default: 64)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add_record_arguments(p, worker=False, who="the worker is key:<report_data[0:32] hex> of a verified quote")
    return p


def _platform(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if not 1 <= len(parts) <= 3:
        raise UsageError(f"--platform {text!r}: give FMSPC[:CA[:TEE]], e.g. 20A06F000000:platform:tdx")
    fmspc = parts[0]
    ca = parts[1] if len(parts) > 1 else "platform"
    tee = parts[2] if len(parts) > 2 else "tdx"
    return fmspc, ca, tee


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..server.config import PlatformKey, ServiceConfig, parse_duration
    except ImportError as exc:
        raise UsageError(
            f"tdxverify serve needs the 'server' extra ({exc.name} is missing): pip install 'tdxverify[server]'"
        ) from None
    from ..policy import load_policy
    from ..server.app import create_app
    from ..server.clock import Clock, FixedClock, SystemClock
    from ..server.runner import bind, uvicorn_config
    from ..server.service import Service

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give 0 to 65535")
    try:
        durations = {
            name: parse_duration(getattr(args, name))
            for name in ("refresh", "request_timeout", "upstream_timeout", "retry_backoff")
        }
        default = PlatformKey.parse(args.default_fmspc, args.default_ca, "tdx") if args.default_fmspc else None
        warm = tuple(PlatformKey.parse(*_platform(t)) for t in args.platform)
        policy = load_policy(read_input(args.policy).decode("utf-8", "replace")) if args.policy else None
        config = ServiceConfig(
            pccs_url=args.pccs_url,
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            refresh_interval=durations["refresh"],
            root_ca=read_root(args.root_ca),
            policy=policy,
            default_platform=default,
            warm=warm,
            max_request_bytes=args.max_request_bytes,
            request_timeout=durations["request_timeout"],
            upstream_timeout=durations["upstream_timeout"],
            workers=args.workers,
            retries=args.retries,
            retry_backoff=durations["retry_backoff"],
            max_platforms=args.max_platforms,
        )
        clock: Clock = FixedClock(parse_time(args.now)) if args.now is not None else SystemClock()
        service = Service(config, clock)
    except VerificationError as err:
        raise UsageError(f"tdxverify serve: {err.message}") from None
    if config.cache_dir is not None and config.cache_dir.exists() and not config.cache_dir.is_dir():
        raise UsageError(f"--cache-dir {args.cache_dir!r} is not a directory")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"tdxverify serve: listening on http://{shown}:{port} (collateral from {service.cache.base_url}, "
        f"cache {config.cache_dir or 'in memory only'}{', clock fixed at ' + args.now if args.now else ''})",
        file=sys.stderr,
        flush=True,
    )
    serve_recording(args, service)
    app = create_app(config, service=service)
    uvicorn.Server(uvicorn_config(app, config, log_level=args.log_level)).run(sockets=[sock])
    return EXIT_OK
