"""Signatures verified once per call: what is reused is exactly the same signature (issue 16)."""

from __future__ import annotations

import pytest

from tdxverify import Verifier
from tdxverify.errors import VerificationError
from tdxverify.pki import verify_pck_chain
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
