"""`tdxverify batch`: directories and JSONL streams, per-FMSPC collateral, order, summary, exit codes, progress."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tdxverify.cli import main
from tdxverify.testing import Forge

from .vectors import verifiable_vectors

BY = {v.name: v for v in verifiable_vectors()}
NEAR = BY["tdx-v4-near-contract"]
PHALA_NOW = "1751624924"  # inside the windows of both Phala samples (TDX and SGX)
FORGE = Forge(seed="cli-batch")
TDXVERIFY = [sys.executable, "-m", "tdxverify"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]], str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture()
def forged(tmp_path: Path) -> dict[str, Path]:
    """Forged quotes in a directory, their collateral, a newer collateral revoking the TCB, and the root."""
    qdir = tmp_path / "quotes"
    qdir.mkdir()
    for i in range(10):
        (qdir / f"q{i:02d}.bin").write_bytes(FORGE.quote(report_data=i.to_bytes(64, "big")))
    current = tmp_path / "collateral.json"
    current.write_text(json.dumps(FORGE.collateral()))
    revoked = tmp_path / "collateral-revoked.json"
    revoked.write_text(
        json.dumps(FORGE.collateral(tcb_info=FORGE.tcb_info().with_status("Revoked", ("INTEL-SA-09999",))))
    )
    root = tmp_path / "root.der"
    root.write_bytes(FORGE.root_ca_der)
    return {"quotes": qdir, "collateral": current, "revoked": revoked, "root": root}


def test_directory_of_real_quotes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("b.hex", "a.hex", "c.hex"):
        shutil.copy(NEAR.quote_path, tmp_path / name)
    code, rows, err = run(
        ["batch", str(tmp_path), str(NEAR.collateral_path), "--now", "2025-09-17T07:22:55Z", "--jobs", "2"], capsys
    )
    assert code == 0
    assert [r["id"] for r in rows] == ["a.hex", "b.hex", "c.hex"]  # sorted: a stable input order
    for r in rows:
        assert r["ok"] is True and r["status"] == "UpToDate" and r["error"] is None
        assert r["measurements"]["rtmr3"] == NEAR.expected["parsed"]["rtmr3"]
    assert "batch: 3 quote(s): 3 verified, 0 not verified" in err
    assert "status UpToDate: 3" in err
    assert "\r" not in err  # not a terminal: no progress bar


def test_single_quote_json_matches_verify_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(NEAR.quote_path, tmp_path / "q.hex")
    _, rows, _ = run(["batch", str(tmp_path), str(NEAR.collateral_path), "--now", str(NEAR.now)], capsys)
    assert main([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert rows[0] == {"id": "q.hex", **single}


def test_jsonl_stream_with_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hexq = NEAR.quote.hex()
    src = write_jsonl(
        tmp_path / "archive.jsonl",
        [
            {"id": "w-1", "quote": hexq},
            "this is not json",
            "",
            {"id": "w-3"},
            {"id": 4, "quote": "00" * 10},
            {"id": "w-5", "quote": hexq},
            ["not", "an", "object"],
        ],
    )
    code, rows, err = run(["batch", str(src), str(NEAR.collateral_path), "--now", str(NEAR.now)], capsys)
    assert code == 1
    assert [r["id"] for r in rows] == ["w-1", "line 2", "w-3", "4", "w-5", "line 7"]
    assert [r["ok"] for r in rows] == [True, False, False, False, True, False]
    assert [r["error"]["code"] if r["error"] else None for r in rows] == [
        None,
        "input_invalid",
        "input_invalid",
        "quote_format",
        None,
        "input_invalid",
    ]
    assert "line 2" in rows[1]["error"]["message"] and "not verified" in rows[1]["error"]["message"]
    assert "6 quote(s): 2 verified, 4 not verified" in err
    assert "error input_invalid: 3" in err and "error quote_format: 1" in err


def test_jsonl_on_stdin_through_the_console(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": f"s{i}", "quote": NEAR.quote.hex()}) + "\n" for i in range(4))
    proc = subprocess.run(
        [*TDXVERIFY, "batch", "-", str(NEAR.collateral_path), "--now", str(NEAR.now), "--jobs", "2"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == ["s0", "s1", "s2", "s3"]
    assert proc.stderr.startswith("batch: 4 quote(s): 4 verified")


def test_per_fmspc_collateral_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tdx, sgx = BY["tdx-v4-phala-uptodate"], BY["sgx-v3-phala"]
    cdir = tmp_path / "collateral"
    cdir.mkdir()
    shutil.copy(tdx.collateral_path, cdir / "B0C06F000000.json")
    shutil.copy(sgx.collateral_path, cdir / "00A067110000-sgx.json")
    src = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"id": "tdx", "quote": tdx.quote.hex()},
            {"id": "sgx", "quote": sgx.quote.hex()},
            {"id": "near", "quote": NEAR.quote.hex()},
        ],
    )
    code, rows, err = run(["batch", str(src), str(cdir), "--now", PHALA_NOW], capsys)
    assert code == 1
    assert [(r["id"], r["ok"], r["status"]) for r in rows] == [
        ("tdx", True, "UpToDate"),
        ("sgx", True, sgx.expected["verdict"]["status"]),
        ("near", False, None),
    ]
    assert rows[1]["tee_type"] == "SGX" and rows[1]["fmspc"] == "00A067110000"
    assert rows[2]["error"]["code"] == "collateral_missing"
    assert "error collateral_missing: 1" in err


def test_revoked_tcb_reaudit(forged: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--now", str(FORGE.now), "--root-ca", str(forged["root"])]
    code, rows, err = run(["batch", str(forged["quotes"]), str(forged["collateral"]), *common], capsys)
    assert code == 0 and len(rows) == 10 and all(r["status"] == "UpToDate" for r in rows)
    summary = forged["quotes"].parent / "summary.json"
    code, rows, err = run(
        ["batch", str(forged["quotes"]), str(forged["revoked"]), *common, "--summary", str(summary)], capsys
    )
    assert code == 1
    assert [r["id"] for r in rows] == [f"q{i:02d}.bin" for i in range(10)]
    assert {r["error"]["code"] for r in rows} == {"tcb_revoked"}
    assert all("INTEL-SA-09999" in r["error"]["message"] for r in rows)
    assert "10 quote(s): 0 verified, 10 not verified" in err and "error tcb_revoked: 10" in err
    doc = json.loads(summary.read_text())
    assert doc["total"] == 10 and doc["failed"] == 10 and doc["errors"] == {"tcb_revoked": 10}


def test_forged_failures_policy_and_jobs_agree(forged: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    qdir = forged["quotes"]
    (qdir / "q03.bin").write_bytes(FORGE.quote(corrupt="quote_signature"))
    (qdir / "q07.bin").write_bytes(FORGE.quote(rtmr3=b"\x07" * 48))
    policy = qdir.parent / "policy.json"
    policy.write_text(json.dumps({"measurements": {"rtmr3": ["00" * 48]}}))
    args = ["batch", str(qdir), str(forged["collateral"]), "--now", str(FORGE.now), "--root-ca", str(forged["root"])]
    outputs = []
    for jobs in ("1", "2"):
        code, rows, _ = run([*args, "--policy", str(policy), "--jobs", jobs], capsys)
        assert code == 1
        outputs.append(rows)
    assert outputs[0] == outputs[1]
    rows = outputs[0]
    assert rows[3]["error"]["code"] == "quote_signature_invalid" and rows[3]["measurements"] is None
    assert rows[7]["error"]["code"] == "policy_violation" and rows[7]["status"] == "UpToDate"
    assert rows[7]["measurements"]["rtmr3"] == "07" * 48  # a policy rejection shows what was measured
    assert sum(r["ok"] for r in rows) == 8


def test_output_file(forged: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = forged["quotes"].parent / "verdicts.jsonl"
    code = main(
        [
            "batch",
            str(forged["quotes"]),
            str(forged["collateral"]),
            "--now",
            str(FORGE.now),
            "--root-ca",
            str(forged["root"]),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == ""
    assert len(out.read_text().splitlines()) == 10


def test_dask_local_cluster(forged: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["batch", str(forged["quotes"]), str(forged["collateral"]), "--now", str(FORGE.now)]
    args += ["--root-ca", str(forged["root"])]
    code, local_rows, _ = run([*args, "--jobs", "1"], capsys)
    code, rows, err = run([*args, "--dask", "local", "--jobs", "2"], capsys)
    assert code == 0, err
    assert rows == local_rows
    assert "10 verified" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--glob", "*.nothing"], "no quote file"),
        (["--now", "yesterday"], "--now"),
        (["--dask", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    ],
)
def test_usage_errors_exit_2(
    forged: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["batch", str(forged["quotes"]), str(forged["collateral"]), *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unreadable_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "none.jsonl"), str(NEAR.collateral_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    src = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "quote": NEAR.quote.hex()}])
    assert main(["batch", str(src), str(tmp_path / "none.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    capsys.readouterr()
    assert main(["batch", str(src), str(bad)]) == 1  # malformed collateral: nothing can verify
    assert "collateral_format" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert main(["batch", str(empty), str(NEAR.collateral_path), "--now", str(NEAR.now)]) == 1
    assert "held no quotes" in capsys.readouterr().err


def _read_pty(fd: int, proc: subprocess.Popen[bytes]) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    return b"".join(chunks)


def test_progress_bar_on_a_terminal(forged: dict[str, Path]) -> None:
    """On a real (pseudo-)terminal, stderr shows a bar with count, rate and ETA; stdout stays JSONL."""
    main_fd, term_fd = pty.openpty()
    out = forged["quotes"].parent / "out.jsonl"
    proc = subprocess.Popen(
        [
            *TDXVERIFY,
            "batch",
            str(forged["quotes"]),
            str(forged["collateral"]),
            "--now",
            str(FORGE.now),
            "--root-ca",
            str(forged["root"]),
            "-o",
            str(out),
            "--jobs",
            "1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=term_fd,
    )
    os.close(term_fd)
    screen = _read_pty(main_fd, proc).decode()
    os.close(main_fd)
    assert proc.returncode == 0
    assert "\r[########################] 10/10" in screen
    assert "quotes/s" in screen and "ETA 0:00:00" in screen
    assert "batch: 10 quote(s): 10 verified" in screen
    assert len(out.read_text().splitlines()) == 10


def test_progress_can_be_forced_off_and_on(forged: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["batch", str(forged["quotes"]), str(forged["collateral"]), "--now", str(FORGE.now)]
    args += ["--root-ca", str(forged["root"]), "--jobs", "1"]
    _, _, err = run([*args, "--progress"], capsys)
    assert "\r[" in err and "ETA" in err
    _, _, err = run([*args, "--no-progress"], capsys)
    assert "\r" not in err


def test_progress_line_rate_and_eta() -> None:
    import io

    from tdxverify.cli.progress import Progress

    bar = Progress(io.StringIO(), total=200, enabled=False)
    bar.start = 1000.0
    for ok in [True] * 49 + [False]:
        bar.update(ok)
    line = bar.line(now=1010.0)  # 50 quotes in 10 s
    assert line.startswith("[######..................] 50/200  25.0%")
    assert "5 quotes/s" in line and "ETA 0:00:30" in line and "1 failed" in line
    assert bar.stream.getvalue() == ""  # disabled: nothing drawn
    stream = Progress(io.StringIO(), total=None, enabled=False)
    stream.start = 0.0
    stream.done = 7
    assert stream.line(now=3600.0) == "7 quotes  0 quotes/s  elapsed 1:00:00"
