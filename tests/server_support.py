"""Shared pieces of the ``tdxverify serve`` tests: a plain HTTP client, polling, the real vectors' platforms.

Every server these tests talk to runs on 127.0.0.1 and was started by the test itself.
"""

from __future__ import annotations

import http.client as httplib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
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


class ServeProcess:
    """``python -m tdxverify serve ARGS --port 0`` in a subprocess on 127.0.0.1; its URL read from its stderr."""

    def __init__(self, args: list[str], log_dir: Path, timeout: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        self.log = log_dir / "serve.log"
        self._fh = self.log.open("wb")
        cmd = [sys.executable, "-m", "tdxverify", "serve", "--host", "127.0.0.1", "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        found = None
        while found is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"tdxverify serve did not start:\n{self.log.read_text()}")
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            time.sleep(0.05)
        self.url = found.group(1)
        wait_until(lambda: self._answers(), timeout=timeout, what="the service to answer")

    def _answers(self) -> bool:
        try:
            http(self.url + "/metrics", timeout=2)
            return True
        except OSError:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._fh.close()
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: list[str]
    seconds: float
    latencies: list[float]

    def percentile(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


def load(url: str, body: bytes, *, total: int, clients: int, time_limit: float) -> LoadResult:
    """POST ``body`` to ``url`` ``total`` times from ``clients`` keep-alive connections; stops after ``time_limit`` s.

    A request counts as an error unless it is a 200 whose JSON says ``ok``.
    """
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", "load goes to 127.0.0.1 only"
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + time_limit

    def client() -> None:
        nonlocal issued
        conn = httplib.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            while True:
                with lock:
                    if issued >= total or time.monotonic() > deadline:
                        return
                    issued += 1
                start = time.perf_counter()
                try:
                    conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/octet-stream"})
                    r = conn.getresponse()
                    data = r.read()
                    ok = r.status == 200 and json.loads(data)["ok"] is True
                    problem = None if ok else f"HTTP {r.status}: {data[:200]!r}"
                except (OSError, httplib.HTTPException, ValueError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                    conn.close()
                    conn = httplib.HTTPConnection(parts.hostname, parts.port, timeout=30)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if problem is not None:
                        errors.append(problem)
        finally:
            conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(time_limit + 60)
    return LoadResult(len(latencies), errors, time.perf_counter() - start, latencies)
