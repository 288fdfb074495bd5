"""docs/threat-model.md holds: every test it cites exists, and the attacks it describes behave as stated.

The existence check collects the cited test files with pytest itself. A cited name with a
parameter (``test_x[case]``) must be collected exactly; a bare name must be a collected test
function (any parameters). Rows marked pending cite no test and are not checked.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tdxverify import PolicyError, Verifier, load_collateral
from tdxverify.policy import Policy
from tdxverify.testing import Forge

ROOT = Path(__file__).resolve().parent.parent
THREAT_MODEL = ROOT / "docs" / "threat-model.md"
CITED = re.compile(r"`(tests/[\w/]+\.py::[\w]+(?:\[[^\]`]+\])?)`")
# Order of the P-256 group: (r, s) and (r, n - s) are both valid ECDSA signatures of the same message.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

FORGE = Forge(seed="threat-model")


def cited_tests() -> list[str]:
    return sorted(set(CITED.findall(THREAT_MODEL.read_text())))


def test_threat_model_cites_tests() -> None:
    cited = cited_tests()
    assert len(cited) >= 40
    assert {c.split("::")[0] for c in cited} >= {
        "tests/test_conformance.py",
        "tests/test_verify_mutations.py",
        "tests/test_threat_model.py",
        "tests/test_fuzz_harnesses.py",
    }


def test_every_cited_test_exists() -> None:
    cited = cited_tests()
    files = sorted({c.split("::")[0] for c in cited})
    missing_files = [f for f in files if not (ROOT / f).is_file()]
    assert not missing_files, f"threat model cites missing test files: {missing_files}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line.strip() for line in result.stdout.splitlines() if "::" in line}
    functions = {node.split("[")[0] for node in collected}
    missing = [c for c in cited if c not in (collected if "[" in c else functions)]
    assert not missing, f"threat model cites tests that do not exist: {missing}"


# ----------------------------------------------------------------------------- malleable signatures


def _high_s(sig: bytes) -> bytes:
    r, s = sig[:32], int.from_bytes(sig[32:], "big")
    return r + (P256_N - s).to_bytes(32, "big")


def _verify(raw: bytes, col: object, policy: Policy | None = None):  # type: ignore[no-untyped-def]
    return Verifier(root_ca=FORGE.root_ca_der, policy=policy).verify(raw, col, FORGE.now)  # type: ignore[arg-type]


@pytest.mark.parametrize("region", ["quote_signature", "qe_report_signature"])
def test_high_s_signature_verifies_so_a_quote_hash_is_no_replay_identity(region: str) -> None:
    # Intel's QVL (and dcap-qvl, and tdxverify) accept either s: anyone can turn a genuine quote
    # into a second, different byte string that verifies to the same verdict.
    forged = FORGE.forged_quote()
    start, end = forged.regions[region]
    twin = forged.raw[:start] + _high_s(forged.raw[start:end]) + forged.raw[end:]
    assert twin != forged.raw
    assert hashlib.sha256(twin).digest() != hashlib.sha256(forged.raw).digest()
    col = FORGE.collateral()
    assert _verify(twin, col).to_dict() == _verify(forged.raw, col).to_dict()


def test_high_s_collateral_signature_verifies() -> None:
    col = FORGE.collateral()
    twin = dict(col, tcb_info_signature=_high_s(bytes.fromhex(col["tcb_info_signature"])).hex())
    assert twin["tcb_info_signature"] != col["tcb_info_signature"]
    assert _verify(FORGE.quote(), twin).status == "UpToDate"
    # The signed text itself is what identifies the collateral: both load to the same TCB info.
    assert load_collateral(twin).tcb_info_raw == load_collateral(col).tcb_info_raw


# ----------------------------------------------------------------------------- replay and downgrade


def test_replayed_quote_is_stopped_only_by_a_fresh_report_data_binding() -> None:
    # verify() keeps no state: the same quote verifies every time. A relying party stops replay by
    # demanding report data bound to its own fresh challenge (here: SHA-256 of a nonce).
    nonce_then, nonce_now = b"challenge-1", b"challenge-2"
    raw = FORGE.quote(report_data=hashlib.sha256(nonce_then).digest() + bytes(32))
    col = FORGE.collateral()
    assert _verify(raw, col).status == _verify(raw, col).status == "UpToDate"
    assert _verify(raw, col, Policy(report_data=hashlib.sha256(nonce_then).digest())).ok
    with pytest.raises(PolicyError) as info:
        _verify(raw, col, Policy(report_data=hashlib.sha256(nonce_now).digest()))
    assert info.value.code == "policy_violation" and "report_data" in info.value.message


def test_downgraded_tcb_info_is_stopped_by_the_evaluation_data_number_policy() -> None:
    # An older TCB info that is still inside its window is genuine and verifies; a policy demanding
    # Intel's current TCB evaluation data number rejects it.
    old = FORGE.collateral(tcb_info=FORGE.tcb_info(tcb_evaluation_data_number=16))
    assert _verify(FORGE.quote(), old).tcb_evaluation_data_number == 16
    with pytest.raises(PolicyError) as info:
        _verify(FORGE.quote(), old, Policy(min_tcb_evaluation_data_number=17))
    assert "tcb_evaluation_data_number" in info.value.message
    assert _verify(FORGE.quote(), FORGE.collateral(), Policy(min_tcb_evaluation_data_number=17)).ok
