"""tdxverify serve over HTTP: the same verdict JSON as the CLI, for real vectors and forged quotes;
/v1/collateral and /tdx/collateral serve dcap-qvl JSON with ETag and Cache-Control; /metrics and /healthz.

Each test starts the real service (uvicorn, in a thread) and a PCS-shaped upstream, both on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tdxverify.cli import main as cli_main
from tdxverify.collateral import load_collateral
from tdxverify.server import ManualClock, PlatformKey, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tdxverify.testing import Forge
from tdxverify.testing.pcs import PcsServer, serve_collateral
from tdxverify.verify import verify

from .server_support import NEAR, PROXY_VARS, VECTORS, http, key_of, metric, post_json, post_quote
from .vectors import Vector


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def upstream() -> Iterator[PcsServer]:
    s = PcsServer()
    yield s
    s.close()


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    cli_main([*args, "--json"])
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def start(upstream: PcsServer, now: int, **kw: Any) -> BackgroundServer:
    return BackgroundServer(ServiceConfig(pccs_url=upstream.url, tick=0.05, **kw), ManualClock(now)).start()


# --------------------------------------------------------------------------- real vectors


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_real_vector_verdict_equals_the_cli(
    vec: Vector, upstream: PcsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert vec.collateral is not None and vec.now is not None
    serve_collateral(upstream, key_of(vec).tee, vec.collateral)
    expected = cli_json(capsys, str(vec.quote_path), str(vec.collateral_path), "--now", str(vec.now))
    srv = start(upstream, vec.now)
    try:
        raw = post_quote(srv.url, vec.quote)  # collateral from the cache, fetched on this miss
        assert raw.status == 200, raw.body
        assert raw.json() == expected
        assert raw.json()["ok"] is vec.expected["verdict"]["ok"]
        # The same quote as hex, base64, and inside JSON (with and without the collateral) answers the same.
        assert post_quote(srv.url, vec.quote.hex().encode(), "text/plain").json() == expected
        assert post_quote(srv.url, base64.b64encode(vec.quote), "text/plain").json() == expected
        assert post_json(srv.url, {"quote": vec.quote.hex()}).json() == expected
        with_collateral = post_json(
            srv.url, {"quote": base64.b64encode(vec.quote).decode(), "collateral": vec.collateral}
        )
        assert with_collateral.status == 200 and with_collateral.json() == expected
        # Only one fetch: every later request used the cache.
        assert sum("/certification/v4/tcb" in p for p in upstream.requests) == 1
    finally:
        srv.stop()


def test_collateral_endpoint_serves_dcap_qvl_json(upstream: PcsServer) -> None:
    import dcap_qvl

    assert NEAR.collateral is not None and NEAR.now is not None
    serve_collateral(upstream, "TDX", NEAR.collateral)
    key = key_of(NEAR)
    with BackgroundServer(
        ServiceConfig(pccs_url=upstream.url, tick=0.05, default_platform=key), ManualClock(NEAR.now)
    ) as srv:
        r = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex.lower()}&ca=platform&tee=tdx")
        assert r.status == 200 and r.headers["content-type"] == "application/json"
        loaded = dcap_qvl.QuoteCollateralV3.from_json(r.body.decode())
        assert loaded.tcb_info == NEAR.collateral["tcb_info"]  # the signed text, unchanged
        # It is the vector's collateral and verifies the quote exactly as the vector's own file does.
        own = {k: v for k, v in NEAR.collateral.items() if k != "pck_certificate_chain"}
        assert load_collateral(r.body) == load_collateral(own)
        assert verify(NEAR.quote, r.body, now=NEAR.now).status == "UpToDate"
        # Validators: a strong ETag, 304 on a match; caching never beyond the earliest nextUpdate.
        etag = r.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{40}"', etag)
        left = NEAR.expected["collateral_valid_until"] - NEAR.now
        max_age = int(r.headers["cache-control"].split("max-age=")[1])
        assert 0 < max_age <= min(left, 6 * 3600)
        assert r.headers["x-collateral-expires-at"] == "2025-10-02T07:03:51Z"
        again = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}", headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
        # The seed's path shape, for the configured default platform.
        seed = http(srv.url + "/tdx/collateral")
        assert seed.status == 200 and seed.body == r.body and seed.headers["etag"] == etag
        # Bad parameters are coded 400s.
        for query, needle in (
            ("fmspc=XYZ", "12 hex digits"),
            ("fmspc=20A06F000000&ca=root", "platform"),
            ("fmspc=20A06F000000&tee=sev", "tdx"),
            ("fmspc=20A06F000000&color=red", "unknown query parameter"),
            ("fmspc=20A06F000000&fmspc=20A06F000000", "more than once"),
            ("", "fmspc is required"),
        ):
            bad = http(srv.url + "/v1/collateral?" + query)
            assert bad.status == 400, query
            assert bad.json()["error"]["code"] == "input_invalid" and needle in bad.json()["error"]["message"]


def test_tdx_collateral_without_a_default_platform(upstream: PcsServer) -> None:
    with start(upstream, 1_700_000_000) as srv:
        r = http(srv.url + "/tdx/collateral")
        assert r.status == 404 and "--default-fmspc" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- forged quotes


@pytest.fixture(scope="module")
def forge() -> Forge:
    return Forge(seed="server-tests")


# (name, forge overrides, error code, HTTP status): a quote that parses gets a verdict (200, ok says);
# one that cannot be parsed is a malformed request (400). The body is the CLI's JSON either way.
CASES: list[tuple[str, dict[str, Any], str | None, int]] = [
    ("tdx_v4", {}, None, 200),
    ("tdx_v5", {"version": 5}, None, 200),
    ("sgx_v3", {"version": 3}, None, 200),
    ("quote_signature_corrupted", {"corrupt": "quote_signature"}, "quote_signature_invalid", 200),
    ("qe_report_signature_corrupted", {"corrupt": "qe_report_signature"}, "qe_report_signature_invalid", 200),
    ("debug_td", {"td_attributes": bytes([1]) + bytes(7)}, "debug_td", 200),
    ("unsupported_version", {"version": 6}, "unsupported_quote_version", 400),
]


@pytest.mark.parametrize(("name", "overrides", "code", "status"), CASES, ids=[c[0] for c in CASES])
def test_forged_quotes_answer_like_the_cli(
    name: str,
    overrides: dict[str, Any],
    code: str | None,
    status: int,
    forge: Forge,
    upstream: PcsServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tee = "SGX" if overrides.get("version") == 3 else "TDX"
    collateral = forge.collateral(tee)
    serve_collateral(upstream, tee, collateral)
    quote = forge.quote(**overrides)
    (tmp_path / "q.bin").write_bytes(quote)
    (tmp_path / "c.json").write_text(json.dumps(collateral))
    (tmp_path / "root.der").write_bytes(forge.root_ca_der)
    expected = cli_json(
        capsys, str(tmp_path / "q.bin"), str(tmp_path / "c.json"), "--now", str(forge.now),
        "--root-ca", str(tmp_path / "root.der"),
    )  # fmt: skip
    assert expected["ok"] is (code is None)
    assert (expected["error"] or {}).get("code") == code
    with start(upstream, forge.now, root_ca=forge.root_ca_der) as srv:
        r = post_quote(srv.url, quote)
        assert (r.status, r.json()) == (status, expected)


def test_request_policy_and_server_policy(
    forge: Forge, upstream: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_collateral(upstream, "TDX", forge.collateral())
    quote = forge.quote(rtmr3=b"\x33" * 48)
    policy = {"accepted_statuses": ["UpToDate"], "measurements": {"rtmr3": ["44" * 48]}}
    for name, data in (("q.bin", quote), ("c.json", json.dumps(forge.collateral()).encode())):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "root.der").write_bytes(forge.root_ca_der)
    (tmp_path / "p.json").write_text(json.dumps(policy))
    base = (str(tmp_path / "q.bin"), str(tmp_path / "c.json"), "--now", str(forge.now), "--root-ca")
    rejected = cli_json(capsys, *base, str(tmp_path / "root.der"), "--policy", str(tmp_path / "p.json"))
    accepted = cli_json(capsys, *base, str(tmp_path / "root.der"))
    with start(upstream, forge.now, root_ca=forge.root_ca_der) as srv:
        r = post_json(srv.url, {"quote": quote.hex(), "policy": policy})
        assert (r.status, r.json()) == (200, rejected)
        assert r.json()["error"]["code"] == "policy_violation"
        assert r.json()["measurements"]["rtmr3"] == "33" * 48  # a verified quote shows what it measured
        assert post_quote(srv.url, quote).json() == accepted  # no policy in the request: the server's (none)
        bad = post_json(srv.url, {"quote": quote.hex(), "policy": {"accepted_statuses": ["Great"]}})
        assert bad.status == 400 and bad.json()["error"]["code"] == "policy_invalid"
    from tdxverify.policy import load_policy

    with start(upstream, forge.now, root_ca=forge.root_ca_der, policy=load_policy(policy)) as srv:
        assert post_quote(srv.url, quote).json() == rejected  # --policy is the default for every request


def test_metrics_and_health(forge: Forge, upstream: PcsServer) -> None:
    serve_collateral(upstream, "TDX", forge.collateral())
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    with start(upstream, forge.now, root_ca=forge.root_ca_der, default_platform=key) as srv:
        assert post_quote(srv.url, forge.quote()).status == 200
        assert post_quote(srv.url, forge.quote(corrupt="quote_signature")).status == 200
        assert post_quote(srv.url, b"\x04\x00").status == 400
        h = http(srv.url + "/healthz")
        assert h.status == 200 and h.json()["status"] == "ok"
        (p,) = h.json()["platforms"]
        assert p["fmspc"] == key.fmspc_hex and p["fresh"] is True and p["seconds_to_expiry"] > 0
        m = http(srv.url + "/metrics")
        assert m.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = m.body.decode()
        # Every line is a comment or "name{labels} value" (Prometheus text format 0.0.4).
        sample = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? \S+')
        for line in text.splitlines():
            assert line.startswith(("# HELP ", "# TYPE ")) or sample.fullmatch(line), line
        labels = key.labels()
        assert metric(text, "tdxverify_verifications_total", outcome="verified", code="none") == 1
        assert (
            metric(text, "tdxverify_verifications_total", outcome="not_verified", code="quote_signature_invalid") == 1
        )
        assert metric(text, "tdxverify_verifications_total", outcome="rejected", code="quote_format") == 1
        assert metric(text, "tdxverify_verification_seconds_count") == 2
        assert metric(text, "tdxverify_request_seconds_count") == 3
        assert metric(text, "tdxverify_http_requests_total", route="/v1/verify", status="200") == 2
        assert metric(text, "tdxverify_collateral_refreshes_total", result="updated", **labels) == 1
        assert metric(text, "tdxverify_collateral_fresh", **labels) == 1
        age = metric(text, "tdxverify_collateral_age_seconds", **labels)
        assert age == 10 * 86400  # the forge issues its TCB info 10 days before forge.now
        assert metric(text, "tdxverify_collateral_seconds_to_expiry", **labels) > 0
        assert metric(text, "tdxverify_collateral_tcb_evaluation_data_number", **labels) == 17


def test_outcome_hook_sees_every_finished_verification(forge: Forge, upstream: PcsServer) -> None:
    from tdxverify.server import VerifyOutcome

    serve_collateral(upstream, "TDX", forge.collateral())
    seen: list[VerifyOutcome] = []
    srv = start(upstream, forge.now, root_ca=forge.root_ca_der)
    srv.service.outcome_hooks.append(seen.append)
    srv.service.outcome_hooks.append(lambda o: 1 / 0)  # type: ignore[func-returns-value]  # a broken hook
    try:
        good, bad = forge.quote(), forge.quote(corrupt="quote_signature")
        assert post_quote(srv.url, good).json()["ok"] is True  # a failing hook never changes the answer
        post_quote(srv.url, bad)
        post_quote(srv.url, b"garbage")
    finally:
        srv.stop()
    assert [(o.outcome, o.http_status) for o in seen] == [("verified", 200), ("not_verified", 200), ("rejected", 400)]
    assert seen[0].quote_bytes == good and seen[0].verdict is not None and seen[0].error is None
    assert seen[0].platform is not None and seen[0].platform.fmspc == forge.pki.spec.sgx.fmspc
    assert seen[1].quote_bytes == bad and seen[1].error is not None
    assert seen[1].error.code == "quote_signature_invalid" and seen[1].body["ok"] is False
    assert seen[2].quote is None and seen[2].error is not None and seen[2].error.code == "quote_format"
