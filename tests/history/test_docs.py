"""docs/history.md's library example runs as written (names it leaves to the reader are supplied)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tdxverify import Verifier
from tdxverify.history import History, Window

from .fakes import COLLATERAL, FORGE, NOW, OLD, FakeWorker

DOC = (Path(__file__).resolve().parents[2] / "docs" / "history.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_recorder_example(db_url: str) -> None:
    (block,) = [b for b in BLOCKS if "Recorder(history_url" in b]
    names = {
        "history_url": db_url,
        "verifier": Verifier(root_ca=FORGE.root_ca_der),
        "quote": FakeWorker("svc-1", OLD).quote(),
        "collateral": COLLATERAL,
        "now": NOW,
        "worker_name": "svc-1",
        "results": [("b1", FakeWorker("b1", OLD).attest()), ("b2", FakeWorker("b2", OLD).attest(corrupt="qe_report"))],
    }
    exec(compile(block, "docs/history.md", "exec"), names)
    start = datetime.fromtimestamp(NOW, timezone.utc)
    with History(db_url) as h:
        rows = h.outcomes(Window(start=start - timedelta(seconds=1), end=start + timedelta(seconds=1)))
    assert [(r.worker, r.source, r.ok) for r in rows] == [
        ("svc-1", "register-service", True),
        ("b1", "batch", True),
        ("b2", "batch", False),
    ]
    assert rows[0].quote_sha256 is not None and rows[0].rtmr3 == OLD.hex()
