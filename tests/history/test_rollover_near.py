"""The RTMR3 roll-over on the contract simulation, decided from the history (both databases).

Workers are :class:`tdxverify.near.SimulatedWorker` s registering with the
register contract on a simulated NEAR chain (``tdxverify.near``). A
coordinator, as the guide's has, receives every worker's attestation: it
verifies the quote with tdxverify at the chain's block time, against the
collateral the contract holds and the contract's own rule (UpToDate, no
advisories, an approved RTMR3), records the outcome, and only then lets the
worker register. Each registration the contract accepts or refuses must be
exactly what tdxverify decided. The removal gate
(``tdxverify history workers --rtmr3 OLD --since 1d``) exits 1 while an
old-image worker attested within the window, 0 after; then
``remove_approved_rtmr3`` and a straggler on the old image is refused by the
contract and seen in the history.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

import tdxverify
from tdxverify.cli import main
from tdxverify.history import Recorder
from tdxverify.near import Deployment, Measurements, SimulatedWorker
from tdxverify.testing import Forge

HOUR = 3600.0


class Coordinator:
    """The worker-facing service: verifies and records every attestation; registers new keys."""

    def __init__(self, deployment: Deployment, forge: Forge, url: str) -> None:
        self.d = deployment
        self.forge = forge
        self.url = url
        self.recorder = Recorder(url, source="coordinator")
        self.workers: dict[str, SimulatedWorker] = {}

    def now(self) -> float:
        return float(self.d.cli.chain.now)

    def policy(self) -> tdxverify.Policy:
        """The contract's rule, read from the contract: UpToDate, no advisories, an approved RTMR3."""
        assert self.d.view("get_approved_measurements") == []  # this scenario approves RTMR3 values only
        approved = frozenset(bytes.fromhex(r) for r in self.d.view("get_approved_rtmr3"))
        assert approved, "the contract approves nothing: no worker could register"
        return tdxverify.Policy(
            accepted_statuses=frozenset({"UpToDate"}),
            accepted_advisory_ids=frozenset(),
            measurements={"rtmr3": approved},
        )

    def start(self, name: str, image: Measurements) -> SimulatedWorker:
        """A (re)started VM: a new key, the image's measurements."""
        self.workers[name] = self.d.worker(self.forge, image, max_attempts=1)
        return self.workers[name]

    def attest(self, name: str) -> bool:
        """One attestation of ``name``: verify + record; a worker not yet registered then registers."""
        worker = self.workers[name]
        quote = worker.quote()
        collateral = self.d.view("get_collateral")
        try:
            result: tdxverify.Verdict | tdxverify.VerificationError = tdxverify.Verifier(
                root_ca=self.forge.root_ca_der, policy=self.policy()
            ).verify(quote, collateral, now=self.now())
        except tdxverify.VerificationError as err:
            result = err
        self.recorder.record(result, worker=name, at=self.now(), raw_quote=quote)
        ok = isinstance(result, tdxverify.Verdict)
        if not worker.is_registered():
            outcome = worker.attempt(quote)
            # The contract, verifying the same quote at the same block time, decides as tdxverify did.
            assert outcome.ok == ok, (outcome.failure_message, result)
            assert worker.is_registered() == ok
        return ok

    def ask(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
        now = datetime.fromtimestamp(self.now(), timezone.utc).isoformat()
        code = main(["history", *args, "--db", self.url, "--now", now, "--json"])
        return code, json.loads(capsys.readouterr().out)

    def gate(self, capsys: pytest.CaptureFixture[str], rtmr3: bytes) -> tuple[int, list[str]]:
        code, doc = self.ask(capsys, "workers", "--rtmr3", rtmr3.hex(), "--since", "1d")
        return code, sorted(w["worker"] for w in doc["workers"])


@pytest.fixture
def coordinator(near_deployment: Deployment, near_forge: Forge, db_url: str) -> Coordinator:
    near_deployment.update_collateral(near_forge.collateral()).raise_for_failure()
    c = Coordinator(near_deployment, near_forge, db_url)
    yield c  # type: ignore[misc]
    c.recorder.close()


def test_rtmr3_rollover_on_the_contract_simulation(
    coordinator: Coordinator, near_measurements: Measurements, capsys: pytest.CaptureFixture[str]
) -> None:
    c, chain = coordinator, coordinator.d.cli.chain
    old, new = near_measurements, replace(near_measurements, rtmr3=b"\x45" * 48)
    c.d.approve_rtmr3(old.rtmr3).raise_for_failure()

    # The fleet on the old image registers, then attests every half hour for 5 hours.
    for name in ("w1", "w2", "w3"):
        c.start(name, old)
    for _ in range(10):
        for name in ("w1", "w2", "w3"):
            assert c.attest(name)
        chain.advance(HOUR / 2)
    assert len(c.d.operator_keys()) >= 3
    assert c.gate(capsys, old.rtmr3) == (1, ["w1", "w2", "w3"])

    # A test worker on the new image: refused by the contract (and by tdxverify), its RTMR3 on record.
    c.start("canary", new)
    assert not c.attest("canary")
    code, doc = c.ask(capsys, "worker", "canary")
    assert code == 0 and doc["error_code"] == "policy_violation" and doc["last_seen_rtmr3"] == new.rtmr3.hex()

    # The owner approves the new RTMR3 it read there; the canary registers.
    c.d.approve_rtmr3(doc["last_seen_rtmr3"]).raise_for_failure()
    chain.advance(60)
    c.start("canary", new)
    assert c.attest("canary")
    code, doc = c.ask(capsys, "rtmr3", "--since", "1h")
    assert [(r["rtmr3"], r["workers"]) for r in doc["rtmr3"]] == [(new.rtmr3.hex(), 1), (old.rtmr3.hex(), 3)]

    # Migration: w1 and w2 restart on the new image (new VMs, new keys, same names); w3 stays behind.
    chain.advance(HOUR)
    for name in ("w1", "w2"):
        c.start(name, new)
        assert c.attest(name)
    assert c.attest("w3")
    assert c.gate(capsys, old.rtmr3) == (1, ["w3"])

    # w3 is retired on the old image and replaced by w4 on the new one; the fleet keeps attesting.
    last_old = c.now()
    c.start("w4", new)
    gates: list[int] = []
    for _ in range(26):
        chain.advance(HOUR)
        for name in ("w1", "w2", "w4", "canary"):
            assert c.attest(name)
        code, still = c.gate(capsys, old.rtmr3)
        if c.now() <= last_old + 24 * HOUR:
            assert (code, still) == (1, ["w3"])  # w3's old-image attestation is inside the day
        else:
            assert (code, still) == (0, [])  # a day after it: safe to remove
        gates.append(code)
    assert gates.count(1) >= 20 and gates[-2:] == [0, 0]

    code, doc = c.ask(capsys, "summary", "--since", "24h")
    assert (doc["registered_workers"], doc["failed"], doc["rtmr3_values"]) == (4, 0, 1)

    # The gate is open: remove the old RTMR3. A straggler on the old image is refused, and visible.
    c.d.owner_call("remove_approved_rtmr3", {"rtmr3": old.rtmr3.hex()}).raise_for_failure()
    c.start("w5", old)
    assert not c.attest("w5")
    assert c.gate(capsys, old.rtmr3) == (1, ["w5"])
    code, doc = c.ask(capsys, "summary", "--since", "24h")
    assert doc["failures_by_code"] == {"policy_violation": 1}
