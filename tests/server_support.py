"""Shared pieces of the ``tdxverify serve`` tests: a plain HTTP client, polling, the real vectors' platforms.

Every server these tests talk to runs on 127.0.0.1 and was started by the test itself.
"""

from __future__ import annotations

import http.client as httplib
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tdxverify.pccs import collateral_request
from tdxverify.server import PlatformKey

from .vectors import Vector, verifiable_vectors

VECTORS = verifiable_vectors()
NEAR = next(v for v in VECTORS if v.name == "tdx-v4-near-contract")
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass(frozen=True)
class Resp:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> Resp:
    """One request to a 127.0.0.1 URL; any status is returned, never raised."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", f"tests only talk to 127.0.0.1, not {url}"
    conn = httplib.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def post_quote(base: str, quote: bytes, content_type: str = "application/octet-stream") -> Resp:
    return http(base + "/v1/verify", "POST", quote, {"Content-Type": content_type})


def post_json(base: str, doc: Any) -> Resp:
    return http(base + "/v1/verify", "POST", json.dumps(doc).encode(), {"Content-Type": "application/json"})


def wait_until(pred: Callable[[], bool], timeout: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def key_of(vec: Vector) -> PlatformKey:
    req = collateral_request(vec.quote)
    return PlatformKey(tee=req.tee, fmspc=req.fmspc, ca=req.ca)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] != name:
            continue
        got = dict(
            (kv.split("=", 1)[0], kv.split("=", 1)[1].strip('"'))
            for kv in (series.split("{", 1)[1].rstrip("}").split(",") if "{" in series else [])
            if kv
        )
        if all(got.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0
