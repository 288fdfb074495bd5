"""Forged workers for the history tests: real verdicts and real errors from forged quotes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import tdxverify
from tdxverify import Policy, Verdict, VerificationError
from tdxverify.testing import Forge

FORGE = Forge(seed="history-tests")
COLLATERAL = FORGE.collateral()
NOW = float(FORGE.now)
"""A time at which the forged collateral is valid: quotes are verified at NOW, recorded at their own times."""

OLD = hashlib.sha384(b"image v1").digest()
NEW = hashlib.sha384(b"image v2").digest()


def key_of(name: str) -> bytes:
    """A worker's (stand-in) 32-byte public key."""
    return hashlib.sha256(name.encode()).digest()


@dataclass
class FakeWorker:
    """A worker that attests with forged quotes: real verification, chosen RTMR3."""

    name: str
    rtmr3: bytes
    verifier: tdxverify.Verifier = field(default_factory=lambda: tdxverify.Verifier(root_ca=FORGE.root_ca_der))

    def quote(self, **overrides: Any) -> bytes:
        return FORGE.quote(rtmr3=self.rtmr3, report_data=key_of(self.name) + bytes(32), **overrides)

    def attest(self, policy: Policy | None = None, **overrides: Any) -> Verdict | VerificationError:
        """The verification result of one fresh quote (verdict or the error raised)."""
        verifier = self.verifier if policy is None else tdxverify.Verifier(root_ca=FORGE.root_ca_der, policy=policy)
        try:
            return verifier.verify(self.quote(**overrides), COLLATERAL, now=NOW)
        except VerificationError as err:
            return err


def approve(*rtmr3s: bytes) -> Policy:
    """The register contract's rule, as a policy: UpToDate, no advisories, an approved RTMR3."""
    return Policy(accepted_statuses=frozenset({"UpToDate"}), measurements={"rtmr3": frozenset(rtmr3s)})
