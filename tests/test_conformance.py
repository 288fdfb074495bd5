"""The conformance suite: every case verifies as expected, from the files other verifiers would use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdxverify import VerificationError, load_policy, verify
from tdxverify.testing.conformance import CASES, SEED, Case, write_suite

SUITE = Path(__file__).resolve().parent.parent / "vectors" / "conformance"

PIPELINE_STEPS = {
    "header",
    "collateral",
    "pck_chain",
    "qe_report",
    "qe_report_data",
    "qe_identity",
    "quote_signature",
    "platform_match",
    "platform_tcb",
    "tdx_module",
    "tcb_status",
    "attributes",
    "policy",
}
STATUSES = {
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "TDRelaunchAdvised",
    "TDRelaunchAdvisedConfigurationNeeded",
}


def test_suite_size_and_coverage() -> None:
    assert len(CASES) >= 60
    failing_steps = {c.step for c in CASES if not c.accepted}
    assert failing_steps >= PIPELINE_STEPS, PIPELINE_STEPS - failing_steps
    assert {c.status for c in CASES if c.accepted} == STATUSES
    assert any(c.code == "tcb_revoked" for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_from_files(case: Case) -> None:
    d = SUITE / case.name
    expected = json.loads((d / "expected.json").read_text())
    assert expected["verdict"] == case.expectation()
    policy = load_policy(expected["policy"]) if expected["policy"] is not None else None
    kwargs = {"now": expected["now"], "root_ca": (d / "root_ca.der").read_bytes(), "policy": policy}
    if case.accepted:
        verdict = verify(d / "quote.bin", d / "collateral.json", **kwargs)  # type: ignore[arg-type]
        assert verdict.status == case.status
        assert sorted(verdict.advisory_ids) == sorted(case.advisory_ids)
    else:
        with pytest.raises(VerificationError) as info:
            verify(d / "quote.bin", d / "collateral.json", **kwargs)  # type: ignore[arg-type]
        assert info.value.code == case.code, info.value.message
        assert info.value.message


def test_regenerates_byte_identically(tmp_path: Path) -> None:
    written = write_suite(tmp_path)
    assert len(written) == 4 * len(CASES) + 1
    for path in written:
        committed = SUITE / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs from its regeneration"
    manifest = json.loads((SUITE / "manifest.json").read_text())
    assert manifest["seed"] == SEED
    assert [c["name"] for c in manifest["cases"]] == [c.name for c in CASES]
    on_disk = {p.name for p in SUITE.iterdir() if p.is_dir()}
    assert on_disk == {c.name for c in CASES}, "stale or missing case folders"
