"""Verify a real Intel-signed TDX quote with an appraisal policy, from a JSON policy file.

Run from anywhere: python examples/verify_with_policy.py

A registration service hands a key only to an approved application image (RTMR3)
on an up-to-date platform whose quote binds the key (report data). The same
quote is then checked against a policy that approves a different image: it still
verifies cryptographically, and the policy rejection says which rule failed.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import tdxverify

VECTOR = Path(__file__).resolve().parent.parent / "vectors" / "tdx-v4-near-contract"
NOW = 1758093775  # inside this 2025 collateral's validity window; omit it with fresh collateral

POLICY = {
    "accepted_statuses": ["UpToDate"],
    "measurements": {
        "rtmr3": ["287a9242edd8c8429913ec66f44af611b820cf9b574f303a6caeddeb4c9826311aef6e518aaf4a17f55a81154592b7b3"]
    },
    "report_data": "0001d579ba6e734a1046feb6112f852df5f4f1e44a4e7ce1755ce3b07bd6aaab",  # SHA-256 of the key
    "max_collateral_age_seconds": 30 * 86400,
}


def check(policy: tdxverify.Policy) -> bool:
    quote = VECTOR / "quote.hex"
    collateral = VECTOR / "collateral.json"
    try:
        verdict = tdxverify.verify(quote, collateral, now=NOW, policy=policy)
    except tdxverify.PolicyError as err:
        print(f"REJECTED by policy ({err.code}):")
        rejected = err.verdict
        assert isinstance(rejected, tdxverify.Verdict)
        for c in rejected.policy.checks if rejected.policy else ():
            print(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
        return False
    except tdxverify.VerificationError as err:
        print(f"NOT VERIFIED: [{err.code}] {err.message}")
        return False
    print(f"ACCEPTED: {verdict.tee_type} quote, TCB {verdict.status}, RTMR3 {verdict.rtmr3.hex()[:16]}...")
    for c in verdict.policy.checks if verdict.policy else ():
        print(f"  [ok] {c.name}: {c.detail}")
    return True


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.json"
        path.write_text(json.dumps(POLICY, indent=2))
        accepted = check(tdxverify.load_policy(path))
        other_image = dict(POLICY, measurements={"rtmr3": ["00" * 48]})
        path.write_text(json.dumps(other_image))
        rejected = not check(tdxverify.load_policy(path))
    return 0 if accepted and rejected else 1


if __name__ == "__main__":
    sys.exit(main())
