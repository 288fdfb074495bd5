"""verify_many / iter_verify: order, isolation of failures, executors, per-FMSPC collateral, pickling."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tdxverify
from tdxverify import BatchItem, BatchResult, CollateralSet, iter_verify, verify_many
from tdxverify.cli.batch import _parse_line
from tdxverify.testing import Forge

from .vectors import verifiable_vectors

BY = {v.name: v for v in verifiable_vectors()}
# The two Phala samples (TDX FMSPC B0C06F000000, SGX FMSPC 00A067110000) share a validity window.
PHALA_NOW = 1751624924
PHALA = (BY["tdx-v4-phala-uptodate"], BY["sgx-v3-phala"])

FORGE = Forge(seed="batch-tests")
ROOT = FORGE.root_ca_der


def distinct_quotes(n: int, forge: Forge = FORGE) -> list[bytes]:
    return [forge.quote(report_data=i.to_bytes(64, "big")) for i in range(n)]


def direct(quote: Any, collateral: Any, **kw: Any) -> dict[str, Any]:
    """What tdxverify.verify says about one quote, as the batch's JSON shape (without the id)."""
    try:
        return tdxverify.verify(quote, collateral, **kw).to_dict()
    except tdxverify.PolicyError as err:
        out = err.verdict.to_dict()  # type: ignore[attr-defined]
        out.update(ok=False, error=err.to_dict())
        return out
    except tdxverify.VerificationError as err:
        return {"ok": False, "error": err.to_dict()}


def strip(result: BatchResult) -> dict[str, Any]:
    d = result.to_dict()
    del d["id"]
    return d


def mixed_batch() -> tuple[list[bytes], list[str | None]]:
    """Genuine forged quotes interleaved with every kind of failure; the expected code of each."""
    good = distinct_quotes(6)
    bad = [
        (FORGE.quote(corrupt="quote_signature"), "quote_signature_invalid"),
        (b"\x04\x00garbage", "quote_format"),
        (FORGE.quote(corrupt="qe_report_signature"), "qe_report_signature_invalid"),
        (FORGE.quote(td_attributes=bytes.fromhex("0100001000000000")), "debug_td"),
        (FORGE.quote(version=3), "collateral_kind_mismatch"),  # an SGX quote against TDX collateral
    ]
    quotes: list[bytes] = []
    codes: list[str | None] = []
    for i, q in enumerate(good):
        quotes.append(q)
        codes.append(None)
        if i < len(bad):
            quotes.append(bad[i][0])
            codes.append(bad[i][1])
    return quotes, codes


# --------------------------------------------------------------------------- real vectors


@pytest.mark.parametrize("vec", list(BY.values()), ids=lambda v: v.name)
@pytest.mark.parametrize("jobs", [1, 2])
def test_real_vectors_give_the_single_verification_verdict(vec: Any, jobs: int) -> None:
    results = verify_many([vec.quote_path, vec.quote], collateral=vec.collateral_path, now=vec.now, jobs=jobs)
    want = direct(vec.quote, vec.collateral_path, now=vec.now)
    assert [r.index for r in results] == [0, 1]
    assert results[0].id == str(vec.quote_path)
    for r in results:
        got = strip(r)
        if want["ok"]:
            assert got == want
            assert r.ok and r.verdict is not None and r.verdict.status == vec.expected["verdict"]["status"]
        else:
            assert got["error"] == want["error"] and not r.ok and r.verdict is None


def test_per_fmspc_collateral_set_with_real_vectors(tmp_path: Path) -> None:
    coll_dir = tmp_path / "collateral"
    coll_dir.mkdir()
    for vec in PHALA:
        shutil.copy(vec.collateral_path, coll_dir / f"{vec.name}.json")
    cset = CollateralSet.from_directory(coll_dir)
    assert cset.platforms == (("SGX", "00A067110000"), ("TDX", "B0C06F000000"))
    items = [BatchItem(id=v.name, quote=v.quote) for v in PHALA for _ in range(3)]
    items.append(BatchItem(id="near", quote=BY["tdx-v4-near-contract"].quote))  # FMSPC 20A06F000000: absent
    results = verify_many(items, collateral=cset, now=PHALA_NOW, jobs=2)
    assert [r.id for r in results] == [i.id for i in items]
    for r in results[:-1]:
        vec = BY[r.id]
        assert strip(r) == direct(vec.quote, vec.collateral_path, now=PHALA_NOW)
        assert r.status == vec.expected["verdict"]["status"]
    missing = results[-1]
    assert missing.error is not None and missing.error.code == "collateral_missing"
    assert "20A06F000000" in missing.error.message and "fetch-collateral" in missing.error.message
    assert missing.tee_type == "TDX" and missing.quote_version == 4


def test_collateral_set_refuses_two_collaterals_for_one_platform() -> None:
    vec = PHALA[0]
    with pytest.raises(tdxverify.VerificationError) as info:
        CollateralSet.from_sources({"a.json": vec.collateral_path, "b.json": vec.collateral_path})
    assert info.value.code == "input_invalid"
    assert "a.json and b.json" in info.value.message


def test_collateral_set_rejects_bad_members_and_empty_dirs(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(tdxverify.VerificationError) as info:
        CollateralSet.from_directory(tmp_path)
    assert info.value.code in ("collateral_missing", "collateral_format")
    assert str(tmp_path / "bad.json") in info.value.message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(tdxverify.VerificationError) as info:
        CollateralSet.from_directory(empty)
    assert info.value.code == "collateral_missing"


# --------------------------------------------------------------------------- forged quotes


def test_order_and_isolated_failures_default_process_pool() -> None:
    quotes, codes = mixed_batch()
    collateral = FORGE.collateral()
    results = verify_many(quotes, collateral=collateral, now=FORGE.now, root_ca=ROOT)
    assert [r.index for r in results] == list(range(len(quotes)))
    assert [r.error.code if r.error else None for r in results] == codes
    for q, r in zip(quotes, results, strict=True):
        want = direct(q, collateral, now=FORGE.now, root_ca=ROOT)
        if want["ok"]:
            assert strip(r) == want
        else:
            assert r.error is not None and r.error.to_dict() == want["error"]


@pytest.mark.parametrize(
    "make_executor",
    [lambda: ThreadPoolExecutor(3), lambda: ProcessPoolExecutor(2)],
    ids=["threads", "processes"],
)
def test_any_executor_gives_the_in_process_results(make_executor: Callable[[], Executor]) -> None:
    quotes, _ = mixed_batch()
    collateral = FORGE.collateral()
    inline = [r.to_dict() for r in verify_many(quotes, collateral=collateral, now=FORGE.now, root_ca=ROOT, jobs=1)]
    with make_executor() as ex:
        for chunk_size in (1, 4, 100):
            got = verify_many(
                quotes, collateral=collateral, now=FORGE.now, root_ca=ROOT, executor=ex, chunk_size=chunk_size
            )
            assert [r.to_dict() for r in got] == inline
        ex.submit(pow, 2, 2).result()  # a caller's executor is left running


def test_revoked_tcb_reaudit() -> None:
    """Quotes accepted under last month's collateral fail once Intel rates their TCB Revoked."""
    quotes = distinct_quotes(12)
    before = verify_many(quotes, collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, jobs=2)
    assert all(r.ok and r.status == "UpToDate" for r in before)
    revoked = FORGE.collateral(tcb_info=FORGE.tcb_info().with_status("Revoked", ("INTEL-SA-01234",)))
    after = verify_many(quotes, collateral=revoked, now=FORGE.now, root_ca=ROOT, jobs=2)
    assert [r.index for r in after] == list(range(12))
    for r in after:
        assert not r.ok and r.verdict is None and r.status is None
        assert r.error is not None and r.error.code == "tcb_revoked"
        assert "INTEL-SA-01234" in r.error.message
        assert r.to_dict()["measurements"] is None  # nothing measured is reported for a failed quote


def test_policy_rejection_keeps_the_verified_verdict() -> None:
    approved = b"\x01" * 48
    quotes = [FORGE.quote(rtmr3=approved), FORGE.quote(rtmr3=b"\x02" * 48)]
    policy = tdxverify.Policy(measurements={"rtmr3": frozenset({approved})})
    results = verify_many(quotes, collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, policy=policy, jobs=2)
    assert results[0].ok and results[0].verdict is not None and results[0].verdict.policy is not None
    rejected = results[1]
    assert rejected.error is not None and rejected.error.code == "policy_violation"
    assert rejected.verdict is None and rejected.rejected is not None
    assert rejected.rejected.rtmr3 == b"\x02" * 48 and rejected.status == "UpToDate"
    doc = rejected.to_dict()
    assert doc["ok"] is False and doc["measurements"]["rtmr3"] == "02" * 48
    assert doc["policy"]["ok"] is False


def test_results_pickle_and_stay_typed() -> None:
    quotes, _ = mixed_batch()
    collateral = FORGE.collateral()
    results = verify_many(quotes, collateral=collateral, now=FORGE.now, root_ca=ROOT, jobs=2)
    again: list[BatchResult] = pickle.loads(pickle.dumps(results))
    assert [r.to_dict() for r in again] == [r.to_dict() for r in results]
    for q, r in zip(quotes, again, strict=True):
        if r.ok:
            v = r.verdict
            assert isinstance(v, tdxverify.Verdict)
            assert v == tdxverify.verify(q, collateral, now=FORGE.now, root_ca=ROOT)
            assert v.quote == tdxverify.parse_quote(q)  # the exact bytes the worker verified
    first = again[0]
    assert first.verdict is first.verdict  # materialised once


@pytest.mark.parametrize("json_in_workers", [False, True])
def test_every_quote_form_comes_back_as_the_verdict_of_its_own_bytes(json_in_workers: bool) -> None:
    """bytes are not echoed back by workers, other forms are: each result still holds exactly its quote."""
    quotes = distinct_quotes(4)
    rejected_quote = FORGE.quote(rtmr3=b"\x02" * 48)
    kinds: list[Any] = [quotes[0], bytearray(quotes[1]), quotes[2].hex(), BatchItem(id="x", quote=quotes[3])]
    kinds.append(rejected_quote)
    rtmr3 = tdxverify.parse_quote(quotes[0]).report.rtmr3  # type: ignore[union-attr]
    policy = tdxverify.Policy(measurements={"rtmr3": frozenset({rtmr3})})
    kw: dict[str, Any] = {"collateral": FORGE.collateral(), "now": FORGE.now, "root_ca": ROOT, "policy": policy}
    inline = verify_many(kinds, jobs=1, **kw)
    with ProcessPoolExecutor(2) as ex:
        pooled = verify_many(kinds, executor=ex, jobs=2, chunk_size=2, json_in_workers=json_in_workers, **kw)
    assert [r.to_dict() for r in pooled] == [r.to_dict() for r in inline]
    for raw, r in zip([*quotes, rejected_quote], pooled, strict=True):
        v = r.verdict or r.rejected
        assert v is not None and v.quote == tdxverify.parse_quote(raw)
    assert pooled[4].error is not None and pooled[4].error.code == "policy_violation"


def test_collateral_is_authenticated_once_per_worker_process() -> None:
    quotes = distinct_quotes(64)
    # A `now` no other test uses: forked workers inherit no verifier for this context.
    with ProcessPoolExecutor(2, initializer=_count_authentications) as ex:
        results = verify_many(
            quotes, collateral=FORGE.collateral(), now=FORGE.now + 17, root_ca=ROOT, executor=ex, chunk_size=2
        )
        assert all(r.ok for r in results)
        counts = {pid: n for pid, n in (ex.submit(_authentications).result() for _ in range(16))}
    # 32 chunks over the pool: never more than one authentication in any process (a process
    # that happened to get no chunk has none)
    assert counts and all(n <= 1 for n in counts.values()) and sum(counts.values()) >= 1


_AUTH_CALLS = [0]


def _count_authentications() -> None:
    import importlib

    v = importlib.import_module("tdxverify.verify")  # the module (the package's name 'verify' is the function)
    original = v.authenticate_collateral

    def counting(*args: Any, **kwargs: Any) -> Any:
        _AUTH_CALLS[0] += 1
        return original(*args, **kwargs)

    v.authenticate_collateral = counting  # type: ignore[assignment]


def _authentications() -> tuple[int, int]:
    import time

    time.sleep(0.05)  # let both workers pick up a probe
    return os.getpid(), _AUTH_CALLS[0]


class _FailingExecutor(Executor):
    """Runs tasks in this thread, except that the second task's future fails (a crashed worker)."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls += 1
        future: Future[Any] = Future()
        if self.calls == 2:
            future.set_exception(RuntimeError("worker lost"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_failed_task_fails_only_its_items() -> None:
    quotes = distinct_quotes(9)
    results = verify_many(
        quotes, collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, executor=_FailingExecutor(), chunk_size=3
    )
    assert [r.ok for r in results] == [True] * 3 + [False] * 3 + [True] * 3
    for r in results[3:6]:
        assert r.error is not None and r.error.code == "internal_error" and "worker lost" in r.error.message


def test_streaming_reads_input_lazily() -> None:
    quote = FORGE.quote()
    pulled = [0]

    def endless() -> Iterator[bytes]:
        while True:
            pulled[0] += 1
            yield quote

    with ThreadPoolExecutor(2) as ex:
        stream = iter_verify(endless(), collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, executor=ex, jobs=2)
        first = [next(stream) for _ in range(5)]
        assert all(r.ok for r in first) and [r.index for r in first] == list(range(5))
        assert pulled[0] <= 2 * 4 * 32 + 32  # the in-flight window, not the input
        stream.close()


def test_whole_batch_arguments_fail_up_front() -> None:
    quotes = distinct_quotes(2)
    for kwargs, code in (
        ({"collateral": "{}"}, "collateral_format"),
        ({"collateral": FORGE.collateral(), "root_ca": b"not a certificate"}, "root_ca_invalid"),
        ({"collateral": FORGE.collateral(), "jobs": 0}, "input_invalid"),
        ({"collateral": FORGE.collateral(), "chunk_size": 0}, "input_invalid"),
        ({"collateral": 42}, "input_invalid"),
    ):
        with pytest.raises(tdxverify.VerificationError) as info:
            verify_many(quotes, now=FORGE.now, **{"root_ca": ROOT, **kwargs})
        assert info.value.code == code, kwargs


def test_iter_verify_checks_its_arguments_when_called() -> None:
    with pytest.raises(tdxverify.VerificationError) as info:
        iter_verify([FORGE.quote()], collateral="{}", now=FORGE.now)  # not iterated yet
    assert info.value.code == "collateral_format"


def test_expired_collateral_fails_every_item_with_its_code() -> None:
    quotes = distinct_quotes(3)
    results = verify_many(quotes, collateral=FORGE.collateral(), now=FORGE.now + 10 * 365 * 86400, root_ca=ROOT)
    assert {r.error.code for r in results if r.error} <= {"crl_expired", "collateral_expired", "certificate_expired"}
    assert not any(r.ok for r in results)


def test_items_with_ids_and_known_bad_items() -> None:
    bad = _parse_line(2, b"{not json")
    assert bad is not None and bad.invalid is not None
    items = [BatchItem(id="a", quote=FORGE.quote()), bad, BatchItem(id="c", quote=FORGE.quote().hex())]
    results = verify_many(items, collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, jobs=2)
    assert [(r.id, r.ok) for r in results] == [("a", True), ("line 2", False), ("c", True)]
    assert results[1].error is not None and results[1].error.code == "input_invalid"
    with pytest.raises(tdxverify.VerificationError):
        BatchItem(id="x")


def test_unreadable_quote_file_is_that_items_error(tmp_path: Path) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(FORGE.quote())
    results = verify_many(
        [good, tmp_path / "missing.bin"], collateral=FORGE.collateral(), now=FORGE.now, root_ca=ROOT, jobs=2
    )
    assert results[0].ok and results[0].id == str(good)
    assert results[1].error is not None and results[1].error.code == "input_invalid"


@given(st.binary(max_size=300))
def test_any_stream_line_gives_an_item_or_nothing(raw: bytes) -> None:
    item = _parse_line(7, raw)
    if item is None:
        assert not raw.strip(b" \t\r\n")
    else:
        assert (item.quote is None) != (item.invalid is None)
        if item.invalid is not None:
            assert item.invalid.code == "input_invalid" and "line 7" in item.invalid.message


# --------------------------------------------------------------------------- Dask


def test_dask_local_cluster() -> None:
    import distributed  # the 'dask' extra, part of the test extras

    quotes, codes = mixed_batch()
    collateral = FORGE.collateral()
    inline = [r.to_dict() for r in verify_many(quotes, collateral=collateral, now=FORGE.now, root_ca=ROOT, jobs=1)]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        results = verify_many(
            quotes,
            collateral=collateral,
            now=FORGE.now,
            root_ca=ROOT,
            executor=client.get_executor(pure=False),
            chunk_size=2,
        )
        assert [r.to_dict() for r in results] == inline
        assert [r.error.code if r.error else None for r in results] == codes
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # really other processes


def test_wire_fields_travel_by_name_and_another_version_is_refused() -> None:
    from tdxverify import batch

    raw = FORGE.quote()
    verdict = tdxverify.verify(raw, FORGE.collateral(), now=FORGE.now, root_ca=ROOT)
    wire = batch._WireVerdict.of(verdict, raw, False)
    assert wire.verdict() == verdict and wire.status == verdict.status
    # A worker whose Verdict declares the same fields in another order: matched by name.
    order = tuple(reversed(range(len(wire.names))))
    shuffled = batch._WireVerdict(tuple(wire.names[i] for i in order), tuple(wire.fields[i] for i in order), raw, None)
    assert shuffled.verdict() == verdict and shuffled.status == verdict.status
    # One with other fields: refused, never guessed at.
    other = batch._WireVerdict((*wire.names[:-1], "renamed"), wire.fields, raw, None)
    with pytest.raises(tdxverify.VerificationError) as info:
        other.verdict()
    assert info.value.code == "input_invalid" and "another version" in info.value.message
    with pytest.raises(tdxverify.VerificationError):
        _ = other.status
