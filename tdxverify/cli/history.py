"""``tdxverify history ...``: the register guide's RTMR3 roll-over questions, answered from recorded outcomes.

Also :func:`add_record_arguments` / :func:`record_result`, the ``--record URL``
(and ``--worker NAME``) wiring that verifying commands share.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import VerificationError
from ..quote import Quote, decode_quote_file
from ..verdict import Verdict
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Parser, UsageError, parse_time, short_time

if TYPE_CHECKING:
    from contextlib import ExitStack

    from ..batch import BatchResult
    from ..history import BackgroundRecorder, Outcome, Rtmr3Seen, Summary, Window, WorkersOn, WorkerStatus
    from ..server.service import Service, VerifyOutcome

NAME = "history"
USAGE = (
    "tdxverify history rtmr3 [--since 1h] [--now T] [--db URL] [--json]",
    "tdxverify history workers --rtmr3 HEX [--since 1d] [--now T] [--db URL] [--json]   (exit 1 if any)",
    "tdxverify history summary [--since 24h] [--now T] [--db URL] [--json]",
    "tdxverify history worker NAME [--now T] [--db URL] [--json]",
    "tdxverify history init [--db URL]",
)

_DB_HELP = (
    "history database: a SQLite file path, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
    "(default: $TDXVERIFY_HISTORY_URL, else $XDG_STATE_HOME/tdxverify/history.sqlite3)"
)
_HEX96 = re.compile(r"[0-9a-f]{96}")


def build_parser() -> Parser:
    p = Parser(prog="tdxverify history", description="Query the attestation history (see docs/history.md).")
    sub = p.add_subparsers(dest="query", required=True, metavar="QUERY")

    def common(q: argparse.ArgumentParser, since: str | None) -> None:
        q.add_argument("--db", metavar="URL", help=_DB_HELP)
        q.add_argument("--json", action="store_true", help="print one JSON object")
        q.add_argument("--now", metavar="T", help="end of the window: unix seconds or ISO-8601 (default: now)")
        if since is not None:
            q.add_argument(
                "--since",
                default=since,
                metavar="DUR",
                help=f"window length: 90s, 30m, 1h, 1d, 1d12h (default {since})",
            )

    common(sub.add_parser("rtmr3", help="distinct RTMR3 values in the window, newest first, with worker counts"), "1h")
    w = sub.add_parser("workers", help="workers still on an RTMR3 in the window: exit 1 if any (the removal gate)")
    w.add_argument("--rtmr3", required=True, metavar="HEX", help="the RTMR3 value (96 hex characters)")
    common(w, "1d")
    common(sub.add_parser("summary", help="registered workers, attestations, failures by code"), "24h")
    one = sub.add_parser("worker", help="one worker's last seen RTMR3, time and status (exit 1 if never seen)")
    one.add_argument("name", help="the worker's name or key, as recorded")
    common(one, None)
    init = sub.add_parser("init", help="create or migrate the history schema (writers also do this themselves)")
    init.add_argument("--db", metavar="URL", help=_DB_HELP)
    return p


def _rtmr3(text: str) -> str:
    t = text.strip().lower()
    t = t[2:] if t.startswith("0x") else t
    if not _HEX96.fullmatch(t):
        raise UsageError(f"--rtmr3 {text!r} is not an RTMR3: give 96 hex characters (48 bytes)")
    return t


def _now(args: argparse.Namespace) -> datetime:
    return parse_time(args.now) if args.now is not None else datetime.now(timezone.utc)


def _since(args: argparse.Namespace) -> timedelta:
    from ..history import HistoryError, parse_since

    try:
        return parse_since(args.since)
    except HistoryError as err:
        raise UsageError(f"--since: {err.message}") from None


def _emit(args: argparse.Namespace, doc: dict[str, Any], human: str) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n" if args.json else human)


def _window_text(args: argparse.Namespace, start: datetime, end: datetime) -> str:
    return f"last {args.since}: {short_time(start)} .. {short_time(end)}"


def _need_history() -> None:
    try:
        import tdxverify.history  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"error: {exc}") from None


def run(args: argparse.Namespace) -> int:
    _need_history()
    from ..history import History, HistoryError, Recorder, Window
    from ..history.engine import describe

    try:
        if args.query == "init":
            with Recorder(args.db, source="init") as rec:
                print(f"history schema version {rec.schema_version} ready at {describe(rec.url)}")
            return EXIT_OK
        rtmr3 = _rtmr3(args.rtmr3) if args.query == "workers" else None
        window = Window.since(_since(args), _now(args)) if args.query != "worker" else None
        with History(args.db) as history:
            db = describe(history.url)
            if args.query == "rtmr3":
                assert window is not None
                return _rtmr3_values(args, db, history.rtmr3_values(window), window)
            if args.query == "workers":
                assert window is not None and rtmr3 is not None
                return _workers(args, db, history.workers_on(rtmr3, window))
            if args.query == "summary":
                assert window is not None
                return _summary(args, db, history.summary(window))
            now = parse_time(args.now) if args.now is not None else None
            return _worker(args, db, args.name, history.worker(args.name, now))
    except HistoryError as err:
        # The database, not the flags, is at fault: the message alone, no usage text.
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


def _rtmr3_values(args: argparse.Namespace, db: str, values: tuple[Rtmr3Seen, ...], window: Window) -> int:
    lines = [f"RTMR3 values attested ({_window_text(args, window.start, window.end)}): {len(values)}\n"]
    for v in values:
        rejected = f", {v.rejected} rejected by policy" if v.rejected else ""
        lines.append(
            f"  {v.rtmr3}\n    {v.workers} worker(s), {v.attestations} attestation(s){rejected}, "
            f"first {short_time(v.first_at)}, last {short_time(v.last_at)}\n"
        )
    if not values:
        lines.append("  none: no verified attestation in the window\n")
    doc = {"db": db, "since": args.since, "window": window.to_dict(), "rtmr3": [v.to_dict() for v in values]}
    _emit(args, doc, "".join(lines))
    return EXIT_OK


def _workers(args: argparse.Namespace, db: str, on: WorkersOn) -> int:
    w = on.window
    lines = [f"{on.count} worker(s) still on RTMR3 {on.rtmr3} ({_window_text(args, w.start, w.end)})\n"]
    for seen in on.workers:
        state = seen.tcb_status if seen.ok else f"REJECTED [{seen.error_code}] ({seen.tcb_status})"
        lines.append(f"  {seen.worker}  last attested {short_time(seen.at)}  {state}\n")
    if on.moved_on:
        lines.append(f"  moved on since (last seen on another RTMR3): {', '.join(on.moved_on)}\n")
    lines.append(
        "  NOT safe to remove this RTMR3 yet\n" if on.count else "  no worker on it in the window: safe to remove\n"
    )
    _emit(args, {"db": db, "since": args.since, **on.to_dict()}, "".join(lines))
    return EXIT_FAILED if on.count else EXIT_OK


def _summary(args: argparse.Namespace, db: str, s: Summary) -> int:
    rows = [
        ("registered workers", str(s.registered_workers)),
        ("workers seen", str(s.workers_seen)),
        ("attestations", f"{s.attestations} ({s.ok} ok, {s.failed} failed)"),
        ("RTMR3 values", str(s.rtmr3_values)),
    ]
    lines = [f"attestation summary ({_window_text(args, s.window.start, s.window.end)})\n"]
    lines += [f"  {k.ljust(18)}  {v}\n" for k, v in rows]
    if s.failures_by_code:
        lines.append("  failures by code:\n")
        lines += [f"    {code}  {n}\n" for code, n in s.failures_by_code.items()]
    _emit(args, {"db": db, "since": args.since, **s.to_dict()}, "".join(lines))
    return EXIT_OK


def _worker(args: argparse.Namespace, db: str, name: str, status: WorkerStatus | None) -> int:
    if status is None:
        _emit(args, {"db": db, "worker": name, "found": False}, f"{name}: never recorded in {db}\n")
        return EXIT_FAILED
    last = status.last
    state = f"ok ({last.tcb_status})" if last.ok else f"FAILED [{last.error_code}] {last.error_message}"
    rtmr3 = f"{status.last_seen_rtmr3} at {short_time(status.last_seen_rtmr3_at)}" if status.last_seen_rtmr3 else "none"
    human = (
        f"{name}\n  last attestation  {short_time(last.attested_at)}  {state}\n"
        f"  last seen RTMR3   {rtmr3}\n  attestations      {status.attestations}\n"
    )
    _emit(args, {"db": db, "found": True, **status.to_dict()}, human)
    return EXIT_OK


# --- the --record wiring shared by verify, batch and serve -------------------------------------------------


def add_record_arguments(parser: argparse.ArgumentParser, *, worker: bool = True, who: str = "") -> None:
    """``--record [URL]`` (and ``--worker NAME``) for a command that verifies quotes; ``who`` says whose identity."""
    parser.add_argument(
        "--record",
        nargs="?",
        const="",
        metavar="URL",
        help="record each outcome in the attestation history; without URL the default database (docs/history.md)"
        + (f"; {who}" if who else ""),
    )
    if worker:
        parser.add_argument("--worker", metavar="NAME", help="worker identity (name or key) to record with --record")


def record_result(
    args: argparse.Namespace,
    result: Verdict | VerificationError,
    *,
    source: str,
    quote: Quote | None = None,
    quote_file: bytes | None = None,
    at: datetime | None = None,
) -> None:
    """Record ``result`` if ``--record`` was given; a history failure is a :class:`UsageError` (exit 2)."""
    url = getattr(args, "record", None)
    worker = getattr(args, "worker", None)
    if url is None:
        if worker is not None:
            raise UsageError("--worker NAME only makes sense with --record")
        return
    _need_history()
    from ..history import HistoryError, Recorder

    raw: bytes | None = None
    if quote_file is not None:
        try:
            raw = decode_quote_file(quote_file)
        except VerificationError:
            raw = None  # undecodable input: its error is what gets recorded
    try:
        with Recorder(url or None, source=source) as rec:
            rec.record(result, worker=worker, at=at, quote=quote, raw_quote=raw)
    except HistoryError as err:
        raise UsageError(f"error: could not record the outcome: {err}") from None


def batch_outcome(result: BatchResult, *, at: datetime | None = None) -> Outcome:
    """The history row of one ``tdxverify batch`` result; the item's id is the worker identity."""
    from ..errors import PolicyError
    from ..history import Outcome

    if result.verdict is not None and result.error is None:
        return Outcome.of(result.verdict, worker=result.id, source="batch", at=at)
    assert result.error is not None
    e = result.error
    if result.rejected is not None:
        rejected = PolicyError(e.message, code=e.code, step=e.step, verdict=result.rejected)
        return Outcome.of(rejected, worker=result.id, source="batch", at=at)
    failed = Outcome.of(VerificationError(e.message, code=e.code, step=e.step), worker=result.id, source="batch", at=at)
    return dataclasses.replace(failed, tee_type=result.tee_type, quote_version=result.quote_version)


def batch_recording(
    args: argparse.Namespace, stack: ExitStack, at: datetime | None
) -> Callable[[BatchResult], None] | None:
    """For ``batch --record``: a callable recording each result, committed in small groups (None without --record).

    The database is opened at once (a bad URL stops the batch before anything is
    verified: exit 2); what is pending is committed when ``stack`` closes.
    """
    if getattr(args, "record", None) is None:
        return None
    _need_history()
    from ..history import HistoryError, Recorder

    try:
        recorder = stack.enter_context(Recorder(args.record or None, source="batch"))
    except HistoryError as err:
        raise UsageError(f"error: --record: {err}") from None
    buffer = stack.enter_context(recorder.buffered())

    def record(result: BatchResult) -> None:
        buffer.add(batch_outcome(result, at=at))

    return record


def serve_identity(verdict: Verdict | None) -> str | None:
    """``serve``'s worker identity: ``key:`` + report_data[0:32] in hex, where the register flow binds the
    worker's public key; None when the quote did not verify (its report data proves nothing)."""
    return None if verdict is None else "key:" + verdict.report_data[:32].hex()


def serve_outcome(o: VerifyOutcome, at: datetime) -> Outcome | None:
    """The history row of one ``/v1/verify`` answer; None for a malformed request (nothing was verified)."""
    from ..history import Outcome

    if 400 <= o.http_status < 500:
        return None
    result: Verdict | VerificationError | None = o.error if o.error is not None else o.verdict
    if result is None:
        return None
    return Outcome.of(
        result, worker=serve_identity(o.verdict), source="serve", at=at, quote=o.quote, raw_quote=o.quote_bytes
    )


def serve_recording(args: argparse.Namespace, service: Service) -> BackgroundRecorder | None:
    """For ``serve --record``: an outcome hook on ``service`` feeding a background writer (None without --record).

    The request path never waits on the database; the service's shutdown
    (:meth:`Service.close`) commits what is queued and closes the database.
    Returns the writer (its ``committed`` / ``dropped`` / ``lost`` counters).
    """
    if getattr(args, "record", None) is None:
        return None
    _need_history()
    from ..history import HistoryError, Recorder

    try:
        recorder = Recorder(args.record or None, source="serve")
    except HistoryError as err:
        raise UsageError(f"error: --record: {err}") from None
    writer = recorder.background()

    def hook(o: VerifyOutcome) -> None:
        outcome = serve_outcome(o, service.clock.now())
        if outcome is not None:
            writer.submit(outcome)

    def close() -> None:
        writer.close()
        recorder.close()

    service.outcome_hooks.append(hook)
    service.close_hooks.append(close)
    return writer
