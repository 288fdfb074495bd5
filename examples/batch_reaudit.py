"""Re-audit an archive of quotes after Intel revokes a TCB.

Run from anywhere: python examples/batch_reaudit.py

The archive is a JSONL file of {"id", "quote"} lines, as a registration service
might keep. Synthetic quotes from the forge (tdxverify.testing) stand in for
real ones, so the example can also show Intel revoking their TCB: last month's
collateral rated it UpToDate; the new collateral rates it Revoked. The
archive is verified twice, with
tdxverify.verify_many on every core, then once more with the `tdxverify batch`
command, which writes JSONL verdicts and a summary.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import tdxverify
from tdxverify.cli import main as tdxverify_cli
from tdxverify.testing import Forge

ARCHIVE_SIZE = 200


def main() -> int:
    forge = Forge(seed="reaudit-example")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive = work / "archive.jsonl"
        with archive.open("w") as out:
            for i in range(ARCHIVE_SIZE):
                quote = forge.quote(report_data=i.to_bytes(64, "big"))
                out.write(json.dumps({"id": f"worker-{i:04d}", "quote": quote.hex()}) + "\n")
        last_month = forge.collateral()
        revoked = forge.collateral(tcb_info=forge.tcb_info().with_status("Revoked", ("INTEL-SA-01111",)))
        trust = {"now": forge.now, "root_ca": forge.root_ca_der}  # the forge's synthetic root, not Intel's

        items = [tdxverify.BatchItem(id=d["id"], quote=d["quote"]) for d in map(json.loads, archive.open())]
        for label, collateral in (("last month's collateral", last_month), ("after the revocation", revoked)):
            results = tdxverify.verify_many(items, collateral=collateral, **trust)
            outcome = Counter(r.status if r.ok else r.error.code for r in results if r.ok or r.error)
            print(f"{label}: {dict(outcome)}")
            if label.startswith("after"):
                failed = [r for r in results if not r.ok]
                print(f"  first failure: {failed[0].id}: {failed[0].error.message[:100]}...")

        collateral_file = work / "collateral.json"
        collateral_file.write_text(json.dumps(revoked))
        root_file = work / "root.der"
        root_file.write_bytes(forge.root_ca_der)
        verdicts = work / "audit.jsonl"
        print("tdxverify batch archive.jsonl collateral.json -o audit.jsonl:")
        code = tdxverify_cli(
            [
                "batch",
                str(archive),
                str(collateral_file),
                "--now",
                str(forge.now),
                "--root-ca",
                str(root_file),
                "-o",
                str(verdicts),
                "--summary",
                str(work / "summary.json"),
            ]
        )
        summary = json.loads((work / "summary.json").read_text())
        revoked_ids = [
            d["id"] for d in map(json.loads, verdicts.open()) if d["error"] and d["error"]["code"] == "tcb_revoked"
        ]
        print(f"exit code {code}; {len(revoked_ids)} quotes to revoke, e.g. {revoked_ids[:3]}")
        return 0 if code == 1 and summary["errors"] == {"tcb_revoked": ARCHIVE_SIZE} else 1


if __name__ == "__main__":
    sys.exit(main())
