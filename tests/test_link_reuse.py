"""Signatures verified once per call: what is reused is exactly the same signature (issue 16)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tdxverify import Verifier
from tdxverify.errors import VerificationError
from tdxverify.pki import _link_in, verify_chain, verify_pck_chain
from tdxverify.testing import Forge
from tdxverify.testing.pki import PkiSpec


def test_collateral_links_cover_the_pck_ca() -> None:
    forge = Forge(seed="links")
    auth = Verifier(root_ca=forge.root_ca_der).authenticate(forge.collateral(), forge.now)
    assert (forge.pki.root, forge.pki.pck_ca) in auth.verified_links
    assert (forge.pki.root, forge.pki.tcb_signing) in auth.verified_links
    assert (forge.pki.pck_ca, forge.pki.pck) not in auth.verified_links  # the leaf is always verified


def test_a_reused_link_never_vouches_for_another_certificate() -> None:
    # A PCK CA with the genuine name but signed by another key: its link is not the verified one.
    good = Forge(seed="links")
    rogue = Forge(seed="links", pki=PkiSpec(signers={"platform_ca": "tcb_signing"}))
    auth = Verifier(root_ca=good.root_ca_der).authenticate(good.collateral(), good.now)
    with pytest.raises(VerificationError) as info:
        verify_pck_chain(
            rogue.pki.pck_chain_der,
            root=auth.root,
            now=good.now,
            crls=auth.crls,
            verified_links=auth.verified_links,
        )
    assert info.value.code == "pck_chain_invalid"
    assert "does not verify" in info.value.message


def test_reused_link_gives_the_same_chain() -> None:
    forge = Forge(seed="links")
    auth = Verifier(root_ca=forge.root_ca_der).authenticate(forge.collateral(), forge.now)
    kw = {"root": auth.root, "now": forge.now, "crls": auth.crls}
    full = verify_pck_chain(forge.pki.pck_chain_der, **kw)  # type: ignore[arg-type]
    reused = verify_pck_chain(forge.pki.pck_chain_der, verified_links=auth.verified_links, **kw)  # type: ignore[arg-type]
    assert full.certificates == reused.certificates
    assert full.extension == reused.extension
    assert full.time_bounds == reused.time_bounds


def _reloaded(cert: x509.Certificate) -> x509.Certificate:
    """An equal certificate (same DER) that is a different object."""
    return x509.load_der_x509_certificate(cert.public_bytes(serialization.Encoding.DER))


def _tampered(cert: x509.Certificate) -> x509.Certificate:
    """The same signature over a changed TBS: a different certificate that still parses."""
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
    at = bytes(der).index(serial)
    der[at + len(serial) - 1] ^= 0x01  # last byte of the serial number
    out = x509.load_der_x509_certificate(bytes(der))
    assert out.signature == cert.signature and out != cert
    return out


def test_link_lookup_is_membership_by_der() -> None:
    forge = Forge(seed="links")
    auth = Verifier(root_ca=forge.root_ca_der).authenticate(forge.collateral(), forge.now)
    links = auth.verified_links
    root, ca = forge.pki.root, forge.pki.pck_ca
    for issuer, cert in ((root, ca), (_reloaded(root), _reloaded(ca)), (root, _reloaded(ca))):
        assert _link_in(issuer, cert, links) == ((issuer, cert) in links) is True
    for issuer, cert in ((root, _tampered(ca)), (_tampered(root), ca), (ca, forge.pki.pck), (root, root)):
        assert _link_in(issuer, cert, links) == ((issuer, cert) in links) is False
    assert _link_in(root, ca, ()) is False


def test_a_tampered_copy_of_a_verified_certificate_is_verified_again() -> None:
    # Same signature bytes as the genuine PCK CA, different TBS: the reused link must not cover it.
    forge = Forge(seed="links")
    auth = Verifier(root_ca=forge.root_ca_der).authenticate(forge.collateral(), forge.now)
    fake_ca = _tampered(forge.pki.pck_ca)
    chain = [forge.pki.pck.public_bytes(serialization.Encoding.DER), fake_ca.public_bytes(serialization.Encoding.DER)]
    with pytest.raises(VerificationError) as info:
        verify_pck_chain(chain, root=auth.root, now=forge.now, crls=auth.crls, verified_links=auth.verified_links)
    assert info.value.code == "pck_chain_invalid" and "does not verify" in info.value.message


def test_the_same_certificate_twice_is_refused_even_as_two_objects() -> None:
    forge = Forge(seed="links")
    pck = forge.pki.pck
    with pytest.raises(VerificationError) as info:
        verify_chain(
            [pck, _reloaded(pck), forge.pki.pck_ca],
            root=forge.pki.root,
            now=forge.now,
            crls=None,
            code="pck_chain_invalid",
            step="s",
        )
    assert "twice" in info.value.message
