"""The register guide's RTMR3 roll-over, end to end, decided from the history (both databases).

Old image, new image approved next to it, a canary on the new image, the fleet
migrates, one old worker is retired instead, the removal gate
(``tdxverify history workers --rtmr3 OLD --since 1d``) exits 1 while an
old-image worker attested within the window and 0 after, then the old RTMR3 is
removed and a straggler on the old image is rejected, and shows up again.

The workers here attest with forged quotes through real verification and the
register contract's rule as a policy (UpToDate, no advisories, approved RTMR3);
every outcome goes through :class:`tdxverify.history.Recorder`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tdxverify import Verdict
from tdxverify.cli import main
from tdxverify.history import Recorder

from .fakes import NEW, OLD, FakeWorker, approve

DAY0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def hours(h: float) -> datetime:
    return DAY0 + timedelta(hours=h)


class Fleet:
    """Workers attesting to a registration service that records every outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.approved: set[bytes] = {OLD}
        self.recorder = Recorder(url, source="register")

    def attest(self, name: str, rtmr3: bytes, at: datetime) -> bool:
        result = FakeWorker(name, rtmr3).attest(approve(*self.approved))
        self.recorder.record(result, worker=name, at=at)
        return isinstance(result, Verdict)

    def ask(self, capsys: pytest.CaptureFixture[str], *args: str, now: datetime) -> tuple[int, dict[str, object]]:
        code = main(["history", *args, "--db", self.url, "--now", now.isoformat(), "--json"])
        out = capsys.readouterr().out
        return code, json.loads(out)

    def gate(self, capsys: pytest.CaptureFixture[str], now: datetime) -> tuple[int, list[str]]:
        code, doc = self.ask(capsys, "workers", "--rtmr3", OLD.hex(), "--since", "1d", now=now)
        return code, sorted(w["worker"] for w in doc["workers"])  # type: ignore[attr-defined]


def test_rtmr3_rollover(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = Fleet(db_url)
    try:
        # 00:00-05:30: the fleet runs the old image, attesting every half hour.
        for half in range(12):
            for name in ("w1", "w2", "w3"):
                assert fleet.attest(name, OLD, hours(half / 2))
        code, gate = fleet.gate(capsys, hours(5.5))
        assert (code, gate) == (1, ["w1", "w2", "w3"])

        # 05:50: a canary on the new image is refused (not approved yet), but its verified RTMR3 is on record.
        assert not fleet.attest("canary", NEW, hours(5 + 50 / 60))
        code, doc = fleet.ask(capsys, "worker", "canary", now=hours(5.9))
        assert code == 0 and doc["error_code"] == "policy_violation" and doc["last_seen_rtmr3"] == NEW.hex()
        assert doc["last"]["mr_td"] and doc["last"]["rtmr3"] == NEW.hex()  # type: ignore[index]

        # 06:00: the new image is approved next to the old one; the canary registers.
        fleet.approved.add(NEW)
        assert fleet.attest("canary", NEW, hours(6))
        # "which RTMR3 did the new test worker report?"
        code, doc = fleet.ask(capsys, "worker", "canary", now=hours(6.1))
        assert code == 0 and doc["last_seen_rtmr3"] == NEW.hex() and doc["ok"] is True
        # "which distinct RTMR3 values attested in the last hour?"
        code, doc = fleet.ask(capsys, "rtmr3", "--since", "1h", now=hours(6.1))
        assert [(r["rtmr3"], r["workers"]) for r in doc["rtmr3"]] == [(NEW.hex(), 1), (OLD.hex(), 3)]  # type: ignore[attr-defined]

        # 07:00-08:00: w1 and w2 restart on the new image; w3 keeps the old one.
        assert fleet.attest("w1", NEW, hours(7))
        assert fleet.attest("w3", OLD, hours(7))
        assert fleet.attest("w2", NEW, hours(8))
        code, gate = fleet.gate(capsys, hours(8.5))
        assert (code, gate) == (1, ["w3"])
        code, doc = fleet.ask(capsys, "workers", "--rtmr3", OLD.hex(), "--since", "1d", now=hours(8.5))
        assert doc["moved_on"] == ["w1", "w2"]

        # 08:40: w3's last old-image attestation; it is retired and w4 takes its place on the new image.
        assert fleet.attest("w3", OLD, hours(8 + 40 / 60))
        for h in range(9, 34):
            for name in ("w1", "w2", "w4", "canary"):
                assert fleet.attest(name, NEW, hours(h))
        # The window still holds w3's old-image attestation: not safe yet.
        code, gate = fleet.gate(capsys, hours(20))
        assert (code, gate) == (1, ["w3"])
        code, gate = fleet.gate(capsys, hours(8 + 40 / 60 + 24) - timedelta(seconds=1))
        assert (code, gate) == (1, ["w3"])
        # A day after it: nobody on the old image attested within the window. The gate opens.
        code, gate = fleet.gate(capsys, hours(8 + 40 / 60 + 24) + timedelta(seconds=1))
        assert (code, gate) == (0, [])
        code, doc = fleet.ask(capsys, "summary", "--since", "24h", now=hours(33.5))
        assert doc["registered_workers"] == 4 and doc["failed"] == 0 and doc["rtmr3_values"] == 1

        # remove_approved_rtmr3(OLD): a straggler on the old image is now rejected, and visible again.
        fleet.approved.discard(OLD)
        assert not fleet.attest("w5", OLD, hours(34))
        code, doc = fleet.ask(capsys, "workers", "--rtmr3", OLD.hex(), "--since", "1d", now=hours(34.5))
        assert code == 1
        assert [(w["worker"], w["ok"], w["error_code"]) for w in doc["workers"]] == [("w5", False, "policy_violation")]  # type: ignore[attr-defined]
        code, doc = fleet.ask(capsys, "summary", "--since", "24h", now=hours(34.5))
        assert doc["failures_by_code"] == {"policy_violation": 1} and doc["registered_workers"] == 4
        code, doc = fleet.ask(capsys, "summary", "--since", "2d", now=hours(34.5))
        assert doc["failures_by_code"] == {"policy_violation": 2}  # the canary before approval, and w5
        code, doc = fleet.ask(capsys, "worker", "w3", now=hours(34.5))
        assert (
            code == 0 and doc["last_seen_rtmr3"] == OLD.hex() and doc["last_attestation_at"] == "2026-12-01T08:40:00Z"
        )
    finally:
        fleet.recorder.close()
