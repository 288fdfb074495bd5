"""BackgroundRecorder: callers never wait on the database; everything queued is committed on close."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from tdxverify.history import BackgroundRecorder, History, HistoryError, Outcome, Recorder, Window

from .fakes import OLD, FakeWorker

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
RESULT = FakeWorker("bg", OLD).attest()


def test_threads_submit_and_close_commits_everything(db_url: str) -> None:
    with Recorder(db_url, source="serve") as rec:
        bg = rec.background()

        def producer(n: int) -> None:
            for i in range(25):
                assert bg.submit(Outcome.of(RESULT, worker=f"t{n}-{i % 5}", source="serve", at=T0))

        threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bg.close()
        bg.close()  # idempotent
        assert (bg.committed, bg.dropped, bg.lost) == (100, 0, 0)
    with History(db_url) as h:
        s = h.summary(Window(start=T0, end=T0 + timedelta(seconds=1)))
    assert s.attestations == 100 and s.workers_seen == 20


def test_full_queue_drops_and_counts() -> None:
    busy, gate = threading.Event(), threading.Event()
    seen: list[int] = []

    def slow_commit(group: list[Outcome]) -> list[int]:
        busy.set()
        gate.wait(10)
        seen.append(len(group))
        return list(range(len(group)))

    with BackgroundRecorder(slow_commit, max_queue=3) as bg:
        outcome = Outcome.of(RESULT, at=T0)
        assert bg.submit(outcome)
        assert busy.wait(10)  # the thread is inside a (slow) commit: the queue fills up
        accepted = [bg.submit(outcome) for _ in range(10)]
        assert accepted == [True] * 3 + [False] * 7 and bg.dropped == 7
        gate.set()
    assert seen == [1, 3] and bg.committed == 4


def test_failed_commits_are_retried_then_counted_lost() -> None:
    calls: list[int] = []

    def flaky(group: list[Outcome]) -> list[int]:
        calls.append(len(group))
        if len(calls) <= 2:
            raise HistoryError("database restarting", code="history_unavailable")
        return list(range(len(group)))

    with BackgroundRecorder(flaky, retries=3, retry_delay=0.0) as bg:
        bg.submit(Outcome.of(RESULT, at=T0))
    assert (bg.committed, bg.lost) == (1, 0) and calls == [1, 1, 1]

    def down(group: list[Outcome]) -> list[int]:
        raise HistoryError("database gone", code="history_unavailable")

    with BackgroundRecorder(down, retries=2, retry_delay=0.0) as bg:
        bg.submit(Outcome.of(RESULT, at=T0))
    assert (bg.committed, bg.lost) == (0, 1)
