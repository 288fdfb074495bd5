"""Hostile requests to tdxverify serve: huge, truncated, wrong types, wrong content types, slow bodies,
unknown paths and methods. Each gets a 4xx with a coded JSON error, and the service keeps serving.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tdxverify.errors import ERROR_CODES
from tdxverify.server import ManualClock, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tdxverify.testing import Forge
from tdxverify.testing.pcs import PcsServer, serve_collateral

from .server_support import PROXY_VARS, http, post_json, post_quote

LIMIT = 64 * 1024
FORGE = Forge(seed="server-hostile")
QUOTE = FORGE.quote()


@pytest.fixture(scope="module")
def srv() -> Iterator[BackgroundServer]:
    saved = {v: __import__("os").environ.pop(v, None) for v in PROXY_VARS}
    upstream = PcsServer()
    serve_collateral(upstream, "TDX", FORGE.collateral())
    cfg = ServiceConfig(
        pccs_url=upstream.url, root_ca=FORGE.root_ca_der, tick=0.05, max_request_bytes=LIMIT, request_timeout=1.0
    )
    with BackgroundServer(cfg, ManualClock(FORGE.now)) as s:
        yield s
    upstream.close()
    for k, v in saved.items():
        if v is not None:
            __import__("os").environ[k] = v


def still_serving(srv: BackgroundServer) -> None:
    r = post_quote(srv.url, QUOTE)
    assert r.status == 200 and r.json()["ok"] is True


def coded(r_status: int, body: bytes, status: int, code: str) -> dict[str, object]:
    assert r_status == status, body[:300]
    doc = json.loads(body)
    assert doc["ok"] is False and doc["error"]["code"] == code, doc
    assert doc["error"]["message"]
    return doc  # type: ignore[no-any-return]


HOSTILE_JSON: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "input_invalid"),
    ("not utf-8", b'{"quote": "\xff\xfe"}', "input_invalid"),
    ("array", b"[1, 2, 3]", "input_invalid"),
    ("string", b'"abc"', "input_invalid"),
    ("quote is a number", b'{"quote": 5}', "input_invalid"),
    ("quote is a list", b'{"quote": ["04"]}', "input_invalid"),
    ("quote is null", b'{"quote": null}', "input_invalid"),
    ("no quote", b'{"collateral": {}}', "input_invalid"),
    ("quote not hex or base64", b'{"quote": "not a quote!"}', "input_invalid"),
    ("quote truncated", json.dumps({"quote": QUOTE[:300].hex()}).encode(), "quote_format"),
    ("collateral is a number", json.dumps({"quote": QUOTE.hex(), "collateral": 7}).encode(), "input_invalid"),
    ("collateral is a path", json.dumps({"quote": QUOTE.hex(), "collateral": "/etc/passwd"}).encode(), "input_invalid"),
    ("collateral empty object", json.dumps({"quote": QUOTE.hex(), "collateral": {}}).encode(), "collateral_format"),
    (
        "collateral missing pieces",
        json.dumps({"quote": QUOTE.hex(), "collateral": {"tcb_info": "{}"}}).encode(),
        "collateral_missing",
    ),
    ("policy is a string", json.dumps({"quote": QUOTE.hex(), "policy": "/etc/policy.json"}).encode(), "input_invalid"),
    ("policy unknown rule", json.dumps({"quote": QUOTE.hex(), "policy": {"allow": True}}).encode(), "policy_invalid"),
    ("unknown member", json.dumps({"quote": QUOTE.hex(), "colateral": {}}).encode(), "input_invalid"),
    ("event_log", json.dumps({"quote": QUOTE.hex(), "event_log": []}).encode(), "input_invalid"),
    ("duplicate keys", b'{"quote": "00", "quote": "11"}', "input_invalid"),
    ("NaN", b'{"quote": NaN}', "input_invalid"),
    ("deep nesting", b'{"quote": ' + b"[" * 30000 + b"]" * 30000 + b"}", "input_invalid"),
]


@pytest.mark.parametrize(("name", "body", "code"), HOSTILE_JSON, ids=[h[0] for h in HOSTILE_JSON])
def test_bad_json_bodies(srv: BackgroundServer, name: str, body: bytes, code: str) -> None:
    r = http(srv.url + "/v1/verify", "POST", body, {"Content-Type": "application/json"})
    coded(r.status, r.body, 400, code)
    still_serving(srv)


def test_event_log_is_refused_clearly(srv: BackgroundServer) -> None:
    r = post_json(srv.url, {"quote": QUOTE.hex(), "event_log": {"events": []}})
    doc = coded(r.status, r.body, 400, "input_invalid")
    assert "event_log is not supported" in str(doc["error"])


@pytest.mark.parametrize(
    "body",
    [b"", b"\x04\x00", QUOTE[:100], QUOTE[:-200], b"\x00" * 2000, b"hello world", QUOTE.hex()[:-7].encode()],
    ids=["empty", "two bytes", "header only", "cut signature", "zeros", "text", "odd hex"],
)
def test_truncated_and_garbage_quotes(srv: BackgroundServer, body: bytes) -> None:
    r = post_quote(srv.url, body)
    assert r.status == 400, r.body
    assert r.json()["error"]["code"] in ("input_invalid", "quote_format")
    still_serving(srv)


@pytest.mark.parametrize(
    "content_type", ["text/html", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "image/png"]
)
def test_wrong_content_type(srv: BackgroundServer, content_type: str) -> None:
    r = post_quote(srv.url, QUOTE, content_type)
    doc = coded(r.status, r.body, 415, "input_invalid")
    assert "application/octet-stream" in str(doc["error"])
    still_serving(srv)


def test_no_content_type_is_a_raw_quote(srv: BackgroundServer) -> None:
    r = http(srv.url + "/v1/verify", "POST", QUOTE)
    assert r.status == 200 and r.json()["ok"] is True


def test_body_over_the_limit(srv: BackgroundServer) -> None:
    # Declared too large: refused before the body is read.
    r = http(srv.url + "/v1/verify", "POST", b"x" * 10, {"Content-Length": str(10**9), "Content-Type": "text/plain"})
    coded(r.status, r.body, 413, "input_too_large")
    # Sent too large (declared honestly), and sent chunked without any length.
    r = post_quote(srv.url, QUOTE.hex().encode() * (LIMIT // len(QUOTE.hex()) + 2), "text/plain")
    doc = coded(r.status, r.body, 413, "input_too_large")
    assert str(LIMIT) in str(doc["error"])
    r = http(
        srv.url + "/v1/verify",
        "POST",
        iter([b"a" * 8192] * (LIMIT // 8192 + 2)),  # type: ignore[arg-type]
        {"Content-Type": "text/plain"},  # no length: http.client sends it chunked
    )
    coded(r.status, r.body, 413, "input_too_large")
    big_json = json.dumps({"quote": "00" * LIMIT}).encode()
    r = http(srv.url + "/v1/verify", "POST", big_json, {"Content-Type": "application/json"})
    coded(r.status, r.body, 413, "input_too_large")
    r = http(srv.url + "/v1/verify", "POST", b"", {"Content-Length": "-5"})
    assert r.status == 400
    still_serving(srv)


def test_slow_body_is_cut_off(srv: BackgroundServer) -> None:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nab")
        start = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        assert time.monotonic() - start < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    coded(408, body, 408, "request_timeout")
    still_serving(srv)


def test_unknown_paths_and_methods(srv: BackgroundServer) -> None:
    for method, path, status in (
        ("GET", "/v1/verify", 405),
        ("PUT", "/v1/collateral", 405),
        ("GET", "/admin", 404),
        ("GET", "/v2/verify", 404),
        ("POST", "/healthz", 405),
    ):
        r = http(srv.url + path, method)
        coded(r.status, r.body, status, "input_invalid")
    still_serving(srv)


def test_malformed_http_does_not_stop_the_service(srv: BackgroundServer) -> None:
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64), b"GET / HTTP/9.9\r\n\r\n", b"A" * 70000):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            try:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except OSError:
                pass  # the server may reset a connection that is not HTTP
    still_serving(srv)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=4096),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=50),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
            max_leaves=20,
        ).map(lambda v: json.dumps({"quote": v}).encode()),
    ),
    content_type=st.sampled_from(["application/json", "application/octet-stream", "text/plain"]),
)
def test_any_body_gets_a_coded_answer(srv: BackgroundServer, body: bytes, content_type: str) -> None:
    r = http(srv.url + "/v1/verify", "POST", body, {"Content-Type": content_type})
    assert r.status in (200, 400, 413), r.body[:300]
    doc = r.json()
    assert doc["ok"] is False and doc["error"]["code"] in ERROR_CODES


def test_client_that_hangs_up_mid_body(srv: BackgroundServer) -> None:
    before = srv.service.outcomes.value({"outcome": "rejected", "code": "input_invalid"})
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\nabc")
    deadline = time.monotonic() + 10
    while srv.service.outcomes.value({"outcome": "rejected", "code": "input_invalid"}) == before:
        assert time.monotonic() < deadline, "the hang-up was not counted as a rejected request"
        time.sleep(0.02)
    assert srv.service.outcomes.value({"outcome": "error", "code": "internal_error"}) == 0
    still_serving(srv)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["fmspc", "ca", "tee", "x", "FMSPC", ""]),
            st.one_of(st.text(max_size=20), st.sampled_from(["20A06F000000", "platform", "sgx", "tdx"])),
        ),
        max_size=4,
    )
)
def test_any_collateral_query_gets_a_coded_answer(srv: BackgroundServer, params: list[tuple[str, str]]) -> None:
    import urllib.parse

    query = urllib.parse.urlencode(params)
    r = http(srv.url + "/v1/collateral?" + query)
    assert r.status in (200, 400, 503), (query, r.body[:200])
    if r.status != 200:
        doc = r.json()
        assert doc["ok"] is False and doc["error"]["code"] in ERROR_CODES
