"""``tdxverify eventlog FILE [--quote QUOTE]``: show an event log, its replayed RTMRs and (with a quote) the match."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ..errors import VerificationError
from ..eventlog import FORMATS, MAX_EVENT_LOG_SIZE, EventLog, parse_event_log
from ..eventlog.compare import LogDiff, compare_logs
from ..eventlog.tcg import printable
from ..quote import TdReport10
from .appraisal import read_limited
from .common import EXIT_FAILED, EXIT_OK, Parser, error_json, quote_from_file

NAME = "eventlog"
USAGE = ("tdxverify eventlog FILE [--quote QUOTE] [--compare OLD_LOG] [--format dstack|ccel] [--json]",)


def build_parser() -> Parser:
    p = Parser(
        prog="tdxverify eventlog",
        description="Parse and replay an event log (dstack JSON or CCEL binary); with --quote, compare the "
        "replayed RTMRs with the quote's (the quote is parsed, not verified: use the verify command with "
        "--event-log for that).",
    )
    p.add_argument("file", help="the event log: dstack/tappd JSON, or a CCEL binary log")
    p.add_argument("--quote", help="a quote file whose RTMR0-3 the replay must equal")
    p.add_argument(
        "--compare",
        metavar="OLD_LOG",
        help="another log (e.g. the previous image's): show per RTMR where the events part, and changed named "
        "values (informational: the exit code is not affected)",
    )
    p.add_argument("--format", choices=FORMATS, help="the log's format (default: detected)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _print(log: EventLog, match: list[dict[str, Any]] | None, out: TextIO) -> None:
    out.write(f"event log: {log.format}, {len(log.events)} events\n")
    for ev in log.events:
        where = f"RTMR{ev.rtmr}" if ev.rtmr is not None else "-    "
        bound = "bound" if ev.data_bound else "unbound"
        desc = ev.description
        out.write(f"  #{ev.index:<3} {where} {ev.type_name:<34} {bound:<7} {desc if desc is not None else ''}\n")
        out.write(f"        digest {ev.digest.hex()}\n")
    named = log.named
    if named:
        out.write("named values (bound by their digests):\n")
        for name, values in named.items():
            for v in values:
                text = printable(v)
                shown = text if name == "kernel-cmdline" and text else v.hex() + (f" ({text})" if text else "")
                out.write(f"  {name}: {shown}\n")
    out.write("replayed:\n")
    for i, r in enumerate(log.rtmrs):
        line = f"  RTMR{i} {r.hex()}"
        if match is not None:
            m = match[i]
            line += "  matches the quote" if m["ok"] else f"  DIFFERS: the quote has {m['quote']}"
        out.write(line + "\n")


def _values(values: tuple[bytes, ...]) -> str:
    return ", ".join(v.hex() or '""' for v in values) if values else "(absent)"


def _print_diff(diff: LogDiff, out: TextIO) -> None:
    if diff.equal:
        out.write("compared with OLD_LOG: no change\n")
        return
    out.write("compared with OLD_LOG:\n")
    for r in diff.rtmrs:
        if r.equal:
            out.write(f"  RTMR{r.rtmr} unchanged\n")
            continue
        out.write(f"  RTMR{r.rtmr} {r.old_value.hex()} -> {r.new_value.hex()}, from its event {r.position}:\n")
        for label, ev in (("old", r.old_event), ("new", r.new_event)):
            shown = f"#{ev.index} {ev.type_name} {ev.description or ''}" if ev else "(no more events)"
            out.write(f"    {label}: {shown}\n")
    for name, (old, new) in diff.named.items():
        out.write(f"  {name}: {_values(old)} -> {_values(new)}\n")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the log parses (and, with --quote, replays to the quote's RTMRs); 1 otherwise."""
    data = read_limited(args.file, MAX_EVENT_LOG_SIZE)
    quote = quote_from_file(args.quote) if args.quote is not None else None
    old_data = read_limited(args.compare, MAX_EVENT_LOG_SIZE) if args.compare is not None else None
    try:
        log = parse_event_log(data, args.format)
        diff = compare_logs(parse_event_log(old_data), log) if old_data is not None else None
        match = None
        if quote is not None:
            report = quote.report
            if not isinstance(report, TdReport10):
                raise VerificationError(
                    f"the quote is an {quote.tee} quote: only TD quotes have RTMRs to compare",
                    code="event_log_invalid",
                    step="event_log",
                )
            quoted = (report.rtmr0, report.rtmr1, report.rtmr2, report.rtmr3)
            match = [
                {"ok": q == r, "quote": q.hex(), "replayed": r.hex()} for q, r in zip(quoted, log.rtmrs, strict=True)
            ]
    except VerificationError as err:
        if args.json:
            print(error_json(err))
        else:
            print(f"NOT VALID: [{err.code}] {err.message}")
        return EXIT_FAILED
    ok = match is None or all(m["ok"] for m in match)
    if args.json:
        doc = {
            "ok": ok,
            **log.to_dict(),
            "quote_match": match,
            "comparison": diff.to_dict() if diff else None,
            "error": None,
        }
        if not ok:
            first = next(i for i, m in enumerate(match or []) if not m["ok"])
            doc["error"] = {
                "code": "event_log_mismatch",
                "step": "event_log",
                "message": f"the event log replays RTMR{first} to {log.rtmrs[first].hex()}, but the quote's is "
                f"{(match or [])[first]['quote']}",
            }
        print(json.dumps(doc, indent=2))
    else:
        _print(log, match, sys.stdout)
        if diff is not None:
            _print_diff(diff, sys.stdout)
        if not ok:
            print("NOT MATCHING: the log does not replay to the quote's RTMRs (another boot, image, or an altered log)")
    return EXIT_OK if ok else EXIT_FAILED
