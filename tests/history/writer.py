"""A writer process for the concurrency and crash tests (``python -m tests.history.writer ...``).

Records ``count`` outcomes of forged quotes (every fifth one a forged signature,
so failures are written too) for ``workers`` worker names, one committed
transaction each, and prints each row id on its own line *after* its commit
returned. ``--die-in-group N`` then records one group of N outcomes with
``record_many`` and kills itself with SIGKILL after the group's third INSERT,
before the commit: a crash mid-batch.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from tdxverify.history import Outcome, Recorder

from .fakes import NEW, OLD, FakeWorker

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("name")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--die-in-group", type=int, default=0)
    a = p.parse_args(argv)
    with Recorder(a.url, source=f"writer-{a.name}") as rec:
        for i in range(a.count):
            w = FakeWorker(f"{a.name}-{i % a.workers}", OLD if i % 2 else NEW)
            result = w.attest(corrupt="quote_signature") if i % 5 == 4 else w.attest()
            row_id = rec.record(result, worker=w.name, at=T0 + timedelta(seconds=i))
            print(row_id, flush=True)
        if a.die_in_group:
            inserts = 0

            def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
                nonlocal inserts
                inserts += statement.lstrip().upper().startswith("INSERT")
                if inserts == 3:
                    os.kill(os.getpid(), signal.SIGKILL)

            sa.event.listen(sa.Engine, "after_cursor_execute", after)
            w = FakeWorker(f"{a.name}-group", OLD)
            rec.record_many(Outcome.of(w.attest(), worker=w.name, at=T0) for _ in range(a.die_in_group))
            print("group committed: the kill did not happen", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
