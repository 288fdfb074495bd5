"""Loading and authenticating collateral (tdxverify.collateral)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from tdxverify.collateral import (
    AuthenticatedCollateral,
    Collateral,
    authenticate_collateral,
    json_member_span,
    load_collateral,
)
from tdxverify.errors import VerificationError
from tdxverify.pki import TimeBound, as_utc, load_root_ca, verify_raw_signature
from tdxverify.testing.collateral import DEFAULT_NOW, default_qe_identity, default_tcb_info
from tdxverify.testing.pki import TestPki, build_pki, pem

from .vectors import VECTORS_DIR, verifiable_vectors

PCS = VECTORS_DIR / "intel-pcs-responses"
NOW = DEFAULT_NOW
SECOND = timedelta(seconds=1)

# The coded error each kind of window raises when ``now`` is outside it.
NOT_YET = {
    "certificate": "certificate_not_yet_valid",
    "crl": "crl_not_yet_valid",
    "tcb_info": "collateral_not_yet_valid",
    "qe_identity": "collateral_not_yet_valid",
}
EXPIRED = {
    "certificate": "certificate_expired",
    "crl": "crl_expired",
    "tcb_info": "collateral_expired",
    "qe_identity": "collateral_expired",
}


def expect(code: str, fn: Callable[..., object], *args: Any, at: str | None = None, **kwargs: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    if at is not None:
        assert info.value.step == at, info.value
    assert info.value.message
    return info.value


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# --------------------------------------------------------------------------- real vectors


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_collateral_authenticates_in_its_window(vector) -> None:
    collateral = load_collateral(vector.collateral_path)
    root = load_root_ca()
    auth = authenticate_collateral(collateral, now=vector.now, root=root)
    assert isinstance(auth, AuthenticatedCollateral)
    exp = vector.expected
    # The expected window is exactly the latest start / earliest end of all windows.
    assert auth.valid_from == utc(exp["collateral_valid_from"])
    assert auth.expires_at == utc(exp["collateral_valid_until"])
    assert auth.tcb_evaluation_data_number == auth.tcb_info.tcb_evaluation_data_number
    auth.check_time(vector.now)

    after = exp["collateral_valid_until"] + 1
    before = exp["collateral_valid_from"] - 1
    ending = auth.expires_first
    starting = max(auth.time_bounds, key=lambda b: b.not_before)
    err = expect(EXPIRED[ending.kind], authenticate_collateral, collateral, now=after, root=root)
    assert err.step == ending.step
    assert "expired" in err.message and "PCS" in err.message
    err = expect(NOT_YET[starting.kind], authenticate_collateral, collateral, now=before, root=root)
    assert err.step == starting.step
    # The cached object fails identically without redoing cryptography.
    expect(EXPIRED[ending.kind], auth.check_time, after, at=ending.step)
    expect(NOT_YET[starting.kind], auth.check_time, before, at=starting.step)


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_collateral_check_time_matches_authentication_at_every_edge(vector) -> None:
    collateral = load_collateral(vector.collateral_path)
    auth = authenticate_collateral(collateral, now=vector.now)
    edges = {
        t + d for b in auth.time_bounds for t in (b.not_before, b.not_after) for d in (-SECOND, 0 * SECOND, SECOND)
    }
    for t in sorted(e for e in edges if e.year < 9999):
        try:
            authenticate_collateral(collateral, now=t)
            full = None
        except VerificationError as exc:
            full = (exc.code, exc.step)
        try:
            auth.check_time(t)
            cheap = None
        except VerificationError as exc:
            cheap = (exc.code, exc.step)
        assert full == cheap, t
        assert auth.is_valid_at(t) is (cheap is None)


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_collateral_loads_from_every_source_form(vector) -> None:
    path: Path = vector.collateral_path
    text = path.read_text()
    forms = [path, str(path), path.read_bytes(), text, "\n  " + text, vector.collateral]
    loaded = [load_collateral(f) for f in forms]
    for c in loaded:
        assert c.format == "dcap-qvl"
        assert c.tcb_info_raw == vector.collateral["tcb_info"].encode()
        assert c.qe_identity_raw == vector.collateral["qe_identity"].encode()
        assert c.tcb_info_signature == bytes.fromhex(vector.collateral["tcb_info_signature"])
        assert c.root_ca_crl_der == bytes.fromhex(vector.collateral["root_ca_crl"])
        assert c.pck_crl_der == bytes.fromhex(vector.collateral["pck_crl"])
    assert loaded[0].to_dcap_qvl()["tcb_info"] == vector.collateral["tcb_info"]
    has_chain = "pck_certificate_chain" in vector.collateral
    assert (loaded[0].pck_certificate_chain is not None) is has_chain


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_collateral_tampered_by_one_byte(vector) -> None:
    raw = vector.collateral
    for key, code, step in (
        ("tcb_info", "tcb_info_signature_invalid", "tcb_info"),
        ("qe_identity", "qe_identity_signature_invalid", "qe_identity"),
    ):
        text: str = raw[key]
        # One byte of a date the parser still accepts: only the signature notices.
        i = text.index('"issueDate":"') + len('"issueDate":"') + 3
        digit = "1" if text[i] != "1" else "2"
        tampered = dict(raw, **{key: text[:i] + digit + text[i + 1 :]})
        expect(code, authenticate_collateral, load_collateral(tampered), now=vector.now, at=step)
        # Whitespace is a change too: the exact bytes are signed.
        spaced = dict(raw, **{key: text[0] + " " + text[1:]})
        expect(code, authenticate_collateral, load_collateral(spaced), now=vector.now, at=step)
        sig = bytearray(bytes.fromhex(raw[f"{key}_signature"]))
        sig[5] ^= 0x40
        bad_sig = dict(raw, **{f"{key}_signature": sig.hex()})
        expect(code, authenticate_collateral, load_collateral(bad_sig), now=vector.now, at=step)


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_collateral_rejected_under_another_root(vector) -> None:
    other = load_root_ca(build_pki().root_der)
    expect(
        "untrusted_root",
        authenticate_collateral,
        load_collateral(vector.collateral_path),
        now=vector.now,
        root=other,
        at="tcb_info",
    )


def test_freshness_report() -> None:
    vector = verifiable_vectors()[0]
    collateral = load_collateral(vector.collateral_path)
    auth = authenticate_collateral(collateral, now=vector.now)
    report = auth.freshness(vector.now)
    json.dumps(report)  # JSON-ready
    assert report["authenticated"] is True and report["fresh"] is True and report["error"] is None
    assert report["expires_at"] == auth.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert report["valid_from"] == auth.valid_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert report["tcb_evaluation_data_number"] == auth.tcb_info.tcb_evaluation_data_number
    assert report["tcb_info"]["fmspc"] == auth.tcb_info.fmspc.hex().upper()
    assert report["seconds_until_expiry"] == int((auth.expires_at - as_utc(vector.now)).total_seconds())
    assert all(w["valid"] for w in report["windows"])
    late = auth.freshness(auth.expires_at + timedelta(days=1))
    assert late["fresh"] is False and late["error"]["code"] in EXPIRED.values()
    assert late["seconds_until_expiry"] < 0
    # Unauthenticated content gives the same window facts.
    plain = collateral.freshness(vector.now)
    assert plain["authenticated"] is False
    assert plain["expires_at"] == report["expires_at"] and plain["valid_from"] == report["valid_from"]


# --------------------------------------------------------------------------- Intel PCS responses


def _v5() -> dict[str, str]:
    (v,) = [v for v in verifiable_vectors() if v.name == "tdx-v5-phala-no-tcb-level"]
    assert v.collateral is not None
    return v.collateral


def _pcs_bundle() -> dict[str, Any]:
    """A bundle around the TDX 1.5 TCB info exactly as Intel PCS served it, with the
    chains, CRLs and QE identity of the real vector for the same FMSPC."""
    v = _v5()
    qe_body = '{"enclaveIdentity":' + v["qe_identity"] + ',"signature":"' + v["qe_identity_signature"] + '"}'
    return {
        "tcb_info_response": (PCS / "tdx-tcbinfo-v3-tdx15.json").read_text(),
        "tcb_info_issuer_chain": v["tcb_info_issuer_chain"],
        "qe_identity_response": qe_body,
        "qe_identity_issuer_chain": v["qe_identity_issuer_chain"],
        "pck_crl_issuer_chain": v["pck_crl_issuer_chain"],
        "root_ca_crl": v["root_ca_crl"],
        "pck_crl": v["pck_crl"],
    }


def test_pcs_bundle_authenticates() -> None:
    bundle = _pcs_bundle()
    collateral = load_collateral(json.dumps(bundle))
    assert collateral.format == "pcs-bundle"
    assert collateral.tcb_info_response == bundle["tcb_info_response"]
    assert collateral.tcb_info.fmspc.hex() == "90c06f000000"
    served = bundle["tcb_info_response"]
    assert collateral.tcb_info_raw.decode() in served
    assert served.startswith('{"tcbInfo":' + collateral.tcb_info_raw.decode() + ',"signature":"')
    # Inside every window: TCB info (PCS), QE identity and CRLs (vector) overlap here.
    auth = authenticate_collateral(collateral, now=datetime(2026, 2, 25, tzinfo=timezone.utc))
    assert auth.tcb_info.tcb_evaluation_data_number == json.loads(served)["tcbInfo"]["tcbEvaluationDataNumber"]
    assert auth.expires_at == collateral.tcb_info.next_update
    # Conversion to dcap-qvl's shape keeps the signed bytes, so it authenticates too.
    again = load_collateral(collateral.to_dcap_qvl())
    assert again.format == "dcap-qvl" and again.tcb_info_raw == collateral.tcb_info_raw
    authenticate_collateral(again, now=datetime(2026, 2, 25, tzinfo=timezone.utc))
    # Re-serialising the served body (same JSON value) breaks Intel's signature.
    body = json.loads(served)
    reformatted = dict(bundle, tcb_info_response=json.dumps(body, indent=1))
    assert json.loads(reformatted["tcb_info_response"]) == body
    expect(
        "tcb_info_signature_invalid",
        authenticate_collateral,
        load_collateral(reformatted),
        now=datetime(2026, 2, 25, tzinfo=timezone.utc),
        at="tcb_info",
    )
    # Whitespace outside the signed member is not covered by the signature.
    padded = dict(bundle, tcb_info_response="{ " + served[1:].replace(',"signature"', ' ,\n "signature"'))
    authenticate_collateral(load_collateral(padded), now=datetime(2026, 2, 25, tzinfo=timezone.utc))


def test_pcs_2023_responses_are_signed_by_the_current_tcb_signing_key() -> None:
    """Intel's 2023 PCS samples verify with the TCB signing key of the 2025+ vectors.

    The current TCB signing certificate was issued in 2025, so at a 2023 time
    the whole authentication passes every signature, chain and CRL check and
    fails only on that certificate's notBefore (time is checked last).
    """
    v = _v5()
    bundle = {
        "tcb_info_response": (PCS / "tdx-tcbinfo-v3.json").read_text(),
        "tcb_info_issuer_chain": v["tcb_info_issuer_chain"],
        "qe_identity_response": (PCS / "tdx-qe-identity.json").read_text(),
        "qe_identity_issuer_chain": v["qe_identity_issuer_chain"],
        "pck_crl_issuer_chain": v["pck_crl_issuer_chain"],
        "root_ca_crl": (PCS / "root-ca-crl.der").read_bytes(),
        "pck_crl": (PCS / "pck-platform-crl.der").read_bytes(),
    }
    collateral = load_collateral(bundle)
    signer = collateral.tcb_info_issuer_chain[0].public_key()
    assert verify_raw_signature(signer, collateral.tcb_info_raw, collateral.tcb_info_signature)
    assert verify_raw_signature(signer, collateral.qe_identity_raw, collateral.qe_identity_signature)
    when = datetime(2023, 6, 20, tzinfo=timezone.utc)
    windows = [b for b in collateral.time_bounds() if not b.contains(when)]
    assert [(b.kind, b.step) for b in windows] == [("certificate", "tcb_info")]
    err = expect("certificate_not_yet_valid", authenticate_collateral, collateral, now=when, at="tcb_info")
    assert "TCB Signing" in err.message
    # The served bytes matter: one changed byte inside tcbInfo and the signature fails first.
    served = bundle["tcb_info_response"]
    i = served.index('"tcbEvaluationDataNumber":') + len('"tcbEvaluationDataNumber":')
    tampered = dict(bundle, tcb_info_response=served[:i] + "9" + served[i + 2 :])
    expect(
        "tcb_info_signature_invalid",
        authenticate_collateral,
        load_collateral(tampered),
        now=when,
        at="tcb_info",
    )


# --------------------------------------------------------------------------- JSON spans


def test_json_member_span_exact() -> None:
    text = '{ "a" : {"x": "}\\"{[", "y": [1, {"z": null}]} ,\n"b":-1.5e3,"c":"\\u0041" , "tcb\\u0049nfo" :true}'
    for key, expected in (
        ("a", '{"x": "}\\"{[", "y": [1, {"z": null}]}'),
        ("b", "-1.5e3"),
        ("c", '"\\u0041"'),
        ("tcbInfo", "true"),
    ):
        s, e = json_member_span(text, key)
        assert text[s:e] == expected
    expect("collateral_missing", json_member_span, text, "nope")
    expect("collateral_format", json_member_span, '{"a":1,"a":2}', "a")
    expect("collateral_format", json_member_span, "[1]", "a")
    expect("collateral_format", json_member_span, '{"a":', "a")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=5),
    st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\t")]),
    st.booleans(),
    st.data(),
)
def test_json_member_span_property(
    obj: dict[str, Any], separators: tuple[str, str], ascii_only: bool, data: Any
) -> None:
    text = json.dumps(obj, separators=separators, ensure_ascii=ascii_only)
    key = data.draw(st.sampled_from(sorted(obj)))
    s, e = json_member_span(text, key)
    assert json.loads(text[s:e]) == obj[key]
    assert text[s:e] == json.dumps(obj[key], separators=separators, ensure_ascii=ascii_only)


# --------------------------------------------------------------------------- loading errors


def test_load_errors(tmp_path: Path) -> None:
    good = json.loads((verifiable_vectors()[0].collateral_path).read_text())
    expect("input_invalid", load_collateral, tmp_path / "missing.json")
    expect("input_invalid", load_collateral, str(tmp_path / "missing.json"))
    expect("input_invalid", load_collateral, str(tmp_path))  # a directory
    expect("input_invalid", load_collateral, 42)
    expect("collateral_format", load_collateral, "{not json")
    expect("collateral_format", load_collateral, b"\xff\xfe")
    expect("collateral_format", load_collateral, "[]")
    expect("collateral_format", load_collateral, "{}")
    dup = json.dumps(good)[:-1] + ', "pck_crl": "00"}'
    expect("collateral_format", load_collateral, dup)
    for key in ("tcb_info", "qe_identity_signature", "pck_crl", "pck_crl_issuer_chain"):
        missing = {k: v for k, v in good.items() if k != key}
        err = expect("collateral_missing", load_collateral, missing)
        assert key in err.message
        expect("collateral_missing", load_collateral, dict(good, **{key: None}))
    expect("collateral_format", load_collateral, dict(good, tcb_info=json.loads(good["tcb_info"])))
    expect("collateral_format", load_collateral, dict(good, tcb_info_signature="abcd"))
    expect("collateral_format", load_collateral, dict(good, tcb_info_signature="zz" * 64))
    expect("collateral_format", load_collateral, dict(good, root_ca_crl="not hex"))
    expect("collateral_format", load_collateral, dict(good, pck_crl="00" * 10))
    expect("collateral_format", load_collateral, dict(good, tcb_info_issuer_chain="no pem here"))
    expect("collateral_format", load_collateral, dict(good, qe_identity_issuer_chain=5))
    # The inner signed JSON is strict too (duplicate keys, missing fields).
    inner_dup = good["tcb_info"][:-1] + ',"version":3}'
    expect("collateral_format", load_collateral, dict(good, tcb_info=inner_dup), at="tcb_info")
    expect("collateral_format", load_collateral, dict(good, qe_identity='{"id":"TD_QE"}'), at="qe_identity")
    # A bare PCS response is recognised but incomplete.
    expect("collateral_missing", load_collateral, (PCS / "tdx-tcbinfo-v3.json").read_text())


def test_bundle_errors() -> None:
    bundle = _pcs_bundle()
    body = json.loads(bundle["tcb_info_response"])
    expect("collateral_format", load_collateral, dict(bundle, tcb_info_response=body))
    expect(
        "collateral_missing",
        load_collateral,
        {k: v for k, v in bundle.items() if k != "qe_identity_issuer_chain"},
    )
    no_sig = json.dumps({"tcbInfo": body["tcbInfo"]})
    expect("collateral_missing", load_collateral, dict(bundle, tcb_info_response=no_sig), at="tcb_info")
    wrong_kind = bundle["qe_identity_response"]
    expect("collateral_missing", load_collateral, dict(bundle, tcb_info_response=wrong_kind), at="tcb_info")
    dup = bundle["tcb_info_response"][:-1] + ',"signature":"00"}'
    expect("collateral_format", load_collateral, dict(bundle, tcb_info_response=dup))
    bad_sig = json.dumps({"tcbInfo": body["tcbInfo"], "signature": "00"})
    expect("collateral_format", load_collateral, dict(bundle, tcb_info_response=bad_sig), at="tcb_info")
    not_obj = json.dumps({"tcbInfo": "text", "signature": body["signature"]})
    expect("collateral_format", load_collateral, dict(bundle, tcb_info_response=not_obj), at="tcb_info")


# --------------------------------------------------------------------------- synthetic PKI: negative cases


def synthetic(pki: TestPki | None = None, **changes: Any) -> dict[str, Any]:
    """dcap-qvl collateral signed by the synthetic PKI (fresh at DEFAULT_NOW)."""
    p = pki if pki is not None else build_pki()
    out = p.collateral(default_tcb_info().to_text(), default_qe_identity().to_text())
    out.update(changes)
    return out


def authenticate(pki: TestPki, collateral: dict[str, Any], now: datetime = NOW) -> AuthenticatedCollateral:
    return authenticate_collateral(load_collateral(collateral), now=now, root=load_root_ca(pki.root_der))


def test_synthetic_collateral_authenticates() -> None:
    pki = build_pki()
    auth = authenticate(pki, synthetic(pki))
    assert auth.tcb_info.fmspc == pki.spec.sgx.fmspc
    assert auth.pck_crl.crl.issuer == pki.pck_ca.subject
    assert auth.root_ca_crl.issuer.subject == pki.root.subject
    assert [c.subject for c in auth.tcb_info_chain.certificates] == [
        pki.root.subject,
        pki.tcb_signing.subject,
    ]
    # The TCB signing chain may omit the root: completed with the trusted one.
    auth2 = authenticate(pki, synthetic(pki, tcb_info_issuer_chain=pki.pem("tcb_signing")))
    assert not auth2.tcb_info_chain.root_included


def test_synthetic_wrong_root() -> None:
    pki = build_pki()
    other = load_root_ca(build_pki(seed="other").root_der)
    expect("untrusted_root", authenticate_collateral, load_collateral(synthetic(pki)), now=NOW, root=other)
    # The pinned Intel root does not trust the test PKI either.
    expect("untrusted_root", authenticate_collateral, load_collateral(synthetic(pki)), now=NOW)


@pytest.mark.parametrize(
    ("changes", "code", "step"),
    [
        # signatures
        ({"signers": {"tcb_signing": "rogue"}}, "tcb_signing_chain_invalid", "tcb_info"),
        ({"signers": {"root_crl": "rogue"}}, "crl_invalid", "root_ca_crl"),
        ({"signers": {"platform_crl": "rogue"}}, "crl_invalid", "pck_crl"),
        ({"signers": {"platform_ca": "rogue"}}, "crl_invalid", "pck_crl"),
        # revocation
        ({"revoked": {"root_crl": ["tcb_signing"]}}, "certificate_revoked", "tcb_info"),
        ({"revoked": {"root_crl": ["platform_ca"]}}, "certificate_revoked", "pck_crl"),
        # certificate windows
        (
            {"validity": {"tcb_signing": (NOW - timedelta(days=9), NOW - SECOND)}},
            "certificate_expired",
            "tcb_info",
        ),
        (
            {"validity": {"tcb_signing": (NOW + SECOND, NOW + timedelta(days=9))}},
            "certificate_not_yet_valid",
            "tcb_info",
        ),
        ({"validity": {"root": (NOW - timedelta(days=9), NOW - SECOND)}}, "certificate_expired", "root_ca"),
        (
            {"validity": {"platform_ca": (NOW + SECOND, NOW + timedelta(days=9))}},
            "certificate_not_yet_valid",
            "pck_crl",
        ),
        # CRL windows
        ({"crl_validity": {"root_crl": (NOW - timedelta(days=9), NOW)}}, "crl_expired", "root_ca_crl"),
        ({"crl_validity": {"platform_crl": (NOW - timedelta(days=9), NOW)}}, "crl_expired", "pck_crl"),
        (
            {"crl_validity": {"platform_crl": (NOW + SECOND, NOW + timedelta(days=9))}},
            "crl_not_yet_valid",
            "pck_crl",
        ),
        # constraints
        (
            {"basic_constraints": {"tcb_signing": x509.BasicConstraints(ca=True, path_length=None)}},
            "tcb_signing_chain_invalid",
            "tcb_info",
        ),
        ({"key_usages": {"platform_ca": None}}, "crl_invalid", "pck_crl"),
    ],
)
def test_synthetic_negative(changes: dict[str, Any], code: str, step: str) -> None:
    pki = build_pki(**changes)
    expect(code, authenticate, pki, synthetic(pki), at=step)


def test_synthetic_content_signed_by_wrong_key() -> None:
    pki = build_pki()
    good = synthetic(pki)
    rogue_tcb = pki.sign(good["tcb_info"].encode(), key="rogue").hex()
    expect(
        "tcb_info_signature_invalid",
        authenticate,
        pki,
        dict(good, tcb_info_signature=rogue_tcb),
        at="tcb_info",
    )
    rogue_qe = pki.sign(good["qe_identity"].encode(), key="pck").hex()
    expect(
        "qe_identity_signature_invalid",
        authenticate,
        pki,
        dict(good, qe_identity_signature=rogue_qe),
        at="qe_identity",
    )


def test_synthetic_tampered_bytes() -> None:
    pki = build_pki()
    good = synthetic(pki)

    def flip_last_signature_byte(der_hex: str) -> str:
        raw = bytearray(bytes.fromhex(der_hex))
        raw[-1] ^= 0x01
        return raw.hex()

    expect(
        "crl_invalid",
        authenticate,
        pki,
        dict(good, root_ca_crl=flip_last_signature_byte(good["root_ca_crl"])),
        at="root_ca_crl",
    )
    expect(
        "crl_invalid",
        authenticate,
        pki,
        dict(good, pck_crl=flip_last_signature_byte(good["pck_crl"])),
        at="pck_crl",
    )
    tcb_signing = bytearray(pki.tcb_signing.public_bytes(serialization.Encoding.DER))
    tcb_signing[-1] ^= 0x01
    tampered_cert = x509.load_der_x509_certificate(bytes(tcb_signing))
    expect(
        "tcb_signing_chain_invalid",
        authenticate,
        pki,
        dict(good, qe_identity_issuer_chain=pem(tampered_cert, pki.root)),
        at="qe_identity",
    )


def test_synthetic_chain_links() -> None:
    pki = build_pki()
    good = synthetic(pki)
    # Extra link: an unrelated certificate issued by the same root.
    expect(
        "tcb_signing_chain_invalid",
        authenticate,
        pki,
        dict(good, tcb_info_issuer_chain=pki.pem("tcb_signing", "root", "processor_ca")),
        at="tcb_info",
    )
    # Missing link: the PCK CRL issuer chain without its CA.
    expect("crl_invalid", authenticate, pki, dict(good, pck_crl_issuer_chain=pki.pem("root")), at="pck_crl")
    # Only a root: no signing certificate at all.
    expect(
        "tcb_signing_chain_invalid",
        authenticate,
        pki,
        dict(good, tcb_info_issuer_chain=pki.pem("root")),
        at="tcb_info",
    )
    # The PCK CRL issuer chain names the other PCK CA: the PCK CRL's issuer does not match.
    expect(
        "crl_invalid",
        authenticate,
        pki,
        dict(good, pck_crl_issuer_chain=pki.pem("processor_ca", "root")),
        at="pck_crl",
    )
    # A chain to a look-alike root in the QE identity chain.
    twin = build_pki(seed="twin")
    expect(
        "untrusted_root",
        authenticate,
        pki,
        dict(good, qe_identity_issuer_chain=twin.tcb_info_issuer_chain_pem),
        at="qe_identity",
    )


def test_synthetic_collateral_window() -> None:
    pki = build_pki()
    auth = authenticate(pki, synthetic(pki))
    tcb = auth.tcb_info
    # TCB info: issueDate <= now <= nextUpdate (inclusive end).
    in_window = [b for b in auth.time_bounds if b.kind == "tcb_info"]
    assert in_window == [
        TimeBound(
            kind="tcb_info",
            label=in_window[0].label,
            step="tcb_info",
            not_before=tcb.issue_date,
            not_after=tcb.next_update,
        )
    ]
    auth.check_time(tcb.issue_date)
    # The PCK CRL (same nextUpdate as the default TCB info) ends first, exclusively.
    assert auth.expires_at == tcb.next_update
    assert auth.expires_first.kind == "crl"
    expect("crl_expired", auth.check_time, tcb.next_update, at="pck_crl")
    longer = build_pki(crl_validity={"platform_crl": (NOW - timedelta(days=20), NOW + timedelta(days=60))})
    auth = authenticate(longer, synthetic(longer))
    auth.check_time(tcb.next_update)  # inclusive for TCB info
    expect("collateral_expired", auth.check_time, tcb.next_update + SECOND, at="tcb_info")
    err = expect("collateral_not_yet_valid", auth.check_time, tcb.issue_date - SECOND, at="tcb_info")
    assert "fetch-collateral" in err.message
    expect("input_invalid", auth.check_time, datetime(2025, 7, 1))


def test_collateral_is_frozen_and_compares_by_content() -> None:
    c = load_collateral(synthetic())
    assert isinstance(c, Collateral)
    with pytest.raises(AttributeError):
        c.tcb_info_raw = b""  # type: ignore[misc]
    # Two loads of the same content are equal (usable as one cache key) ...
    again = load_collateral(json.dumps(synthetic()))
    assert again == c and hash(again) == hash(c) and len({c, again}) == 1
    # ... and any changed piece makes them differ, signed bytes or not.
    pki = build_pki()
    for changes in (
        {"tcb_info_signature": "00" * 64},
        {"pck_crl_issuer_chain": pki.pem("processor_ca", "root")},
        {"pck_certificate_chain": pki.pck_chain_pem},
        {"qe_identity": synthetic()["qe_identity"] + " "},
    ):
        assert load_collateral(synthetic(**changes)) != c
    auth = authenticate(pki, synthetic(pki))
    assert auth.root_fingerprint == hashlib.sha256(pki.root_der).digest()
    assert auth.crls == (auth.root_ca_crl, auth.pck_crl)
