"""Regression tests for issue 12 (hardening): linear PEM, size limits, root CRL
listing the root, certificate names, the off-curve attestation key's step, DER
strictness of the SGX extension."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st

import tdxverify
from tdxverify import DEFAULT_LIMITS, Limits
from tdxverify.errors import VerificationError
from tdxverify.pck import parse_pck_extension
from tdxverify.pki import load_certificates, load_crl
from tdxverify.testing import Forge
from tdxverify.testing.pki import PkiSpec, SgxExtensionSpec, encode_sgx_extension

from .vectors import verifiable_vectors

FORGE = Forge(seed="hardening")
VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")


def code_of(fn: Any, *args: Any, **kwargs: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        fn(*args, **kwargs)
    return info.value


def forge_verify(forge: Forge, quote: bytes | None = None, **kw: Any) -> tdxverify.Verdict:
    return tdxverify.verify(
        quote if quote is not None else forge.quote(),
        forge.collateral(),
        now=forge.now,
        root_ca=forge.root_ca_der,
        **kw,
    )


# --------------------------------------------------------------------------- 1. PEM without END markers


def _unterminated(n: int) -> bytes:
    return b"-----BEGIN CERTIFICATE-----\nAAAAAAAAAA" * n


def test_quote_pem_chain_of_unterminated_blocks_is_quote_format() -> None:
    raw = FORGE.quote(pck_cert_data=_unterminated(1500))
    err = code_of(tdxverify.parse_quote, raw)
    assert err.code == "quote_format"
    assert "not a PEM certificate chain" in err.message


def test_quote_pem_chain_unterminated_after_a_good_certificate() -> None:
    good = FORGE.pki.pck_chain_pem.encode()
    err = code_of(tdxverify.parse_quote, FORGE.quote(pck_cert_data=good + _unterminated(50)))
    assert err.code == "quote_format"
    assert "PCK certificate 4 at offset" in err.message
    assert "no END CERTIFICATE line" in err.message


def test_collateral_chain_of_unterminated_blocks_is_rejected() -> None:
    err = code_of(load_certificates, _unterminated(2000).decode(), code="crl_invalid", what="the chain")
    assert err.code == "crl_invalid"
    assert "without its END line" in err.message
    col = dict(FORGE.collateral())
    col["tcb_info_issuer_chain"] = _unterminated(2000).decode()
    assert code_of(tdxverify.load_collateral, col).code == "collateral_format"


def test_pem_label_mismatch_and_nesting_are_rejected() -> None:
    cert = FORGE.pki.pem("root")
    assert len(load_certificates(cert)) == 1
    mismatched = cert.replace("-----END CERTIFICATE-----", "-----END X509 CRL-----")
    assert code_of(load_certificates, mismatched).code == "pck_chain_invalid"
    nested = cert.replace("-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----")
    assert code_of(load_certificates, nested).code == "pck_chain_invalid"
    assert code_of(load_certificates, "-----BEGIN cert-----\nAA\n-----END cert-----").code == "pck_chain_invalid"


def test_pem_crl_is_parsed_without_the_regex() -> None:
    from cryptography.hazmat.primitives import serialization

    text = FORGE.pki.root_crl.public_bytes(serialization.Encoding.PEM).decode()
    assert load_crl(text).public_bytes(serialization.Encoding.DER) == FORGE.pki.root_crl_der
    err = code_of(load_crl, "-----BEGIN X509 CRL-----\n" + "AAAA" * 1000)
    assert err.code == "crl_invalid"
    assert code_of(load_crl, text + text).code == "crl_invalid"


# --------------------------------------------------------------------------- 2. size limits


def test_default_limits_admit_every_genuine_vector() -> None:
    for vec in verifiable_vectors():
        assert len(vec.quote) < DEFAULT_LIMITS.quote // 10
        text = vec.collateral_path.read_text()
        assert len(text) < DEFAULT_LIMITS.collateral // 100
        assert all(len(v) < DEFAULT_LIMITS.collateral_member // 100 for v in json.loads(text).values())


def test_quote_over_the_limit_is_input_too_large() -> None:
    raw = VEC.quote
    err = code_of(tdxverify.parse_quote, raw, limits=Limits(quote=len(raw) - 1))
    assert (err.code, err.step) == ("input_too_large", "parse")
    assert isinstance(err, tdxverify.QuoteFormatError)
    assert "Limits(quote=" in err.message
    assert tdxverify.parse_quote(raw, limits=Limits(quote=len(raw))).version == 4
    assert code_of(tdxverify.load_quote, raw.hex(), limits=Limits(quote=len(raw) // 4)).code == "input_too_large"
    assert code_of(tdxverify.verify, raw, VEC.collateral_path, now=VEC.now, limits=Limits(quote=100)).code == (
        "input_too_large"
    )


def test_quote_file_over_the_limit_is_input_too_large(tmp_path: Any) -> None:
    path = tmp_path / "q.bin"
    path.write_bytes(VEC.quote + bytes(4 * 1024 * 1024))
    err = code_of(tdxverify.load_quote, path)
    assert err.code == "input_too_large"
    assert f"is more than {4 * DEFAULT_LIMITS.quote} bytes" in err.message


def test_certification_data_over_the_limit() -> None:
    big = FORGE.pki.pck_chain_pem.encode() + b"\n" * (70 * 1024)
    raw = FORGE.quote(pck_cert_data=big)
    err = code_of(tdxverify.parse_quote, raw)
    assert (err.code, err.step) == ("input_too_large", "parse")
    assert "certification_data" in err.message
    # Raised limit: the padding is whitespace after the chain, which is allowed.
    assert tdxverify.parse_quote(raw, limits=Limits(certification_data=1 << 20)).pck_chain is not None
    # A size that claims more than the quote holds stays a truncation, not a size attack.
    assert code_of(tdxverify.parse_quote, raw[:-100], limits=Limits(certification_data=1 << 20)).code == "quote_format"


def test_collateral_document_and_member_limits(tmp_path: Any) -> None:
    col = FORGE.collateral()
    text = json.dumps(col)
    err = code_of(tdxverify.load_collateral, text, limits=Limits(collateral=len(text) - 1))
    assert (err.code, err.step) == ("input_too_large", "collateral")
    assert isinstance(err, tdxverify.CollateralError)
    assert code_of(tdxverify.load_collateral, text.encode(), limits=Limits(collateral=100)).code == "input_too_large"
    path = tmp_path / "c.json"
    path.write_text(text)
    err = code_of(tdxverify.load_collateral, path, limits=Limits(collateral=100))
    assert (err.code, err.step) == ("input_too_large", "collateral")
    assert "the collateral file is more than 100 bytes" in err.message
    longest = max(len(v) for v in col.values())
    err = code_of(tdxverify.load_collateral, col, limits=Limits(collateral_member=longest - 1))
    assert err.code == "input_too_large"
    assert "collateral_member" in err.message
    assert tdxverify.load_collateral(col, limits=Limits(collateral_member=longest)).format == "dcap-qvl"


def test_oversized_unsigned_tcb_info_is_refused_before_parsing() -> None:
    col = dict(FORGE.collateral())
    info = json.loads(col["tcb_info"])
    info["tcbLevels"] = info["tcbLevels"] * 20000
    col["tcb_info"] = json.dumps(info)
    assert len(col["tcb_info"]) > DEFAULT_LIMITS.collateral_member
    assert code_of(tdxverify.load_collateral, col).code == "input_too_large"
    assert code_of(tdxverify.load_collateral, json.dumps(col)).code == "input_too_large"


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_limits_must_be_positive_integers(bad: Any) -> None:
    assert code_of(Limits, quote=bad).code == "input_invalid"


def test_verifier_takes_limits() -> None:
    verifier = tdxverify.Verifier(limits=Limits(collateral=1000))
    err = code_of(verifier.verify, VEC.quote, VEC.collateral_path.read_text(), VEC.now)
    assert err.code == "input_too_large"
    assert tdxverify.Verifier(limits=Limits()).verify(VEC.quote, VEC.collateral_path, VEC.now).status == "UpToDate"


# --------------------------------------------------------------------------- 3. root CA CRL listing the root


def test_root_ca_crl_listing_the_root_is_untrusted_root() -> None:
    forge = Forge(seed="hardening-root-crl", pki=PkiSpec(revoked={"root_crl": ["root"]}))
    err = code_of(forge_verify, forge)
    assert err.code == "untrusted_root"
    assert "lists the trust root" in err.message
    # The same PKI without that entry verifies.
    assert forge_verify(Forge(seed="hardening-root-crl")).status == "UpToDate"


# --------------------------------------------------------------------------- 4. certificate names


def test_pck_certificate_name_must_say_sgx_pck_certificate() -> None:
    forge = Forge(seed="hardening-cn", pki=PkiSpec(common_names={"pck": "Test Platform Certificate"}))
    err = code_of(forge_verify, forge)
    assert (err.code, err.step) == ("pck_chain_invalid", "pck_chain")
    assert "SGX PCK Certificate" in err.message


def test_tcb_signing_certificate_name_must_say_sgx_tcb_signing() -> None:
    forge = Forge(seed="hardening-cn", pki=PkiSpec(common_names={"tcb_signing": "Test Collateral Signer"}))
    err = code_of(forge_verify, forge)
    assert (err.code, err.step) == ("tcb_signing_chain_invalid", "tcb_info")
    assert "SGX TCB Signing" in err.message


def test_forge_and_genuine_names_carry_the_required_phrases() -> None:
    assert "SGX PCK Certificate" in FORGE.pki.pck.subject.rfc4514_string()
    assert "SGX TCB Signing" in FORGE.pki.tcb_signing.subject.rfc4514_string()
    for vec in verifiable_vectors():  # genuine Intel certificates carry them too
        quote = tdxverify.parse_quote(vec.quote)
        col = tdxverify.load_collateral(vec.collateral_path)
        chain = load_certificates(list(quote.pck_chain or ())) if quote.pck_chain else col.pck_certificate_chain
        assert chain is not None
        assert any("SGX PCK Certificate" in c.subject.rfc4514_string() for c in chain)
        assert any("SGX TCB Signing" in c.subject.rfc4514_string() for c in col.tcb_info_issuer_chain)
        assert any("SGX TCB Signing" in c.subject.rfc4514_string() for c in col.qe_identity_issuer_chain)


# --------------------------------------------------------------------------- 6. off-curve key, DER strictness


def test_off_curve_attestation_key_fails_at_quote_signature() -> None:
    err = code_of(forge_verify, FORGE, FORGE.quote(attestation_key=b"\x01" * 64))
    assert (err.code, err.step) == ("quote_signature_invalid", "quote_signature")
    assert "not a point on P-256" in err.message


def _long_form_first_length(der: bytes) -> bytes:
    """The same value with the outer SEQUENCE's length in (non-DER) long form."""
    assert der[0] == 0x30
    if der[1] < 0x80:
        return b"\x30\x81" + der[1:2] + der[2:]
    n = der[1] & 0x7F
    return b"\x30" + bytes([0x80 | (n + 1), 0]) + der[2:]


def _ber_inner_length(der: bytes) -> bytes:
    """Re-encode the PPID OCTET STRING's length (16) as 0x81 0x10 and fix the enclosing lengths."""
    spec = SgxExtensionSpec()
    ppid = b"\x04\x10" + spec.ppid
    assert ppid in der
    ber_ppid = b"\x04\x81\x10" + spec.ppid
    # The PPID entry: SEQUENCE { OID, OCTET STRING } whose length grows by one.
    i = der.index(ppid)
    entry_start = der.rindex(b"\x30", 0, i - 11)
    entry_len = der[entry_start + 1]
    entry = der[entry_start : entry_start + 2 + entry_len]
    new_entry = b"\x30" + bytes([entry_len + 1]) + entry[2:].replace(ppid, ber_ppid)
    body = der.replace(entry, new_entry)
    # Outer SEQUENCE length (long form already for a full extension).
    n = body[1] & 0x7F
    length = int.from_bytes(body[2 : 2 + n], "big") + 1
    return b"\x30" + bytes([0x80 | n]) + length.to_bytes(n, "big") + body[2 + n :]


def test_sgx_extension_rejects_ber_lengths() -> None:
    der = encode_sgx_extension(SgxExtensionSpec())
    assert parse_pck_extension(der).fmspc == SgxExtensionSpec().fmspc
    for ber in (_long_form_first_length(der), _ber_inner_length(der)):
        # asn1crypto's strict mode accepts these: they are BER, not DER.
        assert core.load(ber, strict=True).dump(force=True)
        err = code_of(parse_pck_extension, ber)
        assert err.code == "pck_extension_invalid"
        assert "shortest form" in err.message


@pytest.mark.parametrize(
    ("mutation", "words"),
    [
        (lambda d: b"\x30\x80" + d[4:] + b"\x00\x00", "indefinite"),  # BER indefinite length
        (lambda d: d + b"\x00", "after its sequence"),
        (lambda d: d[:-1], "remain"),
        (lambda d: b"\x31" + d[1:], "not a valid ASN.1 sequence"),
    ],
)
def test_sgx_extension_encoding_errors(mutation: Any, words: str) -> None:
    der = encode_sgx_extension(SgxExtensionSpec())
    err = code_of(parse_pck_extension, mutation(der))
    assert err.code == "pck_extension_invalid"
    assert words in err.message


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def _entry(oid: str, value: bytes) -> bytes:
    return _tlv(0x30, core.ObjectIdentifier(oid).dump() + value)


def _with_tcb_component(raw_integer: bytes) -> bytes:
    """A default extension whose SGX TCB component 1 is encoded as ``raw_integer`` (a whole TLV)."""
    spec = SgxExtensionSpec()
    p = "1.2.840.113741.1.13.1"
    tcb = [_entry(f"{p}.2.1", raw_integer)]
    tcb += [_entry(f"{p}.2.{i}", core.Integer(v).dump()) for i, v in enumerate(spec.cpu_svn_components[1:], 2)]
    tcb.append(_entry(f"{p}.2.17", core.Integer(spec.pce_svn).dump()))
    tcb.append(_entry(f"{p}.2.18", core.OctetString(spec.effective_cpu_svn).dump()))
    parts = [
        _entry(f"{p}.1", core.OctetString(spec.ppid).dump()),
        _entry(f"{p}.2", _tlv(0x30, b"".join(tcb))),
        _entry(f"{p}.3", core.OctetString(spec.pce_id).dump()),
        _entry(f"{p}.4", core.OctetString(spec.fmspc).dump()),
        _entry(f"{p}.5", b"\x0a\x01" + bytes([spec.sgx_type])),
    ]
    return _tlv(0x30, b"".join(parts))


def test_sgx_extension_requires_minimal_integers_and_der_booleans() -> None:
    assert parse_pck_extension(_with_tcb_component(b"\x02\x01\x05")).cpu_svn_components[0] == 5
    for bad in (b"\x02\x02\x00\x05", b"\x02\x00"):
        assert code_of(parse_pck_extension, _with_tcb_component(bad)).code == "pck_extension_invalid"
    spec = SgxExtensionSpec(sgx_type=1, configuration=tdxverify.pck.PlatformConfiguration(True, False, None))
    der = encode_sgx_extension(spec)
    assert parse_pck_extension(der).configuration == spec.configuration
    true = _entry("1.2.840.113741.1.13.1.7.1", b"\x01\x01\xff")
    assert true in der
    ber_true = der.replace(true, _entry("1.2.840.113741.1.13.1.7.1", b"\x01\x01\x01"))
    err = code_of(parse_pck_extension, ber_true)
    assert "BOOLEAN" in err.message


# The asn1crypto decoder this project used before: an independent reference for every DER input.
def _reference(der: bytes) -> tuple[Any, ...]:
    class Entry(core.Sequence):
        _fields = [("id", core.ObjectIdentifier), ("value", core.Any)]  # noqa: RUF012

    class Entries(core.SequenceOf):
        _child_spec = Entry

    def index(d: bytes) -> dict[str, Any]:
        return {e["id"].dotted: e["value"] for e in Entries.load(d, strict=True)}

    p = "1.2.840.113741.1.13.1"
    top = index(der)
    tcb = index(top[f"{p}.2"].dump())
    comps = tuple(core.Integer.load(tcb[f"{p}.2.{i}"].dump()).native for i in range(1, 17))
    out: tuple[Any, ...] = (
        core.OctetString.load(top[f"{p}.1"].dump()).native,
        comps,
        core.Integer.load(tcb[f"{p}.2.17"].dump()).native,
        core.OctetString.load(tcb[f"{p}.2.18"].dump()).native,
        core.OctetString.load(top[f"{p}.3"].dump()).native,
        core.OctetString.load(top[f"{p}.4"].dump()).native,
        int.from_bytes(top[f"{p}.5"].contents, "big"),
    )
    if f"{p}.6" in top:
        out += (core.OctetString.load(top[f"{p}.6"].dump()).native,)
    if f"{p}.7" in top:
        cfg = index(top[f"{p}.7"].dump())
        out += tuple(
            core.Boolean.load(cfg[f"{p}.7.{i}"].dump()).native if f"{p}.7.{i}" in cfg else None for i in (1, 2, 3)
        )
    return out


def _ours(der: bytes) -> tuple[Any, ...]:
    e = parse_pck_extension(der)
    out: tuple[Any, ...] = (e.ppid, e.cpu_svn_components, e.pce_svn, e.cpu_svn, e.pce_id, e.fmspc, e.sgx_type)
    if e.platform_instance_id is not None:
        out += (e.platform_instance_id,)
    if e.configuration is not None:
        c = e.configuration
        out += (c.dynamic_platform, c.cached_keys, c.smt_enabled)
    return out


_sgx_specs = st.builds(
    SgxExtensionSpec,
    ppid=st.binary(min_size=16, max_size=16),
    cpu_svn_components=st.tuples(*[st.integers(0, 255)] * 16),
    pce_svn=st.integers(0, 0xFFFF),
    pce_id=st.binary(min_size=2, max_size=2),
    fmspc=st.binary(min_size=6, max_size=6),
    sgx_type=st.integers(0, 2),
)


@settings(max_examples=200, deadline=None)
@given(_sgx_specs)
def test_der_reader_agrees_with_asn1crypto_on_valid_extensions(spec: SgxExtensionSpec) -> None:
    der = encode_sgx_extension(spec)
    assert _ours(der) == _reference(der)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_der_reader_never_accepts_what_asn1crypto_rejects(data: st.DataObject) -> None:
    der = bytearray(encode_sgx_extension(SgxExtensionSpec()))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(der) - 1))
        der[i] = data.draw(st.integers(0, 255))
    try:
        ours = _ours(bytes(der))
    except VerificationError as exc:
        assert exc.code == "pck_extension_invalid"
        return
    # Whatever we accept is valid DER that the reference decodes to the same values.
    assert core.load(bytes(der), strict=True).dump(force=True) == bytes(der)
    assert _reference(bytes(der)) == ours


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="%%%2Aa0F\n-", max_size=40000))
def test_chunked_unquote_equals_unquote(text: str) -> None:
    from urllib.parse import unquote

    from tdxverify.pki import _unquote

    assert _unquote(text) == unquote(text)


@pytest.mark.parametrize("oid_content", [b"\x2a\x80\x01", b"\x2a\x86", b""])
def test_sgx_extension_rejects_malformed_object_identifiers(oid_content: bytes) -> None:
    der = encode_sgx_extension(SgxExtensionSpec())
    n = der[1] & 0x7F
    bad_entry = _tlv(0x30, _tlv(0x06, oid_content) + b"\x05\x00")
    err = code_of(parse_pck_extension, _tlv(0x30, der[2 + n :] + bad_entry))
    assert err.code == "pck_extension_invalid"
    assert "OBJECT IDENTIFIER" in err.message


def test_sgx_extension_repeated_entry_names_the_oid() -> None:
    der = encode_sgx_extension(SgxExtensionSpec())
    n = der[1] & 0x7F
    fmspc = _entry("1.2.840.113741.1.13.1.4", core.OctetString(b"\x00" * 6).dump())
    err = code_of(parse_pck_extension, _tlv(0x30, der[2 + n :] + fmspc))
    assert "repeats entry 1.2.840.113741.1.13.1.4" in err.message


# --------------------------------------------------------------------------- 2b. authenticate before parsing


def _unsigned_big_tcb_info(forge: Forge, levels: int) -> dict[str, str]:
    col = dict(forge.collateral())
    info = json.loads(col["tcb_info"])
    info["tcbLevels"] = [
        dict(lv, tcbDate=f"20{i % 100:02d}-01-01T00:00:00Z") for i, lv in enumerate(info["tcbLevels"] * levels)
    ]
    col["tcb_info"] = json.dumps(info)  # the signature no longer matches
    return col


def test_verify_checks_the_tcb_info_signature_before_parsing_it() -> None:
    col = _unsigned_big_tcb_info(FORGE, 200)
    err = code_of(tdxverify.verify, FORGE.quote(), col, now=FORGE.now, root_ca=FORGE.root_ca_der)
    assert (err.code, err.step) == ("tcb_info_signature_invalid", "tcb_info")


def test_malformed_and_unsigned_reports_the_signature_when_authenticating() -> None:
    col = dict(FORGE.collateral())
    col["tcb_info"] = "{not json"  # neither valid JSON nor signed
    assert code_of(tdxverify.load_collateral, col).code == "collateral_format"
    from tdxverify.collateral import load_and_authenticate

    root = tdxverify.pki.load_root_ca(FORGE.root_ca_der)
    assert code_of(load_and_authenticate, col, now=FORGE.now, root=root).code == "tcb_info_signature_invalid"
    err = code_of(tdxverify.verify, FORGE.quote(), col, now=FORGE.now, root_ca=FORGE.root_ca_der)
    assert err.code == "tcb_info_signature_invalid"
    # Signed but malformed: the same code as load_collateral, after the signature verified.
    signed = FORGE.collateral(tcb_info="{not json")
    err = code_of(tdxverify.verify, FORGE.quote(), signed, now=FORGE.now, root_ca=FORGE.root_ca_der)
    assert err.code == "collateral_format"


def test_load_and_authenticate_equals_load_then_authenticate() -> None:
    from tdxverify.collateral import authenticate_collateral, load_and_authenticate

    for vec in verifiable_vectors():
        a = load_and_authenticate(vec.collateral_path, now=vec.now)
        b = authenticate_collateral(tdxverify.load_collateral(vec.collateral_path), now=vec.now)
        assert a.collateral == b.collateral
        assert a.time_bounds == b.time_bounds
        assert a.tcb_info == b.tcb_info and a.qe_identity == b.qe_identity
