"""The Verifier's caches never outlive what they cache: time bounds are re-checked on every call."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tdxverify import VerificationError, Verifier, load_collateral, parse_quote
from tdxverify.testing import Forge, PkiSpec

NOW = datetime.fromtimestamp(Forge.now, timezone.utc)


def test_cached_pck_chain_fails_closed_when_the_pck_expires() -> None:
    # The PCK certificate lapses one day after `now`; the collateral is valid for weeks.
    forge = Forge(seed="cache", pki=PkiSpec(validity={"pck": (NOW - timedelta(days=30), NOW + timedelta(days=1))}))
    verifier = Verifier(root_ca=forge.root_ca_der)
    col = load_collateral(forge.collateral())
    quote = forge.quote()
    assert verifier.verify(quote, col, NOW).status == "UpToDate"
    assert verifier.verify(quote, col, NOW + timedelta(hours=23)).status == "UpToDate"  # served from the cache
    with pytest.raises(VerificationError) as info:
        verifier.verify(quote, col, NOW + timedelta(days=2))
    assert info.value.code == "certificate_expired"
    # ... and identically from a fresh verifier.
    with pytest.raises(VerificationError) as fresh:
        Verifier(root_ca=forge.root_ca_der).verify(quote, col, NOW + timedelta(days=2))
    assert fresh.value.code == info.value.code


def test_cached_chain_is_per_collateral() -> None:
    # The same PCK chain under collateral whose PCK CRL revokes it must be rejected even after a hit.
    good = Forge(seed="cache-crl")
    revoked = Forge(seed="cache-crl", pki=PkiSpec(revoked={"platform_crl": ["pck"]}))
    verifier = Verifier(root_ca=good.root_ca_der)
    quote = good.quote()
    assert verifier.verify(quote, good.collateral(), good.now).status == "UpToDate"
    assert revoked.root_ca_der == good.root_ca_der and revoked.quote() == quote
    with pytest.raises(VerificationError) as info:
        verifier.verify(quote, revoked.collateral(), good.now)
    assert info.value.code == "pck_revoked"


def test_cached_quote_checks_still_run() -> None:
    forge = Forge(seed="cache-sig")
    verifier = Verifier(root_ca=forge.root_ca_der)
    col = forge.collateral()
    verifier.verify(forge.quote(), col, forge.now)
    for region, code in (("quote_signature", "quote_signature_invalid"), ("qe_report", "qe_report_signature_invalid")):
        with pytest.raises(VerificationError) as info:
            verifier.verify(forge.quote(corrupt=region), col, forge.now)
        assert info.value.code == code


def test_decoded_chain_memo_gives_what_parsing_gives_and_keeps_no_failure() -> None:
    # The Verifier remembers decoded PEM chains by their bytes; a malformed chain is never remembered,
    # so it fails the same way on every call, and a good chain after it still verifies.
    forge = Forge(seed="chain-memo")
    verifier = Verifier(root_ca=forge.root_ca_der)
    col = load_collateral(forge.collateral())
    good = forge.quote()
    verdict = verifier.verify(good, col, forge.now)
    assert verdict.quote is not None and verdict.quote == parse_quote(good)
    pem = parse_quote(good).signature_data.qe_report_certification.certification_data.data  # type: ignore[union-attr]
    broken = forge.quote(pck_cert_data=pem.replace(b"\n", b"\n!", 1))
    for _ in range(2):
        with pytest.raises(VerificationError) as info:
            verifier.verify(broken, col, forge.now)
        assert info.value.code == "quote_format"
        with pytest.raises(VerificationError) as fresh:
            parse_quote(broken)
        assert fresh.value.message == info.value.message
    assert verifier.verify(good, col, forge.now) == verdict
