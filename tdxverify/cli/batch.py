"""``tdxverify batch QUOTES COLLATERAL``: verify an archive of quotes in parallel, JSONL out.

QUOTES is a directory of quote files, a JSONL file of ``{"id": ..., "quote": ...}``
lines, or ``-`` for such a stream on standard input. COLLATERAL is one
collateral file for every quote, or a directory of collateral files chosen per
quote by TEE type and FMSPC. One JSON line per quote goes to standard output
(or ``-o``), in input order, as results arrive; a progress bar (on a
terminal) and a summary go to standard error. Exit 1 if any quote failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, TextIO

from ..batch import BatchError, BatchItem, BatchResult, CollateralSet, iter_verify
from ..errors import VerificationError
from ..strictjson import JsonProblem, loads_strict
from .common import EXIT_FAILED, EXIT_OK, Parser, UsageError, parse_time, read_input, read_root
from .history import add_record_arguments, batch_recording
from .progress import Progress

NAME = "batch"
USAGE = (
    "tdxverify batch QUOTES COLLATERAL [--now T] [--root-ca FILE] [--policy FILE] [--jobs N] [--dask SCHEDULER]",
    "                                  [--glob PATTERN] [-o FILE] [--summary FILE] [--progress | --no-progress]",
    "                                  [--record [URL]]",
)


def build_parser() -> Parser:
    p = Parser(
        prog="tdxverify batch",
        description="Verify many quotes in parallel; one JSON verdict per line, in input order.",
    )
    p.add_argument("quotes", help="a directory of quote files, a JSONL file of {id, quote} lines, or '-' (stdin)")
    p.add_argument("collateral", help="one collateral file, or a directory of collateral files (one per FMSPC)")
    p.add_argument("--now", metavar="T", help="one verification time for every quote: unix seconds or ISO-8601")
    p.add_argument("--root-ca", metavar="FILE", help="trust root (DER or PEM) instead of the pinned Intel SGX Root CA")
    p.add_argument("--policy", metavar="FILE", help="appraisal policy JSON file (see docs/policy.md)")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: every core; 1: in this process)")
    p.add_argument("--dask", metavar="SCHEDULER", help="run on a Dask cluster: its scheduler address, or 'local'")
    p.add_argument("--glob", default="*", metavar="PATTERN", help="directory input: the quote files (default '*')")
    p.add_argument("-o", "--output", metavar="FILE", help="write the JSONL verdicts here instead of standard output")
    p.add_argument("--summary", metavar="FILE", help="also write the summary as JSON to FILE")
    add_record_arguments(p, worker=False, who="each item's id is recorded as the worker")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="always draw progress")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never draw progress")
    return p


# --------------------------------------------------------------------------- inputs


def _directory_names(root: Path, pattern: str) -> list[str]:
    """The quote files' names, sorted: a stable input order (only the names are held in memory)."""
    names = sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file() and not p.name.startswith("."))
    if not names:
        raise UsageError(f"no quote file in {str(root)!r} matches --glob {pattern!r}")
    return names


def _directory_items(root: Path, names: list[str]) -> Iterator[BatchItem]:
    for name in names:
        yield BatchItem(id=name, quote=root / name)


_JSON_SPACE = " \t\r\n"  # what JSON calls whitespace; a line of only these is skipped


def _bad_line(number: int, why: str, item_id: str | None = None) -> BatchItem:
    return BatchItem(
        id=item_id if item_id is not None else f"line {number}",
        invalid=BatchError("input_invalid", "batch", f"line {number}: {why}; the quote on it was not verified"),
    )


def _parse_line(number: int, raw: bytes) -> BatchItem | None:
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        return _bad_line(number, "is not UTF-8 text")
    if not text.strip(_JSON_SPACE):
        return None
    try:
        doc = loads_strict(text)
    except JsonProblem as exc:
        return _bad_line(number, f"the line {exc}")
    if not isinstance(doc, dict):
        return _bad_line(number, 'is not a JSON object {"id": ..., "quote": ...}')
    item_id = doc.get("id", f"line {number}")
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        return _bad_line(number, '"id" must be a string or an integer')
    quote = doc.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        return _bad_line(number, 'has no "quote" string (hex or base64)', str(item_id))
    return BatchItem(id=str(item_id), quote=quote)


def _jsonl_items(stream: IO[bytes]) -> Iterator[BatchItem]:
    for number, raw in enumerate(stream, start=1):
        item = _parse_line(number, raw)
        if item is not None:
            yield item


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip(_JSON_SPACE.encode()))


# --------------------------------------------------------------------------- running


def _dask_executor(stack: ExitStack, scheduler: str, jobs: int | None) -> tuple[Any, int]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--dask needs Dask: pip install 'tdxverify[dask]'") from None
    try:
        if scheduler == "local":
            cluster = stack.enter_context(
                LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=jobs or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
        else:
            client = stack.enter_context(Client(scheduler, timeout="5s"))  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--dask {scheduler!r}: cannot reach the Dask scheduler ({exc})") from None
    threads = sum(client.nthreads().values()) or 1
    return client.get_executor(pure=False), threads


def _summary(counts: Counter[str], statuses: Counter[str], errors: Counter[str], elapsed: float) -> dict[str, Any]:
    total = counts["total"]
    return {
        "total": total,
        "verified": counts["verified"],
        "failed": total - counts["verified"],
        "statuses": dict(sorted(statuses.items())),
        "errors": dict(sorted(errors.items())),
        "seconds": round(elapsed, 3),
        "quotes_per_second": round(total / elapsed, 1) if elapsed > 0 else None,
    }


def format_summary(s: dict[str, Any]) -> str:
    """The summary as the lines printed to standard error."""
    lines = [
        f"batch: {s['total']} quote(s): {s['verified']} verified, {s['failed']} not verified "
        f"({s['seconds']:.1f} s, {s['quotes_per_second'] or 0:,.0f} quotes/s)"
    ]
    lines += [f"  status {name}: {n}" for name, n in s["statuses"].items()]
    lines += [f"  error {code}: {n}" for code, n in s["errors"].items()]
    return "\n".join(lines)


def _emit(
    results: Iterator[BatchResult],
    out: TextIO,
    progress: Progress,
    record: Callable[[BatchResult], None] | None = None,
) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for result in results:
        out.write(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")
        if record is not None:
            record(result)
        counts["total"] += 1
        counts["verified"] += result.ok
        if result.status is not None:
            statuses[result.status] += 1
        if result.error is not None:
            errors[result.error.code] += 1
        progress.update(result.ok)
    out.flush()
    progress.finish()
    return _summary(counts, statuses, errors, progress.elapsed)


def run(args: argparse.Namespace) -> int:
    from ..policy import load_policy

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    now = parse_time(args.now) if args.now is not None else None
    root = read_root(args.root_ca)
    policy_text = read_input(args.policy).decode("utf-8", "replace") if args.policy else None
    collateral_path = Path(args.collateral)
    with ExitStack() as stack:
        total: int | None
        items: Iterator[BatchItem]
        if args.quotes == "-":
            items, total = _jsonl_items(sys.stdin.buffer), None
        elif Path(args.quotes).is_dir():
            names = _directory_names(Path(args.quotes), args.glob)
            items, total = _directory_items(Path(args.quotes), names), len(names)
        else:
            path = Path(args.quotes)
            try:
                total = _count_lines(path)
                stream = stack.enter_context(open(path, "rb"))
            except OSError as exc:
                raise UsageError(f"cannot read {args.quotes!r}: {exc.strerror or exc}") from None
            items = _jsonl_items(stream)
        try:
            policy = load_policy(policy_text) if policy_text is not None else None
            collateral: CollateralSet | bytes = (
                CollateralSet.from_directory(collateral_path)
                if collateral_path.is_dir()
                else read_input(args.collateral)
            )
        except VerificationError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
        executor, jobs = None, args.jobs
        if args.dask:
            executor, jobs = _dask_executor(stack, args.dask, args.jobs)
        out: TextIO = sys.stdout
        if args.output:
            try:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
        record = batch_recording(args, stack, now)
        progress = Progress(sys.stderr, total, enabled=args.progress)
        try:
            results = iter_verify(
                items,
                collateral=collateral,
                executor=executor,
                jobs=jobs,
                now=now,
                root_ca=root,
                policy=policy,
                json_in_workers=True,
            )
            summary = _emit(results, out, progress, record)
        except VerificationError as err:  # the batch as a whole cannot run: bad root CA or collateral
            progress.finish()
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
    print(format_summary(summary), file=sys.stderr)
    if args.summary:
        try:
            Path(args.summary).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.summary!r}: {exc.strerror or exc}") from None
    if summary["total"] == 0:
        print("error: the input held no quotes: nothing was verified", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if summary["failed"] == 0 else EXIT_FAILED
