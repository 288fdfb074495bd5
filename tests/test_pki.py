"""Trust anchors, chains, CRLs and the synthetic PKI (tdxverify.pki, tdxverify.testing.pki)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote as urlquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from tdxverify.collateral import authenticate_collateral, load_collateral
from tdxverify.errors import VerificationError
from tdxverify.pck import PckExtension, PlatformConfiguration, parse_pck_extension, pck_extension_of
from tdxverify.pki import (
    PINNED_ROOT_CA_SHA256,
    PckChain,
    TimeBound,
    VerifiedCrl,
    as_utc,
    load_certificates,
    load_crl,
    load_root_ca,
    pinned_root_ca,
    verify_chain,
    verify_crl,
    verify_pck_chain,
    verify_raw_signature,
)
from tdxverify.quote import parse_quote
from tdxverify.testing.collateral import DEFAULT_NOW
from tdxverify.testing.pki import (
    PkiSpec,
    SgxExtensionSpec,
    TestPki,
    build_pki,
    encode_sgx_extension,
    key_usage,
    make_certificate,
    pem,
    sign_raw,
)

from .vectors import all_vectors, verifiable_vectors

NOW = DEFAULT_NOW
SECOND = timedelta(seconds=1)
ROOT_DER_PATH = "tdxverify/data/intel-sgx-root-ca.der"


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def check_pck(
    pki: TestPki, chain: object = None, now: datetime = NOW, root: x509.Certificate | None = None
) -> PckChain:
    """verify_pck_chain of ``pki``'s chain (or ``chain``) against ``pki``'s root (or ``root``).

    The CRLs are taken as already verified (CRL verification has its own
    tests), so each test here isolates one chain check.
    """
    anchor = root if root is not None else load_root_ca(pki.root_der)
    root_crl = trusted_crl(pki.root_crl, pki.root, "root_ca_crl")
    pck_crl = trusted_crl(pki.pck_crl, pki.pck_ca, "pck_crl")
    return verify_pck_chain(
        chain if chain is not None else pki.pck_chain_der,
        root=anchor,
        now=now,
        crls=(root_crl, pck_crl),
    )


def trusted_crl(crl: x509.CertificateRevocationList, issuer: x509.Certificate, step: str) -> VerifiedCrl:
    return VerifiedCrl(crl=crl, issuer=issuer, step=step, revoked_serials=frozenset(e.serial_number for e in crl))


def expect(code: str, fn: Callable[..., object], *args: Any, at: str | None = None, **kwargs: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    if at is not None:
        assert info.value.step == at, info.value
    assert info.value.message
    return info.value


# --------------------------------------------------------------------------- root


def test_pinned_root_is_the_intel_root() -> None:
    root = pinned_root_ca()
    assert hashlib.sha256(der(root)).hexdigest() == PINNED_ROOT_CA_SHA256
    with open(ROOT_DER_PATH, "rb") as f:
        assert der(root) == f.read()
    assert der(load_root_ca()) == der(root)
    assert root.subject.rfc4514_string().endswith("CN=Intel SGX Root CA") or "Intel SGX Root CA" in (
        root.subject.rfc4514_string()
    )


def test_alternative_root_der_pem_and_object() -> None:
    pki = build_pki()
    assert der(load_root_ca(pki.root_der)) == pki.root_der
    assert der(load_root_ca(pem(pki.root))) == pki.root_der
    assert der(load_root_ca(pem(pki.root).encode())) == pki.root_der
    assert der(load_root_ca(pki.root)) == pki.root_der


@pytest.mark.parametrize(
    "make",
    [
        lambda p: der(p.pck_ca),  # not self-issued
        lambda p: b"not a certificate",
        lambda p: pem(p.root, p.pck_ca),  # two certificates
        lambda p: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
    ids=["intermediate", "garbage", "two-certs", "bad-pem"],
)
def test_alternative_root_rejected(make) -> None:
    expect("root_ca_invalid", load_root_ca, make(build_pki()), at="root_ca")


def test_alternative_root_must_be_a_ca_that_signs() -> None:
    not_ca = build_pki(basic_constraints={"root": x509.BasicConstraints(ca=False, path_length=None)})
    expect("root_ca_invalid", load_root_ca, not_ca.root_der)
    no_sign = build_pki(key_usages={"root": key_usage(digital_signature=True)})
    expect("root_ca_invalid", load_root_ca, no_sign.root_der)
    # Self-issued but signed by another key: not self-signed.
    forged = build_pki(signers={"root": "rogue"})
    expect("root_ca_invalid", load_root_ca, forged.root_der)


# --------------------------------------------------------------------------- time


def test_as_utc() -> None:
    assert as_utc(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert as_utc(1.5).microsecond == 500000
    east = timezone(timedelta(hours=2))
    assert as_utc(datetime(2025, 1, 1, 2, tzinfo=east)) == datetime(2025, 1, 1, tzinfo=timezone.utc)
    expect("input_invalid", as_utc, datetime(2025, 1, 1))
    expect("input_invalid", as_utc, True)
    expect("input_invalid", as_utc, "2025")
    expect("input_invalid", as_utc, 1e300)


@pytest.mark.parametrize(
    ("kind", "not_yet", "expired", "end_inclusive"),
    [
        ("certificate", "certificate_not_yet_valid", "certificate_expired", True),
        ("crl", "crl_not_yet_valid", "crl_expired", False),
        ("tcb_info", "collateral_not_yet_valid", "collateral_expired", True),
        ("qe_identity", "collateral_not_yet_valid", "collateral_expired", True),
    ],
)
def test_time_bound_semantics(kind, not_yet, expired, end_inclusive) -> None:
    start, end = NOW, NOW + timedelta(days=1)
    bound = TimeBound(kind=kind, label="x", step="s", not_before=start, not_after=end)
    bound.check(start)
    bound.check(end - SECOND)
    assert bound.end_inclusive is end_inclusive
    expect(not_yet, bound.check, start - SECOND, at="s")
    expect(expired, bound.check, end + SECOND, at="s")
    if end_inclusive:
        bound.check(end)
    else:
        expect(expired, bound.check, end)
    assert bound.contains(end) is end_inclusive
    assert bound.to_dict(end)["valid"] is end_inclusive


# --------------------------------------------------------------------------- loading


def test_load_certificates_forms() -> None:
    pki = build_pki()
    text = pki.pck_chain_pem
    certs = load_certificates(text)
    assert [der(c) for c in certs] == list(pki.pck_chain_der)
    assert [der(c) for c in load_certificates(text.encode() + b"\x00")] == list(pki.pck_chain_der)
    assert [der(c) for c in load_certificates(pki.pck_chain_der)] == list(pki.pck_chain_der)
    # PCS sends chains URL-encoded in HTTP headers.
    assert [der(c) for c in load_certificates(urlquote(text))] == list(pki.pck_chain_der)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "junk\n",
        "hello " + pem(build_pki().root),
        pem(build_pki().root) + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        [b"\x30\x00"],
        [42],
        [],
    ],
    ids=["empty", "junk", "text-before", "private-key-block", "bad-der", "not-bytes", "empty-list"],
)
def test_load_certificates_rejects(bad) -> None:
    expect("pck_chain_invalid", load_certificates, bad)


def test_load_crl_encodings() -> None:
    crl = build_pki().root_crl
    raw = crl.public_bytes(serialization.Encoding.DER)
    text_pem = crl.public_bytes(serialization.Encoding.PEM)
    for form in (raw, raw.hex(), "0x" + raw.hex(), raw.hex().upper().encode(), text_pem, text_pem.decode()):
        assert load_crl(form).public_bytes(serialization.Encoding.DER) == raw
    for bad in ("zz", "", "00ff", b"\x01\x02\x03", "-----BEGIN X509 CRL-----\nAA\n-----END X509 CRL-----"):
        expect("crl_invalid", load_crl, bad)


def test_verify_raw_signature() -> None:
    pki = build_pki()
    sig = sign_raw(pki.tcb_signing_key, b"message")
    key = pki.tcb_signing_key.public_key()
    assert len(sig) == 64 and sig == sign_raw(pki.tcb_signing_key, b"message")
    assert verify_raw_signature(key, b"message", sig)
    assert not verify_raw_signature(key, b"messagf", sig)
    assert not verify_raw_signature(key, b"message", sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not verify_raw_signature(key, b"message", sig[:63])
    assert not verify_raw_signature(key, b"message", bytes(32) + sig[32:])
    assert not verify_raw_signature(pki.pck_key.public_key(), b"message", sig)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert not verify_raw_signature(p384, b"message", sig)


# --------------------------------------------------------------------------- synthetic PKI


def test_synthetic_pki_is_deterministic() -> None:
    a, b = build_pki(), build_pki()
    for name in a.certificates:
        assert der(a.certificates[name]) == der(b.certificates[name])
    for name in a.crls:
        assert a.crls[name].public_bytes(serialization.Encoding.DER) == b.crls[name].public_bytes(
            serialization.Encoding.DER
        )
    other = build_pki(seed="another seed")
    assert der(other.root) != der(a.root)
    assert other.root.subject == a.root.subject


def test_synthetic_pki_knob_validation() -> None:
    expect("input_invalid", build_pki, validity={"nope": (NOW, NOW)})
    expect("input_invalid", build_pki, signers={"pck": "nobody"})
    expect("input_invalid", build_pki, revoked={"root_crl": ["nobody"]})


sgx_specs = st.builds(
    SgxExtensionSpec,
    ppid=st.binary(min_size=16, max_size=16),
    cpu_svn_components=st.lists(st.integers(0, 255), min_size=16, max_size=16).map(tuple),
    pce_svn=st.integers(0, 0xFFFF),
    cpu_svn=st.one_of(st.none(), st.binary(min_size=16, max_size=16)),
    pce_id=st.binary(min_size=2, max_size=2),
    fmspc=st.binary(min_size=6, max_size=6),
    sgx_type=st.integers(0, 2),
    platform_instance_id=st.one_of(st.none(), st.binary(min_size=16, max_size=16)),
    configuration=st.one_of(
        st.none(),
        st.builds(
            PlatformConfiguration,
            dynamic_platform=st.one_of(st.none(), st.booleans()),
            cached_keys=st.one_of(st.none(), st.booleans()),
            smt_enabled=st.one_of(st.none(), st.booleans()),
        ),
    ),
)


def _assert_round_trip(spec: SgxExtensionSpec, ext: PckExtension) -> None:
    assert ext.ppid == spec.ppid
    assert ext.cpu_svn_components == spec.cpu_svn_components
    assert ext.pce_svn == spec.pce_svn
    assert ext.cpu_svn == spec.effective_cpu_svn
    assert ext.pce_id == spec.pce_id
    assert ext.fmspc == spec.fmspc
    assert ext.sgx_type == spec.sgx_type
    assert ext.platform_instance_id == spec.platform_instance_id
    assert ext.configuration == spec.configuration


@given(sgx_specs)
def test_sgx_extension_round_trip(spec: SgxExtensionSpec) -> None:
    _assert_round_trip(spec, parse_pck_extension(encode_sgx_extension(spec)))


@given(sgx_specs)
def test_sgx_extension_round_trip_through_certificate(spec: SgxExtensionSpec) -> None:
    pki = build_pki(sgx=spec)
    _assert_round_trip(spec, pck_extension_of(pki.pck))
    _assert_round_trip(spec, check_pck(pki).extension)


def test_malformed_sgx_extension() -> None:
    pki = build_pki(sgx_extension_der=b"\x30\x00")
    expect("pck_extension_invalid", check_pck, pki)


# --------------------------------------------------------------------------- PCK chains: good


@pytest.mark.parametrize("ca", ["platform", "processor"])
def test_pck_chain_verifies(ca: str) -> None:
    pki = build_pki(pck_ca=ca)
    result = check_pck(pki)
    assert result.ca == ca
    assert [der(c) for c in result.certificates] == [der(pki.root), der(pki.pck_ca), der(pki.pck)]
    assert result.leaf is result.certificates[-1]
    assert result.root_included
    assert verify_raw_signature(result.public_key, b"qe report", sign_raw(pki.pck_key, b"qe report"))


def test_pck_chain_order_does_not_matter() -> None:
    pki = build_pki()
    for order in (
        ("root", "platform_ca", "pck"),
        ("platform_ca", "pck", "root"),
        ("pck", "root", "platform_ca"),
    ):
        assert der(check_pck(pki, pki.pem(*order)).leaf) == der(pki.pck)


def test_pck_chain_without_root_is_completed_with_the_trusted_root() -> None:
    pki = build_pki()
    result = check_pck(pki, pki.pem("pck", "platform_ca"))
    assert not result.root_included
    assert der(result.certificates[0]) == pki.root_der


def test_root_copy_in_chain_is_never_trusted_itself() -> None:
    pki = build_pki()
    raw = der(pki.root)
    # A copy whose self-signature no longer verifies was altered: refused, as Intel's QVL does.
    tampered_root = raw[:-1] + bytes([raw[-1] ^ 0x01])
    expect("untrusted_root", check_pck, pki, [der(pki.pck), der(pki.pck_ca), tampered_root], at="pck_chain")
    # A re-issue of the root by the same key (new serial and validity) is a genuine copy; the
    # trust anchor itself is what the path uses, so its validity is what gets checked.
    root = pki.root
    reissued = (
        x509.CertificateBuilder()
        .subject_name(root.subject)
        .issuer_name(root.subject)
        .public_key(pki.keys["root"].public_key())
        .serial_number(root.serial_number + 1)
        .not_valid_before(root.not_valid_before_utc - timedelta(days=1))
        .not_valid_after(root.not_valid_after_utc + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(pki.keys["root"], hashes.SHA256())
    )
    result = check_pck(pki, [der(pki.pck), der(pki.pck_ca), der(reissued)])
    assert der(result.certificates[0]) == raw


def test_naive_time_is_rejected() -> None:
    expect("input_invalid", check_pck, build_pki(), now=datetime(2025, 7, 1))


def test_validity_boundaries_are_inclusive_for_certificates() -> None:
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    pki = build_pki(validity={"pck": (start, end)})
    check_pck(pki, now=start)
    check_pck(pki, now=end)
    expect("certificate_expired", check_pck, pki, now=end + SECOND, at="pck_chain")
    expect("certificate_not_yet_valid", check_pck, pki, now=start - SECOND, at="pck_chain")


def test_crl_boundary_next_update_is_exclusive() -> None:
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    pki = build_pki(crl_validity={"platform_crl": (start, end)})
    check_pck(pki, now=start)
    check_pck(pki, now=end - SECOND)
    expect("crl_expired", check_pck, pki, now=end, at="pck_crl")
    expect("crl_not_yet_valid", check_pck, pki, now=start - SECOND, at="pck_crl")


# --------------------------------------------------------------------------- PCK chains: negative


def test_wrong_root() -> None:
    pki, other = build_pki(), build_pki(seed="other")
    # Same names, different keys: the chain ends at a self-signed root that is not trusted.
    expect("untrusted_root", check_pck, pki, root=load_root_ca(other.root_der), at="pck_chain")


def test_cert_merely_named_intel_root_is_not_trusted() -> None:
    fake = build_pki(common_names={"root": "Intel SGX Root CA"}, organization="Intel Corporation")
    expect("untrusted_root", check_pck, fake, root=pinned_root_ca(), at="pck_chain")


def test_rootless_chain_from_another_pki_fails() -> None:
    pki, other = build_pki(), build_pki(seed="other")
    # No root in the chain; the top names the trusted root but was signed by another key.
    expect("pck_chain_invalid", check_pck, pki, other.pem("pck", "platform_ca"))


@pytest.mark.parametrize("name", ["pck", "platform_ca"])
def test_certificate_signed_by_wrong_key(name: str) -> None:
    expect("pck_chain_invalid", check_pck, build_pki(signers={name: "rogue"}), at="pck_chain")


@pytest.mark.parametrize("name", ["pck", "platform_ca"])
def test_certificate_signature_tampered(name: str) -> None:
    pki = build_pki()
    raw = der(pki.certificates[name])
    tampered = raw[:-1] + bytes([raw[-1] ^ 0x01])  # last byte of the signature's s
    chain = [tampered if der(c) == raw else der(c) for c in (pki.pck, pki.pck_ca, pki.root)]
    expect("pck_chain_invalid", check_pck, pki, chain)


@pytest.mark.parametrize("name", ["pck", "platform_ca", "root"])
def test_expired_and_not_yet_valid_certificates(name: str) -> None:
    past = (NOW - timedelta(days=400), NOW - timedelta(days=1))
    future = (NOW + timedelta(days=1), NOW + timedelta(days=400))
    expect("certificate_expired", check_pck, build_pki(validity={name: past}), at="pck_chain")
    expect("certificate_not_yet_valid", check_pck, build_pki(validity={name: future}), at="pck_chain")


def test_pck_leaf_revoked() -> None:
    pki = build_pki(revoked={"platform_crl": [12345, "pck"]})
    expect("pck_revoked", check_pck, pki, at="pck_chain")
    # A CRL listing only other serials does not touch the leaf.
    assert check_pck(build_pki(revoked={"platform_crl": [12345]})).ca == "platform"


def test_intermediate_revoked() -> None:
    expect("certificate_revoked", check_pck, build_pki(revoked={"root_crl": ["platform_ca"]}))
    # Revoking the other PCK CA leaves this chain alone.
    check_pck(build_pki(revoked={"root_crl": ["processor_ca"]}))


def test_crl_expired_and_not_yet_valid() -> None:
    past = (NOW - timedelta(days=40), NOW - timedelta(days=10))
    future = (NOW + timedelta(days=1), NOW + timedelta(days=30))
    expect("crl_expired", check_pck, build_pki(crl_validity={"platform_crl": past}), at="pck_crl")
    expect("crl_expired", check_pck, build_pki(crl_validity={"root_crl": past}), at="root_ca_crl")
    expect("crl_not_yet_valid", check_pck, build_pki(crl_validity={"platform_crl": future}))


@pytest.mark.parametrize(
    ("crl", "issuer", "step"),
    [("platform_crl", "platform_ca", "pck_crl"), ("root_crl", "root", "root_ca_crl")],
)
def test_crl_signed_by_wrong_key(crl: str, issuer: str, step: str) -> None:
    pki = build_pki(signers={crl: "rogue"})
    expect(
        "crl_invalid",
        verify_crl,
        pki.crls[crl],
        pki.certificates[issuer],
        now=NOW,
        step=step,
        at=step,
    )


@pytest.mark.parametrize("crl", ["platform_crl", "root_crl"])
def test_crl_signature_tampered(crl: str) -> None:
    pki = build_pki()
    raw = pki.crls[crl].public_bytes(serialization.Encoding.DER)
    tampered = raw[:-1] + bytes([raw[-1] ^ 0x01])
    issuer = pki.certificates["root" if crl == "root_crl" else "platform_ca"]
    expect("crl_invalid", verify_crl, tampered, issuer, now=NOW, step="x", at="x")


def test_crl_from_the_wrong_issuer() -> None:
    pki = build_pki()
    # The Processor CA's CRL presented as if from the Platform CA.
    expect(
        "crl_invalid",
        verify_crl,
        pki.crls["processor_crl"],
        pki.certificates["platform_ca"],
        now=NOW,
        step="pck_crl",
    )
    # A correctly verified PCK CRL of the other CA cannot check this leaf.
    anchor = load_root_ca(pki.root_der)
    root_crl = verify_crl(pki.root_crl, anchor, now=NOW, step="root_ca_crl")
    other = verify_crl(pki.crls["processor_crl"], pki.certificates["processor_ca"], now=NOW, step="pck_crl")
    expect(
        "crl_invalid",
        verify_pck_chain,
        pki.pck_chain_der,
        root=anchor,
        now=NOW,
        crls=(root_crl, other),
    )


def test_chain_with_missing_link() -> None:
    pki = build_pki()
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "root"))
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck"))


def test_chain_with_extra_link() -> None:
    pki, other = build_pki(), build_pki(seed="other")
    # Another certificate issued by the same root, a foreign certificate, a duplicate.
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "platform_ca", "root", "tcb_signing"))
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "platform_ca", "root") + pem(other.tcb_signing))
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "platform_ca", "platform_ca", "root"))
    # Two roots with the same name (the real one and an impostor).
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "platform_ca", "root") + pem(other.root))
    # The processor CA is issued by the root too: a second branch.
    expect("pck_chain_invalid", check_pck, pki, pki.pem("pck", "platform_ca", "processor_ca", "root"))


def test_chain_length_and_crl_coverage() -> None:
    pki = build_pki()
    anchor = load_root_ca(pki.root_der)
    root_crl = verify_crl(pki.root_crl, anchor, now=NOW, step="root_ca_crl")
    # The TCB signing chain has two certificates; ask for three.
    with pytest.raises(VerificationError) as info:
        verify_chain(
            pki.tcb_info_issuer_chain_pem,
            root=anchor,
            now=NOW,
            crls=(root_crl,),
            code="tcb_signing_chain_invalid",
            step="tcb_info",
            expected_length=3,
        )
    assert (info.value.code, info.value.step) == ("tcb_signing_chain_invalid", "tcb_info")
    # And it verifies with the right length and CRL, completing nothing.
    chain = verify_chain(
        pki.tcb_info_issuer_chain_pem,
        root=anchor,
        now=NOW,
        crls=(root_crl,),
        code="tcb_signing_chain_invalid",
        step="tcb_info",
        expected_length=2,
    )
    assert chain.root_included and der(chain.leaf) == der(pki.tcb_signing)
    # Without a CRL from the root, revocation cannot be checked: fail closed.
    expect(
        "crl_invalid",
        lambda: verify_chain(
            pki.tcb_info_issuer_chain_pem,
            root=anchor,
            now=NOW,
            crls=(),
            code="tcb_signing_chain_invalid",
            step="t",
        ),
    )


@pytest.mark.parametrize(
    ("knob", "code"),
    [
        (
            {"basic_constraints": {"pck": x509.BasicConstraints(ca=True, path_length=None)}},
            "pck_chain_invalid",
        ),
        ({"basic_constraints": {"platform_ca": None}}, "pck_chain_invalid"),
        (
            {"basic_constraints": {"platform_ca": x509.BasicConstraints(ca=False, path_length=None)}},
            "pck_chain_invalid",
        ),
        ({"basic_constraints": {"root": x509.BasicConstraints(ca=True, path_length=0)}}, "pck_chain_invalid"),
        ({"key_usages": {"platform_ca": key_usage(crl_sign=True)}}, "pck_chain_invalid"),
        ({"key_usages": {"pck": key_usage(key_cert_sign=True)}}, "pck_chain_invalid"),
        ({"key_usages": {"pck": None}}, "pck_chain_invalid"),
    ],
    ids=[
        "leaf-is-ca",
        "ca-no-basic-constraints",
        "ca-not-ca",
        "root-pathlen-0",
        "ca-no-keycertsign",
        "leaf-no-digitalsignature",
        "leaf-no-keyusage",
    ],
)
def test_constraints(knob: dict[str, object], code: str) -> None:
    expect(code, check_pck, build_pki(PkiSpec(**knob)), at="pck_chain")


def test_leaf_key_must_be_p256() -> None:
    pki = build_pki()
    p384 = ec.derive_private_key(12345, ec.SECP384R1())
    leaf = make_certificate(
        subject=pki.pck.subject,
        issuer=pki.pck.issuer,
        public_key=p384.public_key(),
        issuer_public_key=pki.keys["platform_ca"].public_key(),
        signing_key=pki.keys["platform_ca"],
        serial=7,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=1),
        basic_constraints=x509.BasicConstraints(ca=False, path_length=None),
        key_usage=key_usage(digital_signature=True),
        extensions=[pki.pck.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.2.840.113741.1.13.1")).value],
    )
    expect("pck_chain_invalid", check_pck, pki, pem(leaf, pki.pck_ca, pki.root))


def test_unknown_critical_extension() -> None:
    pki = build_pki()
    key = pki.keys["platform_ca"]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(pki.pck.subject)
        .issuer_name(pki.pck.issuer)
        .public_key(pki.pck_key.public_key())
        .serial_number(9)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"), critical=True)
        .sign(key, hashes.SHA256())
    )
    expect("pck_chain_invalid", check_pck, pki, pem(leaf, pki.pck_ca, pki.root))


def test_fuzzed_chain_orders_never_escape() -> None:
    """Any subset/permutation of PKI certificates either verifies or fails with a coded error."""
    pki = build_pki()
    names = ["pck", "platform_ca", "processor_ca", "root", "tcb_signing"]
    rng = random.Random(1)
    ok = 0
    for _ in range(60):
        pick = rng.sample(names, rng.randint(1, len(names)))
        try:
            result = check_pck(pki, pki.pem(*pick))
        except VerificationError as exc:
            assert exc.code in ("pck_chain_invalid", "untrusted_root", "crl_invalid")
        else:
            ok += 1
            assert set(pick) <= {"pck", "platform_ca", "root"} and {"pck", "platform_ca"} <= set(pick)
            assert der(result.leaf) == der(pki.pck)
    assert ok > 0


# --------------------------------------------------------------------------- real vectors


@pytest.mark.parametrize("vector", verifiable_vectors(), ids=lambda v: v.name)
def test_real_pck_chain_verifies_with_vector_crls(vector) -> None:
    quote = parse_quote(vector.quote)
    auth = authenticate_collateral(load_collateral(vector.collateral_path), now=vector.now)
    result = verify_pck_chain(
        quote.pck_chain,
        root=pinned_root_ca(),
        now=as_utc(vector.now),
        crls=auth.crls,
    )
    assert der(result.certificates[0]) == der(pinned_root_ca())
    ext = result.extension
    assert ext.fmspc_hex == vector.expected["parsed"]["fmspc"]
    # Consistent with the collateral and with the quote itself.
    assert ext.fmspc == auth.tcb_info.fmspc
    assert ext.pce_id == auth.tcb_info.pce_id
    assert result.ca in result.leaf.issuer.rfc4514_string().lower()
    assert auth.pck_crl.crl.issuer == result.leaf.issuer
    qe = quote.signature_data.qe_report_certification
    assert qe is not None
    assert verify_raw_signature(result.public_key, qe.qe_report.raw, qe.qe_report_signature)
    # A day after the PCK CRL's nextUpdate, the same chain fails closed.
    expect(
        "crl_expired",
        verify_pck_chain,
        quote.pck_chain,
        root=pinned_root_ca(),
        now=auth.pck_crl.next_update + timedelta(days=1),
        crls=auth.crls,
    )


@pytest.mark.parametrize("vector", all_vectors(), ids=lambda v: v.name)
def test_real_pck_extension_matches_expected_fmspc(vector) -> None:
    quote = parse_quote(vector.quote)
    assert quote.pck_chain is not None
    certs = load_certificates(quote.pck_chain)
    leaf = certs[0]
    assert pck_extension_of(leaf).fmspc_hex == vector.expected["parsed"]["fmspc"]
    # Every real chain ends at the pinned root.
    assert any(der(c) == der(pinned_root_ca()) for c in certs)


def test_real_chain_is_rejected_under_another_root() -> None:
    vector = verifiable_vectors()[0]
    quote = parse_quote(vector.quote)
    auth = authenticate_collateral(load_collateral(vector.collateral_path), now=vector.now)
    other = load_root_ca(build_pki().root_der)
    expect(
        "untrusted_root",
        verify_pck_chain,
        quote.pck_chain,
        root=other,
        now=as_utc(vector.now),
        crls=auth.crls,
    )
