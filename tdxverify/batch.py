"""Verify many quotes at once, in parallel, on any :class:`concurrent.futures.Executor`.

:func:`verify_many` (a list) and :func:`iter_verify` (a bounded-memory stream)
return one :class:`BatchResult` per input, in input order: a verdict or a
coded error, never an exception for a single bad quote. Work goes out in
chunks; each worker process keeps one :class:`~tdxverify.Verifier` per batch
context, so collateral is authenticated once per worker, not once per quote.

The default executor is a process pool over every core. Any other
``concurrent.futures.Executor`` works as well -- a thread pool, or a Dask
cluster through ``distributed.Client(...).get_executor()`` (extra
``tdxverify[dask]``). Everything sent to a worker and back is picklable.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .collateral import AuthenticatedCollateral, Collateral, load_collateral
from .errors import CollateralError, PolicyError, QuoteFormatError, VerificationError
from .pki import load_root_ca
from .policy import Policy
from .quote import Quote, decode_quote_file, parse_quote
from .verdict import Verdict, failure_dict
from .verify import Verifier, resolve_now

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchResult",
    "CollateralSet",
    "iter_verify",
    "verify_many",
]

QuoteSource = Quote | bytes | bytearray | str | os.PathLike[str]
"""What one item's quote may be: as :func:`tdxverify.load_quote` takes it (a path is read by the worker)."""

CollateralInput = Collateral | AuthenticatedCollateral | str | bytes | os.PathLike[str] | Mapping[str, Any]

# Chunks in flight per worker: enough to keep every worker busy while the
# caller consumes results, few enough that memory stays bounded.
_IN_FLIGHT_PER_WORKER = 4
_MAX_CHUNK = 64
_STREAM_CHUNK = 32
# Distinct batch contexts (root, policy, collateral) a worker process keeps verifiers for.
_WORKER_CONTEXTS = 4


# --------------------------------------------------------------------------- inputs and results


@dataclass(frozen=True)
class BatchError:
    """The coded failure of one item: the fields of :class:`~tdxverify.VerificationError`."""

    code: str
    step: str
    message: str

    @classmethod
    def of(cls, err: VerificationError) -> BatchError:
        return cls(code=err.code, step=err.step, message=err.message)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "step": self.step, "message": self.message}


@dataclass(frozen=True)
class BatchItem:
    """One quote to verify, with the ``id`` its result carries.

    ``invalid`` marks an item already known to be unusable (an unreadable line
    of a stream, say): it is not verified and comes back as a failed result in
    its place, so one bad input never shifts or aborts the others.
    """

    id: str
    quote: QuoteSource | None = None
    invalid: BatchError | None = None

    def __post_init__(self) -> None:
        if (self.quote is None) == (self.invalid is None):
            raise VerificationError(
                f"batch item {self.id!r}: give exactly one of quote or invalid", code="input_invalid", step="batch"
            )


# Verdict fields a worker sends back; ``report`` and ``quote`` are re-derived from the raw bytes.
_WIRE_FIELDS = tuple(f for f in Verdict.__dataclass_fields__ if f not in ("report", "quote"))


@dataclass(frozen=True)
class _WireVerdict:
    """A verdict as it travels back from a worker: its fields as a tuple and the quote as raw bytes.

    Pickling a parsed :class:`~tdxverify.Quote` (or the report inside it)
    costs several times more than its bytes, and on a few cores that
    transport is what limits scaling: the parent re-parses the exact bytes
    the worker verified, and only when the typed verdict is asked for.
    ``json`` is ``Verdict.to_dict()`` made by the worker from the real
    verdict, when the batch asked for it (``json_in_workers``); otherwise the
    parent makes it on demand from the re-built verdict, which is equal.
    """

    names: tuple[str, ...]
    """The field names, as the worker's version of tdxverify has them (pickled once per chunk)."""
    fields: tuple[Any, ...]
    raw: bytes | None
    """``None`` on the way back when the item's quote was ``bytes``: the parent has them (:func:`_collect`)."""
    json: dict[str, Any] | None = None

    @classmethod
    def of(cls, verdict: Verdict, raw: bytes | None, with_json: bool) -> _WireVerdict:
        state = verdict.__dict__
        return cls(_WIRE_FIELDS, tuple(state[k] for k in _WIRE_FIELDS), raw, verdict.to_dict() if with_json else None)

    def _state(self) -> dict[str, Any]:
        """The fields by name; a worker with another set of Verdict fields is refused, never guessed at."""
        if self.names != _WIRE_FIELDS and sorted(self.names) != sorted(_WIRE_FIELDS):
            raise _input_invalid(
                "a batch result came from a worker running another version of tdxverify (its verdict has "
                "other fields); run one version everywhere"
            )
        return dict(zip(self.names, self.fields, strict=True))

    @property
    def status(self) -> str:
        status: str = self._state()["status"]
        return status

    def verdict(self) -> Verdict:
        if self.raw is None:
            raise _input_invalid("a batch result lost its quote bytes; this is a bug, please report it")
        quote = parse_quote(self.raw)
        return Verdict(**self._state(), report=quote.report, quote=quote)

    def to_dict(self) -> dict[str, Any]:
        if self.json is None:
            return self.verdict().to_dict()
        return copy.deepcopy(self.json)


AnyVerdict = Verdict | _WireVerdict


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The outcome of one item: ``verdict`` when it verified, else ``error``.

    ``rejected`` holds the verified-but-rejected verdict when the policy
    refused the quote (``error.code == "policy_violation"``). Results pickle
    compactly, so they can travel between processes.
    """

    index: int
    """Position in the input (0-based)."""
    id: str
    error: BatchError | None = None
    tee_type: str | None = None
    quote_version: int | None = None
    _verdict: AnyVerdict | None = field(default=None, repr=False)
    _rejected: AnyVerdict | None = field(default=None, repr=False)

    @property
    def verdict(self) -> Verdict | None:
        """The verdict of a quote that verified (and satisfied the policy), else ``None``."""
        return self._typed("_verdict")

    @property
    def rejected(self) -> Verdict | None:
        """The verdict of a quote that verified but that the policy rejected, else ``None``."""
        return self._typed("_rejected")

    def _typed(self, name: str) -> Verdict | None:
        v: AnyVerdict | None = getattr(self, name)
        if isinstance(v, _WireVerdict):
            v = v.verdict()
            object.__setattr__(self, name, v)  # a cache of a pure function of the stored bytes
        return v

    @property
    def ok(self) -> bool:
        return self._verdict is not None and self.error is None

    @property
    def status(self) -> str | None:
        """The TCB status of a verified (or policy-rejected) quote; ``None`` if it did not verify."""
        v = self._verdict or self._rejected
        if v is None:
            return None
        return v.status

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON object for this item: ``id`` first, then the ``--json`` verdict shape."""
        if self._verdict is not None:
            body = self._verdict.to_dict()
        elif self._rejected is not None:
            body = self._rejected.to_dict()
            body["ok"] = False
            body["error"] = self.error.to_dict() if self.error else None
        else:
            body = failure_dict(self.error.to_dict() if self.error else {}, None)
            body["tee_type"] = self.tee_type
            body["quote_version"] = self.quote_version
        return {"id": self.id, **body}


def _input_invalid(message: str) -> VerificationError:
    return VerificationError(message, code="input_invalid", step="batch")


# --------------------------------------------------------------------------- collateral


def _shippable(src: CollateralInput) -> bytes | Mapping[str, Any]:
    """Collateral in a form that pickles cheaply and loads identically in a worker."""
    if isinstance(src, AuthenticatedCollateral):
        return src.collateral.to_dcap_qvl()
    if isinstance(src, Collateral):
        return src.to_dcap_qvl()
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if isinstance(src, Mapping):
        return dict(src)
    if isinstance(src, str) and src.lstrip().startswith(("{", "[")):
        return src.encode("utf-8")
    if isinstance(src, (str, os.PathLike)):
        try:
            return Path(src).read_bytes()
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"cannot read the collateral file {os.fspath(src)!r:.200} ({exc}); check the path",
                code="input_invalid",
                step="collateral",
            ) from None
    raise _input_invalid(f"collateral must be a path, JSON text, a mapping or a Collateral, not {type(src).__name__}")


def _label(src: CollateralInput, index: int) -> str:
    if isinstance(src, os.PathLike) or (isinstance(src, str) and not src.lstrip().startswith(("{", "["))):
        return os.fspath(src)
    return f"collateral #{index}"


PlatformKey = tuple[str, str]
"""(TEE type ``"TDX"``/``"SGX"``, FMSPC as 12 upper-case hex digits)."""


@dataclass(frozen=True)
class CollateralSet:
    """Collateral for several platforms; each quote gets the one for its TEE type and FMSPC.

    Build it with :meth:`from_sources` or :meth:`from_directory`. The FMSPC of
    a quote is read from its PCK certificate; a quote whose platform has no
    collateral here fails with ``collateral_missing``.
    """

    entries: Mapping[PlatformKey, bytes | Mapping[str, Any]]
    labels: Mapping[PlatformKey, str] = field(default_factory=dict)

    @classmethod
    def from_sources(cls, sources: Iterable[CollateralInput] | Mapping[str, CollateralInput]) -> CollateralSet:
        """Load each collateral (a mapping's keys are labels for messages); one per platform.

        Raises ``collateral_format`` / ``collateral_missing`` for a malformed
        one and ``input_invalid`` for two collaterals of the same platform.
        """
        labelled = sources.items() if isinstance(sources, Mapping) else ((None, s) for s in sources)
        entries: dict[PlatformKey, bytes | Mapping[str, Any]] = {}
        labels: dict[PlatformKey, str] = {}
        for i, (label, src) in enumerate(labelled):
            name = label if label is not None else _label(src, i)
            shipped = _shippable(src)
            try:
                col = load_collateral(shipped)
            except VerificationError as err:
                raise type(err)(f"{name}: {err.message}", code=err.code, step=err.step) from None
            key = (col.tcb_info.id, col.tcb_info.fmspc.hex().upper())
            if key in entries:
                raise _input_invalid(
                    f"{labels[key]} and {name} are both collateral for {key[0]} FMSPC {key[1]}: keep only one "
                    "(the newer) per platform"
                )
            entries[key] = shipped
            labels[key] = name
        if not entries:
            raise CollateralError("the collateral set is empty", code="collateral_missing", step="collateral")
        return cls(entries=entries, labels=labels)

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], pattern: str = "*.json") -> CollateralSet:
        """Every file matching ``pattern`` in ``path`` (sorted by name)."""
        root = Path(path)
        if not root.is_dir():
            raise _input_invalid(f"{os.fspath(path)!r} is not a directory of collateral files")
        files = sorted(p for p in root.glob(pattern) if p.is_file())
        if not files:
            raise CollateralError(
                f"no collateral file matches {pattern!r} in {os.fspath(path)!r}",
                code="collateral_missing",
                step="collateral",
            )
        return cls.from_sources({str(p): p for p in files})

    @property
    def platforms(self) -> tuple[PlatformKey, ...]:
        return tuple(sorted(self.entries))


# --------------------------------------------------------------------------- what a worker runs


@dataclass(frozen=True)
class _Context:
    """Everything a worker needs besides the items; ``key`` identifies it by content."""

    key: bytes
    root_ca: bytes | None
    policy: Policy | None
    collateral: bytes | Mapping[str, Any] | CollateralSet
    now: datetime


class _Worker:
    """One batch context inside one process: a Verifier and the loaded collateral."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.verifier = Verifier(root_ca=ctx.root_ca, policy=ctx.policy)
        self._lock = threading.Lock()
        self._collateral: dict[PlatformKey | None, Collateral] = {}

    def _load(self, key: PlatformKey | None, src: bytes | Mapping[str, Any]) -> Collateral:
        with self._lock:
            col = self._collateral.get(key)
            if col is None:
                col = self._collateral[key] = load_collateral(src)
            return col

    def collateral_for(self, quote: Quote) -> Collateral:
        spec = self.ctx.collateral
        if not isinstance(spec, CollateralSet):
            return self._load(None, spec)
        from .pccs import collateral_request  # reads the FMSPC from the (not yet verified) PCK certificate

        req = collateral_request(quote)
        key = (req.tee, req.fmspc_hex)
        src = spec.entries.get(key)
        if src is None:
            have = ", ".join(f"{t} {f}" for t, f in spec.platforms)
            raise CollateralError(
                f"no collateral for {req.tee} FMSPC {req.fmspc_hex} in the set (it has: {have}); fetch it with "
                "'tdxverify fetch-collateral QUOTE -o FILE' and add it",
                code="collateral_missing",
                step="collateral",
            )
        return self._load(key, src)

    def run(self, index: int, item: BatchItem, *, wire: bool = False, with_json: bool = False) -> BatchResult:
        """Verify one item.

        ``wire``: verdicts in their compact form for the trip to another
        process, with their JSON form made here if ``with_json``.
        """
        if item.invalid is not None:
            return BatchResult(index=index, id=item.id, error=item.invalid)
        quote: Quote | None = None
        raw = b""
        try:
            src = item.quote
            if src is None:  # BatchItem guarantees one of quote / invalid
                raise _input_invalid("the item has no quote")
            if isinstance(src, Quote):
                quote = src
            else:
                raw = _raw_quote(src)
                quote = parse_quote(raw)
            verdict = self.verifier.verify(quote, self.collateral_for(quote), self.ctx.now)
            return BatchResult(index=index, id=item.id, _verdict=_pack(verdict, raw, wire, with_json, item.quote))
        except PolicyError as err:
            v = err.verdict
            rejected = _pack(v, raw, wire, with_json, item.quote) if isinstance(v, Verdict) else None
            return BatchResult(index=index, id=item.id, error=BatchError.of(err), _rejected=rejected)
        except VerificationError as err:
            return self._failed(index, item, BatchError.of(err), quote)
        except Exception as exc:  # fail closed: one item's bug is that item's error, never the batch's
            bug = BatchError(
                "internal_error",
                "verify",
                f"internal error ({type(exc).__name__}: {exc}); the quote is NOT verified. Please report this.",
            )
            return self._failed(index, item, bug, quote)

    @staticmethod
    def _failed(index: int, item: BatchItem, err: BatchError, quote: Quote | None) -> BatchResult:
        return BatchResult(
            index=index,
            id=item.id,
            error=err,
            tee_type=quote.tee if quote else None,
            quote_version=quote.version if quote else None,
        )


def _raw_quote(src: bytes | bytearray | str | os.PathLike[str]) -> bytes:
    """The raw quote bytes, decoded as :func:`tdxverify.load_quote` decodes them."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if isinstance(src, str):
        return decode_quote_file(src.encode("utf-8"))
    if isinstance(src, os.PathLike):
        try:
            with open(src, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise QuoteFormatError(
                f"cannot read quote file {os.fspath(src)!r}: {exc.strerror or exc}", code="input_invalid", step="load"
            ) from None
        return decode_quote_file(data)
    raise _input_invalid(f"cannot load a quote from {type(src).__name__}: pass bytes, a hex/base64 string or a path")


def _pack(verdict: Verdict, raw: bytes, wire: bool, with_json: bool, src: QuoteSource | None) -> AnyVerdict:
    if not (wire and raw):
        return verdict
    # Immutable bytes are what the parent sent, so they need not travel back; a
    # bytearray could change in the parent meanwhile, so its verified copy does.
    return _WireVerdict.of(verdict, None if type(src) is bytes else raw, with_json)


def _restore_raw(results: list[BatchResult], chunk: list[tuple[int, BatchItem]]) -> bool:
    """Give back the quote bytes a worker did not echo (see :func:`_pack`); False if one cannot be."""
    for result, (_, item) in zip(results, chunk, strict=True):
        for v in (result._verdict, result._rejected):
            if isinstance(v, _WireVerdict) and v.raw is None:
                if type(item.quote) is not bytes:  # only bytes items are sent without their echo
                    return False
                object.__setattr__(v, "raw", item.quote)
    return True


class _WorkerContexts:
    """The verifiers of one worker process, by context key (least recently used dropped)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._workers: OrderedDict[bytes, _Worker] = OrderedDict()

    def get(self, ctx: _Context) -> _Worker:
        with self._lock:
            worker = self._workers.get(ctx.key)
            if worker is None:
                worker = self._workers[ctx.key] = _Worker(ctx)
            self._workers.move_to_end(ctx.key)
            while len(self._workers) > self._size:
                self._workers.popitem(last=False)
            return worker


# Per-process on purpose: this is what makes collateral authenticated once per worker
# process rather than once per chunk. It holds only caches keyed by content.
_PROCESS_WORKERS = _WorkerContexts(_WORKER_CONTEXTS)


def _run_chunk(ctx: _Context, chunk: Sequence[tuple[int, BatchItem]], with_json: bool) -> list[BatchResult]:
    """The task sent to an executor: verify one chunk with this process's verifier."""
    worker = _PROCESS_WORKERS.get(ctx)
    return [worker.run(index, item, wire=True, with_json=with_json) for index, item in chunk]


def _run_light_chunk(
    ctx: _Context, chunk: Sequence[tuple[int, str, QuoteSource]], with_json: bool
) -> list[BatchResult]:
    """:func:`_run_chunk` for items sent as plain tuples (cheaper to pickle than dataclasses)."""
    worker = _PROCESS_WORKERS.get(ctx)
    return [
        worker.run(index, BatchItem(id=item_id, quote=quote), wire=True, with_json=with_json)
        for index, item_id, quote in chunk
    ]


# --------------------------------------------------------------------------- the driver


def _context(
    collateral: CollateralInput | CollateralSet,
    now: int | float | datetime | None,
    root_ca: bytes | None,
    policy: Policy | None,
) -> _Context:
    load_root_ca(root_ca)  # a bad root fails the call here, not every item in every worker
    if policy is not None and not isinstance(policy, Policy):
        raise _input_invalid(f"policy must be a tdxverify.Policy, not {type(policy).__name__}")
    if isinstance(collateral, CollateralSet):
        shipped: bytes | Mapping[str, Any] | CollateralSet = collateral
    else:
        shipped = _shippable(collateral)
        load_collateral(shipped)  # malformed collateral fails the call, before any work goes out
    t = resolve_now(now)  # one instant for the whole batch, even if it runs for hours
    key = hashlib.sha256(pickle.dumps((root_ca, policy, shipped, t), protocol=pickle.HIGHEST_PROTOCOL)).digest()
    return _Context(key=key, root_ca=root_ca, policy=policy, collateral=shipped, now=t)


def _as_item(index: int, item: BatchItem | QuoteSource) -> BatchItem:
    if isinstance(item, BatchItem):
        return item
    if isinstance(item, os.PathLike):
        return BatchItem(id=os.fspath(item), quote=item)
    return BatchItem(id=str(index), quote=item)


def _chunked(items: Iterable[BatchItem | QuoteSource], size: int) -> Iterator[list[tuple[int, BatchItem]]]:
    chunk: list[tuple[int, BatchItem]] = []
    for index, item in enumerate(items):
        chunk.append((index, _as_item(index, item)))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _collect(future: Future[list[BatchResult]], chunk: list[tuple[int, BatchItem]]) -> list[BatchResult]:
    try:
        results = future.result()
    except Exception as exc:  # the task itself failed (a worker died, a broken pool): its items fail
        err = BatchError(
            "internal_error",
            "batch",
            f"the worker running this item failed ({type(exc).__name__}: {exc}); the quote is NOT verified",
        )
        return [BatchResult(index=i, id=item.id, error=err) for i, item in chunk]
    # Never attribute a result to the wrong quote (the index check comes first: it guards the zip).
    if [r.index for r in results] != [i for i, _ in chunk] or not _restore_raw(results, chunk):
        err = BatchError("internal_error", "batch", "the executor returned results for other items")
        return [BatchResult(index=i, id=item.id, error=err) for i, item in chunk]
    return results


def iter_verify(
    items: Iterable[BatchItem | QuoteSource],
    *,
    collateral: CollateralInput | CollateralSet,
    executor: Executor | None = None,
    jobs: int | None = None,
    now: int | float | datetime | None = None,
    root_ca: bytes | None = None,
    policy: Policy | None = None,
    chunk_size: int | None = None,
    json_in_workers: bool = False,
) -> Iterator[BatchResult]:
    """Verify ``items`` and yield one :class:`BatchResult` each, in input order, as they complete.

    Memory stays bounded: at most a few chunks per worker are in flight, and
    ``items`` is read lazily (a generator over a huge archive is fine).

    ``items``: quotes (anything :func:`tdxverify.load_quote` takes; a path is
    read by the worker) or :class:`BatchItem` with ids. ``collateral``: one
    collateral for every quote, or a :class:`CollateralSet` chosen by FMSPC.
    ``executor``: any ``concurrent.futures.Executor`` (it is not shut down);
    ``None`` makes a process pool of ``jobs`` workers (default: every core),
    and ``jobs=1`` without an executor verifies in this process.
    ``now``: one verification time for the whole batch (``None``: when the
    call starts). ``root_ca``, ``policy``: as for :func:`tdxverify.verify`.
    ``json_in_workers``: make each result's :meth:`BatchResult.to_dict` in
    the worker that verified it (worth it when every result is written out
    as JSON, as ``tdxverify batch`` does); otherwise results travel in
    their compact form and the typed verdict and its JSON are rebuilt here,
    from the verified bytes, only when asked for.

    Raises, when called (before any work starts), only for arguments that
    make the whole batch impossible (``root_ca_invalid``, malformed
    collateral, ``input_invalid``); every per-quote problem is that item's
    ``error``.
    """
    ctx = _context(collateral, now, root_ca, policy)
    if jobs is not None and jobs < 1:
        raise _input_invalid(f"jobs must be at least 1, not {jobs}")
    if chunk_size is not None and chunk_size < 1:
        raise _input_invalid(f"chunk_size must be at least 1, not {chunk_size}")
    if executor is None and jobs == 1:
        return _inline(ctx, items)
    workers = jobs or os.cpu_count() or 1
    size = chunk_size if chunk_size is not None else _auto_chunk(items, workers)
    return _stream(ctx, items, executor, workers, size, json_in_workers)


def _inline(ctx: _Context, items: Iterable[BatchItem | QuoteSource]) -> Iterator[BatchResult]:
    worker = _Worker(ctx)
    for index, item in enumerate(items):
        yield worker.run(index, _as_item(index, item))


def _stream(
    ctx: _Context,
    items: Iterable[BatchItem | QuoteSource],
    executor: Executor | None,
    workers: int,
    size: int,
    with_json: bool,
) -> Iterator[BatchResult]:
    own = executor is None
    pool: Executor = executor if executor is not None else ProcessPoolExecutor(max_workers=workers)
    pending: deque[tuple[Future[list[BatchResult]], list[tuple[int, BatchItem]]]] = deque()
    try:
        for chunk in _chunked(items, size):
            pending.append((_submit(pool, ctx, chunk, with_json), chunk))
            while len(pending) >= workers * _IN_FLIGHT_PER_WORKER:
                yield from _collect(*pending.popleft())
        while pending:
            yield from _collect(*pending.popleft())
    finally:
        for future, _ in pending:  # the caller stopped early: drop what has not started
            future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _submit(
    pool: Executor, ctx: _Context, chunk: list[tuple[int, BatchItem]], with_json: bool
) -> Future[list[BatchResult]]:
    try:
        light = [(index, item.id, item.quote) for index, item in chunk if item.quote is not None]
        if len(light) == len(chunk):
            return pool.submit(_run_light_chunk, ctx, light, with_json)
        return pool.submit(_run_chunk, ctx, chunk, with_json)
    except Exception as exc:  # a broken or shut-down executor: these items fail, in their place
        failed: Future[list[BatchResult]] = Future()
        failed.set_exception(exc)
        return failed


def _auto_chunk(items: Iterable[Any], workers: int) -> int:
    """Chunks big enough to amortise the hop to a worker, small enough to spread a short batch."""
    try:
        n = len(items)  # type: ignore[arg-type]
    except TypeError:
        return _STREAM_CHUNK
    return max(1, min(_MAX_CHUNK, n // (workers * _IN_FLIGHT_PER_WORKER)))


def verify_many(
    items: Iterable[BatchItem | QuoteSource],
    *,
    collateral: CollateralInput | CollateralSet,
    executor: Executor | None = None,
    jobs: int | None = None,
    now: int | float | datetime | None = None,
    root_ca: bytes | None = None,
    policy: Policy | None = None,
    chunk_size: int | None = None,
    json_in_workers: bool = False,
) -> list[BatchResult]:
    """Verify many quotes in parallel; one :class:`BatchResult` per item, in input order.

    One failure never aborts the batch: each item's result has either a
    ``verdict`` or a coded ``error``. Arguments as for :func:`iter_verify`
    (which streams instead of building a list).
    """
    return list(
        iter_verify(
            items,
            collateral=collateral,
            executor=executor,
            jobs=jobs,
            now=now,
            root_ca=root_ca,
            policy=policy,
            chunk_size=chunk_size,
            json_in_workers=json_in_workers,
        )
    )
