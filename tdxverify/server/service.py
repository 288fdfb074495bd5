"""The service object: configuration, clock, worker pools, cache, refresher, verifiers and metrics.

One :class:`Service` per app (no global state). The HTTP layer
(:mod:`tdxverify.server.app`) only translates between requests and these methods.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import PolicyError, VerificationError
from ..eventlog import EventLog
from ..pccs import collateral_request
from ..policy import Policy
from ..quote import Quote
from ..verdict import Verdict
from ..verify import CollateralInput, Verifier
from .cache import CollateralCache, RefreshEvent
from .clock import Clock, SystemClock
from .config import PlatformKey, ServiceConfig
from .inputs import VerifyInput, parse_verify_body
from .metrics import Counter, Histogram, Sample
from .policies import both, floor

__all__ = ["OutcomeHook", "Service", "VerifyOutcome"]

log = logging.getLogger("tdxverify.server")
T = TypeVar("T")

_POLICY_VERIFIERS = 32
_PLATFORM_MEMO = 1024


@dataclass(frozen=True)
class VerifyOutcome:
    """A finished ``/v1/verify`` request: everything a recorder needs, in one place.

    ``verdict`` is set when the quote verified (and any policy passed) or when a
    policy rejected a verified quote (then ``error`` is the policy error too);
    ``error`` for every failure. ``body`` is exactly the JSON answered.
    """

    http_status: int
    body: dict[str, Any]
    quote_bytes: bytes | None
    quote: Quote | None
    verdict: Verdict | None
    error: VerificationError | None
    platform: PlatformKey | None
    """The cache key whose collateral was used (None: the request brought its own, or none was reached)."""
    seconds: float
    """Wall time from the start of the request to the answer."""

    @property
    def outcome(self) -> str:
        """``verified``, ``not_verified`` (ok false), ``rejected`` (4xx), ``unavailable`` (503), ``error`` (500)."""
        if self.http_status == 200:
            return "verified" if self.error is None else "not_verified"
        if 400 <= self.http_status < 500:
            return "rejected"
        return "unavailable" if self.http_status in (503, 504) else "error"


OutcomeHook = Callable[[VerifyOutcome], None]


class Service:
    """Everything behind the HTTP routes."""

    def __init__(self, config: ServiceConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.verify_pool = ThreadPoolExecutor(config.workers, thread_name_prefix="tdxverify-verify")
        self.fetch_pool = ThreadPoolExecutor(2, thread_name_prefix="tdxverify-fetch")
        self.requests = Counter("tdxverify_http_requests_total", "HTTP requests answered, by route and status.")
        self.outcomes = Counter(
            "tdxverify_verifications_total",
            "POST /v1/verify outcomes (verified, not_verified, rejected, unavailable, error) by error code.",
        )
        self.latency = Histogram(
            "tdxverify_verification_seconds", "Time to verify one quote (in the worker pool, collateral in hand)."
        )
        self.request_latency = Histogram(
            "tdxverify_request_seconds", "Time from request to answer for POST /v1/verify."
        )
        self.refreshes = Counter(
            "tdxverify_collateral_refreshes_total", "Collateral refresh attempts by platform and result."
        )
        self.refresh_failures = Counter(
            "tdxverify_collateral_refresh_failures_total",
            "Collateral refreshes that failed (the cached collateral was kept), by platform and error code.",
        )
        self.cache = CollateralCache(config, self.clock, self.fetch_pool, on_refresh=self._refresh_event)
        self.verifier = Verifier(root_ca=config.root_ca, policy=config.policy)
        self._policy_verifiers: OrderedDict[str, Verifier] = OrderedDict()
        self._platforms: OrderedDict[tuple[str, tuple[bytes, ...]], PlatformKey] = OrderedDict()
        self._platforms_lock = threading.Lock()
        self.outcome_hooks: list[OutcomeHook] = [self._count_outcome]
        """Called with every finished verification, in order, on the event loop thread (see :meth:`finish`)."""
        self.close_hooks: list[Callable[[], None]] = []
        """Called by :meth:`close` (the app's shutdown), in order: e.g. committing a recorder's queue."""

    # ------------------------------------------------------------------ lifecycle

    def load(self) -> int:
        """Load the cache directory and pin the configured platforms (before serving: a restart serves at once)."""
        n = self.cache.load_disk()
        for key in (*((self.config.default_platform,) if self.config.default_platform else ()), *self.config.warm):
            self.cache.pin(key)
        return n

    def close(self) -> None:
        self.verify_pool.shutdown(wait=False, cancel_futures=True)
        self.fetch_pool.shutdown(wait=False, cancel_futures=True)
        for hook in self.close_hooks:
            try:
                hook()
            except Exception:
                log.exception("a close hook failed")

    # ------------------------------------------------------------------ verification

    def verifier_for(self, request: VerifyInput) -> Verifier:
        """The default verifier, or one per distinct request policy (reused: their caches stay warm).

        Without a server policy the request's applies alone. With one, the verifier applies the server's
        (its debug / service-TD grants narrowed to the request's: :func:`.policies.floor`) and
        :meth:`timed_verify` then applies the request's on top.
        """
        if request.policy is None or request.policy_key is None:
            return self.verifier
        v = self._policy_verifiers.get(request.policy_key)
        if v is None:
            server = self.config.policy
            policy = request.policy if server is None else floor(server, request.policy)
            v = Verifier(root_ca=self.config.root_ca, policy=policy)
            self._policy_verifiers[request.policy_key] = v
            while len(self._policy_verifiers) > _POLICY_VERIFIERS:
                self._policy_verifiers.popitem(last=False)
        else:
            self._policy_verifiers.move_to_end(request.policy_key)
        return v

    async def in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the verification pool, bounded by ``request_timeout`` (``request_timeout``)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.verify_pool, fn, *args)
        try:
            return await asyncio.wait_for(future, self.config.request_timeout)
        except asyncio.TimeoutError:
            raise VerificationError(
                f"the request took longer than the service's limit of {self.config.request_timeout:g} s "
                "(--request-timeout); the quote is NOT verified. Retry; if it persists the server is overloaded",
                code="request_timeout",
                step="verify",
            ) from None

    def platform_of(self, quote: Quote) -> PlatformKey:
        """Which cached collateral a quote needs (from its PCK certificate).

        Remembered per PCK chain: reading it costs more than a cached verification. The chain is
        not trusted here, only used to pick collateral; verification then checks it against that.
        """
        chain = quote.pck_chain
        memo = (quote.tee, chain) if chain else None
        if memo is not None:
            with self._platforms_lock:
                known = self._platforms.get(memo)
                if known is not None:
                    self._platforms.move_to_end(memo)
                    return known
        req = collateral_request(quote)
        key = PlatformKey(tee=req.tee, fmspc=req.fmspc, ca=req.ca)
        if memo is not None:
            with self._platforms_lock:
                self._platforms[memo] = key
                while len(self._platforms) > _PLATFORM_MEMO:
                    self._platforms.popitem(last=False)
        return key

    def prepare(
        self, content_type: str | None, body: bytes
    ) -> tuple[VerifyInput, PlatformKey | VerificationError | None]:
        """Worker thread: parse the body (its errors propagate: a malformed request) and, when it brings
        no collateral, find the quote's platform -- or the error saying why not, which is a verdict on a
        quote that parsed. One hand-off to the pool instead of two."""
        parsed = parse_verify_body(content_type, body)
        if parsed.collateral is not None:
            return parsed, None
        try:
            return parsed, self.platform_of(parsed.quote)
        except VerificationError as exc:
            return parsed, exc

    def tightening(self, request: VerifyInput) -> bool:
        """True when a request policy applies on top of the server's (both must accept)."""
        return self.config.policy is not None and request.policy is not None

    def timed_verify(
        self,
        verifier: Verifier,
        quote: Quote,
        collateral: CollateralInput,
        event_log: EventLog | None = None,
        also: Policy | None = None,
    ) -> Verdict:
        """Worker thread: verify at the service clock's now, observing the latency histogram.

        ``also``: a request policy applied after the verifier's (the server's): both must accept.
        """
        start = time.perf_counter()
        now = self.clock.now()
        try:
            try:
                verdict = verifier.verify(quote, collateral, now, event_log)
            except PolicyError as exc:
                # The server's policy rejected a verified quote: the request's rules are still reported.
                if also is None or not isinstance(exc.verdict, Verdict) or exc.verdict.policy is None:
                    raise
                verdict = exc.verdict
            if also is None:
                return verdict
            if verdict.policy is None:  # fail closed: the server's policy must have been applied first
                raise VerificationError(
                    "internal error: the server's policy was not applied; the quote is NOT verified",
                    code="internal_error",
                )
            return both(verdict, verdict.policy, also, now)
        finally:
            self.latency.observe(time.perf_counter() - start)

    def finish(self, outcome: VerifyOutcome) -> None:
        """The one place every finished verification passes through: metrics, then any recorder hooks.

        A hook that raises is logged and never changes the answer.
        """
        for hook in self.outcome_hooks:
            try:
                hook(outcome)
            except Exception:
                log.exception("an outcome hook failed")

    def _count_outcome(self, outcome: VerifyOutcome) -> None:
        code = outcome.error.code if outcome.error is not None else "none"
        self.outcomes.inc({"outcome": outcome.outcome, "code": code})
        self.request_latency.observe(outcome.seconds)

    # ------------------------------------------------------------------ metrics

    def _refresh_event(self, event: RefreshEvent) -> None:
        labels = event.key.labels()
        self.refreshes.inc({**labels, "result": event.result})
        if event.error is not None:
            self.refresh_failures.inc({**labels, "code": event.error.code})

    def families(self) -> list[Counter | Histogram | Sample]:
        """Every metric family, gauges computed now with the service clock."""
        now = self.clock.now()
        entries = [(st, st.entry) for st in self.cache.statuses()]
        with_entry = [(st, e) for st, e in entries if e is not None]
        return [
            self.requests,
            self.outcomes,
            self.latency,
            self.request_latency,
            self.refreshes,
            self.refresh_failures,
            Sample(
                "tdxverify_collateral_age_seconds",
                "Seconds since Intel issued the cached TCB info (issueDate); alert above 30 days.",
                [(st.key.labels(), e.age_seconds(now)) for st, e in with_entry],
            ),
            Sample(
                "tdxverify_collateral_seconds_to_expiry",
                "Seconds until the earliest nextUpdate / notAfter of the cached collateral (negative: expired).",
                [(st.key.labels(), (e.expires_at - now).total_seconds()) for st, e in with_entry],
            ),
            Sample(
                "tdxverify_collateral_fresh",
                "1 if the cached collateral is valid now and served, 0 if not (or none could be fetched).",
                [(st.key.labels(), 1.0 if e is not None and e.is_fresh(now) else 0.0) for st, e in entries],
            ),
            Sample(
                "tdxverify_collateral_tcb_evaluation_data_number",
                "tcbEvaluationDataNumber of the cached TCB info.",
                [(st.key.labels(), float(e.auth.tcb_evaluation_data_number)) for st, e in with_entry],
            ),
            Sample(
                "tdxverify_collateral_refresh_consecutive_failures",
                "Refresh attempts that failed in a row (0 after a success).",
                [(st.key.labels(), float(st.consecutive_failures)) for st, _ in entries],
            ),
            Sample(
                "tdxverify_cache_write_failures_total",
                "Times the cache directory could not be written (serving from memory went on).",
                [({}, float(self.cache.persist_failures))],
                kind="counter",
            ),
        ]
