"""The service's OpenAPI description (/openapi.json) is valid OpenAPI 3.1 and matches the real answers:
every status a route gives is documented for it, and every JSON body validates against its schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tdxverify.server import ManualClock, PlatformKey, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tdxverify.testing import Forge
from tdxverify.testing.pcs import PcsServer, Route, serve_collateral

from .server_support import PROXY_VARS, Resp, http, post_json, post_quote

TCB = "/tdx/certification/v4/tcb"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def upstream() -> Iterator[PcsServer]:
    s = PcsServer()
    yield s
    s.close()


def check(spec: dict[str, Any], path: str, method: str, r: Resp) -> None:
    op = spec["paths"][path][method.lower()]
    documented = op["responses"]
    assert str(r.status) in documented, f"{method} {path} answered {r.status}, not documented"
    content = documented[str(r.status)].get("content")
    if r.status == 304:
        assert r.body == b""
        return
    assert content is not None
    media = r.headers["content-type"].split(";")[0]
    assert media in content, (path, r.status, media)
    for name in documented[str(r.status)].get("headers", {}):
        if name != "Retry-After" or r.status == 503:
            assert name.lower() in r.headers, (path, r.status, name)
    if media == "application/json":
        schema = {**content[media]["schema"], "components": spec["components"]}
        jsonschema.Draft202012Validator(schema).validate(json.loads(r.body))


def test_spec_is_valid_and_matches_the_answers(upstream: PcsServer) -> None:
    forge = Forge(seed="server-openapi")
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    serve_collateral(upstream, "TDX", forge.collateral())
    good_tcb = upstream.routes[TCB]
    upstream.routes[TCB] = Route(500)
    clock = ManualClock(forge.now)
    cfg = ServiceConfig(
        pccs_url=upstream.url, root_ca=forge.root_ca_der, tick=0.05, max_request_bytes=32 * 1024, default_platform=key
    )
    with BackgroundServer(cfg, clock) as srv:
        spec = http(srv.url + "/openapi.json").json()
        validate(spec)
        assert set(spec["paths"]) == {
            "/v1/verify",
            "/v1/collateral",
            "/tdx/collateral",
            "/healthz",
            "/metrics",
            "/openapi.json",
        }
        q = forge.quote()
        seen: set[tuple[str, int]] = set()

        def hit(path: str, method: str, r: Resp) -> None:
            check(spec, path, method, r)
            seen.add((path, r.status))

        # Upstream down, nothing cached: 503s.
        hit("/v1/verify", "POST", post_quote(srv.url, q))
        hit("/v1/collateral", "GET", http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}"))
        hit("/healthz", "GET", http(srv.url + "/healthz"))
        upstream.routes[TCB] = good_tcb
        clock.advance(3600)
        hit("/v1/verify", "POST", post_quote(srv.url, q))
        hit("/v1/verify", "POST", post_quote(srv.url, forge.quote(corrupt="quote_signature")))
        hit("/v1/verify", "POST", post_json(srv.url, {"quote": q.hex(), "policy": {"measurements": {"rtmr3": ["00"]}}}))
        hit("/v1/verify", "POST", post_json(srv.url, {"quote": q.hex(), "collateral": forge.collateral()}))
        hit("/v1/verify", "POST", post_json(srv.url, {"quote": 1}))
        hit("/v1/verify", "POST", post_quote(srv.url, q[:50]))
        hit("/v1/verify", "POST", post_quote(srv.url, q, "text/html"))
        hit("/v1/verify", "POST", post_quote(srv.url, b"0" * 40000, "text/plain"))
        r = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}&ca=platform&tee=tdx")
        hit("/v1/collateral", "GET", r)
        hit("/v1/collateral", "GET", http(srv.url + "/v1/collateral?fmspc=1", headers={}))
        etag = r.headers["etag"]
        hit(
            "/v1/collateral",
            "GET",
            http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}", headers={"If-None-Match": etag}),
        )
        hit("/tdx/collateral", "GET", http(srv.url + "/tdx/collateral"))
        hit("/tdx/collateral", "GET", http(srv.url + "/tdx/collateral?ca=nope"))
        hit("/healthz", "GET", http(srv.url + "/healthz"))
        hit("/metrics", "GET", http(srv.url + "/metrics"))
        hit("/openapi.json", "GET", http(srv.url + "/openapi.json"))
    assert seen >= {
        ("/v1/verify", 200), ("/v1/verify", 400), ("/v1/verify", 413), ("/v1/verify", 415), ("/v1/verify", 503),
        ("/v1/collateral", 200), ("/v1/collateral", 304), ("/v1/collateral", 400), ("/v1/collateral", 503),
        ("/tdx/collateral", 200), ("/tdx/collateral", 400), ("/healthz", 200), ("/healthz", 503),
    }  # fmt: skip
