"""The Verifier's caches never outlive what they cache: time bounds are re-checked on every call."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tdxverify import VerificationError, Verifier, load_collateral
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
