"""The warm path (a Verifier's caches) gives exactly the cold path's outcome (issue 16).

Every conformance case is verified cold (a fresh ``verify()``) and warm (the
second and later calls of one Verifier, with the collateral as a path, text,
bytes, a mapping and a loaded ``Collateral``); the verdicts, or the errors'
type, code, step and message, must be identical. Also when ``now`` leaves a
window between calls, and when newer collateral's CRL revokes a certificate
that a cached chain holds.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from tdxverify import Policy, VerificationError, Verifier, load_collateral, load_policy, verify
from tdxverify.testing import Forge
from tdxverify.testing.conformance import CASES, Case
from tdxverify.testing.pki import PkiSpec

SUITE = Path(__file__).resolve().parent.parent / "vectors" / "conformance"


def outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        verdict = fn(*args, **kwargs)
    except VerificationError as exc:
        return ("error", type(exc).__name__, exc.code, exc.step, exc.message)
    return ("ok", json.dumps(verdict.to_dict(), sort_keys=True))


def _inputs(case: Case) -> tuple[bytes, str, bytes, int, Policy | None]:
    d = SUITE / case.name
    expected = json.loads((d / "expected.json").read_text())
    policy = load_policy(expected["policy"]) if expected["policy"] is not None else None
    return (
        (d / "quote.bin").read_bytes(),
        (d / "collateral.json").read_text(),
        (d / "root_ca.der").read_bytes(),
        (expected["now"]),
        policy,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_warm_equals_cold(case: Case) -> None:
    quote, text, root, now, policy = _inputs(case)
    cold = outcome(verify, quote, text, now=now, root_ca=root, policy=policy)
    verifier = Verifier(root_ca=root, policy=policy)
    sources: list[Any] = [text, text, text.encode(), json.loads(text), SUITE / case.name / "collateral.json"]
    with contextlib.suppress(VerificationError):  # malformed collateral: the other forms cover it
        sources.append(load_collateral(text))
    for src in sources:
        assert outcome(verifier.verify, quote, src, now) == cold


def _expiry(text: str, root: bytes, now: int) -> int:
    return int(Verifier(root_ca=root).authenticate(text, now).expires_at.timestamp())


@pytest.mark.parametrize("case", [c for c in CASES if c.accepted], ids=lambda c: c.name)
def test_warm_equals_cold_when_now_leaves_the_window(case: Case) -> None:
    quote, text, root, now, policy = _inputs(case)
    verifier = Verifier(root_ca=root, policy=policy)
    assert outcome(verifier.verify, quote, text, now)[0] == "ok"
    end = _expiry(text, root, now)
    for t in (end + 1, now, end, 0, now, end + 86400 * 365):
        cold = outcome(verify, quote, text, now=t, root_ca=root, policy=policy)
        assert outcome(verifier.verify, quote, text, t) == cold, t
        assert outcome(verifier.verify, quote, load_collateral(text), t) == cold, t


@pytest.mark.parametrize(
    ("revoked", "code"),
    [({"platform_crl": ["pck"]}, "pck_revoked"), ({"root_crl": ["platform_ca"]}, "certificate_revoked")],
)
def test_newer_crl_revokes_a_cached_certificate(revoked: dict[str, list[str]], code: str) -> None:
    seed = "warm-cold-crl"
    before, after = Forge(seed=seed), Forge(seed=seed, pki=PkiSpec(revoked=revoked))
    assert before.pki.pck_chain_pem == after.pki.pck_chain_pem  # same certificates, only the CRL differs
    quote = before.quote()
    verifier = Verifier(root_ca=before.root_ca_der)
    assert verifier.verify(quote, before.collateral(), before.now).status == "UpToDate"
    cold = outcome(verify, quote, after.collateral(), now=after.now, root_ca=after.root_ca_der)
    assert cold[2] == code
    assert outcome(verifier.verify, quote, after.collateral(), after.now) == cold
    assert outcome(verifier.verify, quote, json.dumps(after.collateral()), after.now) == cold
    # The older collateral still says what it said: the caches are per collateral content.
    assert verifier.verify(quote, before.collateral(), before.now).status == "UpToDate"
