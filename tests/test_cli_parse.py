"""`tdxverify parse`: fields, JSON keys of expected.json, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tdxverify.cli import main

from .vectors import Vector, all_vectors


@pytest.mark.parametrize("vec", all_vectors(), ids=lambda v: v.name)
def test_parse_json_matches_expected(vec: Vector, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(vec.quote_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = vec.expected["parsed"]
    assert {k: out["parsed"].get(k) for k in expected} == expected
    assert out["pck"]["fmspc"] == expected["fmspc"]


def test_parse_human(capsys: pytest.CaptureFixture[str]) -> None:
    vec = next(v for v in all_vectors() if v.name == "tdx-v4-near-contract")
    assert main(["parse", str(vec.quote_path)]) == 0
    out = capsys.readouterr().out
    assert f"rtmr3: {vec.expected['parsed']['rtmr3']}" in out
    assert "fmspc: 20A06F000000" in out
    assert "trailing_data_length: 70" in out


def test_parse_bad_quote_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes.fromhex("0400020081000000") + b"\x00" * 60)
    assert main(["parse", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert out["error"]["code"] == "quote_format"
    assert "offset" in out["error"]["message"]
    assert main(["parse", str(bad)]) == 1
    assert "[quote_format]" in capsys.readouterr().err


def test_parse_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(tmp_path / "missing.bin")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["parse"]) == 2
    assert main(["parse", "x", "--no-such-flag"]) == 2
    assert main([]) == 2


def test_parse_stdin_and_module_entry_point() -> None:
    vec = next(v for v in all_vectors() if v.name == "tdx-v4-tappd-parse-only")
    result = subprocess.run(
        [sys.executable, "-m", "tdxverify", "parse", "-", "--json"],
        input=vec.quote_path.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["parsed"]["mr_td"] == vec.expected["parsed"]["mr_td"]
    assert b"Traceback" not in result.stderr
