"""Every parser's work is linear in its input (issue 12).

For each parser, an input of adversarial shape is timed at 64 KiB and at
1 MiB (16x the size). The 1 MiB run must take under 1 s and at most 30x the
64 KiB run: a quadratic parser shows 256x. Times are the minimum of several
runs of the thread's CPU time, which resists the noise of a shared, busy machine. Limits are raised
for these inputs (the defaults refuse most of them before any parsing), so
what is measured is the parser itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import serialization

from tdxverify import Limits, parse_quote, verify
from tdxverify.collateral import load_collateral
from tdxverify.errors import VerificationError
from tdxverify.pck import parse_pck_extension
from tdxverify.pki import load_certificates, load_crl, verify_crl
from tdxverify.tcbinfo import parse_qe_identity, parse_tcb_info
from tdxverify.testing import Forge
from tdxverify.testing.pki import SgxExtensionSpec, encode_sgx_extension, make_crl

SMALL = 64 * 1024
LARGE = 1024 * 1024
MAX_RATIO = 30.0
MAX_LARGE_SECONDS = 1.0
UNLIMITED = Limits(quote=64 << 20, certification_data=64 << 20, collateral=256 << 20, collateral_member=64 << 20)

FORGE = Forge(seed="complexity")
COLLATERAL = FORGE.collateral()


def _min_time(fn: Callable[[], object], runs: int) -> float:
    """Minimum CPU time of this thread over ``runs`` calls, with the cyclic GC paused during each call.

    CPU time, not wall time: on an oversubscribed machine a long call is
    preempted several times and a short one not at all, which would inflate
    exactly the ratio measured here. A full GC collection walks the whole test
    process's heap (pytest, hypothesis, every module), a cost that depends on
    what ran before, not on the input.
    """
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            t0 = time.thread_time()
            with contextlib.suppress(VerificationError):  # rejecting is the expected outcome for most inputs
                fn()
            best = min(best, time.thread_time() - t0)
        finally:
            gc.enable()
    return best


def _fill(unit: bytes, size: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    n = max(1, (size - len(head) - len(tail)) // len(unit))
    return head + unit * n + tail


# --------------------------------------------------------------------------- adversarial inputs


def quote_unterminated_pem(size: int) -> Callable[[], object]:
    """The original quadratic case: BEGIN lines without END in the type-5 certification data."""
    raw = FORGE.quote(pck_cert_data=_fill(b"-----BEGIN CERTIFICATE-----\nAAAAAAAAAA", size))
    return lambda: parse_quote(raw, limits=UNLIMITED)


def quote_whitespace_pem(size: int) -> Callable[[], object]:
    """A genuine chain padded with whitespace inside and after the blocks."""
    chain = FORGE.pki.pck_chain_pem.encode()
    raw = FORGE.quote(pck_cert_data=chain + _fill(b" \r\n\t", size - len(chain)))
    return lambda: parse_quote(raw, limits=UNLIMITED)


def pem_chain_unterminated(size: int) -> Callable[[], object]:
    text = _fill(b"-----BEGIN CERTIFICATE-----\nAAAAAAAAAA", size).decode()
    return lambda: load_certificates(text, what="the chain")


def pem_chain_nested_begins(size: int) -> Callable[[], object]:
    """One END at the very end, after many BEGIN lines: one block with a huge body."""
    text = _fill(b"-----BEGIN CERTIFICATE-----\n", size, tail=b"-----END CERTIFICATE-----\n").decode()
    return lambda: load_certificates(text, what="the chain")


def pem_chain_url_encoded(size: int) -> Callable[[], object]:
    text = _fill(b"%2D%2D%2D%2D%2DBEGIN%20CERTIFICATE%2D%2D%2D%2D%2D%0AAAAA", size).decode()
    return lambda: load_certificates(text, what="the chain")


def _entry(oid: str, value: bytes) -> bytes:
    return _tlv(0x30, core.ObjectIdentifier(oid).dump() + value)


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def pck_extension_many_entries(size: int) -> Callable[[], object]:
    """A valid extension followed by many distinct unknown entries (all indexed)."""
    base = encode_sgx_extension(SgxExtensionSpec())
    n = base[1] & 0x7F
    content = base[2 + n :]
    extra: list[bytes] = []
    total = len(content)
    i = 0
    while total < size:
        e = _entry(f"1.2.840.113741.1.13.1.99.{i}", b"\x05\x00")
        extra.append(e)
        total += len(e)
        i += 1
    der = _tlv(0x30, content + b"".join(extra))
    return lambda: parse_pck_extension(der)


def pck_extension_deep_lengths(size: int) -> Callable[[], object]:
    """One entry whose value is a huge OCTET STRING (a large PPID): one length, one slice."""
    der = _tlv(0x30, _entry("1.2.840.113741.1.13.1.1", _tlv(0x04, b"\x00" * size)))
    return lambda: parse_pck_extension(der)


def tcb_info_many_levels(size: int) -> Callable[[], object]:
    info = json.loads(COLLATERAL["tcb_info"])
    level = info["tcbLevels"][0]
    one = len(json.dumps(level))
    levels = []
    for i in range(max(1, size // one)):
        lv = json.loads(json.dumps(level))
        lv["tcb"]["pcesvn"] = i % 65536
        lv["tcb"]["sgxtcbcomponents"][0]["svn"] = (i // 65536) % 256
        levels.append(lv)
    info["tcbLevels"] = levels
    raw = json.dumps(info).encode()
    return lambda: parse_tcb_info(raw)


def tcb_info_deep_nesting(size: int) -> Callable[[], object]:
    raw = (b'{"id": "TDX", "x": ' + b"[" * (size // 2) + b"]" * (size // 2) + b"}")[:size]
    return lambda: parse_tcb_info(raw)


def tcb_info_duplicate_keys(size: int) -> Callable[[], object]:
    """A long object of distinct keys (duplicate detection must not be pairwise)."""
    body = b",".join(b'"k%d": 0' % i for i in range(size // 12))
    raw = b'{"id": "TDX", ' + body + b"}"
    return lambda: parse_tcb_info(raw)


def qe_identity_many_levels(size: int) -> Callable[[], object]:
    qe = json.loads(COLLATERAL["qe_identity"])
    level = qe["tcbLevels"][0]
    n = max(1, size // len(json.dumps(level)))
    qe["tcbLevels"] = [dict(level, tcb={"isvsvn": i % 65536}) for i in range(n)]
    raw = json.dumps(qe).encode()
    return lambda: parse_qe_identity(raw)


def _crl_with(size: int) -> bytes:
    pki = FORGE.pki
    per_entry = 40
    n = max(1, size // per_entry)
    now = pki.root.not_valid_before_utc + timedelta(days=1)
    crl = make_crl(
        issuer=pki.root.subject,
        issuer_public_key=pki.root.public_key(),
        signing_key=pki.keys["root"],
        this_update=now,
        next_update=now + timedelta(days=30),
        revoked_serials=range(1_000_000, 1_000_000 + n),
    )
    return crl.public_bytes(serialization.Encoding.DER)


_CRL_CACHE: dict[int, bytes] = {}


def crl_many_entries(size: int) -> Callable[[], object]:
    """A CRL with many revoked serials, as hex (dcap-qvl's encoding), loaded and verified."""
    der = _CRL_CACHE.setdefault(size, _crl_with(size))
    text = der.hex()
    root = FORGE.pki.root
    return lambda: verify_crl(load_crl(text), root, now=None, step="root_ca_crl")


def collateral_document_padded(size: int) -> Callable[[], object]:
    """A whole collateral document with a huge unknown member (parsed once, ignored)."""
    doc = dict(COLLATERAL, padding="x" * size)
    text = json.dumps(doc)
    return lambda: load_collateral(text, limits=UNLIMITED)


BUNDLE = FORGE.collateral(format="pcs-bundle")


def pcs_bundle_many_levels(size: int) -> Callable[[], object]:
    """A PCS bundle whose TCB info response is huge: parsed once, its signed span found by one scan."""
    body = json.loads(BUNDLE["tcb_info_response"])
    level = body["tcbInfo"]["tcbLevels"][0]
    n = max(1, size // len(json.dumps(level)))
    body["tcbInfo"]["tcbLevels"] = [dict(level, tcb=dict(level["tcb"], pcesvn=i % 65536)) for i in range(n)]
    doc = dict(BUNDLE, tcb_info_response=json.dumps(body))
    return lambda: load_collateral(doc, limits=UNLIMITED)


def pcs_bundle_long_strings(size: int) -> Callable[[], object]:
    """A PCS response with one huge escaped string before the signed member (the span scanner skips it)."""
    pad = '\\"' * (size // 4)
    body = '{"padding": "' + pad + '", ' + BUNDLE["tcb_info_response"][1:]
    doc = dict(BUNDLE, tcb_info_response=body)
    return lambda: load_collateral(doc, limits=UNLIMITED)


def verify_unsigned_tcb_info(size: int) -> Callable[[], object]:
    """verify() with a huge TCB info whose signature does not match: rejected before it is parsed."""
    col = dict(COLLATERAL)
    info = json.loads(col["tcb_info"])
    level = info["tcbLevels"][0]
    info["tcbLevels"] = [level] * max(1, size // len(json.dumps(level)))
    col["tcb_info"] = json.dumps(info)
    quote = FORGE.quote()
    return lambda: verify(quote, col, now=FORGE.now, root_ca=FORGE.root_ca_der, limits=UNLIMITED)


CASES: dict[str, Callable[[int], Callable[[], object]]] = {
    "verify_unsigned_tcb_info": verify_unsigned_tcb_info,
    "pcs_bundle_many_levels": pcs_bundle_many_levels,
    "pcs_bundle_long_strings": pcs_bundle_long_strings,
    "quote_unterminated_pem": quote_unterminated_pem,
    "quote_whitespace_pem": quote_whitespace_pem,
    "pem_chain_unterminated": pem_chain_unterminated,
    "pem_chain_nested_begins": pem_chain_nested_begins,
    "pem_chain_url_encoded": pem_chain_url_encoded,
    "pck_extension_many_entries": pck_extension_many_entries,
    "pck_extension_deep_lengths": pck_extension_deep_lengths,
    "tcb_info_many_levels": tcb_info_many_levels,
    "tcb_info_deep_nesting": tcb_info_deep_nesting,
    "tcb_info_duplicate_keys": tcb_info_duplicate_keys,
    "qe_identity_many_levels": qe_identity_many_levels,
    "crl_many_entries": crl_many_entries,
    "collateral_document_padded": collateral_document_padded,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_linear(name: str) -> None:
    make = CASES[name]
    small, large = make(SMALL), make(LARGE)
    t_small = _min_time(small, 15)
    t_large = _min_time(large, 7)
    for _ in range(2):  # a busy shared machine: more samples before judging (still the minimum)
        if t_large <= MAX_RATIO * max(t_small, 50e-6):
            break
        t_small = min(t_small, _min_time(small, 15))
        t_large = min(t_large, _min_time(large, 7))
    # A floor for the small time: below ~50 us, fixed costs dominate and the ratio means nothing.
    ratio = t_large / max(t_small, 50e-6)
    assert t_large < MAX_LARGE_SECONDS, f"{name}: {t_large:.3f} s at 1 MiB"
    print(f"{name}: 64 KiB {t_small * 1e3:.2f} ms, 1 MiB {t_large * 1e3:.2f} ms, ratio {ratio:.1f}")
    assert ratio <= MAX_RATIO, (
        f"{name}: {t_large * 1e3:.2f} ms / {t_small * 1e3:.2f} ms = {ratio:.1f}x for 16x the size"
    )
