"""Fuzz targets: one ``check(data)`` per public parser/loader and for the whole ``verify`` path.

Each target states an invariant and raises :class:`InvariantBroken` (or lets
any non-coded exception escape) when it does not hold. The invariants shared
by all of them: the only exception that may leave tdxverify is a
:class:`~tdxverify.VerificationError` whose ``code`` is in ``ERROR_CODES``,
is not ``internal_error`` (that code means a bug was caught), and comes with
a message. Seeds come from ``vectors/``, ``vectors/conformance/`` and the
forge (:class:`tdxverify.testing.Forge`, deterministic from its seed).

This module is imported by ``fuzz/run.py`` inside atheris' import
instrumentation, and by the test suite to replay stored inputs.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import tdxverify
from tdxverify import ERROR_CODES, VerificationError
from tdxverify.cli.parse import _parse_payload
from tdxverify.collateral import Collateral, authenticate_collateral, load_collateral
from tdxverify.pki import load_certificates, load_root_ca
from tdxverify.policy import Policy, load_policy
from tdxverify.quote import Quote, decode_quote_file, parse_quote
from tdxverify.testing import Forge
from tdxverify.verdict import Verdict
from tdxverify.verify import Verifier, resolve_now

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
CONFORMANCE = VECTORS / "conformance"
FORGE_SEED = "tdxverify-fuzz"


class InvariantBroken(AssertionError):
    """A fuzz target's invariant does not hold for this input."""


def _coded(err: VerificationError, allowed: frozenset[str] | None = None) -> str:
    """Check a raised error is a documented, non-internal code (and one of ``allowed``)."""
    if err.code not in ERROR_CODES:
        raise InvariantBroken(f"undocumented error code {err.code!r}")
    if err.code == "internal_error":
        raise InvariantBroken(f"internal_error escaped: {err.message}") from err
    if allowed is not None and err.code not in allowed:
        raise InvariantBroken(f"error code {err.code!r} not expected here (allowed: {sorted(allowed)}): {err}")
    if not err.message:
        raise InvariantBroken(f"error {err.code!r} has no message")
    return err.code


def _signed_outcome(verdict: Verdict) -> dict[str, Any]:
    """The verdict as JSON less ``trailing_bytes``: bytes after the quote are outside every signature."""
    out = verdict.to_dict()
    out.pop("trailing_bytes", None)
    return out


@dataclass(frozen=True)
class Target:
    """A fuzz target: its invariant-checking entry point and seed inputs."""

    name: str
    check: Callable[[bytes], None]
    seeds: Callable[[], Iterator[tuple[str, bytes]]]
    max_len: int
    """libFuzzer -max_len: comfortably above every seed, so growth is possible."""
    doc: str


# ----------------------------------------------------------------------------- shared material


def _vector_dirs() -> list[Path]:
    return sorted(d for d in VECTORS.iterdir() if d.is_dir() and (d / "expected.json").exists())


def _conformance_dirs() -> list[Path]:
    return sorted(d for d in CONFORMANCE.iterdir() if d.is_dir() and (d / "expected.json").exists())


def _quote_file(d: Path) -> bytes | None:
    for name in ("quote.bin", "quote.hex"):
        if (d / name).exists():
            return decode_quote_file((d / name).read_bytes())
    return None


@cache
def forge() -> Forge:
    return Forge(seed=FORGE_SEED)


# ----------------------------------------------------------------------------- parse_quote

QUOTE_CODES = frozenset(
    {"quote_format", "unsupported_quote_version", "unsupported_certification_data", "input_too_large"}
)
PARSE_CMD_CODES = QUOTE_CODES | {"pck_chain_invalid", "pck_extension_invalid"}


def check_parse_quote(data: bytes) -> None:
    """``parse_quote``: a Quote whose signed region is a prefix and trailing data a suffix of the
    input, or a quote-format error; then what ``tdxverify parse`` reads from the PCK chain
    (certificates, SGX extension) parses or fails with a coded certificate error."""
    try:
        quote = parse_quote(data)
    except VerificationError as err:
        _coded(err, QUOTE_CODES)
        return
    if not isinstance(quote, Quote):
        raise InvariantBroken(f"parse_quote returned {type(quote).__name__}")
    if not data.startswith(quote.signed_region) or not data.endswith(quote.trailing_data):
        raise InvariantBroken("signed region / trailing data are not the input's prefix / suffix")
    if len(quote.signed_region) + len(quote.trailing_data) > len(data):
        raise InvariantBroken("signed region and trailing data overlap")
    if parse_quote(bytes(data)) != quote:
        raise InvariantBroken("parsing the same bytes twice gave different quotes")
    try:
        payload = _parse_payload(quote)
    except VerificationError as err:
        _coded(err, PARSE_CMD_CODES)
        return
    json.dumps(payload)  # the parse command prints it: it must be JSON-serialisable


def seeds_parse_quote() -> Iterator[tuple[str, bytes]]:
    for d in _vector_dirs() + _conformance_dirs():
        raw = _quote_file(d)
        if raw is not None:
            yield f"{d.parent.name}-{d.name}", raw
    f = forge()
    yield "forge-v4", f.quote()
    yield "forge-v5", f.quote(version=5)
    yield "forge-v5-td10", f.quote(version=5, body_type=2)
    yield "forge-v3", f.quote(version=3)
    yield "forge-v4-pck-chain-outer", f.quote(certification_data_type=5)


# ----------------------------------------------------------------------------- load_collateral

COLLATERAL_CODES = frozenset({"collateral_format", "collateral_missing", "input_invalid", "input_too_large"})


@cache
def _roots() -> tuple[Any, ...]:
    return (load_root_ca(None), load_root_ca(forge().root_ca_der))


@cache
def _collateral_times() -> tuple[int, ...]:
    times = {forge().now}
    for d in _vector_dirs():
        now = json.loads((d / "expected.json").read_text()).get("now")
        if isinstance(now, int):
            times.add(now)
    return tuple(sorted(times))


def check_load_collateral(data: bytes) -> None:
    """``load_collateral``: a Collateral or a collateral-format error; a loaded one is then
    authenticated against Intel's root and the forge's root at a vector's time, which either
    succeeds or fails with a coded error -- and success needs signed bytes Intel (or the
    forge) really signed, checked by re-verifying the exact TCB info / QE identity text."""
    try:
        col = load_collateral(data)
    except VerificationError as err:
        _coded(err, COLLATERAL_CODES)
        return
    if not isinstance(col, Collateral):
        raise InvariantBroken(f"load_collateral returned {type(col).__name__}")
    for root in _roots():
        for now in _collateral_times():
            try:
                auth = authenticate_collateral(col, now=resolve_now(now), root=root)
            except VerificationError as err:
                _coded(err)
                continue
            if auth.tcb_info != col.tcb_info or auth.qe_identity != col.qe_identity:
                raise InvariantBroken("authenticated TCB info / QE identity differ from the loaded ones")
            _genuine_collateral_bytes(col)


@cache
def _genuine_signed_texts() -> frozenset[bytes]:
    """Every TCB info / QE identity text the seeds carry (Intel-signed or forge-signed)."""
    out: set[bytes] = set()
    for _, blob in seeds_load_collateral():
        try:
            col = load_collateral(blob)
        except VerificationError:
            continue
        out.add(col.tcb_info_raw)
        out.add(col.qe_identity_raw)
    return frozenset(out)


def _genuine_collateral_bytes(col: Collateral) -> None:
    genuine = _genuine_signed_texts()
    for what, raw in (("TCB info", col.tcb_info_raw), ("QE identity", col.qe_identity_raw)):
        if raw not in genuine:
            raise InvariantBroken(f"collateral with a {what} text no seed carries was authenticated: {raw[:200]!r}")


def seeds_load_collateral() -> Iterator[tuple[str, bytes]]:
    seen: set[bytes] = set()
    for d in _vector_dirs() + _conformance_dirs():
        p = d / "collateral.json"
        if p.exists():
            blob = p.read_bytes()
            if blob not in seen:
                seen.add(blob)
                yield f"{d.parent.name}-{d.name}", blob
    f = forge()
    for tee in ("TDX", "SGX"):
        for fmt in ("dcap-qvl", "pcs-bundle"):
            yield f"forge-{tee}-{fmt}", json.dumps(f.collateral(tee, format=fmt, with_pck_chain=True)).encode()


# ----------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Base:
    """A forged quote + collateral with a known outcome; fuzz inputs are mutations of it."""

    name: str
    quote: bytes
    collateral: bytes
    now: int
    policy: Policy | None
    outcome: dict[str, Any] | None
    """The verdict's JSON for a base that verifies, else ``None``."""
    must_reject: bool
    """Rejected for signed content: no input with all of this base's signed parts may verify."""


# A conformance case rejected for signed *content* (a status, a date, a measurement, an
# attribute, an FMSPC, a revocation listed in a CRL ...) must never pass while all its signed
# parts are its own. Cases rejected for a bad *signature* or for unsigned *layout* are left out
# of that rule (still fuzzed under the provenance rule): the fuzzer legitimately repairs them,
# flipping a corrupted byte back or crossing over the genuine signature of the same content
# from another case (e.g. the rogue-signed PCK certificate's TBS signed by the real CA).
_REPAIRABLE_CODES = frozenset(
    {
        "quote_signature_invalid",
        "qe_report_signature_invalid",
        "qe_report_data_mismatch",
        "tcb_info_signature_invalid",
        "qe_identity_signature_invalid",
        "pck_chain_invalid",
        "tcb_signing_chain_invalid",
        "crl_invalid",
        "quote_format",
        "unsupported_certification_data",
        "collateral_format",
    }
)


@cache
def bases() -> tuple[Base, ...]:
    out: list[Base] = []
    f = forge()
    forged = [
        ("forge-tdx-v4", f.quote(), f.collateral()),
        ("forge-tdx-v5", f.quote(version=5), f.collateral(format="pcs-bundle")),
        ("forge-tdx-v5-td10", f.quote(version=5, body_type=2), f.collateral(with_pck_chain=True)),
        ("forge-sgx-v3", f.quote(version=3), f.collateral("SGX")),
    ]
    for name, q, c in forged:
        v = Verifier(root_ca=f.root_ca_der).verify(q, c, f.now)
        out.append(Base(name, q, json.dumps(c).encode(), f.now, None, _signed_outcome(v), False))
    for d in _conformance_dirs():
        exp = json.loads((d / "expected.json").read_text())
        name = exp["name"]
        accepted = exp["verdict"]["ok"]
        repairable = exp["verdict"].get("code") in _REPAIRABLE_CODES
        policy = load_policy(exp["policy"]) if exp["policy"] is not None else None
        q = (d / "quote.bin").read_bytes()
        col = (d / "collateral.json").read_bytes()
        outcome = None
        if accepted:
            outcome = _signed_outcome(_verifier(policy).verify(q, col, exp["now"]))
        out.append(Base(f"conformance-{name}", q, col, exp["now"], policy, outcome, not accepted and not repairable))
    return tuple(out)


def _verifier(policy: Policy | None) -> Verifier:
    return Verifier(root_ca=(CONFORMANCE / "tdx_v4_up_to_date" / "root_ca.der").read_bytes(), policy=policy)


def encode_verify_input(base_index: int, mutate_collateral: bool, payload: bytes) -> bytes:
    """The verify target's input layout: 2-byte base index, 1 mode byte, payload."""
    return struct.pack("<HB", base_index, int(mutate_collateral)) + payload


@dataclass(frozen=True)
class SignedParts:
    """What the signatures of a verified input cover, minus malleable signature encodings."""

    signed_region: bytes
    qe_report: bytes
    tcb_info: bytes
    qe_identity: bytes
    crls: tuple[bytes, bytes]
    certificates: frozenset[bytes]
    """The signed part (TBS) of every certificate in the PCK chain and the collateral's chains."""


def signed_parts(quote_in: bytes, collateral_in: bytes) -> SignedParts:
    q = tdxverify.load_quote(quote_in)
    c = load_collateral(collateral_in)
    qe = q.signature_data.qe_report_certification
    certs = [*c.tcb_info_issuer_chain, *c.qe_identity_issuer_chain, *c.pck_crl_issuer_chain]
    certs += c.pck_certificate_chain or ()
    pck_chain = q.pck_chain or ()
    certs += (
        load_certificates(pck_chain, code="pck_chain_invalid", step="pck_chain", what="PCK chain") if pck_chain else ()
    )
    return SignedParts(
        q.signed_region,
        qe.qe_report.raw if qe is not None else b"",
        c.tcb_info_raw,
        c.qe_identity_raw,
        (c.root_ca_crl.tbs_certlist_bytes, c.pck_crl.tbs_certlist_bytes),
        frozenset(cert.tbs_certificate_bytes for cert in certs),
    )


def _parts_or_none(b: Base) -> SignedParts | None:
    try:
        return signed_parts(b.quote, b.collateral)
    except VerificationError:  # e.g. a base whose collateral lacks a CRL
        return None


@cache
def _base_parts() -> tuple[SignedParts | None, ...]:
    return tuple(_parts_or_none(b) for b in bases())


@cache
def _genuine_parts() -> tuple[frozenset[bytes], ...]:
    """Per field, every value the forge signed (for some base)."""
    parts = [p for p in _base_parts() if p is not None]
    return (
        frozenset(p.signed_region for p in parts),
        frozenset(p.qe_report for p in parts),
        frozenset(p.tcb_info for p in parts) | frozenset(p.qe_identity for p in parts),
        frozenset(crl for p in parts for crl in p.crls),
        frozenset(cert for p in parts for cert in p.certificates),
    )


def check_verify(data: bytes) -> None:
    """``Verifier.verify`` on a forged base with either its quote or its collateral replaced by the
    payload: a coded error, or a verdict whose every signed part (quote header + body, QE report,
    TCB info and QE identity text, CRL contents, certificates) is one the forge signed -- a changed signed byte
    never verifies. With all signed parts the base's own, a base rejected for something signed
    never passes, and a base that verifies gives exactly its own verdict. (Parts from another
    base may be combined: libFuzzer's cross-over does that, and e.g. a QE report from another
    quote of the same QE and attestation key is legitimately valid.)"""
    if len(data) < 3:
        return
    index, mode = struct.unpack_from("<HB", data)
    all_bases = bases()
    index %= len(all_bases)
    base = all_bases[index]
    payload = data[3:]
    on_collateral = bool(mode & 1)
    quote_in, col_in = (base.quote, payload) if on_collateral else (payload, base.collateral)
    f = forge()
    root = f.root_ca_der if base.name.startswith("forge-") else None
    verifier = Verifier(root_ca=root, policy=base.policy) if root else _verifier(base.policy)
    try:
        verdict = verifier.verify(quote_in, col_in, base.now)
    except VerificationError as err:
        _coded(err)
        if err.code == "policy_violation" and getattr(err, "verdict", None) is None:
            raise InvariantBroken("a policy_violation without the rejected verdict") from err
        return
    got = signed_parts(quote_in, col_in)
    regions, qe_reports, texts, crls, certs = _genuine_parts()
    forged = [
        what
        for what, ok in (
            ("quote header/body", got.signed_region in regions),
            ("QE report", got.qe_report in qe_reports),
            ("TCB info", got.tcb_info in texts),
            ("QE identity", got.qe_identity in texts),
            ("CRL", all(c in crls for c in got.crls)),
            ("certificate", got.certificates <= certs),
        )
        if not ok
    ]
    if forged:
        raise InvariantBroken(f"{base.name}: verified with a changed signed part: {', '.join(forged)}")
    if got == _base_parts()[index]:
        if base.must_reject:
            raise InvariantBroken(f"{base.name}: a base rejected for signed content verified after mutation")
        if base.outcome is not None and _signed_outcome(verdict) != base.outcome:
            raise InvariantBroken(f"{base.name}: a mutated input verified with a different verdict")


def seeds_verify() -> Iterator[tuple[str, bytes]]:
    for i, base in enumerate(bases()):
        yield f"{base.name}-quote", encode_verify_input(i, False, base.quote)
        yield f"{base.name}-collateral", encode_verify_input(i, True, base.collateral)


# ----------------------------------------------------------------------------- load_policy


@cache
def _policy_verdicts() -> tuple[tdxverify.Verdict, ...]:
    f = forge()
    v = Verifier(root_ca=f.root_ca_der)
    return (
        v.verify(f.quote(), f.collateral(), f.now),
        v.verify(f.quote(version=5), f.collateral(), f.now),
        v.verify(f.quote(version=3), f.collateral("SGX"), f.now),
    )


def check_load_policy(data: bytes) -> None:
    """``load_policy`` on JSON text: a Policy or ``policy_invalid``; a policy from the strict text
    path equals the one from the decoded mapping, and evaluates every verdict (TDX 1.0, 1.5, SGX)
    without raising, every check a bool with a detail."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not text.lstrip().startswith("{"):
        return  # any other text is a path to load_policy: not what this target fuzzes
    try:
        policy = load_policy(text)
    except VerificationError as err:
        _coded(err, frozenset({"policy_invalid", "input_too_large"}))
        return
    if not isinstance(policy, Policy):
        raise InvariantBroken(f"load_policy returned {type(policy).__name__}")
    mapping = json.loads(text)
    if load_policy(mapping) != policy:
        raise InvariantBroken("the policy from JSON text differs from the policy from its decoded mapping")
    f = forge()
    for verdict in _policy_verdicts():
        result = policy.evaluate(verdict, resolve_now(f.now))
        for c in result.checks:
            if not isinstance(c.ok, bool) or not c.detail:
                raise InvariantBroken(f"policy check {c.name!r} gave ok={c.ok!r} detail={c.detail!r}")
        if result.ok != all(c.ok for c in result.checks):
            raise InvariantBroken("policy result disagrees with its checks")


def seeds_load_policy() -> Iterator[tuple[str, bytes]]:
    seen: set[str] = set()
    for d in _conformance_dirs():
        pol = json.loads((d / "expected.json").read_text())["policy"]
        if pol is not None:
            text = json.dumps(pol, sort_keys=True)
            if text not in seen:
                seen.add(text)
                yield f"conformance-{d.name}", text.encode()
    verdict = _policy_verdicts()[0]
    assert verdict.rtmr3 is not None and verdict.mr_td is not None
    full = {
        "accepted_statuses": ["UpToDate", "SWHardeningNeeded", "OutOfDate"],
        "accepted_advisory_ids": ["INTEL-SA-00837"],
        "allow_debug": False,
        "allow_service_td": True,
        "require_sept_ve_disable": True,
        "measurements": {"rtmr3": [verdict.rtmr3.hex()], "mr_td": [verdict.mr_td.hex()], "mr_enclave": ["00" * 32]},
        "report_data": "0x" + verdict.report_data[:32].hex(),
        "min_tcb_evaluation_data_number": 17,
        "max_collateral_age_seconds": 2592000,
    }
    yield "full", json.dumps(full, indent=1).encode()
    yield "empty", b"{}"


# ----------------------------------------------------------------------------- event logs

# event_log_mismatch: a dstack tcb_info document carries RTMRs of its own, cross-checked against the log.
EVENT_LOG_CODES = frozenset({"event_log_invalid", "event_log_mismatch", "input_too_large", "input_invalid"})
_EVENT_LOG_MODES = ("auto", "ccel", "dstack", "ccel_table")


@cache
def _dstack_verdict() -> tdxverify.Verdict:
    d = VECTORS / "tdx-v4-near-mpc-dstack"
    now = json.loads((d / "expected.json").read_text())["now"]
    return Verifier().verify((d / "quote.bin").read_bytes(), (d / "collateral.json").read_bytes(), now)


def check_eventlog(data: bytes) -> None:
    """Event logs (first byte: 0 auto-detect, 1 CCEL, 2 dstack, 3 ACPI CCEL table; then the
    bytes): a parsed log or an event-log code. A parsed log's RTMRs are the replay of its events
    (each extending RTMR0-3 with a 48-byte digest), the same with the format named explicitly,
    JSON-serialisable, equal to itself under ``compare_logs``; it checks against its own RTMRs and
    fails ``event_log_mismatch`` against any other; attached to a genuine verified dstack
    verdict it is accepted exactly when it replays to that quote's RTMRs."""
    if not data:
        return
    from tdxverify.eventlog import detect_format, parse_ccel_table, parse_event_log, replay
    from tdxverify.eventlog.attach import attach_event_log
    from tdxverify.eventlog.compare import compare_logs

    mode, blob = _EVENT_LOG_MODES[data[0] % 4], data[1:]
    if mode == "ccel_table":
        try:
            table = parse_ccel_table(blob)
        except VerificationError as err:
            _coded(err, EVENT_LOG_CODES)
            return
        if len(blob) < 56 or sum(blob) % 256 or table.log_area_length != int.from_bytes(blob[40:48], "little"):
            raise InvariantBroken("a CCEL table was accepted that is short, has a bad checksum or misreads its length")
        return
    try:
        log = parse_event_log(blob, None if mode == "auto" else mode)  # type: ignore[arg-type]
    except VerificationError as err:
        _coded(err, EVENT_LOG_CODES)
        return
    for ev in log.events:
        if ev.rtmr not in (None, 0, 1, 2, 3) or (ev.rtmr is not None and len(ev.digest) != 48):
            raise InvariantBroken(f"event {ev.index} extends RTMR {ev.rtmr!r} with a {len(ev.digest)}-byte digest")
    if log.rtmrs != replay(log.events):
        raise InvariantBroken("the log's RTMRs are not the replay of its events")
    if mode == "auto" and parse_event_log(blob, detect_format(blob)) != log:
        raise InvariantBroken("the detected format parses differently when named explicitly")
    json.dumps(log.to_dict())
    if not all(d.equal for d in compare_logs(log, log).rtmrs):
        raise InvariantBroken("a log differs from itself")
    log.check(log.rtmrs)
    other = (bytes(48) if log.rtmrs[3] != bytes(48) else b"\x01" * 48,)
    try:
        log.check(log.rtmrs[:3] + other)
    except VerificationError as err:
        if err.code != "event_log_mismatch":
            raise InvariantBroken(f"a replay mismatch gave {err.code!r}") from err
    else:
        raise InvariantBroken("a log checked against RTMRs it does not replay to")
    verdict = _dstack_verdict()
    quoted = (verdict.rtmr0, verdict.rtmr1, verdict.rtmr2, verdict.rtmr3)
    try:
        attached = attach_event_log(verdict, log)
    except VerificationError as err:
        _coded(err, frozenset({"event_log_mismatch"}))
        if log.rtmrs == quoted:
            raise InvariantBroken("a log that replays to the quote's RTMRs was refused") from err
        return
    if log.rtmrs != quoted:
        raise InvariantBroken("a log that does not replay to the quote's RTMRs was attached")
    del attached


def seeds_eventlog() -> Iterator[tuple[str, bytes]]:
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.eventlog_builders import RawEvent, ccel_log, dstack_json, runtime_digest

    dstack = (VECTORS / "tdx-v4-near-mpc-dstack" / "tcb_info.json").read_bytes()
    ccel = (VECTORS / "tdx-v4-gcp-cos-ccel" / "ccel_data.bin").read_bytes()
    ccel = ccel[: len(ccel.rstrip(b"\xff")) + 64]  # the 256 KiB log area is mostly 0xFF padding
    table = (VECTORS / "tdx-v4-gcp-cos-ccel" / "ccel_table.bin").read_bytes()
    yield "dstack-vector-auto", b"\x00" + dstack
    yield "dstack-vector", b"\x02" + dstack
    yield "ccel-vector-auto", b"\x00" + ccel
    yield "ccel-vector", b"\x01" + ccel
    yield "ccel-table-vector", b"\x03" + table
    events = [
        RawEvent(3, 0x08000001, runtime_digest(0x08000001, "app-id", b"\x11" * 20), b"\x11" * 20, "app-id"),
        RawEvent(3, 0x08000001, runtime_digest(0x08000001, "compose-hash", b"\x22" * 32), b"\x22" * 32, "compose-hash"),
    ]
    yield "dstack-built", b"\x02" + dstack_json(events).encode()
    ccel_events = [RawEvent(i, 0x80000001, bytes([i]) * 48, b"data %d" % i) for i in range(1, 5)]
    yield "ccel-built", b"\x01" + ccel_log(ccel_events)


# ----------------------------------------------------------------------------- registry

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("parse_quote", check_parse_quote, seeds_parse_quote, 64 * 1024, check_parse_quote.__doc__ or ""),
        Target(
            "load_collateral",
            check_load_collateral,
            seeds_load_collateral,
            256 * 1024,
            check_load_collateral.__doc__ or "",
        ),
        Target("verify", check_verify, seeds_verify, 256 * 1024, check_verify.__doc__ or ""),
        Target("load_policy", check_load_policy, seeds_load_policy, 16 * 1024, check_load_policy.__doc__ or ""),
        Target("eventlog", check_eventlog, seeds_eventlog, 64 * 1024, check_eventlog.__doc__ or ""),
    )
}
