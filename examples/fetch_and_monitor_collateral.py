"""Fetch collateral for a quote from a PCCS, keep it on disk, and monitor its freshness.

Run from anywhere: python examples/fetch_and_monitor_collateral.py

No network: a PCS-shaped server on 127.0.0.1 (tdxverify.testing.pcs.PcsServer)
stands in for your PCCS and serves a real vector's Intel-signed collateral. Time
is simulated with explicit `now` values (the vector's collateral is from 2025),
so the example walks through a whole validity window in a second:

1. fetch with `tdxverify fetch-collateral --pccs-url ... -o FILE` (written only
   if it authenticates and is fresh);
2. monitor: each "day", authenticate the file and see how long it stays valid;
   refresh when less than REFRESH_BEFORE is left;
3. a refresh that brings nothing newer (a PCCS serving a stale cache) is refused
   and the file is left as it was; once the window closes, verification fails
   closed with a coded error instead of trusting old collateral.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import tdxverify
from tdxverify.cli import main as tdxverify_cli
from tdxverify.pccs import freshness_report
from tdxverify.testing.pcs import PcsServer, serve_collateral

VECTOR = Path(__file__).resolve().parent.parent / "vectors" / "tdx-v4-near-contract"
START = datetime(2025, 9, 17, 7, 22, 55, tzinfo=timezone.utc)  # a day inside the vector's window
REFRESH_BEFORE = timedelta(days=3)


def fetch(pccs: PcsServer, dest: Path, now: datetime) -> int:
    return tdxverify_cli(
        [
            "fetch-collateral",
            str(VECTOR / "quote.hex"),
            "--pccs-url",
            pccs.url,
            "-o",
            str(dest),
            "--now",
            now.isoformat(),
        ]
    )


def monitor(dest: Path, now: datetime) -> str:
    """One monitoring check: 'fresh', 'refresh' or 'expired', with the facts."""
    report = freshness_report(tdxverify.load_collateral(dest), now=now)
    if not report["ok"]:
        print(f"  {now:%Y-%m-%d}: EXPIRED ({report['error']['code']}): {report['error']['message'][:90]}...")
        return "expired"
    left = timedelta(seconds=report["seconds_until_expiry"])
    state = "refresh" if left < REFRESH_BEFORE else "fresh"
    first = report["expires_first"]
    print(f"  {now:%Y-%m-%d}: {state}, {left.days}d {left.seconds // 3600}h left (first to expire: {first})")
    return state


def main() -> int:
    pccs = PcsServer()
    serve_collateral(pccs, "TDX", json.loads((VECTOR / "collateral.json").read_text()))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / "collateral.json"
            print("1. fetch")
            if fetch(pccs, dest, START) != 0:
                return 1
            print("2. monitor, daily")
            states = []
            for day in range(0, 20, 3):
                now = START + timedelta(days=day)
                state = monitor(dest, now)
                states.append(state)
                if state == "refresh":
                    print("     refreshing from the PCCS ...")
                    before = dest.read_bytes()
                    code = fetch(pccs, dest, now + REFRESH_BEFORE)  # must stay fresh for a while
                    kept = dest.read_bytes() == before
                    print(f"     fetch-collateral exit {code}; file {'unchanged' if kept else 'replaced'}")
                if state == "expired":
                    try:
                        tdxverify.verify(VECTOR / "quote.hex", dest, now=now)
                    except tdxverify.VerificationError as err:
                        print(f"3. verification now fails closed: [{err.code}] at step {err.step}")
                    break
            ok = states[0] == "fresh" and "refresh" in states and states[-1] == "expired"
            print(f"pccs requests served: {len(pccs.requests)}")
            return 0 if ok else 1
    finally:
        pccs.close()


if __name__ == "__main__":
    sys.exit(main())
