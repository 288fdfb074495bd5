"""The per-platform collateral cache: authenticated, persisted atomically, fetched once per key at a time.

State lives on the event loop thread (no locks); fetching, authenticating
and writing to disk run in the worker pool and hand back a finished
:class:`CachedCollateral`. Rules (``docs/service.md``):

* only collateral that authenticates against the trust root **and** is valid
  now is ever installed; a refresh that fails (network, HTTP, bad body,
  failed authentication, out of its window, older than what is cached)
  leaves the good entry in place and is counted;
* an entry past its window is kept (for metrics and health) but never served:
  :meth:`CollateralCache.get` raises ``collateral_expired`` (or the exact
  ``*_not_yet_valid`` code for a clock behind the collateral);
* at most one fetch per key runs at a time; every caller awaits the same one;
* failed first fetches are remembered for ``negative_ttl`` and refreshes that
  fail back off, so a burst of requests never hammers the PCS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..collateral import AuthenticatedCollateral, Collateral, authenticate_collateral, load_collateral
from ..errors import CollateralError, VerificationError
from ..pccs import CollateralRequest, collateral_document, fetch_collateral_for, pcs_base_url
from ..pki import load_root_ca
from .clock import Clock
from .config import PlatformKey, ServiceConfig

__all__ = ["CachedCollateral", "CollateralCache", "KeyStatus", "RefreshEvent"]

log = logging.getLogger("tdxverify.server")

_TIME_CODES = frozenset(
    {
        "certificate_expired",
        "certificate_not_yet_valid",
        "crl_expired",
        "crl_not_yet_valid",
        "collateral_expired",
        "collateral_not_yet_valid",
    }
)
_NOT_YET = frozenset({"certificate_not_yet_valid", "crl_not_yet_valid", "collateral_not_yet_valid"})
_FILE = re.compile(r"(tdx|sgx)-([0-9A-F]{12})-(platform|processor)\.json")


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, eq=False)
class CachedCollateral:
    """One platform's authenticated collateral and where it came from."""

    key: PlatformKey
    auth: AuthenticatedCollateral
    fetched_at: datetime
    source: str

    @property
    def collateral(self) -> Collateral:
        return self.auth.collateral

    @property
    def etag(self) -> str:
        """A strong validator: changes whenever any byte of the collateral does."""
        return '"' + self.collateral.fingerprint.hex()[:40] + '"'

    @property
    def expires_at(self) -> datetime:
        return self.auth.expires_at

    def is_fresh(self, now: datetime) -> bool:
        return self.auth.is_valid_at(now)

    def age_seconds(self, now: datetime) -> float:
        """Time since Intel issued the TCB info (what the guide's 30-day alert watches)."""
        return (now - self.auth.tcb_info.issue_date).total_seconds()

    @cached_property
    def dcap_qvl_json(self) -> bytes:
        """The body of ``GET /v1/collateral``: dcap-qvl ``QuoteCollateralV3`` JSON, signed text unchanged."""
        return json.dumps(self.collateral.to_dcap_qvl(), separators=(",", ":")).encode()


@dataclass(frozen=True)
class RefreshEvent:
    """What one refresh attempt did (for metrics and logs)."""

    key: PlatformKey
    result: str
    """``updated``, ``unchanged`` or ``failed``."""
    error: VerificationError | None = None


@dataclass
class KeyStatus:
    """Mutable per-key state, touched only on the event loop thread."""

    key: PlatformKey
    pinned: bool = False
    """Configured (default / warm) or once fetched: refreshed in the background."""
    entry: CachedCollateral | None = None
    inflight: asyncio.Future[None] | None = None
    next_due: float = 0.0
    attempts: int = 0
    """Failed attempts in the current refresh cycle."""
    consecutive_failures: int = 0
    failures: int = 0
    last_error: VerificationError | None = None
    last_attempt: float | None = None
    last_success: datetime | None = None
    negative_until: float = 0.0


class CollateralCache:
    """Per-(TEE, FMSPC, CA) collateral, kept fresh from the PCS / PCCS in ``config``."""

    def __init__(
        self,
        config: ServiceConfig,
        clock: Clock,
        executor: Executor,
        *,
        on_refresh: Callable[[RefreshEvent], None] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.executor = executor
        self.root: x509.Certificate = load_root_ca(config.root_ca)
        self.base_url = pcs_base_url(config.pccs_url)
        self._on_refresh = on_refresh
        self._keys: dict[PlatformKey, KeyStatus] = {}
        self.persist_failures = 0
        self.disk_rejected: list[tuple[str, str]] = []
        """Files in the cache directory that were not loaded: (file name, reason)."""

    # ------------------------------------------------------------------ reading

    def statuses(self) -> list[KeyStatus]:
        return [self._keys[k] for k in sorted(self._keys)]

    def status(self, key: PlatformKey) -> KeyStatus | None:
        return self._keys.get(key)

    def pin(self, key: PlatformKey) -> None:
        """Keep ``key`` fresh in the background (fetched at the next tick if absent)."""
        self._state(key).pinned = True

    async def get(self, key: PlatformKey) -> CachedCollateral:
        """Fresh authenticated collateral for ``key``, fetching it if needed.

        Raises ``collateral_expired`` / ``*_not_yet_valid`` (what is cached is
        outside its window and cannot be refreshed now) or
        ``collateral_fetch_failed`` (nothing cached and the fetch failed).
        """
        now = self.clock.now()
        st = self._keys.get(key)
        if st is not None and st.entry is not None and st.entry.is_fresh(now):
            return st.entry
        if st is None and len(self._keys) >= self.config.max_platforms:
            raise CollateralError(
                f"the service already caches collateral for {len(self._keys)} platforms (--max-platforms); "
                f"send the collateral with the request, or raise the limit",
                code="collateral_fetch_failed",
                step="collateral",
            )
        st = self._state(key)
        mono = self.clock.monotonic()
        backing_off = (
            st.inflight is None
            and st.last_error is not None
            and ((st.entry is None and mono < st.negative_until) or (st.entry is not None and mono < st.next_due))
        )
        if not backing_off:
            await self.refresh(key)
        return self._usable(st)

    def _usable(self, st: KeyStatus) -> CachedCollateral:
        now = self.clock.now()
        if st.entry is not None:
            if st.entry.is_fresh(now):
                return st.entry
            try:
                st.entry.auth.check_time(now)
                code, cause = "collateral_expired", None  # pragma: no cover - fresh was just checked
            except VerificationError as exc:
                cause = exc
                code = exc.code if exc.code in _NOT_YET else "collateral_expired"
            why = f" ({cause.message})" if cause is not None else ""
            last = f"; the last refresh failed: [{st.last_error.code}] {st.last_error.message}" if st.last_error else ""
            raise CollateralError(
                f"the cached collateral for {st.key.tee} FMSPC {st.key.fmspc_hex} (PCK {st.key.ca} CA) is not valid "
                f"at {_iso(now)}{why}{last}. It is never served outside its window: the service keeps trying to "
                f"refresh it from {self.base_url}; check that the PCS / PCCS is reachable and serves fresh collateral",
                code=code,
                step="collateral",
            )
        err = st.last_error
        raise CollateralError(
            f"no collateral for {st.key.tee} FMSPC {st.key.fmspc_hex} (PCK {st.key.ca} CA) could be had from "
            f"{self.base_url}"
            + (f": [{err.code}] {err.message}" if err else "")
            + "; retry later, or send the collateral with the request",
            code="collateral_fetch_failed",
            step="collateral",
        )

    # ------------------------------------------------------------------ refreshing

    def due(self) -> list[PlatformKey]:
        """Keys the background refresher should refresh now."""
        mono = self.clock.monotonic()
        return [
            st.key
            for st in self.statuses()
            if (st.pinned or st.entry is not None) and st.inflight is None and mono >= st.next_due
        ]

    def forget_idle(self) -> None:
        """Drop unpinned keys whose only history is a failed first fetch older than ``negative_ttl``."""
        mono = self.clock.monotonic()
        for key in [
            k
            for k, st in self._keys.items()
            if not st.pinned and st.entry is None and st.inflight is None and mono >= st.negative_until
        ]:
            del self._keys[key]

    async def refresh(self, key: PlatformKey) -> None:
        """Fetch ``key`` once (joining a fetch already running); never raises: the outcome is in its status."""
        st = self._state(key)
        if st.inflight is None:
            st.inflight = asyncio.ensure_future(self._refresh(st))
        await asyncio.shield(st.inflight)

    async def _refresh(self, st: KeyStatus) -> None:
        loop = asyncio.get_running_loop()
        st.last_attempt = self.clock.monotonic()
        try:
            try:
                fresh = await loop.run_in_executor(self.executor, self._fetch, st.key, st.entry)
            except VerificationError as exc:
                self._failed(st, exc)
            except Exception as exc:  # a bug in the fetch path must not kill the refresher
                log.exception("refresh of %s failed unexpectedly", st.key.slug)
                self._failed(st, VerificationError(f"{type(exc).__name__}: {exc}", code="internal_error"))
            else:
                self._installed(st, fresh)
        finally:
            st.inflight = None

    def _fetch(self, key: PlatformKey, current: CachedCollateral | None) -> CachedCollateral | None:
        """Worker thread: fetch, authenticate at now, refuse a rollback, persist. None: unchanged."""
        collateral = fetch_collateral_for(
            CollateralRequest(tee=key.tee, fmspc=key.fmspc, ca=key.ca),
            pccs_url=self.config.pccs_url,
            timeout=self.config.upstream_timeout,
        )
        now = self.clock.now()
        if current is not None and current.collateral == collateral and current.is_fresh(now):
            return None
        auth = authenticate_collateral(collateral, now=now, root=self.root)
        if current is not None and current.is_fresh(now):
            old, new = current.auth.tcb_info, auth.tcb_info
            if (new.tcb_evaluation_data_number, new.issue_date) < (old.tcb_evaluation_data_number, old.issue_date):
                raise CollateralError(
                    f"{self.base_url} served older collateral for FMSPC {key.fmspc_hex} (tcbEvaluationDataNumber "
                    f"{new.tcb_evaluation_data_number}, issued {_iso(new.issue_date)}) than the cached one "
                    f"({old.tcb_evaluation_data_number}, {_iso(old.issue_date)}); kept the cached one. A PCCS "
                    "may serve a stale cache",
                    code="collateral_fetch_failed",
                    step="fetch",
                )
        entry = CachedCollateral(key=key, auth=auth, fetched_at=now, source=self.base_url)
        self._persist(entry)
        return entry

    def _installed(self, st: KeyStatus, fresh: CachedCollateral | None) -> None:
        now, mono = self.clock.now(), self.clock.monotonic()
        if fresh is not None:
            st.entry = fresh
        st.pinned = True
        st.attempts = 0
        st.consecutive_failures = 0
        st.last_error = None
        st.last_success = now
        st.negative_until = 0.0
        st.next_due = mono + self._interval(st, now)
        result = "updated" if fresh is not None else "unchanged"
        log.info("collateral %s %s (expires %s)", st.key.slug, result, st.entry and _iso(st.entry.expires_at))
        self._emit(RefreshEvent(st.key, result))

    def _failed(self, st: KeyStatus, exc: VerificationError) -> None:
        now, mono = self.clock.now(), self.clock.monotonic()
        st.failures += 1
        st.consecutive_failures += 1
        st.attempts += 1
        st.last_error = exc
        st.negative_until = mono + self.config.negative_ttl
        if st.attempts < self.config.retries:
            backoff = self.config.retry_backoff * 2 ** (st.attempts - 1)
            st.next_due = mono + min(backoff, self.config.refresh_interval)
        else:  # this cycle's retries are spent: wait for the next one
            st.attempts = 0
            st.next_due = mono + self._interval(st, now)
        log.warning("refresh of collateral %s failed: %s", st.key.slug, exc)
        self._emit(RefreshEvent(st.key, "failed", exc))

    def _interval(self, st: KeyStatus, now: datetime) -> float:
        """Next regular refresh: the interval, or half the time left before the earliest nextUpdate if sooner."""
        if st.entry is None:
            return self.config.refresh_interval
        left = (st.entry.expires_at - now).total_seconds()
        return min(self.config.refresh_interval, max(self.config.min_refresh, left / 2))

    def _emit(self, event: RefreshEvent) -> None:
        if self._on_refresh is not None:
            self._on_refresh(event)

    def _state(self, key: PlatformKey) -> KeyStatus:
        st = self._keys.get(key)
        if st is None:
            st = self._keys[key] = KeyStatus(key)
        return st

    # ------------------------------------------------------------------ disk

    def _path(self, key: PlatformKey) -> Path | None:
        return self.config.cache_dir / f"{key.slug}.json" if self.config.cache_dir is not None else None

    def _persist(self, entry: CachedCollateral) -> None:
        path = self._path(entry.key)
        if path is None:
            return
        source = {**entry.key.labels(), "fetched_at": _iso(entry.fetched_at), "from": entry.source}
        text = json.dumps(collateral_document(entry.collateral, source=source), indent=2) + "\n"
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
            tmp = None
            with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
                dfd = os.open(path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            # Serving from memory goes on; the next successful refresh tries again.
            self.persist_failures += 1
            log.error("cannot write collateral to %s: %s", path, exc)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def load_disk(self) -> int:
        """Load every cached file that authenticates (even if out of its window: it is then not served,
        and refreshed first). Returns how many were loaded; the others are listed in ``disk_rejected``."""
        d = self.config.cache_dir
        if d is None or not d.is_dir():
            return 0
        loaded = 0
        for path in sorted(d.iterdir()):
            m = _FILE.fullmatch(path.name)
            if m is None:
                continue
            key = PlatformKey(tee=m.group(1).upper(), fmspc=bytes.fromhex(m.group(2)), ca=m.group(3))  # type: ignore[arg-type]
            try:
                entry = self._load_file(path, key)
            except (VerificationError, OSError, ValueError) as exc:
                self.disk_rejected.append((path.name, str(exc)))
                log.warning("ignoring cached collateral %s: %s", path, exc)
                continue
            st = self._state(key)
            st.entry, st.pinned = entry, True
            st.next_due = self.clock.monotonic() + (
                self._interval(st, self.clock.now()) if entry.is_fresh(self.clock.now()) else 0.0
            )
            loaded += 1
        return loaded

    def _load_file(self, path: Path, key: PlatformKey) -> CachedCollateral:
        raw = path.read_bytes()
        doc = json.loads(raw)
        collateral = load_collateral(raw)
        problems = []
        if collateral.tcb_info.fmspc != key.fmspc:
            problems.append(f"its TCB info is for FMSPC {collateral.tcb_info.fmspc.hex().upper()}")
        if collateral.tcb_info.id != key.tee:
            problems.append(f"its TCB info is {collateral.tcb_info.id}")
        if _ca_of(collateral.pck_crl.issuer) != key.ca:
            problems.append(f"its PCK CRL is not the {key.ca} CA's")
        if problems:
            raise CollateralError(f"{path.name} does not hold {key.slug} collateral: " + "; ".join(problems))
        now = self.clock.now()
        try:
            auth = authenticate_collateral(collateral, now=now, root=self.root)
        except VerificationError as exc:
            inside = _inside_windows(collateral)
            if exc.code not in _TIME_CODES or inside is None:
                raise
            # Genuine but out of its window: keep it known (never served) so it is refreshed first.
            auth = authenticate_collateral(collateral, now=inside, root=self.root)
        src = doc.get("source") if isinstance(doc, dict) else None
        fetched = now
        if isinstance(src, dict) and isinstance(src.get("fetched_at"), str):
            with contextlib.suppress(ValueError):
                fetched = datetime.fromisoformat(src["fetched_at"].replace("Z", "+00:00"))
        return CachedCollateral(key=key, auth=auth, fetched_at=fetched, source=f"disk:{path.name}")


def _ca_of(name: x509.Name) -> str | None:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value).lower() if cns else ""
    if "platform" in cn and "processor" not in cn:
        return "platform"
    if "processor" in cn and "platform" not in cn:
        return "processor"
    return None


def _inside_windows(c: Collateral) -> datetime | None:
    bounds = c.time_bounds()
    start = max(b.not_before for b in bounds)
    end = min(b.not_after for b in bounds)
    return start + (end - start) / 2 if start < end else None
