"""Verification speed against dcap-qvl, measured in the same run (issue 16).

Run: ``python -m pytest benchmarks`` (``-s`` is not needed: the ratio table is
printed in the terminal summary). Each row times tdxverify and its reference
(dcap-qvl 0.7.0, or the two-signature floor) with the same timer (thread
CPU time), rounds interleaved so both see the same machine state; pytest-benchmark reports
tdxverify's side. The machine is shared, so absolute times move; the ratios
are what the targets are about.

Each test asserts a regression bound (what this code achieves, with margin);
the issue's targets are printed next to the measured ratio as met / NOT met.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

import tdxverify
from tdxverify import Verifier, load_collateral, parse_quote
from tdxverify.pki import load_root_ca
from tests.vectors import verifiable_vectors

dcap_qvl = pytest.importorskip("dcap_qvl", reason="the oracle extra (dcap-qvl) gives the reference side")

VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
RAW = VEC.quote
TEXT = VEC.collateral_path.read_text()
NOW = VEC.now
ROOT = load_root_ca().public_bytes(serialization.Encoding.DER)


def distinct_quotes(n: int) -> list[bytes]:
    """``n`` different quotes that all verify: the unsigned trailing bytes differ."""
    return [RAW + i.to_bytes(4, "little") for i in range(n)]


def interleaved(
    ours: Callable[[], object], theirs: Callable[[], object], calls: int, batch: int = 1, block: int = 10
) -> tuple[float, float]:
    """Median CPU seconds per call of each: blocks of ``block`` samples, alternating, so both share the machine's state.

    CPU time of this thread, not wall time: on an oversubscribed machine the
    scheduler preempts a long call more often than a short one, which would
    skew the very ratio measured. dcap-qvl runs on the calling thread, so its
    work is counted the same way. The sides alternate in blocks, and the
    first sample of each block is dropped: right after the other library ran,
    CPU caches and branch predictors hold its working set, and a call then
    costs up to twice as much (measured: a first-quote verification 1.35 ms
    right after dcap-qvl, 0.82 ms right after another of ours). A service
    verifies quote after quote, so the warmed-up call is the one that
    counts, on both sides. ``batch`` calls per sample amortise the clock's
    own cost for very short operations. About ``calls`` samples per side.
    """
    a: list[float] = []
    b: list[float] = []
    for _ in range(max(1, calls // (block - 1))):
        for fn, out in ((ours, a), (theirs, b)):
            for k in range(block):
                t0 = time.thread_time()
                for _ in range(batch):
                    fn()
                if k:
                    out.append((time.thread_time() - t0) / batch)
    a.sort()
    b.sort()
    return a[len(a) // 2], b[len(b) // 2]


def dcap_cold() -> object:
    return dcap_qvl.verify_with_root_ca(RAW, dcap_qvl.QuoteCollateralV3.from_json(TEXT), ROOT, NOW)


DCAP_COLLATERAL = dcap_qvl.QuoteCollateralV3.from_json(TEXT)


def dcap_prebuilt() -> object:
    return dcap_qvl.verify_with_root_ca(RAW, DCAP_COLLATERAL, ROOT, NOW)


# The two ECDSA-P256 verifications every quote needs (QE report by the PCK key, quote by the attestation key).
_PARSED = parse_quote(RAW)
_QE = _PARSED.signature_data.qe_report_certification
assert _QE is not None
_PCK_KEY = tdxverify.pki.verify_pck_chain(
    _PARSED.pck_chain or (),
    root=load_root_ca(),
    now=NOW,
    crls=Verifier().authenticate(TEXT, NOW).crls,
).public_key
_AK = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + _PARSED.signature_data.attestation_key)


def _der(sig: bytes) -> bytes:
    return utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


_QE_SIG, _Q_SIG = _der(_QE.qe_report_signature), _der(_PARSED.signature_data.signature)


def two_signature_floor() -> None:
    _PCK_KEY.verify(_QE_SIG, _QE.qe_report.raw, ec.ECDSA(hashes.SHA256()))
    _AK.verify(_Q_SIG, _PARSED.signed_region, ec.ECDSA(hashes.SHA256()))


# --------------------------------------------------------------------------- rows


def test_cold_verify(benchmark: Any, record: Any) -> None:
    """verify() with the collateral as JSON text: load, authenticate, verify, every call."""

    def ours() -> object:
        return tdxverify.verify(RAW, TEXT, now=NOW)

    assert benchmark(ours).status == "UpToDate"
    t_ours, t_ref = interleaved(ours, dcap_cold, 150)
    record("cold verify (collateral from JSON each call)", t_ours, t_ref, "dcap-qvl", 1.0)
    assert t_ours / t_ref < 40


def cold_floor() -> None:
    """The least any verifier built on cryptography does per cold call: no check at all, only the work.

    Parse the collateral JSON and its two signed documents, decode each
    distinct certificate (TCB signing, PCK CRL issuer, the quote's PCK
    chain) and both CRLs, and make the nine signature verifications of
    Intel's chain (TCB signing, Platform CA and PCK certificates; root CA
    and PCK CRLs; TCB info; QE identity; QE report; quote). Every check of
    the real path (names, constraints, revocation, times, TCB levels) comes
    on top of this.
    """
    d = json.loads(TEXT)
    json.loads(d["tcb_info"])
    json.loads(d["qe_identity"])
    tcb_signing, root = x509.load_pem_x509_certificates(d["tcb_info_issuer_chain"].encode())
    platform_ca, _ = x509.load_pem_x509_certificates(d["pck_crl_issuer_chain"].encode())
    pck_pem = _QE.certification_data.data.rstrip(b"\x00")
    leaf, ca, _ = x509.load_pem_x509_certificates(pck_pem)
    root_crl = x509.load_der_x509_crl(bytes.fromhex(d["root_ca_crl"]))
    pck_crl = x509.load_der_x509_crl(bytes.fromhex(d["pck_crl"]))
    tcb_signing.verify_directly_issued_by(root)
    ca.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(ca)
    root_key, ca_key, signing_key = root.public_key(), platform_ca.public_key(), tcb_signing.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey) and isinstance(ca_key, ec.EllipticCurvePublicKey)
    assert root_crl.is_signature_valid(root_key) and pck_crl.is_signature_valid(ca_key)
    assert isinstance(signing_key, ec.EllipticCurvePublicKey)
    for doc, sig in (("tcb_info", "tcb_info_signature"), ("qe_identity", "qe_identity_signature")):
        signing_key.verify(_der(bytes.fromhex(d[sig])), d[doc].encode(), ec.ECDSA(hashes.SHA256()))
    pck_key = leaf.public_key()
    assert isinstance(pck_key, ec.EllipticCurvePublicKey)
    pck_key.verify(_QE_SIG, _QE.qe_report.raw, ec.ECDSA(hashes.SHA256()))
    ak = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + _PARSED.signature_data.attestation_key)
    ak.verify(_Q_SIG, _PARSED.signed_region, ec.ECDSA(hashes.SHA256()))


def test_cold_floor(record: Any) -> None:
    """How much of dcap-qvl's cold time the bare work of a cold call on cryptography takes."""
    cold_floor()
    t_floor, t_ref = interleaved(cold_floor, dcap_cold, 150)
    record("cold floor: JSON + decoding + 9 signatures, no checks", t_floor, t_ref, "dcap-qvl cold verify", None)
    assert t_floor / t_ref < 10


def test_first_quote_new_platform(benchmark: Any, record: Any) -> None:
    """Collateral authenticated and cached, but a PCK chain never seen: the chain is verified in full."""
    verifier = Verifier()
    auth = verifier.authenticate(TEXT, NOW)

    def ours() -> object:
        verifier._pck_cache.clear()  # as if this PCK chain had never been seen
        verifier._chain_cache.clear()  # a new platform's PEM text has not been seen either
        verifier._tcb_cache.clear()
        return verifier.verify(RAW, auth, NOW)

    assert benchmark(ours).status == "UpToDate"
    t_ours, t_ref = interleaved(ours, dcap_prebuilt, 300)
    record("first quote from a new platform (collateral cached)", t_ours, t_ref, "dcap-qvl", 1.0)
    assert t_ours / t_ref < 15


def test_warm_verify_distinct_quotes(benchmark: Any, record: Any) -> None:
    """The service hot path: one Verifier, the same collateral, a different quote every call."""
    verifier = Verifier()
    col = load_collateral(TEXT)
    quotes = iter(distinct_quotes(200_000))
    verifier.verify(next(quotes), col, NOW)

    def ours() -> object:
        return verifier.verify(next(quotes), col, NOW)

    assert benchmark(ours).status == "UpToDate"
    t_ours, t_ref = interleaved(ours, dcap_prebuilt, 500)
    record("warm Verifier.verify, distinct quotes", t_ours, t_ref, "dcap-qvl (no cache)", None)
    t_ours, t_floor = interleaved(ours, two_signature_floor, 1000)
    record("warm Verifier.verify vs two ECDSA verifications", t_ours, t_floor, "2-signature floor", 1.3)
    assert t_ours / t_floor < 4


def test_warm_verify_collateral_as_text(benchmark: Any, record: Any) -> None:
    """Collateral passed as the JSON string every call: found in the cache by content hash."""
    verifier = Verifier()
    quotes = iter(distinct_quotes(200_000))
    verifier.verify(next(quotes), TEXT, NOW)

    def ours() -> object:
        return verifier.verify(next(quotes), TEXT, NOW)

    assert benchmark(ours).status == "UpToDate"
    t_ours, t_ref = interleaved(ours, dcap_cold, 500)
    record("warm, collateral passed as a JSON string", t_ours, t_ref, "dcap-qvl from_json+verify", 1.0)
    t_text, t_obj = interleaved(ours, lambda: verifier.verify(next(quotes), load_collateral_cached, NOW), 500)
    record("warm: JSON string vs loaded Collateral", t_text, t_obj, "same Verifier, Collateral", 1.1)
    assert t_ours / t_ref < 3


load_collateral_cached = load_collateral(TEXT)


@pytest.mark.parametrize("kind", ["bytes", "dict"])
def test_warm_verify_collateral_as_bytes_or_dict(benchmark: Any, record: Any, kind: str) -> None:
    verifier = Verifier()
    src: Any = TEXT.encode() if kind == "bytes" else json.loads(TEXT)
    quotes = iter(distinct_quotes(200_000))
    verifier.verify(next(quotes), src, NOW)

    def ours() -> object:
        return verifier.verify(next(quotes), src, NOW)

    assert benchmark(ours).status == "UpToDate"
    t_ours, t_obj = interleaved(ours, lambda: verifier.verify(next(quotes), load_collateral_cached, NOW), 500)
    record(f"warm: collateral as {kind} vs loaded Collateral", t_ours, t_obj, "same Verifier, Collateral", 1.2)
    assert t_ours / t_obj < 3


def test_parse(benchmark: Any, record: Any) -> None:
    quote = benchmark(parse_quote, RAW)
    assert quote.version == 4
    t_ours, t_ref = interleaved(lambda: parse_quote(RAW), lambda: dcap_qvl.parse_quote(RAW), 300, batch=50)
    record("parse", t_ours, t_ref, "dcap-qvl parse_quote", None, absolute_target=20e-6)
    assert t_ours < 200e-6


def test_ecdsa_floor(benchmark: Any) -> None:
    """One ECDSA-P256 verification through cryptography, for scale."""
    benchmark(lambda: _AK.verify(_Q_SIG, _PARSED.signed_region, ec.ECDSA(hashes.SHA256())))


def _rss_bytes() -> int:
    """Resident set size, from /proc (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_resident_memory_flat_over_100k_distinct_quotes(record: Any) -> None:
    verifier = Verifier()
    col = load_collateral(TEXT)
    quotes = distinct_quotes(1_000)
    for q in quotes:  # warm up: caches, allocator arenas
        verifier.verify(q, col, NOW)
    gc.collect()
    before = _rss_bytes()
    for i in range(100_000):
        verifier.verify(RAW + (i + 10_000).to_bytes(4, "little"), col, NOW)
    gc.collect()
    growth = _rss_bytes() - before
    record("resident memory growth over 100,000 warm verifications", growth, 5 * 1024 * 1024, "5 MB", 1.0)
    assert growth < 5 * 1024 * 1024, f"RSS grew {growth / 1e6:.1f} MB"
