"""The verify command's human output with --event-log: the named values the log binds, under the verdict line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tdxverify.cli import main
from tdxverify.testing import Forge

from .eventlog_builders import RawEvent, ccel_log, fold
from .vectors import VECTORS_DIR

MPC = VECTORS_DIR / "tdx-v4-near-mpc-dstack"
EXP = json.loads((MPC / "expected.json").read_text())
TCB = json.loads((MPC / "tcb_info.json").read_text())
LOG = str(MPC / "tcb_info.json")
BASE = [str(MPC / "quote.bin"), str(MPC / "collateral.json"), "--now", str(EXP["now"])]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(args)
    out, _ = capsys.readouterr()
    return code, out.splitlines()


def row(lines: list[str], key: str) -> str:
    """The value of the ``key`` row of the output."""
    (line,) = [x for x in lines if x.strip().startswith(key + " ")]
    return line.strip()[len(key) :].strip()


def test_named_values_are_listed_under_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run([*BASE, "--event-log", LOG], capsys)
    assert code == 0 and lines[0] == "VERIFIED: TDX quote v4, TCB status UpToDate"
    code_json, out_json = run([*BASE, "--event-log", LOG, "--json"], capsys)
    assert code_json == 0
    doc = json.loads("\n".join(out_json))["event_log"]
    assert row(lines, "event log") == f"dstack, {len(doc['events'])} events, replays to the quote's RTMR0-3"
    assert row(lines, "app-id") == doc["app_id"] == TCB["event_log"][21]["event_payload"]
    assert row(lines, "compose-hash") == doc["app_compose_hash"] == TCB["compose_hash"]
    assert row(lines, "instance-id") == '""'
    assert row(lines, "key-provider").startswith(doc["key_provider"] + ' ({"name":"local-sgx"')
    others = row(lines, "other named events").split(", ")
    assert set(others) == set(doc["named"]) - {"app-id", "compose-hash", "instance-id", "key-provider"}
    assert "mpc-image-digest" in others


def test_a_rejected_quote_still_shows_its_log_and_never_reads_verified(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run([*BASE, "--event-log", LOG, "--rtmr3", "11" * 48], capsys)
    assert code == 1 and lines[0].startswith("NOT VERIFIED: [policy_violation]")
    assert not any(x.lstrip().startswith("VERIFIED") for x in lines)
    assert row(lines, "compose-hash") == TCB["compose_hash"]
    assert lines.index("  policy:") > lines.index(next(x for x in lines if "compose-hash" in x))


def test_a_log_of_another_td_shows_no_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run([*BASE, "--event-log", str(VECTORS_DIR / "tdx-v4-gcp-cos-ccel" / "ccel_data.bin")], capsys)
    assert code == 1 and lines[0].startswith("NOT VERIFIED: [event_log_mismatch]")
    assert not any("event log " in x or "compose-hash" in x for x in lines[1:])


def test_a_ccel_log_without_named_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forge = Forge(seed="cli-eventlog-output")
    events = [RawEvent(i + 1, 0x80000001, bytes([0x60 + i]) * 48, b"") for i in range(4)]
    rtmrs = fold([(e.mr_index - 1, e.digest) for e in events])
    files = {
        "q.bin": forge.quote(rtmr0=rtmrs[0], rtmr1=rtmrs[1], rtmr2=rtmrs[2], rtmr3=rtmrs[3]),
        "c.json": json.dumps(forge.collateral()).encode(),
        "r.der": forge.root_ca_der,
        "log.bin": ccel_log(events),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    p = {n: str(tmp_path / n) for n in files}
    code, lines = run(
        [p["q.bin"], p["c.json"], "--now", str(forge.now), "--root-ca", p["r.der"], "--event-log", p["log.bin"]],
        capsys,
    )
    assert code == 0 and lines[0].startswith("VERIFIED: TDX quote v4")
    assert row(lines, "event log").startswith("ccel, ") and "replays to the quote's RTMR0-3" in lines[-1]


def test_event_log_from_stdin_and_two_dashes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((MPC / "tcb_info.json").read_bytes())))
    code, lines = run([*BASE, "--event-log", "-"], capsys)
    assert code == 0 and row(lines, "compose-hash") == TCB["compose_hash"]
    quote = (MPC / "quote.bin").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(quote)))
    code = main(["-", str(MPC / "collateral.json"), "--now", str(EXP["now"]), "--event-log", "-"])
    _, err = capsys.readouterr()
    assert code == 2 and "QUOTE and event-log are both '-'" in err


def test_eventlog_command_reads_stdin_once(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((MPC / "tcb_info.json").read_bytes())))
    code, lines = run(["eventlog", "-", "--quote", str(MPC / "quote.bin")], capsys)
    assert code == 0 and lines[-1].endswith("matches the quote")
    for extra in (["--compare", "-"], ["--quote", "-"]):
        code = main(["eventlog", "-", *extra])
        _, err = capsys.readouterr()
        assert code == 2 and "both '-'" in err, err
