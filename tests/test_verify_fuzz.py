"""Fail closed on damaged collateral: only coded VerificationErrors, never internal_error, never a pass.

A damaged collateral that still verifies is allowed only when what is authenticated did not change: the
signed TCB info / QE identity bytes, their signatures, the CRLs and the certificates decode to exactly the
original's (a JSON escape turned into another whitespace escape inside a PEM chain, a hex digit's case).
The one permitted difference: an issuer chain that lost its copy of the root CA, which the pinned root
stands in for.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import VerificationError, Verifier, load_collateral
from tdxverify.collateral import Collateral

from .vectors import verifiable_vectors

VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
QUOTE = VEC.quote
TEXT = VEC.collateral_path.read_text()  # type: ignore[union-attr]
DOC = json.loads(TEXT)
VERIFIER = Verifier()  # one verifier: damaged collateral must never poison its caches
CHAINS = ("tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain", "pck_certificate_chain")


def authenticated(c: Collateral) -> dict[str, Any]:
    """Everything verification authenticates, decoded: signed bytes, signatures, CRLs, chains (DER)."""
    out: dict[str, Any] = {
        "tcb_info": c.tcb_info_raw,
        "tcb_info_signature": c.tcb_info_signature,
        "qe_identity": c.qe_identity_raw,
        "qe_identity_signature": c.qe_identity_signature,
        "root_ca_crl": c.root_ca_crl_der,
        "pck_crl": c.pck_crl_der,
    }
    for name in CHAINS:
        chain: tuple[x509.Certificate, ...] = getattr(c, name) or ()
        out[name] = [cert.public_bytes(Encoding.DER) for cert in chain]
    return out


ORIGINAL = authenticated(load_collateral(TEXT))


def assert_same_authenticated_content(damaged: object) -> None:
    """An accepted damaged collateral authenticates exactly what the original does (see the module doc)."""
    got = authenticated(load_collateral(damaged))  # type: ignore[arg-type]
    for name, want in ORIGINAL.items():
        if name in CHAINS and got[name] != want and want:
            root = x509.load_der_x509_certificate(want[-1])
            assert root.subject == root.issuer, f"{name}: the original chain does not end in a root"
            assert got[name] == want[:-1], f"{name} changed and still verified"
        else:
            assert got[name] == want, f"{name} changed and still verified"


def outcome(collateral: object) -> str:
    try:
        VERIFIER.verify(QUOTE, collateral, VEC.now)  # type: ignore[arg-type]
    except VerificationError as err:
        assert err.code != "internal_error", err
        assert err.message
        return err.code
    return "ok"


def test_undamaged_verifies() -> None:
    assert outcome(TEXT) == "ok"


def check_damaged_text(data: st.DataObject) -> None:
    buf = bytearray(TEXT.encode())
    pos = data.draw(st.integers(min_value=0, max_value=len(buf) - 1))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != buf[pos]))
    buf[pos] = new
    if outcome(bytes(buf)) == "ok":
        assert_same_authenticated_content(bytes(buf))
    # Whatever happened, the undamaged collateral still verifies with the same verifier.
    assert outcome(TEXT) == "ok"


@settings(max_examples=600)
@given(st.data())
def test_damaged_collateral_text(data: st.DataObject) -> None:
    check_damaged_text(data)


def test_a_whitespace_escape_inside_a_pem_chain_is_harmless() -> None:
    """The case Hypothesis found: ``\\n`` -> ``\\f`` in a chain's JSON string; the certificates are unchanged."""
    body = TEXT.index("-----BEGIN CERTIFICATE-----\\n", TEXT.index('"tcb_info_issuer_chain"')) + 29
    at = TEXT.index("\\n", body)  # the end of the first base64 line
    damaged = TEXT[: at + 1] + "f" + TEXT[at + 2 :]
    assert damaged != TEXT and outcome(damaged) == "ok"
    assert_same_authenticated_content(damaged)


def test_the_oracle_catches_a_changed_signed_byte() -> None:
    """The oracle is not vacuous: changed signed text, or a changed CRL, is caught."""
    doc = dict(DOC)
    doc["tcb_info"] = DOC["tcb_info"].replace('"version":3', '"version": 3', 1)
    assert doc["tcb_info"] != DOC["tcb_info"]
    try:
        assert_same_authenticated_content(doc)
    except AssertionError as exc:
        assert "tcb_info changed" in str(exc)
    else:
        raise AssertionError("a changed signed span passed the oracle")
    cut = dict(DOC)
    cut["tcb_info_issuer_chain"] = DOC["tcb_info_issuer_chain"].split("-----END CERTIFICATE-----")[0] + (
        "-----END CERTIFICATE-----\n"
    )
    assert_same_authenticated_content(cut)  # the root copy dropped: allowed
    first_only = dict(DOC)
    first_only["pck_crl_issuer_chain"] = DOC["pck_crl_issuer_chain"].split("-----END CERTIFICATE-----")[1] + (
        "-----END CERTIFICATE-----\n"
    )
    try:
        assert_same_authenticated_content(first_only)  # the intermediate dropped, the root kept: caught
    except AssertionError as exc:
        assert "pck_crl_issuer_chain changed" in str(exc)
    else:
        raise AssertionError("a chain missing its intermediate passed the oracle")


FIELDS = sorted(DOC)


@settings(max_examples=400)
@given(st.sampled_from(FIELDS), st.data())
def test_damaged_field(field: str, data: st.DataObject) -> None:
    value = DOC[field]
    choice = data.draw(st.sampled_from(["truncate", "mutate", "retype", "drop"]))
    doc = dict(DOC)
    if choice == "drop":
        del doc[field]
    elif choice == "retype":
        doc[field] = data.draw(st.sampled_from([None, 0, True, [], {}, 1.5]))
    elif choice == "truncate":
        doc[field] = value[: data.draw(st.integers(min_value=0, max_value=max(len(value) - 1, 0)))]
    else:
        pos = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
        doc[field] = value[:pos] + data.draw(st.characters(codec="utf-8")) + value[pos + 1 :]
    result = outcome(doc)
    if result == "ok":
        assert choice in ("mutate", "truncate"), choice
        assert_same_authenticated_content(doc)
    assert outcome(TEXT) == "ok"
