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


def test_remembered_tcb_rating_still_runs_the_per_quote_checks() -> None:
    # After a quote is rated, quotes with the same collateral, PCK leaf, QE report and TCB fields reuse
    # the rating (steps 6, 8-11), but the quote signature (7) and attributes (12) are checked every time,
    # with the same error a fresh Verifier gives.
    forge = Forge(seed="tcb-memo")
    verifier = Verifier(root_ca=forge.root_ca_der)
    col = load_collateral(forge.collateral())
    assert verifier.verify(forge.quote(), col, forge.now).status == "UpToDate"
    for bad, code in (
        (forge.quote(corrupt="quote_signature"), "quote_signature_invalid"),
        (forge.quote(td_attributes=bytes.fromhex("0100001000000000")), "debug_td"),
        (forge.quote(td_attributes=bytes.fromhex("0000001001000000")), "td_attributes_invalid"),
    ):
        with pytest.raises(VerificationError) as warm:
            verifier.verify(bad, col, forge.now)
        with pytest.raises(VerificationError) as cold:
            Verifier(root_ca=forge.root_ca_der).verify(bad, col, forge.now)
        assert (warm.value.code, warm.value.step, warm.value.message) == (
            cold.value.code,
            cold.value.step,
            cold.value.message,
        )
        assert warm.value.code == code
    # A different TCB field is a different key: rated afresh, same verdict as a fresh Verifier.
    other = forge.quote(tee_tcb_svn=bytes.fromhex("05010300000000000000000000000000"))
    assert verifier.verify(other, col, forge.now) == Verifier(root_ca=forge.root_ca_der).verify(other, col, forge.now)
