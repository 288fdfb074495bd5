"""The service's collateral cache under faults: upstream 500s, timeouts, bad bodies and forged signatures
during refresh keep the last good collateral served until it expires (then 503 collateral_expired, never
stale); updates replace it, rollbacks do not; one fetch per key; a restart serves from the cache directory.

The service runs on 127.0.0.1 with a :class:`ManualClock`: only the test moves time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tdxverify.collateral import load_collateral
from tdxverify.server import ManualClock, PlatformKey, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tdxverify.testing import Forge
from tdxverify.testing.collateral import DEFAULT_ISSUE_DATE
from tdxverify.testing.pcs import PcsServer, Route, pcs_body, serve_collateral

from .server_support import NEAR, PROXY_VARS, http, key_of, metric, post_quote, wait_until

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


def config(upstream: PcsServer, **kw: Any) -> ServiceConfig:
    base: dict[str, Any] = {
        "pccs_url": upstream.url,
        "tick": 0.02,
        "refresh_interval": 3600.0,
        "retries": 3,
        "retry_backoff": 30.0,
        "upstream_timeout": 0.5,
        "negative_ttl": 60.0,
    }
    base.update(kw)
    return ServiceConfig(**base)


def tcb_fetches(upstream: PcsServer) -> int:
    return sum(p.startswith(TCB) for p in upstream.requests)


def failures(srv: BackgroundServer, key: PlatformKey) -> int:
    st = srv.service.cache.status(key)
    return st.failures if st is not None else 0


def collateral_etag(srv: BackgroundServer, key: PlatformKey) -> str:
    r = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}&ca={key.ca}&tee={key.tee.lower()}")
    assert r.status == 200, r.body
    return r.headers["etag"]


# --------------------------------------------------------------------------- faults during refresh


def test_refresh_faults_keep_serving_the_last_good_collateral_until_it_expires(upstream: PcsServer) -> None:
    assert NEAR.collateral is not None and NEAR.now is not None
    serve_collateral(upstream, "TDX", NEAR.collateral)
    key = key_of(NEAR)
    clock = ManualClock(NEAR.now)
    good_tcb = upstream.routes[TCB]
    sig = NEAR.collateral["tcb_info_signature"]
    forged_sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    faults: list[tuple[str, Route, str]] = [
        ("HTTP 500", Route(500, body=b"internal error"), "collateral_fetch_failed"),
        ("timeout", Route(headers=good_tcb.headers, body=good_tcb.body, delay=3.0), "collateral_fetch_failed"),
        ("HTML body", Route(headers=good_tcb.headers, body=b"<html>maintenance</html>"), "collateral_fetch_failed"),
        (
            "forged signature",
            Route(headers=good_tcb.headers, body=pcs_body("tcbInfo", NEAR.collateral["tcb_info"], forged_sig)),
            "tcb_info_signature_invalid",
        ),
    ]
    with BackgroundServer(config(upstream, default_platform=key), clock) as srv:
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="the first fetch")
        etag = collateral_etag(srv, key)
        for name, route, code in faults:
            upstream.routes[TCB] = route
            before = failures(srv, key)
            clock.advance(3601)  # the refresh interval passes: the refresher tries, and fails
            wait_until(lambda b=before: failures(srv, key) > b, what=f"a failed refresh ({name})")  # type: ignore[misc]
            st = srv.service.cache.status(key)
            assert st is not None and st.last_error is not None and st.last_error.code == code, name
            assert collateral_etag(srv, key) == etag, name  # the good collateral is still served
            r = post_quote(srv.url, NEAR.quote)
            assert r.status == 200 and r.json()["ok"] is True, name
            upstream.routes[TCB] = good_tcb
        text = http(srv.url + "/metrics").body.decode()
        labels = key.labels()
        assert (
            metric(text, "tdxverify_collateral_refresh_failures_total", code="collateral_fetch_failed", **labels) == 3
        )
        assert (
            metric(text, "tdxverify_collateral_refresh_failures_total", code="tcb_info_signature_invalid", **labels)
            == 1
        )
        assert metric(text, "tdxverify_collateral_fresh", **labels) == 1

        # Past the earliest nextUpdate the same collateral is never served, even though the upstream
        # answers again: what it serves has expired too, so every refresh fails.
        before = failures(srv, key)
        clock.set(NEAR.expected["collateral_valid_until"] + 1)
        wait_until(lambda: failures(srv, key) > before, what="a refresh at the new time")
        st = srv.service.cache.status(key)
        assert st is not None and st.last_error is not None and st.last_error.code == "crl_expired"
        r = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}")
        assert r.status == 503 and r.json()["error"]["code"] == "collateral_expired"
        assert "never served outside its window" in r.json()["error"]["message"]
        assert int(r.headers["retry-after"]) >= 1
        v = post_quote(srv.url, NEAR.quote)
        assert v.status == 503 and v.json()["ok"] is False and v.json()["error"]["code"] == "collateral_expired"
        assert v.json()["measurements"] is None
        h = http(srv.url + "/healthz")
        assert h.status == 503 and h.json()["status"] == "degraded" and h.json()["platforms"][0]["fresh"] is False
        text = http(srv.url + "/metrics").body.decode()
        assert metric(text, "tdxverify_collateral_fresh", **labels) == 0
        assert metric(text, "tdxverify_collateral_seconds_to_expiry", **labels) < 0


def test_updates_replace_rollbacks_do_not(upstream: PcsServer, tmp_path: Path) -> None:
    forge = Forge(seed="server-cache")
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    clock = ManualClock(forge.now)

    def served(number: int, days: int) -> dict[str, str]:
        c = forge.collateral(
            tcb_info=forge.tcb_info(tcb_evaluation_data_number=number, issue_date=DEFAULT_ISSUE_DATE + timedelta(days))
        )
        serve_collateral(upstream, "TDX", c)
        return c

    served(17, 0)
    cfg = config(upstream, default_platform=key, root_ca=forge.root_ca_der, cache_dir=tmp_path)
    with BackgroundServer(cfg, clock) as srv:
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="the first fetch")
        first = collateral_etag(srv, key)
        newer = served(18, 1)
        clock.advance(3601)
        wait_until(lambda: collateral_etag(srv, key) != first, what="the update")
        body = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}").json()
        assert body["tcb_info"] == newer["tcb_info"]
        on_disk = load_collateral(tmp_path / f"{key.slug}.json")
        assert on_disk.tcb_info.tcb_evaluation_data_number == 18
        second = collateral_etag(srv, key)

        served(16, 2)  # older tcbEvaluationDataNumber: a stale PCCS
        before = failures(srv, key)
        clock.advance(3601)
        wait_until(lambda: failures(srv, key) > before, what="the refused rollback")
        st = srv.service.cache.status(key)
        assert st is not None and st.last_error is not None and "older collateral" in st.last_error.message
        assert collateral_etag(srv, key) == second
        assert load_collateral(tmp_path / f"{key.slug}.json").tcb_info.tcb_evaluation_data_number == 18

        served(18, 1)  # the same as cached: unchanged, no rewrite
        before_ok = srv.service.refreshes.value({**key.labels(), "result": "unchanged"})
        clock.advance(3601)
        wait_until(
            lambda: srv.service.refreshes.value({**key.labels(), "result": "unchanged"}) > before_ok,
            what="an unchanged refresh",
        )
        assert collateral_etag(srv, key) == second
    assert [p.name for p in tmp_path.iterdir()] == [f"{key.slug}.json"]  # no temporary file left behind


def test_one_fetch_per_key_at_a_time(upstream: PcsServer) -> None:
    forge = Forge(seed="server-herd")
    serve_collateral(upstream, "TDX", forge.collateral())
    upstream.routes[TCB].delay = 1.0  # a slow upstream: every request arrives while the fetch runs
    quote = forge.quote()
    results: list[int] = []
    with BackgroundServer(
        config(upstream, root_ca=forge.root_ca_der, upstream_timeout=10), ManualClock(forge.now)
    ) as srv:
        threads = [
            threading.Thread(target=lambda: results.append(post_quote(srv.url, quote).status)) for _ in range(24)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert results == [200] * 24
    assert tcb_fetches(upstream) == 1


def test_failed_first_fetch_is_remembered_briefly(upstream: PcsServer) -> None:
    forge = Forge(seed="server-negative")
    serve_collateral(upstream, "TDX", forge.collateral())
    upstream.routes[TCB] = Route(404, headers={"Error-Code": "NoTcbInfoFound"})
    clock = ManualClock(forge.now)
    quote = forge.quote()
    with BackgroundServer(config(upstream, root_ca=forge.root_ca_der), clock) as srv:
        r = post_quote(srv.url, quote)
        assert r.status == 503 and r.json()["error"]["code"] == "collateral_fetch_failed"
        assert "HTTP 404" in r.json()["error"]["message"] and "NoTcbInfoFound" in r.json()["error"]["message"]
        for _ in range(5):
            assert post_quote(srv.url, quote).status == 503
        assert tcb_fetches(upstream) == 1  # a burst does not hammer the PCS
        serve_collateral(upstream, "TDX", forge.collateral())
        clock.advance(61)  # past negative_ttl: the next request fetches again
        assert post_quote(srv.url, quote).json()["ok"] is True
        assert tcb_fetches(upstream) == 2


def test_platform_limit(upstream: PcsServer) -> None:
    forge = Forge(seed="server-limit")
    serve_collateral(upstream, "TDX", forge.collateral())
    other = PlatformKey(tee="TDX", fmspc=bytes.fromhex("00112233AABB"), ca="platform")
    with BackgroundServer(config(upstream, root_ca=forge.root_ca_der, max_platforms=1), ManualClock(forge.now)) as srv:
        assert post_quote(srv.url, forge.quote()).json()["ok"] is True
        r = http(srv.url + f"/v1/collateral?fmspc={other.fmspc_hex}")
        assert r.status == 503 and "--max-platforms" in r.json()["error"]["message"]
        assert tcb_fetches(upstream) == 1


# --------------------------------------------------------------------------- restart


def test_restart_serves_from_the_cache_directory_at_once(upstream: PcsServer, tmp_path: Path) -> None:
    assert NEAR.collateral is not None and NEAR.now is not None
    serve_collateral(upstream, "TDX", NEAR.collateral)
    key = key_of(NEAR)
    cfg = config(upstream, default_platform=key, cache_dir=tmp_path)
    with BackgroundServer(cfg, ManualClock(NEAR.now)) as srv:
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="the first fetch")
        etag = collateral_etag(srv, key)
        expected = post_quote(srv.url, NEAR.quote).json()
    path = tmp_path / f"{key.slug}.json"
    doc = json.loads(path.read_text())
    assert doc["source"]["fmspc"] == key.fmspc_hex and doc["source"]["from"] == upstream.url
    assert load_collateral(path) == load_collateral(
        {k: v for k, v in NEAR.collateral.items() if k != "pck_certificate_chain"}
    )

    for route in upstream.routes.values():  # the upstream is down now
        route.status, route.body = 500, b"down"
    fetched = len(upstream.requests)
    with BackgroundServer(cfg, ManualClock(NEAR.now)) as srv:
        # Serving from disk begins with the first request: no fetch, no wait.
        assert http(srv.url + "/healthz").status == 200
        assert collateral_etag(srv, key) == etag
        assert post_quote(srv.url, NEAR.quote).json() == expected
    assert len(upstream.requests) == fetched


def test_a_tampered_cache_file_is_ignored(upstream: PcsServer, tmp_path: Path) -> None:
    forge = Forge(seed="server-tamper")
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    good = forge.collateral()
    bad = dict(good, tcb_info=good["tcb_info"].replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":99'))
    assert bad["tcb_info"] != good["tcb_info"]
    (tmp_path / f"{key.slug}.json").write_text(json.dumps(bad))
    (tmp_path / "notes.txt").write_text("not collateral")
    serve_collateral(upstream, "TDX", good)
    cfg = config(upstream, default_platform=key, root_ca=forge.root_ca_der, cache_dir=tmp_path)
    with BackgroundServer(cfg, ManualClock(forge.now)) as srv:
        rejected = srv.service.cache.disk_rejected
        assert [name for name, _ in rejected] == [f"{key.slug}.json"]
        assert "tcb_info_signature_invalid" in rejected[0][1]
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="a fetch replacing the tampered file")
        served = http(srv.url + f"/v1/collateral?fmspc={key.fmspc_hex}").json()
        assert served["tcb_info"] == good["tcb_info"]
    assert load_collateral(tmp_path / f"{key.slug}.json").tcb_info.tcb_evaluation_data_number == 17


# --------------------------------------------------------------------------- schedule


def test_refresh_comes_before_next_update(upstream: PcsServer) -> None:
    forge = Forge(seed="server-schedule")
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    serve_collateral(upstream, "TDX", forge.collateral())
    clock = ManualClock(forge.now)
    # An interval far longer than the collateral lives: the nextUpdate alone must bring the refresh.
    cfg = config(upstream, default_platform=key, root_ca=forge.root_ca_der, refresh_interval=100 * 86400.0)
    with BackgroundServer(cfg, clock) as srv:
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="the first fetch")
        st = srv.service.cache.status(key)
        assert st is not None and st.entry is not None
        left = (st.entry.expires_at - clock.now()).total_seconds()
        assert 0 < left < 30 * 86400
        assert st.next_due == pytest.approx(clock.monotonic() + left / 2)  # halfway to the earliest expiry
        newer = forge.collateral(
            tcb_info=forge.tcb_info(tcb_evaluation_data_number=18, issue_date=DEFAULT_ISSUE_DATE + timedelta(days=5))
        )
        serve_collateral(upstream, "TDX", newer)
        clock.advance(left / 2 + 1)
        wait_until(lambda: tcb_fetches(upstream) == 2, what="the refresh before nextUpdate")
        wait_until(lambda: srv.service.cache.status(key).entry.auth.tcb_evaluation_data_number == 18)  # type: ignore[union-attr]
        assert http(srv.url + "/healthz").json()["platforms"][0]["fresh"] is True


def test_bounded_retries_with_backoff(upstream: PcsServer) -> None:
    import time

    forge = Forge(seed="server-retries")
    key = PlatformKey(tee="TDX", fmspc=forge.pki.spec.sgx.fmspc, ca="platform")
    serve_collateral(upstream, "TDX", forge.collateral())
    upstream.routes[TCB] = Route(503, headers={"Retry-After": "1"})
    clock = ManualClock(forge.now)
    cfg = config(upstream, default_platform=key, root_ca=forge.root_ca_der, retries=3, retry_backoff=30.0)
    with BackgroundServer(cfg, clock) as srv:
        # Wait on the service's own count of failures (not the upstream's log), so the back-off is
        # computed from the moment of the failure before the clock moves.
        wait_until(lambda: failures(srv, key) == 1, what="attempt 1")
        for step, attempts in ((30, 2), (60, 3)):  # back-off doubles: 30 s, then 60 s
            clock.advance(step - 1)
            time.sleep(0.2)  # ten refresher ticks: nothing is due yet
            assert tcb_fetches(upstream) == attempts - 1
            clock.advance(1)
            wait_until(lambda a=attempts: failures(srv, key) == a, what=f"attempt {attempts}")  # type: ignore[misc]
        # Three attempts spent: the next cycle comes after the refresh interval, not sooner.
        clock.advance(3000)
        time.sleep(0.2)
        assert tcb_fetches(upstream) == 3
        assert http(srv.url + "/healthz").json()["platforms"][0]["consecutive_refresh_failures"] == 3
        serve_collateral(upstream, "TDX", forge.collateral())
        clock.advance(601)
        wait_until(lambda: http(srv.url + "/healthz").status == 200, what="the next cycle's success")
        assert tcb_fetches(upstream) == 4
        assert srv.service.cache.status(key).consecutive_failures == 0  # type: ignore[union-attr]
