"""tdxverify serve with event logs and with a server policy that requests may only tighten.

Real vector: NEAR MPC's dstack quote and its tcb_info.json; forged quotes for CCEL logs and SGX. Every
server runs on 127.0.0.1, started by the test.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tdxverify.cli import main as cli_main
from tdxverify.eventlog import runtime_digest
from tdxverify.policy import Policy, load_policy
from tdxverify.server import ManualClock, ServiceConfig
from tdxverify.server.runner import BackgroundServer
from tdxverify.testing import Forge
from tdxverify.testing.pcs import PcsServer, serve_collateral

from .eventlog_builders import RawEvent, ccel_log, fold
from .server_support import VECTORS, key_of, post_json

MPC = next(v for v in VECTORS if v.name == "tdx-v4-near-mpc-dstack")
TCB_PATH = MPC.path / "tcb_info.json"
TCB: dict[str, Any] = json.loads(TCB_PATH.read_text())
COMPOSE = TCB["compose_hash"]
APP_ID = next(e["event_payload"] for e in TCB["event_log"] if e["event"] == "app-id")
RTMR3 = MPC.expected["parsed"]["rtmr3"]


pytestmark = pytest.mark.usefixtures("no_proxies")


@pytest.fixture
def upstream() -> Iterator[PcsServer]:
    s = PcsServer()
    assert MPC.collateral is not None
    serve_collateral(s, key_of(MPC).tee, MPC.collateral)
    yield s
    s.close()


def serve(upstream: PcsServer, policy: Policy | None = None, **kw: Any) -> BackgroundServer:
    now = kw.pop("now", MPC.now)
    return BackgroundServer(ServiceConfig(pccs_url=upstream.url, tick=0.05, policy=policy, **kw), ManualClock(now))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    cli_main([str(MPC.quote_path), str(MPC.collateral_path), "--now", str(MPC.now), *args, "--json"])
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def check_schema(doc: dict[str, Any]) -> None:
    """The answer is what /openapi.json documents (the ``sources`` of a combined policy included)."""
    spec = json.loads(resources.files("tdxverify.server").joinpath("openapi.json").read_text())
    jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Verdict", "components": spec["components"]}
    ).validate(doc)


def names(doc: dict[str, Any]) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in doc["policy"]["checks"]}


def mutated_app_id() -> list[dict[str, Any]]:
    """The bare event list with another app-id, its digest recomputed: a well-formed log of another TD."""
    events = copy.deepcopy(TCB["event_log"])
    ev = next(e for e in events if e["event"] == "app-id")
    ev["event_payload"] = "00" * 20
    ev["digest"] = runtime_digest(ev["event_type"], ev["event"], bytes(20)).hex()
    return events


# --------------------------------------------------------------------------- event logs


def test_dstack_log_over_http_equals_the_cli(upstream: PcsServer, capsys: pytest.CaptureFixture[str]) -> None:
    expected = cli(capsys, "--event-log", str(TCB_PATH))
    assert expected["ok"] is True and expected["event_log"]["app_compose_hash"] == COMPOSE
    with serve(upstream) as srv:
        for log in (TCB, TCB["event_log"], json.dumps(TCB)):  # tcb_info.json, its event list, as JSON text
            r = post_json(srv.url, {"quote": MPC.quote.hex(), "event_log": log})
            assert (r.status, r.json()) == (200, expected)
        check_schema(r.json())
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "collateral": MPC.collateral, "event_log": TCB})
        assert (r.status, r.json()) == (200, expected)


def test_a_log_of_another_td_is_a_verdict_not_a_malformed_request(
    upstream: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(mutated_app_id()))
    expected = cli(capsys, "--event-log", str(other))
    assert expected["ok"] is False and expected["error"]["code"] == "event_log_mismatch"
    with serve(upstream) as srv:
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "event_log": mutated_app_id()})
        assert (r.status, r.json()) == (200, expected)
        assert "RTMR3" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("name", "log", "code"),
    [
        ("digest does not match payload", "digest", "event_log_invalid"),
        # A document that contradicts itself, whatever the quote: refused as sent, with the replay's code.
        ("tcb_info rtmr3 contradicts its log", "holder", "event_log_mismatch"),
        ("a number", 5, "event_log_invalid"),
        ("a boolean", True, "event_log_invalid"),
        ("not hex nor base64", "@@not a log@@", "event_log_invalid"),
        ("empty string", "   ", "event_log_invalid"),
        ("base64 of garbage", base64.b64encode(b"\x07" * 64).decode(), "event_log_invalid"),
        ("json text, broken", "{not json", "event_log_invalid"),
    ],
)
def test_an_unreadable_log_is_a_malformed_request(upstream: PcsServer, name: str, log: Any, code: str) -> None:
    if log == "digest":
        events = copy.deepcopy(TCB["event_log"])
        next(e for e in events if e["event"] == "app-id")["digest"] = "00" * 48
        log = events
    elif log == "holder":
        log = {**TCB, "event_log": mutated_app_id()}  # its own rtmr3 no longer matches its events
    with serve(upstream) as srv:
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "event_log": log})
        assert r.status == 400, r.body
        doc = r.json()
        assert doc["ok"] is False and doc["error"]["code"] == code, doc
        assert doc["measurements"] is None


def test_a_string_is_never_a_path(upstream: PcsServer, tmp_path: Path) -> None:
    """A valid log's path, as the member's value, is not read: it is not hex, base64 or JSON text."""
    with serve(upstream) as srv:
        for text in (str(TCB_PATH), str(TCB_PATH.relative_to(TCB_PATH.parents[2])), "tcb_info.json"):
            r = post_json(srv.url, {"quote": MPC.quote.hex(), "event_log": text})
            assert r.status == 400 and r.json()["error"]["code"] == "event_log_invalid", (text, r.body)


def test_ccel_binary_as_hex_and_base64(upstream: PcsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    forge = Forge(seed="server-ccel")
    events = [RawEvent(i + 1, 0x80000001, bytes([0x40 + i]) * 48, b"") for i in range(4)]
    events += [RawEvent(4, 0x0D, bytes([0x50]) * 48, b"")]
    rtmrs = fold([(e.mr_index - 1, e.digest) for e in events])
    log = ccel_log(events)
    quote = forge.quote(rtmr0=rtmrs[0], rtmr1=rtmrs[1], rtmr2=rtmrs[2], rtmr3=rtmrs[3])
    other = forge.quote(rtmr3=bytes(48))
    paths = {"q.bin": quote, "c.json": json.dumps(forge.collateral()).encode(), "r.der": forge.root_ca_der}
    for n, data in {**paths, "log.bin": log}.items():
        (tmp_path / n).write_bytes(data)
    capsys.readouterr()
    cli_main([*(str(tmp_path / n) for n in ("q.bin", "c.json")), "--now", str(forge.now), "--root-ca",
              str(tmp_path / "r.der"), "--event-log", str(tmp_path / "log.bin"), "--json"])  # fmt: skip
    expected = json.loads(capsys.readouterr().out)
    assert expected["ok"] is True and expected["event_log"]["format"] == "ccel"
    serve_collateral(upstream, "TDX", forge.collateral())
    with serve(upstream, root_ca=forge.root_ca_der, now=forge.now) as srv:
        for text in (log.hex(), "0x" + log.hex().upper(), base64.b64encode(log).decode()):
            r = post_json(srv.url, {"quote": quote.hex(), "event_log": text})
            assert (r.status, r.json()) == (200, expected)
        r = post_json(srv.url, {"quote": other.hex(), "event_log": log.hex()})
        assert r.status == 200 and r.json()["error"]["code"] == "event_log_mismatch"
        # An SGX quote has no RTMRs: a log with it is a verdict (the quote parsed), not a malformed request.
        sgx = forge.quote(version=3)
        serve_collateral(upstream, "SGX", forge.collateral("SGX"))
        r = post_json(srv.url, {"quote": sgx.hex(), "event_log": log.hex()})
        assert r.status == 200 and r.json()["error"]["code"] == "event_log_invalid", r.body


# --------------------------------------------------------------------------- server policy as a floor

SERVER = {"measurements": {"rtmr3": [RTMR3]}, "event_values": {"compose-hash": [COMPOSE]}}


def test_a_looser_request_policy_cannot_override_the_server(upstream: PcsServer) -> None:
    strict = load_policy({"measurements": {"rtmr3": ["11" * 48]}})
    loose = {"accepted_statuses": ["UpToDate", "SWHardeningNeeded", "OutOfDate"]}
    with serve(upstream, policy=strict) as srv:
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "policy": loose})
        doc = r.json()
        assert r.status == 200 and doc["ok"] is False and doc["error"]["code"] == "policy_violation"
        assert names(doc) == {"server:status": True, "server:measurement:rtmr3": False, "request:status": True}
        assert doc["policy"]["sources"] == {"server": False, "request": True}
        check_schema(doc)
        assert "server:measurement:rtmr3" in doc["error"]["message"]
        assert doc["measurements"]["rtmr3"] == RTMR3  # a verified quote shows what it measured
        # An empty request policy is the default policy: it loosens nothing either.
        assert post_json(srv.url, {"quote": MPC.quote.hex(), "policy": {}}).json()["ok"] is False


def test_a_tighter_request_policy_adds_its_rules(upstream: PcsServer) -> None:
    with serve(upstream, policy=load_policy(SERVER)) as srv:
        base = {"quote": MPC.quote.hex(), "event_log": TCB}
        r = post_json(srv.url, base)  # no request policy: the server's alone, names unprefixed
        assert r.json()["ok"] is True and "sources" not in r.json()["policy"]
        assert names(r.json()) == {"status": True, "measurement:rtmr3": True, "event:compose-hash": True}
        ok = post_json(srv.url, {**base, "policy": {"event_values": {"app-id": [APP_ID]}}}).json()
        assert ok["ok"] is True and ok["error"] is None
        assert names(ok) == {
            "server:status": True, "server:measurement:rtmr3": True, "server:event:compose-hash": True,
            "request:status": True, "request:event:app-id": True,
        }  # fmt: skip
        assert ok["policy"] == {**ok["policy"], "ok": True, "sources": {"server": True, "request": True}}
        check_schema(ok)
        no = post_json(srv.url, {**base, "policy": {"event_values": {"app-id": ["00" * 20]}}}).json()
        assert no["ok"] is False and no["error"]["code"] == "policy_violation"
        assert no["policy"]["sources"] == {"server": True, "request": False}
        assert "request:event:app-id" in no["error"]["message"]
        # The server's event rule needs the log, whatever the request's policy says.
        bare = post_json(srv.url, {"quote": MPC.quote.hex(), "policy": {"event_values": {"app-id": [APP_ID]}}})
        assert names(bare.json())["server:event:compose-hash"] is False
        assert names(bare.json())["request:event:app-id"] is False


def test_without_a_server_policy_the_request_policy_applies_alone(upstream: PcsServer) -> None:
    with serve(upstream) as srv:
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "event_log": TCB, "policy": SERVER})
        assert r.json()["ok"] is True and "sources" not in r.json()["policy"]
        assert set(names(r.json())) == {"status", "measurement:rtmr3", "event:compose-hash"}
        r = post_json(srv.url, {"quote": MPC.quote.hex(), "policy": SERVER})  # no log: its event rule fails
        assert r.json()["error"]["code"] == "policy_violation" and names(r.json())["event:compose-hash"] is False


def test_debug_is_allowed_only_when_both_policies_allow_it(tmp_path: Path) -> None:
    forge = Forge(seed="server-debug")
    upstream = PcsServer()
    serve_collateral(upstream, "TDX", forge.collateral())
    debug = forge.quote(td_attributes=bytes([1]) + bytes(7))
    allow = {"allow_debug": True}
    try:
        for server, request, code in (
            (None, allow, None),
            (allow, None, None),
            (allow, {}, "debug_td"),  # the request does not grant it
            ({}, allow, "debug_td"),  # the server does not grant it
            (allow, allow, None),
        ):
            pol = load_policy(server) if server is not None else None
            with serve(upstream, policy=pol, root_ca=forge.root_ca_der, now=forge.now) as srv:
                body: dict[str, Any] = {"quote": debug.hex()}
                if request is not None:
                    body["policy"] = request
                r = post_json(srv.url, body)
                assert r.status == 200, r.body
                assert (r.json()["error"] or {}).get("code") == code, (server, request, r.body)
    finally:
        upstream.close()
