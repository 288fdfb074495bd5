"""The shipped JSON schema of `--json` holds for real CLI output: every real vector, every
conformance case (success, every failure, policy rejections) and `tdxverify batch` lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tdxverify import ERROR_CODES
from tdxverify.cli import main
from tdxverify.schema import verdict_schema
from tdxverify.tcb import RESULT_STATUSES

from .vectors import VECTORS_DIR, verifiable_vectors

SCHEMA = verdict_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
CONFORMANCE = sorted(p for p in (VECTORS_DIR / "conformance").iterdir() if (p / "expected.json").exists())


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def check(doc: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    if doc["error"] is not None:
        assert doc["error"]["code"] in ERROR_CODES


def test_the_schema_is_valid_and_ships_in_the_package() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    import tdxverify

    assert (Path(tdxverify.__file__).parent / "data" / "verdict.schema.json").is_file()


def test_schema_statuses_are_the_verifiers() -> None:
    assert set(SCHEMA["$defs"]["status"]["enum"]) == set(RESULT_STATUSES)


@pytest.mark.parametrize("vec", verifiable_vectors(), ids=lambda v: v.name)
def test_real_vectors(vec: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli_json([str(vec.quote_path), str(vec.collateral_path), "--now", str(vec.now), "--json"], capsys)
    doc = json.loads(out)
    check(doc)
    assert doc["ok"] is (code == 0)


@pytest.mark.parametrize("case", CONFORMANCE, ids=lambda p: p.name)
def test_conformance_cases(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = json.loads((case / "expected.json").read_text())
    args = [str(case / "quote.bin"), str(case / "collateral.json"), "--now", str(expected["now"])]
    args += ["--root-ca", str(case / "root_ca.der"), "--json"]
    if expected.get("policy") is not None:
        policy = tmp_path / "policy.json"
        policy.write_text(json.dumps(expected["policy"]))
        args += ["--policy", str(policy)]
    code, out = cli_json(args, capsys)
    doc = json.loads(out)
    check(doc)
    assert doc["ok"] is expected["verdict"]["ok"] and code == (0 if doc["ok"] else 1)
    if not doc["ok"]:
        assert doc["error"]["code"] == expected["verdict"]["code"]


def test_a_violation_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    vec = verifiable_vectors()[0]
    _, out = cli_json([str(vec.quote_path), str(vec.collateral_path), "--now", str(vec.now), "--json"], capsys)
    doc = json.loads(out)
    for broken in (
        {**doc, "surprise": 1},
        {**doc, "ok": "yes"},
        {k: v for k, v in doc.items() if k != "error"},
        {**doc, "status": "Fine"},
        {**doc, "report_data": "00"},
    ):
        assert list(VALIDATOR.iter_errors(broken)), broken


def test_batch_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.dumps({"id": v.name, "quote": v.quote.hex()}) for v in verifiable_vectors()]
    rows.insert(1, "not json")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(rows) + "\n")
    vec = verifiable_vectors()[0]
    _, out = cli_json(["batch", str(src), str(vec.collateral_path), "--now", str(vec.now)], capsys)
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(rows)
    for doc in lines:
        check(doc)
    assert lines[0]["ok"] and lines[1]["error"]["code"] == "input_invalid"
