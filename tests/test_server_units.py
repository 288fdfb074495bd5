"""Small parts of tdxverify serve on their own: durations, platform keys, configuration checks, the
Prometheus text writer, and the clocks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdxverify.errors import VerificationError
from tdxverify.server import FixedClock, ManualClock, PlatformKey, ServiceConfig, parse_duration
from tdxverify.server.metrics import Counter, Histogram, Sample, render


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("6h", 21600), ("90m", 5400), ("30s", 30), ("1.5d", 129600), ("250ms", 0.25), ("42", 42), (" 2 h ", 7200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "6 hours", "-1h", "1e3s", "h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(VerificationError) as info:
        parse_duration(text)
    assert info.value.code == "input_invalid" and "duration" in info.value.message


def test_platform_keys() -> None:
    k = PlatformKey.parse("20a06f000000", "Platform", "TDX")
    assert (k.tee, k.fmspc_hex, k.ca, k.slug) == ("TDX", "20A06F000000", "platform", "tdx-20A06F000000-platform")
    assert k.labels() == {"tee": "TDX", "fmspc": "20A06F000000", "ca": "platform"}
    assert PlatformKey.parse("20A06F000000") == k
    for args in (("20A06F00000",), ("20A06F00000G",), ("20A06F000000", "root"), ("20A06F000000", "platform", "sev")):
        with pytest.raises(VerificationError) as info:
            PlatformKey.parse(*args)
        assert info.value.code == "input_invalid"


@pytest.mark.parametrize(
    "kw",
    [
        {"refresh_interval": 0},
        {"request_timeout": -1},
        {"workers": 0},
        {"max_request_bytes": 0},
        {"retries": 0},
        {"pccs_url": "ftp://pccs.example"},
        {"min_refresh": -5},
    ],
)
def test_config_refuses_unusable_values(kw: dict[str, object]) -> None:
    with pytest.raises(VerificationError) as info:
        ServiceConfig(**kw)  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"


def test_prometheus_text() -> None:
    c = Counter("x_total", "A counter.")
    c.inc({"code": 'a"b\\c\nd'})
    c.inc({"code": 'a"b\\c\nd'}, 2)
    h = Histogram("t_seconds", "A histogram.", buckets=(0.1, 1.0))
    for v in (0.05, 0.5, 5.0):
        h.observe(v)
    g = Sample("g", "A gauge.", [({"k": "v"}, -1.5), ({}, 3)])
    text = render([c, h, g])
    assert text.splitlines() == [
        "# HELP x_total A counter.",
        "# TYPE x_total counter",
        'x_total{code="a\\"b\\\\c\\nd"} 3',
        "# HELP t_seconds A histogram.",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{le="0.1"} 1',
        't_seconds_bucket{le="1"} 2',
        't_seconds_bucket{le="+Inf"} 3',
        "t_seconds_sum 5.55",
        "t_seconds_count 3",
        "# HELP g A gauge.",
        "# TYPE g gauge",
        "g 3",
        'g{k="v"} -1.5',
    ]
    assert c.value({"code": 'a"b\\c\nd'}) == 3 and h.count() == 3


@given(st.lists(st.floats(min_value=0, max_value=100), max_size=50))
def test_histogram_buckets_are_cumulative(values: list[float]) -> None:
    h = Histogram("h", "h")
    for v in values:
        h.observe(v)
    counts = [int(line.rsplit(" ", 1)[1]) for line in h.lines() if "_bucket" in line]
    assert counts == sorted(counts)
    assert (counts[-1] if counts else 0) == len(values)


def test_clocks() -> None:
    t = datetime(2025, 9, 17, tzinfo=timezone.utc)
    m = ManualClock(t)
    m.advance(10)
    assert m.now() == datetime(2025, 9, 17, 0, 0, 10, tzinfo=timezone.utc) and m.monotonic() == 10
    m.set(t)  # now may be set back (a test's choice); the monotonic reading never goes back
    assert m.now() == t and m.monotonic() == 10
    with pytest.raises(ValueError):
        m.advance(-1)
    f = FixedClock(1758093775)
    assert f.now() == datetime.fromtimestamp(1758093775, timezone.utc)
    first = f.monotonic()
    assert f.monotonic() >= first and f.now() == datetime.fromtimestamp(1758093775, timezone.utc)


def test_listening_socket_says_tcp() -> None:
    import socket

    from tdxverify.server.runner import bind

    # asyncio sets TCP_NODELAY on accepted connections only for sockets whose proto is TCP; without it
    # each answer on a kept-alive connection waits for the client's delayed ACK (~40 ms).
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_work_in_the_pool_is_time_limited() -> None:
    import asyncio
    import threading

    from tdxverify.server import Service

    svc = Service(ServiceConfig(request_timeout=0.05))
    release = threading.Event()
    try:
        with pytest.raises(VerificationError) as info:
            asyncio.run(svc.in_pool(release.wait, 10))
        assert info.value.code == "request_timeout" and "--request-timeout" in info.value.message
        assert asyncio.run(svc.in_pool(sum, [1, 2])) == 3
    finally:
        release.set()
        svc.close()
