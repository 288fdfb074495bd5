"""The HTTP API (Starlette): routes translate requests to :class:`~tdxverify.server.service.Service` calls.

``POST /v1/verify``, ``GET /v1/collateral``, ``GET /tdx/collateral``,
``GET /healthz``, ``GET /metrics``, ``GET /openapi.json``. Every error is JSON
with a stable ``error.code`` (``docs/service.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import timezone
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import CollateralError, PolicyError, VerificationError
from ..verdict import Verdict, failure_dict
from .cache import CachedCollateral
from .clock import Clock
from .config import PlatformKey, ServiceConfig
from .inputs import ServiceError
from .metrics import CONTENT_TYPE, render
from .service import Service, VerifyOutcome

__all__ = ["create_app"]

_JSON = "application/json"
_DRAIN_FACTOR = 4
"""An over-limit body is read (and dropped) up to this many times the limit, so the 413 reaches the client
instead of a connection reset; beyond it the connection is closed."""


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, indent=2) + "\n", status_code=status, media_type=_JSON, headers=headers)


def _error(err: VerificationError, status: int, headers: dict[str, str] | None = None) -> Response:
    return _json({"ok": False, "error": err.to_dict()}, status, headers)


def _iso(t: Any) -> str:
    return str(t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body: at most ``limit`` bytes (else 413 ``input_too_large``), within ``timeout`` s (else 408)."""
    too_large = ServiceError(
        f"the request body exceeds the service's limit of {limit} bytes (--max-request-bytes); a quote is a few "
        "KiB and collateral well under 1 MiB",
        http_status=413,
        code="input_too_large",
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ServiceError(f"Content-Length {declared!r:.40} is not a number")
        if int(declared) > limit * _DRAIN_FACTOR:
            raise too_large
    chunks: list[bytes] = []
    total = 0

    async def read() -> None:
        nonlocal total
        async for chunk in request.stream():
            total += len(chunk)
            if total <= limit:
                chunks.append(chunk)
            elif total > limit * _DRAIN_FACTOR:
                break

    try:
        await asyncio.wait_for(read(), timeout)
    except ClientDisconnect:
        # Nobody will read the answer; counted as a rejected request, not as a service error.
        raise ServiceError("the client disconnected before sending the whole body") from None
    except asyncio.TimeoutError:
        raise ServiceError(
            f"the request body did not arrive within {timeout:g} s (--request-timeout)",
            http_status=408,
            code="request_timeout",
        ) from None
    if total > limit:
        raise too_large
    return b"".join(chunks)


class _Api:
    def __init__(self, service: Service) -> None:
        self.s = service

    # ------------------------------------------------------------------ /v1/verify

    async def verify(self, request: Request) -> Response:
        start = time.perf_counter()
        s = self.s
        quote_bytes: bytes | None = None
        quote = None
        verdict: Verdict | None = None
        error: VerificationError | None = None
        platform: PlatformKey | None = None
        status = 200
        malformed = False
        headers: dict[str, str] = {}
        try:
            body = await _read_body(request, s.config.max_request_bytes, s.config.request_timeout)
            # Until the body is parsed, an error means the quote, collateral or policy sent cannot be
            # read: a malformed request (400), with the parser's own code.
            malformed = True
            parsed, found = await s.in_pool(s.prepare, request.headers.get("content-type"), body)
            malformed = False
            quote_bytes, quote = parsed.quote_bytes, parsed.quote
            verifier = s.verifier_for(parsed)
            collateral: Any = parsed.collateral
            if collateral is None:
                if isinstance(found, VerificationError):
                    raise found  # e.g. no PCK chain in the quote: a verdict, not a malformed request
                assert found is not None
                platform = found
                try:
                    entry = await s.cache.get(platform)
                except CollateralError as exc:
                    status = 503
                    headers["Retry-After"] = str(self._retry_after(platform))
                    raise exc
                collateral = entry.auth
            verdict = await s.in_pool(s.timed_verify, verifier, quote, collateral)
        except ServiceError as exc:
            error, status = exc, exc.http_status
            if status == 413:
                headers["Connection"] = "close"
        except VerificationError as exc:
            error = exc
            if isinstance(exc, PolicyError) and isinstance(exc.verdict, Verdict):
                verdict = exc.verdict
            if exc.code == "request_timeout":
                status = 503
                headers["Retry-After"] = "1"
            elif exc.code == "internal_error":
                status = 500
            elif malformed:
                status = 400
        except Exception as exc:  # a bug: fail closed with a coded answer, never a bare 500 page
            error = VerificationError(
                f"internal error ({type(exc).__name__}: {exc}); the quote is NOT verified", code="internal_error"
            )
            status = 500
        if error is None and verdict is not None:
            out = verdict.to_dict()
        else:
            assert error is not None
            out = failure_dict(error.to_dict(), quote, verdict=verdict)
        # The finished outcome -- verdict or error, with the quote -- in one place (metrics, recorders).
        s.finish(
            VerifyOutcome(
                http_status=status,
                body=out,
                quote_bytes=quote_bytes,
                quote=quote,
                verdict=verdict,
                error=error,
                platform=platform,
                seconds=time.perf_counter() - start,
            )
        )
        return _json(out, status, headers)

    def _retry_after(self, key: PlatformKey) -> int:
        st = self.s.cache.status(key)
        if st is None:
            return 1
        return max(1, min(3600, int(st.next_due - self.s.clock.monotonic()) + 1))

    # ------------------------------------------------------------------ collateral

    async def collateral(self, request: Request) -> Response:
        return await self._collateral(request, fixed_tee=None)

    async def tdx_collateral(self, request: Request) -> Response:
        return await self._collateral(request, fixed_tee="tdx")

    async def _collateral(self, request: Request, fixed_tee: str | None) -> Response:
        s = self.s
        params = request.query_params
        allowed = {"fmspc", "ca"} if fixed_tee else {"fmspc", "ca", "tee"}
        try:
            unknown = sorted(set(params.keys()) - allowed)
            if unknown:
                raise ServiceError(
                    f"unknown query parameter(s) {', '.join(repr(k)[:40] for k in unknown[:5])}; known: "
                    + ", ".join(sorted(allowed))
                )
            for k in params:
                if len(params.getlist(k)) > 1:
                    raise ServiceError(f"query parameter {k!r} given more than once")
            default = s.config.default_platform
            fmspc = params.get("fmspc")
            if fmspc is None:
                if fixed_tee is None or default is None:
                    raise ServiceError(
                        "fmspc is required (12 hex digits, e.g. ?fmspc=20A06F000000&ca=platform&tee=tdx)"
                        if fixed_tee is None
                        else "no default platform is configured (tdxverify serve --default-fmspc): pass ?fmspc=",
                        http_status=400 if fixed_tee is None else 404,
                    )
                key = default
                if params.get("ca") is not None:
                    key = PlatformKey.parse(default.fmspc_hex, params["ca"], "tdx")
            else:
                key = PlatformKey.parse(fmspc, params.get("ca", "platform"), fixed_tee or params.get("tee", "tdx"))
        except ServiceError as exc:
            return _error(exc, exc.http_status)
        except VerificationError as exc:
            return _error(exc, 400)
        try:
            entry = await s.cache.get(key)
        except CollateralError as exc:
            return _error(exc, 503, {"Retry-After": str(self._retry_after(key))})
        return self._collateral_response(request, entry)

    def _collateral_response(self, request: Request, entry: CachedCollateral) -> Response:
        now = self.s.clock.now()
        left = int((entry.expires_at - now).total_seconds())
        max_age = max(0, min(left, int(self.s.config.refresh_interval)))
        headers = {
            "ETag": entry.etag,
            # Never beyond the earliest nextUpdate; no longer than a refresh interval, so new CRLs spread.
            "Cache-Control": f"public, max-age={max_age}",
            "X-Collateral-Expires-At": _iso(entry.expires_at),
        }
        match = request.headers.get("if-none-match")
        if match is not None and (match.strip() == "*" or entry.etag in [t.strip() for t in match.split(",")]):
            return Response(status_code=304, headers=headers)
        return Response(entry.dcap_qvl_json, media_type=_JSON, headers=headers)

    # ------------------------------------------------------------------ operations

    async def healthz(self, request: Request) -> Response:
        s = self.s
        now = s.clock.now()
        platforms = []
        ready = True
        for st in s.cache.statuses():
            e = st.entry
            fresh = e is not None and e.is_fresh(now)
            if st.pinned and not fresh:
                ready = False
            platforms.append(
                {
                    **st.key.labels(),
                    "fresh": fresh,
                    "expires_at": _iso(e.expires_at) if e is not None else None,
                    "seconds_to_expiry": int((e.expires_at - now).total_seconds()) if e is not None else None,
                    "age_seconds": int(e.age_seconds(now)) if e is not None else None,
                    "tcb_evaluation_data_number": e.auth.tcb_evaluation_data_number if e is not None else None,
                    "consecutive_refresh_failures": st.consecutive_failures,
                    "last_error": st.last_error.to_dict() if st.last_error is not None else None,
                }
            )
        body = {"status": "ok" if ready else "degraded", "now": _iso(now), "platforms": platforms}
        return _json(body, 200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        return Response(render(self.s.families()), media_type=CONTENT_TYPE)

    async def openapi(self, request: Request) -> Response:
        spec = resources.files("tdxverify.server").joinpath("openapi.json").read_bytes()
        return Response(spec, media_type=_JSON)


def create_app(config: ServiceConfig, clock: Clock | None = None, *, service: Service | None = None) -> Starlette:
    """The ASGI app for ``config``; ``clock`` is the time source (default: the system clock).

    The app's :class:`Service` is ``app.state.service`` (add recorder hooks to
    ``service.outcome_hooks``). Starting the app loads the cache directory before
    the first request and starts the background refresher; stopping ends it.
    """
    svc = service if service is not None else Service(config, clock)
    api = _Api(svc)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from .refresher import Refresher

        svc.load()
        refresher = Refresher(svc.cache, config.tick)
        app.state.refresher = refresher
        refresher.start()
        try:
            yield
        finally:
            await refresher.stop()
            svc.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            msg = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        elif status == 404:
            msg = f"no endpoint {request.url.path!r:.80}; see /openapi.json"
        else:
            msg = f"HTTP {status}"
        return _error(ServiceError(msg, http_status=status), status)

    routes = [
        Route("/v1/verify", api.verify, methods=["POST"]),
        Route("/v1/collateral", api.collateral, methods=["GET"]),
        Route("/tdx/collateral", api.tdx_collateral, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_found},
        middleware=[Middleware(_CountRequests, service=svc)],
    )
    app.state.service = svc
    return app


class _CountRequests:
    """ASGI middleware: every HTTP answer counted by route and status (``tdxverify_http_requests_total``)."""

    def __init__(self, app: Any, service: Service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_counting(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = scope["path"] if scope["path"] in _ROUTES else "other"
            self.service.requests.inc({"route": route, "status": str(status)})


_ROUTES = frozenset({"/v1/verify", "/v1/collateral", "/tdx/collateral", "/healthz", "/metrics", "/openapi.json"})
