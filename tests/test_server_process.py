"""tdxverify serve as documented (a subprocess on 127.0.0.1): the bundled vector verifies with the same
verdict as the CLI, /v1/collateral loads in dcap-qvl, a restart serves from the cache directory, and a
bounded load test (2,000 requests from 32 clients) has zero errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tdxverify.cli import main as cli_main
from tdxverify.testing.pcs import PcsServer, serve_collateral

from .server_support import NEAR, PROXY_VARS, ServeProcess, http, key_of, load, metric, post_quote

TOTAL, CLIENTS, TIME_LIMIT = 2000, 32, 240.0


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[PcsServer]:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    s = PcsServer()
    assert NEAR.collateral is not None
    serve_collateral(s, "TDX", NEAR.collateral)
    yield s
    s.close()


def serve_args(upstream: PcsServer, cache: Path) -> list[str]:
    return [
        "--pccs-url", upstream.url, "--cache-dir", str(cache), "--now", str(NEAR.now),
        "--default-fmspc", key_of(NEAR).fmspc_hex, "--log-level", "warning",
    ]  # fmt: skip


def cli_verdict() -> dict[str, object]:
    args = [str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"]
    out = subprocess.run(
        [sys.executable, "-m", "tdxverify", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    verdict: dict[str, object] = json.loads(out.stdout)
    return verdict


def test_documented_server_answers_like_the_cli(upstream: PcsServer, tmp_path: Path) -> None:
    import dcap_qvl

    expected = cli_verdict()
    with ServeProcess(serve_args(upstream, tmp_path / "cache"), tmp_path) as srv:
        r = http(srv.url + "/v1/verify", "POST", NEAR.quote_path.read_bytes(), {"Content-Type": "text/plain"})
        assert r.status == 200 and r.json() == expected
        c = http(srv.url + f"/v1/collateral?fmspc={key_of(NEAR).fmspc_hex}&ca=platform&tee=tdx")
        assert c.status == 200
        loaded = dcap_qvl.QuoteCollateralV3.from_json(c.body.decode())
        # dcap-qvl itself verifies the vector's quote with what the service served.
        report = dcap_qvl.verify(NEAR.quote, loaded, NEAR.now)
        assert report.status == "UpToDate"
        assert http(srv.url + "/tdx/collateral").body == c.body
        assert http(srv.url + "/healthz").json()["status"] == "ok"
        etag = c.headers["etag"]
    # SIGTERM: a graceful shutdown (uvicorn re-raises the signal once it has finished, as systemd expects).
    assert srv.proc.returncode in (0, -15)
    assert "Traceback" not in srv.log.read_text()

    fetched = len(upstream.requests)
    with ServeProcess(serve_args(upstream, tmp_path / "cache"), tmp_path) as srv:
        assert http(srv.url + "/tdx/collateral").headers["etag"] == etag  # from disk at once
        assert post_quote(srv.url, NEAR.quote).json() == expected
    assert len(upstream.requests) == fetched


def test_bounded_load_has_zero_errors(upstream: PcsServer, tmp_path: Path) -> None:
    with ServeProcess(serve_args(upstream, tmp_path / "cache"), tmp_path) as srv:
        assert post_quote(srv.url, NEAR.quote).json()["ok"] is True  # warm: collateral fetched
        result = load(srv.url + "/v1/verify", NEAR.quote, total=TOTAL, clients=CLIENTS, time_limit=TIME_LIMIT)
        text = http(srv.url + "/metrics").body.decode()
    assert result.errors == []
    assert result.requests == TOTAL
    assert metric(text, "tdxverify_verifications_total", outcome="verified", code="none") == TOTAL + 1
    count = metric(text, "tdxverify_verification_seconds_count")
    verifying = metric(text, "tdxverify_verification_seconds_sum") / count
    print(
        f"\nservice load: {result.requests} requests from {CLIENTS} clients in {result.seconds:.2f} s: "
        f"{result.throughput:.0f} req/s, p50 {result.percentile(50) * 1000:.1f} ms, "
        f"p99 {result.percentile(99) * 1000:.1f} ms, errors {len(result.errors)}; "
        f"mean verification in the pool {verifying * 1000:.2f} ms"
    )


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["--refresh", "soon"],
        ["--port", "99999"],
        ["--pccs-url", "ftp://pccs.example"],
        ["--default-fmspc", "XYZ"],
        ["--platform", "20A06F000000:root"],
        ["--now", "yesterday"],
        ["--workers", "0"],
        ["--policy", str(Path(__file__).parent / "no-such-policy.json")],
    ):
        assert cli_main(["serve", *args]) == 2, args
        assert "Traceback" not in capsys.readouterr().err
