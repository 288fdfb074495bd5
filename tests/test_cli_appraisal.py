"""The verify command's policy flags and --event-log, the eventlog command, and event-log policy rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdxverify import Policy, PolicyError, verify
from tdxverify.binding import b58encode
from tdxverify.cli import main
from tdxverify.testing import Forge

from .eventlog_builders import RawEvent, dstack_json, fold, runtime_digest
from .vectors import VECTORS_DIR

MPC = VECTORS_DIR / "tdx-v4-near-mpc-dstack"
EXP = json.loads((MPC / "expected.json").read_text())
TCB = json.loads((MPC / "tcb_info.json").read_text())
GCP = VECTORS_DIR / "tdx-v4-gcp-cos-ccel"
RTMR3 = EXP["parsed"]["rtmr3"]
OTHER = "11" * 48
BASE = [str(MPC / "quote.bin"), str(MPC / "collateral.json"), "--now", str(EXP["now"])]
COMPOSE = TCB["compose_hash"]
DSTACK = 0x08000001


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def checks(out: str) -> dict[str, bool]:
    return {c["name"]: c["ok"] for c in json.loads(out)["policy"]["checks"]}


def test_rtmr3_not_approved_is_diagnosed_in_one_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*BASE, "--rtmr3", OTHER, "--rtmr3", "22" * 48], capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if "measurement:rtmr3" in x and "[FAIL]" in x)
    assert RTMR3 in line and OTHER in line and "22" * 48 in line  # measured next to the approved ones
    assert "[ok] status" in out
    code, out, _ = run([*BASE, "--rtmr3", OTHER, "--rtmr3", RTMR3, "--json"], capsys)
    assert code == 0 and checks(out) == {"status": True, "measurement:rtmr3": True}


def test_status_and_advisory_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*BASE, "--status", "OutOfDate", "--json"], capsys)
    assert code == 1 and checks(out) == {"status": False}
    assert "accepted: OutOfDate" in json.loads(out)["policy"]["checks"][0]["detail"]
    code, out, _ = run([*BASE, "--status", "OutOfDate", "--status", "UpToDate", "--no-advisories", "--json"], capsys)
    assert code == 0 and checks(out) == {"status": True, "advisory_ids": True}
    sgx = VECTORS_DIR / "sgx-v3-phala"
    sexp = json.loads((sgx / "expected.json").read_text())
    sargs = [str(sgx / "quote.bin"), str(sgx / "collateral.json"), "--now", str(sexp["now"])]
    code, out, _ = run([*sargs, "--status", sexp["verdict"]["status"], "--no-advisories", "--json"], capsys)
    assert code == 1 and checks(out) == {"status": True, "advisory_ids": False}


def test_report_data_and_public_key_flags(capsys: pytest.CaptureFixture[str]) -> None:
    rd = EXP["parsed"]["report_data"]
    code, out, _ = run([*BASE, "--report-data", rd[:20], "--json"], capsys)
    assert code == 0 and checks(out) == {"status": True, "report_data": True}
    code, out, _ = run([*BASE, "--report-data", "ff" + rd[2:20], "--json"], capsys)
    assert code == 1 and checks(out) == {"status": True, "report_data": False}
    key = bytes.fromhex(rd[:64])  # the first 32 bytes, as the register contract would read them
    code, out, _ = run([*BASE, "--public-key", "ed25519:" + b58encode(key), "--json"], capsys)
    # The key matches; this quote (NEAR MPC's layout) has non-zero bytes after it, so the zero rule fails.
    assert code == 1 and checks(out) == {"status": True, "public_key": True, "report_data_rest": False}
    code, out, _ = run([*BASE, "--public-key", EXP["near_signer_public_key"], "--json"], capsys)
    assert code == 1 and checks(out)["public_key"] is False


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--rtmr3", "zz"], "not hex"),
        (["--rtmr3", "00" * 47], "47 bytes given, 48 expected"),
        (["--status", "Fine"], "not a TCB status"),
        (["--status", "Revoked"], "not a TCB status"),
        (["--report-data", "00" * 65], "1 to 64 bytes"),
        (["--public-key", "ed25519:0"], "not a base58 character"),
        (["--public-key", "00" * 31], "32"),
        (["--public-key", "00" * 32, "--report-data", "01"], "contradicts public_key"),
        (["--event-log-format", "ccel"], "needs --event-log"),
        (["--event-log", "/nonexistent/log"], "cannot read"),
        (["--event-log", "x", "--event-log-format", "tpm"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2(flags: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*BASE, *flags], capsys)
    assert code == 2
    assert words in err and "Traceback" not in err


def _policy_file(tmp_path: Path, doc: dict[str, object]) -> str:
    p = tmp_path / "policy.json"
    p.write_text(json.dumps(doc))
    return str(p)


def test_flags_tighten_the_policy_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    both = _policy_file(tmp_path, {"measurements": {"rtmr3": [RTMR3, OTHER]}, "accepted_statuses": ["UpToDate"]})
    code, out, _ = run([*BASE, "--policy", both, "--rtmr3", RTMR3, "--no-advisories", "--json"], capsys)
    assert code == 0 and checks(out) == {"status": True, "advisory_ids": True, "measurement:rtmr3": True}
    # The flag narrows the file's list to the common value: the quote's RTMR3 is no longer approved.
    code, out, _ = run([*BASE, "--policy", both, "--rtmr3", OTHER, "--rtmr3", "22" * 48, "--json"], capsys)
    assert code == 1 and checks(out)["measurement:rtmr3"] is False
    # The file does not set statuses: the flag sets them.
    code, out, _ = run([*BASE, "--policy", _policy_file(tmp_path, {}), "--status", "OutOfDate", "--json"], capsys)
    assert code == 1 and checks(out) == {"status": False}


@pytest.mark.parametrize(
    "doc,flags,words",
    [
        ({"measurements": {"rtmr3": [OTHER]}}, ["--rtmr3", RTMR3], "--rtmr3 contradicts --policy"),
        ({"accepted_statuses": ["UpToDate"]}, ["--status", "OutOfDate"], "the file accepts only UpToDate"),
        ({"report_data": "0001"}, ["--report-data", "0002"], "--report-data contradicts --policy"),
        ({"public_key": "00" * 32}, ["--public-key", "01" * 32], "--public-key contradicts --policy"),
        ({"report_data": "01"}, ["--public-key", "00" * 32], "not a valid policy"),
    ],
)
def test_contradictions_are_refused(
    doc: dict[str, object], flags: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([*BASE, "--policy", _policy_file(tmp_path, doc), *flags], capsys)
    assert code == 2 and words in err


def test_malformed_policy_file_with_flags_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*BASE, "--policy", _policy_file(tmp_path, {"rtmr3": []}), "--rtmr3", RTMR3, "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "policy_invalid"


# ----------------------------------------------------------------------------- --event-log and event-log rules


def test_verify_with_event_log_and_compose_hash_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = str(MPC / "tcb_info.json")
    code, out, _ = run([*BASE, "--event-log", log, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["event_log"]["app_compose_hash"] == COMPOSE
    assert doc["event_log"]["named"]["app-id"] == [TCB["event_log"][21]["event_payload"]]
    approved = _policy_file(
        tmp_path, {"event_values": {"compose-hash": [COMPOSE], "app-id": ["2911e1f733466216dedb862d6d669e11256ee7a3"]}}
    )
    code, out, _ = run(
        [*BASE, "--event-log", log, "--event-log-format", "dstack", "--policy", approved, "--json"], capsys
    )
    assert code == 0 and checks(out) == {"status": True, "event:app-id": True, "event:compose-hash": True}
    other = _policy_file(tmp_path, {"event_values": {"compose-hash": ["00" * 32]}})
    code, out, _ = run([*BASE, "--event-log", log, "--policy", other], capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if "[FAIL] event:compose-hash" in x)
    assert COMPOSE in line and "00" * 32 in line
    # Without an event log the rule cannot pass.
    code, out, _ = run([*BASE, "--policy", approved, "--json"], capsys)
    assert code == 1 and "no event log was given" in json.loads(out)["error"]["message"]
    # A log from another machine fails before any policy rule.
    code, out, _ = run([*BASE, "--event-log", str(GCP / "ccel_data.bin"), "--json"], capsys)
    err = json.loads(out)["error"]
    assert code == 1 and err["code"] == "event_log_mismatch" and "RTMR0" in err["message"]
    # A malformed log is exit 1 with its code; a wrong explicit format too.
    code, out, _ = run([*BASE, "--event-log", log, "--event-log-format", "ccel", "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "event_log_invalid"


def test_event_value_rules_in_python() -> None:
    def go(policy: Policy) -> object:
        return verify(
            (MPC / "quote.bin").read_bytes(),
            MPC / "collateral.json",
            now=EXP["now"],
            policy=policy,
            event_log=MPC / "tcb_info.json",
        )

    assert go(Policy(event_values={"compose-hash": {bytes.fromhex(COMPOSE)}})).ok  # type: ignore[attr-defined]
    with pytest.raises(PolicyError) as info:
        go(Policy(event_values={"os-image-hash": {bytes(32)}}))
    assert "does not name os-image-hash" in info.value.message


def test_a_name_logged_twice_never_passes() -> None:
    forge = Forge(seed="event-values")
    digest = runtime_digest(DSTACK, "compose-hash", b"\x01" * 32)
    events = [RawEvent(3, DSTACK, digest, b"\x01" * 32, "compose-hash")] * 2
    zero = bytes(48)
    quote = forge.quote(rtmr0=zero, rtmr1=zero, rtmr2=zero, rtmr3=fold([(3, digest), (3, digest)])[3])
    policy = Policy(event_values={"compose-hash": {b"\x01" * 32}})
    with pytest.raises(PolicyError) as info:
        verify(
            quote,
            forge.collateral(),
            now=forge.now,
            root_ca=forge.root_ca_der,
            policy=policy,
            event_log=dstack_json(events),
        )
    assert "names compose-hash 2 times; exactly one value is required" in info.value.message
    assert info.value.verdict.event_log.named["compose-hash"] == (b"\x01" * 32,) * 2  # type: ignore[attr-defined]


def test_eventlog_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["eventlog", str(MPC / "tcb_info.json"), "--quote", str(MPC / "quote.bin")], capsys)
    assert code == 0
    assert out.startswith("event log: dstack, 29 events")
    assert f"compose-hash: {COMPOSE}" in out
    assert out.count("matches the quote") == 4
    code, out, _ = run(["eventlog", str(GCP / "ccel_data.bin"), "--quote", str(GCP / "quote.bin"), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and len(doc["events"]) == 43 and all(m["ok"] for m in doc["quote_match"])
    assert doc["kernel_cmdline"] is not None
    code, out, _ = run(["eventlog", str(GCP / "ccel_data.bin"), "--quote", str(MPC / "quote.bin")], capsys)
    assert code == 1 and "DIFFERS: the quote has " + EXP["parsed"]["rtmr0"] in out and "NOT MATCHING" in out
    code, out, _ = run(["eventlog", str(GCP / "ccel_data.bin"), "--quote", str(MPC / "quote.bin"), "--json"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["error"]["code"] == "event_log_mismatch" and "RTMR0" in doc["error"]["message"]
    code, out, _ = run(["eventlog", str(MPC / "quote.bin")], capsys)
    assert code == 1 and out.startswith("NOT VALID: [event_log_invalid]")
    sgx = VECTORS_DIR / "sgx-v3-phala" / "quote.bin"
    code, out, _ = run(["eventlog", str(GCP / "ccel_data.bin"), "--quote", str(sgx), "--json"], capsys)
    assert code == 1 and json.loads(out)["error"]["code"] == "event_log_invalid"
    code, _, err = run(["eventlog", "/nonexistent"], capsys)
    assert code == 2 and "cannot read" in err


def test_eventlog_compare_shows_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [dict(e) for e in TCB["event_log"]]
    new_hash = bytes(range(32))
    for e in events:
        if e["event"] == "compose-hash":
            e["event_payload"] = new_hash.hex()
            e["digest"] = runtime_digest(e["event_type"], "compose-hash", new_hash).hex()
    new = tmp_path / "new.json"
    new.write_text(json.dumps(events))
    code, out, _ = run(["eventlog", str(new), "--compare", str(MPC / "tcb_info.json")], capsys)
    assert code == 0
    assert "RTMR0 unchanged" in out and "RTMR2 unchanged" in out
    assert f"RTMR3 {RTMR3} -> " in out and "from its event 2:" in out
    assert f"old: #22 DSTACK_RUNTIME_EVENT compose-hash: {COMPOSE}" in out
    assert f"compose-hash: {COMPOSE} -> {new_hash.hex()}" in out
    code, out, _ = run(["eventlog", str(new), "--compare", str(MPC / "tcb_info.json"), "--json"], capsys)
    cmp = json.loads(out)["comparison"]
    assert cmp["equal"] is False and [r["equal"] for r in cmp["rtmrs"]] == [True, True, True, False]
    assert cmp["rtmrs"][3]["position"] == 2 and cmp["named"]["compose-hash"]["new"] == [new_hash.hex()]
    code, out, _ = run(["eventlog", str(MPC / "tcb_info.json"), "--compare", str(MPC / "tcb_info.json")], capsys)
    assert code == 0 and "compared with OLD_LOG: no change" in out
    # A log that only gained events: the position is where the shorter one ends.
    longer = tmp_path / "longer.json"
    extra = {"imr": 3, "event_type": DSTACK, "event": "x", "event_payload": ""}
    extra["digest"] = runtime_digest(DSTACK, "x", b"").hex()
    longer.write_text(json.dumps([*TCB["event_log"], extra]))
    code, out, _ = run(["eventlog", str(longer), "--compare", str(MPC / "tcb_info.json")], capsys)
    assert "old: (no more events)" in out and 'x: (absent) -> ""' in out
