"""The quote forge: byte-exact round trips through the parser, signatures, determinism, knobs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

import tdxverify
from tdxverify.collateral import authenticate_collateral, load_collateral
from tdxverify.errors import VerificationError
from tdxverify.quote import EnclaveReport, Quote, TdReport10, TdReport15
from tdxverify.tcbinfo import parse_qe_identity, parse_tcb_info
from tdxverify.testing import Forge
from tdxverify.testing.collateral import (
    ModuleTcbLevelSpec,
    QeIdentitySpec,
    TcbComponent,
    TcbInfoSpec,
    TcbLevelSpec,
    TdxModuleIdentitySpec,
    default_qe_identity,
    default_tcb_info,
    format_time,
    pcs_response,
    quote_collateral_v3,
    sign_text,
)
from tdxverify.testing.pki import PkiSpec, SgxExtensionSpec
from tdxverify.testing.quotes import (
    REGIONS,
    SGX_QE_REPORT,
    TD_QE_REPORT,
    EnclaveReportSpec,
    ForgedQuote,
    ForgeError,
    QuoteSpec,
    TdReportSpec,
    derive_p256_key,
    flip,
    forge_quote,
    qe_report_data_for,
    raw_public_key,
    sign_raw,
)

AK = derive_p256_key(b"test-forge", "attestation")
PCK = derive_p256_key(b"test-forge", "pck")


def _self_signed_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forge test PCK")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=timezone.utc))
        .not_valid_after(datetime(2034, 1, 1, tzinfo=timezone.utc))
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return cert.public_bytes(serialization.Encoding.PEM)


CHAIN_PEM = _self_signed_pem(PCK)


def forge(spec: QuoteSpec) -> ForgedQuote:
    return forge_quote(spec, attestation_key=AK, pck_key=PCK, pck_chain_pem=CHAIN_PEM)


def verify_raw(key: ec.EllipticCurvePrivateKey, sig: bytes, data: bytes) -> bool:
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.public_key().verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def assert_signed(q: Quote, auth: bytes) -> None:
    """The three cryptographic bindings hold, checked independently with cryptography."""
    assert verify_raw(AK, q.signature_data.signature, q.signed_region)
    assert q.signature_data.attestation_key == raw_public_key(AK)
    qe = q.signature_data.qe_report_certification
    assert qe is not None
    assert verify_raw(PCK, qe.qe_report_signature, qe.qe_report.raw)
    assert qe.qe_auth_data == auth
    expected = hashlib.sha256(raw_public_key(AK) + auth).digest() + bytes(32)
    assert qe.qe_report.report_data == expected


def assert_enclave_report(parsed: EnclaveReport, spec: EnclaveReportSpec, report_data: bytes) -> None:
    assert parsed.cpu_svn == spec.cpu_svn
    assert parsed.misc_select == spec.misc_select
    assert parsed.attributes == spec.attributes
    assert parsed.mr_enclave == spec.mr_enclave
    assert parsed.mr_signer == spec.mr_signer
    assert parsed.isv_prod_id == spec.isv_prod_id
    assert parsed.isv_svn == spec.isv_svn
    assert parsed.report_data == report_data
    # Fields the parser does not name, at Intel's offsets.
    assert parsed.raw[32:48] == spec.isv_ext_prod_id
    assert parsed.raw[192:256] == spec.config_id
    assert int.from_bytes(parsed.raw[260:262], "little") == spec.config_svn
    assert parsed.raw[304:320] == spec.isv_family_id
    # Reserved ranges stay zero.
    for lo, hi in ((20, 32), (96, 128), (160, 192), (262, 304)):
        assert parsed.raw[lo:hi] == bytes(hi - lo)


TD_FIELDS = {f.name: f for f in dataclasses.fields(TdReportSpec)}
TD_SIZES = {name: len(getattr(TdReportSpec(), name)) for name in TD_FIELDS}  # every TD report field is fixed-size bytes


def td_reports() -> st.SearchStrategy[TdReportSpec]:
    return st.builds(TdReportSpec, **{n: st.binary(min_size=s, max_size=s) for n, s in TD_SIZES.items()})


def enclave_reports(report_data: bool) -> st.SearchStrategy[EnclaveReportSpec]:
    sizes = {
        "cpu_svn": 16,
        "isv_ext_prod_id": 16,
        "attributes": 16,
        "mr_enclave": 32,
        "mr_signer": 32,
        "config_id": 64,
        "isv_family_id": 16,
    }
    kw: dict[str, st.SearchStrategy[object]] = {n: st.binary(min_size=s, max_size=s) for n, s in sizes.items()}
    kw.update(
        misc_select=st.integers(0, 2**32 - 1),
        isv_prod_id=st.integers(0, 0xFFFF),
        isv_svn=st.integers(0, 0xFFFF),
        config_svn=st.integers(0, 0xFFFF),
        report_data=st.binary(min_size=64, max_size=64) if report_data else st.none(),
    )
    return st.builds(EnclaveReportSpec, **kw)  # type: ignore[arg-type]


headers = st.fixed_dictionaries(
    {
        "qe_svn": st.integers(0, 0xFFFF),
        "pce_svn": st.integers(0, 0xFFFF),
        "qe_vendor_id": st.binary(min_size=16, max_size=16),
        "user_data": st.binary(min_size=20, max_size=20),
        "qe_auth_data": st.binary(max_size=300),
        "trailing_data": st.binary(max_size=80),
    }
)


@given(
    td=td_reports(),
    qe=enclave_reports(report_data=False),
    hdr=headers,
    layout=st.sampled_from([(4, None), (5, 2), (5, 3)]),
)
def test_tdx_round_trip(
    td: TdReportSpec, qe: EnclaveReportSpec, hdr: dict[str, object], layout: tuple[int, int | None]
) -> None:
    version, body_type = layout
    spec = QuoteSpec(version=version, body_type=body_type, td=td, qe_report=qe, **hdr)  # type: ignore[arg-type]
    forged = forge(spec)
    q = tdxverify.parse_quote(forged.raw)

    assert q.header.version == version
    assert q.header.attestation_key_type == 2
    assert q.header.tee_type == 0x81
    assert (q.header.qe_svn, q.header.pce_svn) == (hdr["qe_svn"], hdr["pce_svn"])
    assert q.header.qe_vendor_id == hdr["qe_vendor_id"]
    assert q.header.user_data == hdr["user_data"]
    tdx15 = version == 5 and body_type == 3
    assert type(q.report) is (TdReport15 if tdx15 else TdReport10)
    if version == 5:
        assert q.body_descriptor is not None
        assert (q.body_descriptor.body_type, q.body_descriptor.size) == (body_type, 648 if tdx15 else 584)
    else:
        assert q.body_descriptor is None
    report = q.report
    assert isinstance(report, TdReport10)
    for name in TD_SIZES:
        if name in ("tee_tcb_svn2", "mr_service_td") and not tdx15:
            continue
        assert getattr(report, name) == getattr(td, name), name
    qe_cert = q.signature_data.qe_report_certification
    assert qe_cert is not None
    assert q.signature_data.certification_data.cert_type == 6
    assert qe_cert.certification_data.cert_type == 5
    assert qe_cert.certification_data.data == CHAIN_PEM + b"\x00"
    assert q.pck_chain is not None and len(q.pck_chain) == 1
    assert_enclave_report(qe_cert.qe_report, qe, qe_report_data_for(raw_public_key(AK), spec.qe_auth_data))
    assert q.trailing_data == hdr["trailing_data"]
    assert_signed(q, spec.qe_auth_data)


@given(
    body=enclave_reports(report_data=True),
    qe=enclave_reports(report_data=False),
    hdr=headers,
    version=st.sampled_from([3, 5]),
)
def test_sgx_round_trip(body: EnclaveReportSpec, qe: EnclaveReportSpec, hdr: dict[str, object], version: int) -> None:
    spec = QuoteSpec(version=version, body_type=1 if version == 5 else None, enclave=body, qe_report=qe, **hdr)  # type: ignore[arg-type]
    q = tdxverify.parse_quote(forge(spec).raw)
    assert q.header.version == version
    assert q.header.tee_type == 0
    assert isinstance(q.report, EnclaveReport)
    assert body.report_data is not None
    assert_enclave_report(q.report, body, body.report_data)
    qe_cert = q.signature_data.qe_report_certification
    assert qe_cert is not None
    assert_enclave_report(qe_cert.qe_report, qe, qe_report_data_for(raw_public_key(AK), spec.qe_auth_data))
    # v3 carries the PCK chain directly; v5 wraps it in type 6 like TDX.
    assert q.signature_data.certification_data.cert_type == (5 if version == 3 else 6)
    assert q.trailing_data == hdr["trailing_data"]
    assert_signed(q, spec.qe_auth_data)


def test_defaults_look_like_real_quotes() -> None:
    tdx = tdxverify.parse_quote(forge(QuoteSpec()).raw)
    assert (tdx.version, tdx.tee, tdx.header.qe_svn, tdx.header.pce_svn) == (4, "TDX", 0, 0)
    assert tdx.header.qe_vendor_id.hex() == "939a7233f79c4ca9940a0db3957f0607"
    assert isinstance(tdx.report, TdReport10) and not tdx.report.debug
    qe = tdx.signature_data.qe_report_certification
    assert qe is not None
    assert qe.qe_report.mr_signer == TD_QE_REPORT.mr_signer and qe.qe_report.isv_prod_id == 2
    assert len(qe.qe_auth_data) == 32
    sgx = tdxverify.parse_quote(forge(QuoteSpec(version=3)).raw)
    assert sgx.tee == "SGX" and isinstance(sgx.report, EnclaveReport) and not sgx.report.debug
    sgx_qe = sgx.signature_data.qe_report_certification
    assert sgx_qe is not None and sgx_qe.qe_report.isv_prod_id == SGX_QE_REPORT.isv_prod_id
    # SGX header QE SVN mirrors the QE's ISVSVN, as Intel's QE writes it.
    assert sgx.header.qe_svn == SGX_QE_REPORT.isv_svn
    assert tdxverify.parse_quote(forge(QuoteSpec(version=5)).raw).report.__class__ is TdReport15


@pytest.mark.parametrize("spec", [QuoteSpec(), QuoteSpec(version=3), QuoteSpec(version=5)], ids=str)
def test_deterministic(spec: QuoteSpec) -> None:
    a = forge(spec).raw
    assert forge(spec).raw == a
    other = forge_quote(
        spec, attestation_key=derive_p256_key(b"other", "attestation"), pck_key=PCK, pck_chain_pem=CHAIN_PEM
    )
    assert other.raw != a
    assert derive_p256_key("s", "x").private_numbers() == derive_p256_key(b"s", "x").private_numbers()
    assert derive_p256_key("s", "x").private_numbers() != derive_p256_key("s", "y").private_numbers()


@pytest.mark.parametrize("version", [3, 4, 5])
def test_regions_match_parsed_fields(version: int) -> None:
    f = forge(QuoteSpec(version=version, trailing_data=b"tail"))
    q = tdxverify.parse_quote(f.raw)
    qe = q.signature_data.qe_report_certification
    assert qe is not None
    assert f.region("quote_signature") == q.signature_data.signature
    assert f.region("attestation_key") == q.signature_data.attestation_key
    assert f.region("qe_report") == qe.qe_report.raw
    assert f.region("qe_report_signature") == qe.qe_report_signature
    assert f.region("qe_auth_data") == qe.qe_auth_data
    assert f.region("pck_cert_data") == qe.certification_data.data
    assert f.region("body") == q.report.raw
    assert f.region("trailing_data") == b"tail"
    assert f.raw[: f.regions["body"][1]] == q.signed_region
    start, end = f.regions["certification_data"]
    cert = q.signature_data.certification_data
    assert int.from_bytes(f.raw[start : start + 2], "little") == cert.cert_type
    assert f.raw[start + 6 : end] == cert.data
    assert set(f.regions) <= REGIONS


@pytest.mark.parametrize("region", sorted(REGIONS - {"body_descriptor"}))
def test_corrupt_flips_one_byte_of_the_region(region: str) -> None:
    base = QuoteSpec(trailing_data=b"xyz")
    clean = forge(base)
    bad = forge(dataclasses.replace(base, corrupt=frozenset({region})))
    diff = [i for i, (a, b) in enumerate(zip(clean.raw, bad.raw, strict=True)) if a != b]
    _, end = clean.regions[region]
    assert diff == [end - 1]


def test_corruptions_break_the_right_binding() -> None:
    def parse(region: str) -> Quote:
        return tdxverify.parse_quote(forge(QuoteSpec(corrupt=frozenset({region}))).raw)

    q = parse("quote_signature")
    assert not verify_raw(AK, q.signature_data.signature, q.signed_region)
    q = parse("body")
    assert not verify_raw(AK, q.signature_data.signature, q.signed_region)
    q = parse("qe_report_signature")
    qe = q.signature_data.qe_report_certification
    assert qe is not None and not verify_raw(PCK, qe.qe_report_signature, qe.qe_report.raw)
    q = parse("qe_auth_data")
    qe = q.signature_data.qe_report_certification
    assert qe is not None and verify_raw(PCK, qe.qe_report_signature, qe.qe_report.raw)
    assert qe.qe_report.report_data != qe_report_data_for(q.signature_data.attestation_key, qe.qe_auth_data)


def test_forgery_knobs() -> None:
    other_key = raw_public_key(derive_p256_key(b"x", "y"))
    # Swapped attestation key: the QE binds the embedded key, but the quote was signed by the real one.
    q = tdxverify.parse_quote(forge(QuoteSpec(attestation_key=other_key)).raw)
    qe = q.signature_data.qe_report_certification
    assert qe is not None
    assert q.signature_data.attestation_key == other_key
    assert qe.qe_report.report_data == qe_report_data_for(other_key, qe.qe_auth_data)
    assert verify_raw(AK, q.signature_data.signature, q.signed_region)

    q = tdxverify.parse_quote(forge(QuoteSpec(qe_report=dataclasses.replace(TD_QE_REPORT, report_data=bytes(64)))).raw)
    qe = q.signature_data.qe_report_certification
    assert qe is not None and qe.qe_report.report_data == bytes(64)
    assert verify_raw(PCK, qe.qe_report_signature, qe.qe_report.raw)

    q = tdxverify.parse_quote(forge(QuoteSpec(quote_signature=b"\x01" * 64, qe_report_signature=b"\x02" * 64)).raw)
    qe = q.signature_data.qe_report_certification
    assert q.signature_data.signature == b"\x01" * 64
    assert qe is not None and qe.qe_report_signature == b"\x02" * 64

    # Outer type other than 6: the parser keeps it as opaque certification data.
    q = tdxverify.parse_quote(forge(QuoteSpec(certification_data_type=5, outer_certification_data=CHAIN_PEM)).raw)
    assert q.signature_data.certification_data.cert_type == 5
    assert q.signature_data.qe_report_certification is None
    q = tdxverify.parse_quote(forge(QuoteSpec(certification_data_type=3)).raw)
    assert q.signature_data.certification_data.cert_type == 3 and q.pck_chain is None

    # Nested PCK data of another type, or arbitrary bytes.
    q = tdxverify.parse_quote(forge(QuoteSpec(pck_cert_data_type=3, pck_cert_data=b"\xaa" * 10)).raw)
    qe = q.signature_data.qe_report_certification
    assert qe is not None and qe.certification_data.cert_type == 3 and qe.certification_data.data == b"\xaa" * 10

    with pytest.raises(tdxverify.QuoteFormatError):
        tdxverify.parse_quote(forge(QuoteSpec(signature_data_size=10_000)).raw)
    with pytest.raises(tdxverify.QuoteFormatError):
        tdxverify.parse_quote(forge(QuoteSpec(version=5, body_size=100)).raw)
    with pytest.raises(tdxverify.QuoteFormatError):
        tdxverify.parse_quote(forge(QuoteSpec(pck_cert_data=b"not pem")).raw)
    q = tdxverify.parse_quote(forge(QuoteSpec(attestation_key_type=3, tee_type=0x81, qe_vendor_id=bytes(16))).raw)
    assert q.header.attestation_key_type == 3 and q.header.qe_vendor_id == bytes(16)
    with pytest.raises(tdxverify.QuoteFormatError) as info:
        tdxverify.parse_quote(forge(QuoteSpec(version=6)).raw)
    assert info.value.code == "unsupported_quote_version"
    # The chain may be given as text too.
    as_text = forge_quote(QuoteSpec(), attestation_key=AK, pck_key=PCK, pck_chain_pem=CHAIN_PEM.decode())
    assert as_text.raw == forge(QuoteSpec()).raw


@pytest.mark.parametrize(
    "spec",
    [
        QuoteSpec(td=TdReportSpec(mr_td=b"short")),
        QuoteSpec(user_data=bytes(19)),
        QuoteSpec(qe_svn=70_000),
        QuoteSpec(qe_report=EnclaveReportSpec(isv_svn=-1)),
        QuoteSpec(qe_auth_data=bytes(70_000)),
        QuoteSpec(quote_signature=bytes(63)),
        QuoteSpec(corrupt=frozenset({"nonsense"})),
        QuoteSpec(corrupt=frozenset({"body_descriptor"})),  # v4 has none
    ],
)
def test_bad_specs_raise_forge_error(spec: QuoteSpec) -> None:
    with pytest.raises(ForgeError) as info:
        forge(spec)
    assert isinstance(info.value, VerificationError) and isinstance(info.value, ValueError)
    assert info.value.code == "input_invalid"


def test_flip() -> None:
    assert flip(b"\x00\x00", 1) == b"\x00\x01"
    assert flip(b"\x00\x00", -2, 0x80) == b"\x80\x00"
    with pytest.raises(ForgeError):
        flip(b"\x00", 1)


def test_sign_raw_is_deterministic_and_valid() -> None:
    sig = sign_raw(AK, b"data")
    assert sig == sign_raw(AK, b"data") and len(sig) == 64
    assert verify_raw(AK, sig, b"data")


# --------------------------------------------------------------------------- collateral

TCB_KEY = derive_p256_key(b"test-forge", "tcb-signing")


@pytest.mark.parametrize("tee", ["TDX", "SGX"])
def test_tcb_info_text_parses_to_the_spec(tee: str) -> None:
    spec = default_tcb_info(tee)
    text = spec.to_text()
    info = parse_tcb_info(text)
    assert info.id == tee and info.version == 3
    assert info.fmspc == spec.fmspc and info.pce_id == spec.pce_id
    assert format_time(info.issue_date) == format_time(spec.issue_date)
    assert format_time(info.next_update) == format_time(spec.next_update)
    assert info.tcb_evaluation_data_number == spec.tcb_evaluation_data_number
    assert len(info.tcb_levels) == len(spec.tcb_levels)
    for parsed, want in zip(info.tcb_levels, spec.tcb_levels, strict=True):
        assert parsed.tcb_status == want.status
        assert parsed.pce_svn == want.pce_svn
        assert tuple(c.svn for c in parsed.sgx_components) == tuple(
            c.svn if isinstance(c, TcbComponent) else c for c in want.sgx_components
        )
        assert tuple(parsed.advisory_ids) == want.advisory_ids
    if tee == "TDX":
        assert info.tdx_module is not None and info.tdx_module_identities
        assert [m.id for m in info.tdx_module_identities] == ["TDX_03", "TDX_01"]
    else:
        assert info.tdx_module is None and not info.tdx_module_identities
        assert '"tdxModule"' not in text


def test_tcb_info_text_is_compact_and_in_intel_order() -> None:
    text = TcbInfoSpec().to_text()
    assert text == json.dumps(json.loads(text), separators=(",", ":"))
    keys = list(json.loads(text))
    assert keys == [
        "id",
        "version",
        "issueDate",
        "nextUpdate",
        "fmspc",
        "pceId",
        "tcbType",
        "tcbEvaluationDataNumber",
        "tdxModule",
        "tdxModuleIdentities",
        "tcbLevels",
    ]


def test_status_helpers_and_custom_levels() -> None:
    spec = TcbInfoSpec().with_status("OutOfDate", ("INTEL-SA-00001",)).with_module_status("Revoked")
    info = parse_tcb_info(spec.to_text())
    assert info.tcb_levels[0].tcb_status == "OutOfDate"
    assert tuple(info.tcb_levels[0].advisory_ids) == ("INTEL-SA-00001",)
    assert info.tdx_module_identities is not None
    tdx01 = next(m for m in info.tdx_module_identities if m.id == "TDX_01")
    assert tdx01.tcb_levels[0].tcb_status == "Revoked"
    with pytest.raises(ForgeError):
        spec.with_module_status("UpToDate", module_id="TDX_09")
    qe = parse_qe_identity(QeIdentitySpec().with_status("OutOfDate", ("INTEL-SA-00002",)).to_text())
    assert qe.tcb_levels[0].tcb_status == "OutOfDate"

    custom = TcbInfoSpec(
        tcb_levels=(TcbLevelSpec((1,) * 16, 3, (2,) * 16, "SWHardeningNeeded", "2020-01-01T00:00:00Z", ("A", "B")),),
        tdx_module_identities=(TdxModuleIdentitySpec("TDX_02", tcb_levels=(ModuleTcbLevelSpec(9, "OutOfDate"),)),),
        extra=(("unknownField", {"x": 1}),),
    )
    text = custom.to_text()
    assert json.loads(text)["unknownField"] == {"x": 1}
    info = parse_tcb_info(text)
    assert info.tcb_levels[0].tcb_status == "SWHardeningNeeded"
    assert [c.svn for c in info.tcb_levels[0].sgx_components] == [1] * 16


def test_qe_identity_defaults() -> None:
    td = parse_qe_identity(default_qe_identity("TDX").to_text())
    assert td.id == "TD_QE" and td.mrsigner == TD_QE_REPORT.mr_signer and td.isvprodid == 2
    assert td.tcb_levels[0].isvsvn == TD_QE_REPORT.isv_svn
    qe = parse_qe_identity(default_qe_identity("SGX").to_text())
    assert qe.id == "QE" and qe.mrsigner == SGX_QE_REPORT.mr_signer and qe.isvprodid == 1
    assert qe.tcb_levels[0].isvsvn == SGX_QE_REPORT.isv_svn
    # The default QE's masked attributes equal the identity's attributes.
    masked = bytes(a & m for a, m in zip(TD_QE_REPORT.attributes, td.attributes_mask, strict=True))
    assert masked == td.attributes
    with pytest.raises(ForgeError):
        default_qe_identity("SEV")


def test_signed_collateral_shapes() -> None:
    text = TcbInfoSpec().to_text()
    sig = sign_text(text, TCB_KEY)
    assert verify_raw(TCB_KEY, sig, text.encode())
    body = pcs_response("tcbInfo", text, sig)
    assert ('{"tcbInfo":' + text + ",") in body
    assert json.loads(body) == {"tcbInfo": json.loads(text), "signature": sig.hex()}
    qe_text = QeIdentitySpec().to_text()
    assert json.loads(pcs_response("enclaveIdentity", qe_text, b"\x01" * 64))["signature"] == "01" * 64
    with pytest.raises(ForgeError):
        pcs_response("other", text, sig)

    col = quote_collateral_v3(
        tcb_info=text,
        tcb_info_signature=sig,
        qe_identity=qe_text,
        qe_identity_signature=sign_text(qe_text, TCB_KEY),
        tcb_info_issuer_chain="CHAIN",
        pck_crl_issuer_chain="PCKCHAIN",
        root_ca_crl=b"\x30\x00",
        pck_crl=b"\x30\x01",
    )
    assert set(col) == {
        "pck_crl_issuer_chain",
        "root_ca_crl",
        "pck_crl",
        "tcb_info_issuer_chain",
        "tcb_info",
        "tcb_info_signature",
        "qe_identity_issuer_chain",
        "qe_identity",
        "qe_identity_signature",
    }
    assert col["qe_identity_issuer_chain"] == "CHAIN" and col["root_ca_crl"] == "3000"
    assert col["tcb_info"] == text and bytes.fromhex(col["tcb_info_signature"]) == sig
    with_chain = quote_collateral_v3(
        tcb_info=text,
        tcb_info_signature=sig,
        qe_identity=qe_text,
        qe_identity_signature=sig,
        tcb_info_issuer_chain="C",
        pck_crl_issuer_chain="P",
        root_ca_crl=b"",
        pck_crl=b"",
        pck_certificate_chain="PCK",
    )
    assert with_chain["pck_certificate_chain"] == "PCK"


def test_format_time() -> None:
    assert format_time(datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2025-01-02T03:04:05Z"
    assert format_time("as-is") == "as-is"
    with pytest.raises(ForgeError):
        format_time(datetime(2025, 1, 1))


# --------------------------------------------------------------------------- the Forge facade


FORGE = Forge(seed="test-forge")


def test_forge_is_deterministic_per_seed() -> None:
    again = Forge(seed="test-forge")
    assert again.quote() == FORGE.quote()
    assert again.collateral() == FORGE.collateral()
    assert again.root_ca_der == FORGE.root_ca_der
    other = Forge(seed="another")
    assert other.quote() != FORGE.quote()
    assert other.root_ca_der != FORGE.root_ca_der
    assert other.collateral()["tcb_info"] == FORGE.collateral()["tcb_info"]  # same text, other signer
    assert other.collateral()["tcb_info_signature"] != FORGE.collateral()["tcb_info_signature"]


def test_forge_quote_carries_its_pki() -> None:
    q = tdxverify.parse_quote(FORGE.quote())
    assert q.pck_chain == FORGE.pki.pck_chain_der
    assert q.signature_data.attestation_key == FORGE.attestation_key_raw
    assert x509.load_der_x509_certificate(FORGE.root_ca_der) == FORGE.pki.root
    qe = q.signature_data.qe_report_certification
    assert qe is not None
    pck_public = FORGE.pki.pck.public_key()
    assert isinstance(pck_public, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(
        int.from_bytes(qe.qe_report_signature[:32], "big"), int.from_bytes(qe.qe_report_signature[32:], "big")
    )
    pck_public.verify(der, qe.qe_report.raw, ec.ECDSA(hashes.SHA256()))


def test_forge_flat_overrides() -> None:
    q = tdxverify.parse_quote(
        FORGE.quote(version=5, mr_td=b"\x11" * 48, rtmr3=b"\x22" * 48, report_data=b"\x33" * 64, qe_isv_svn=9)
    )
    assert isinstance(q.report, TdReport15)
    assert (q.report.mr_td, q.report.rtmr3, q.report.report_data) == (
        b"\x11" * 48,
        b"\x22" * 48,
        b"\x33" * 64,
    )
    qe = q.signature_data.qe_report_certification
    assert qe is not None and qe.qe_report.isv_svn == 9
    assert qe.qe_report.mr_signer == TD_QE_REPORT.mr_signer  # the rest of the QE report kept

    sgx = tdxverify.parse_quote(FORGE.quote(version=3, mr_enclave=b"\x44" * 32, report_data=b"\x55" * 64))
    assert isinstance(sgx.report, EnclaveReport)
    assert (sgx.report.mr_enclave, sgx.report.report_data) == (b"\x44" * 32, b"\x55" * 64)
    assert sgx.header.pce_svn == FORGE.pki.spec.sgx.pce_svn

    f = FORGE.forged_quote(corrupt="quote_signature")
    assert f.raw != FORGE.quote() and set(f.regions) <= REGIONS
    assert FORGE.quote(corrupt=["body", "qe_report"]) != FORGE.quote(corrupt="body")
    spec = FORGE.quote_spec(QuoteSpec(version=3), isv_svn=5)
    assert spec.enclave.isv_svn == 5 and spec.version == 3
    with pytest.raises(ForgeError):
        FORGE.quote(mr_enclave=bytes(32))  # an SGX field on a TDX quote
    with pytest.raises(ForgeError):
        FORGE.quote(no_such_field=1)


def test_forge_collateral_matches_its_pki() -> None:
    col = FORGE.collateral()
    info = parse_tcb_info(col["tcb_info"])
    ext = FORGE.pki.spec.sgx
    assert info.fmspc == ext.fmspc and info.pce_id == ext.pce_id
    top = info.tcb_levels[0]
    assert tuple(c.svn for c in top.sgx_components) == tuple(ext.cpu_svn_components)
    assert top.pce_svn == ext.pce_svn and top.tcb_status == "UpToDate"
    assert col["tcb_info_issuer_chain"] == FORGE.pki.tcb_info_issuer_chain_pem
    assert bytes.fromhex(col["pck_crl"]) == FORGE.pki.pck_crl_der
    assert bytes.fromhex(col["root_ca_crl"]) == FORGE.pki.root_crl_der
    assert verify_raw(FORGE.pki.tcb_signing_key, bytes.fromhex(col["tcb_info_signature"]), col["tcb_info"].encode())
    assert verify_raw(
        FORGE.pki.tcb_signing_key, bytes.fromhex(col["qe_identity_signature"]), col["qe_identity"].encode()
    )
    assert "pck_certificate_chain" not in col
    assert FORGE.collateral(with_pck_chain=True)["pck_certificate_chain"] == FORGE.pki.pck_chain_pem
    sgx = FORGE.collateral("SGX")
    assert parse_tcb_info(sgx["tcb_info"]).id == "SGX" and parse_qe_identity(sgx["qe_identity"]).id == "QE"

    # Custom PCK TCB: the default TCB info follows it.
    low = Forge(seed="test-forge", pki=PkiSpec(sgx=SgxExtensionSpec(cpu_svn_components=(1,) * 16, pce_svn=4)))
    top = parse_tcb_info(low.collateral()["tcb_info"]).tcb_levels[0]
    assert [c.svn for c in top.sgx_components] == [1] * 16 and top.pce_svn == 4

    # Text given verbatim is signed verbatim; signatures can be replaced.
    pretty = json.dumps(json.loads(col["tcb_info"]), indent=2)
    custom = FORGE.collateral(tcb_info=pretty, qe_identity_signature=bytes(64))
    assert custom["tcb_info"] == pretty and custom["qe_identity_signature"] == "00" * 64
    assert verify_raw(FORGE.pki.tcb_signing_key, bytes.fromhex(custom["tcb_info_signature"]), pretty.encode())
    status = FORGE.collateral(tcb_info=FORGE.tcb_info().with_status("OutOfDate"))
    assert parse_tcb_info(status["tcb_info"]).tcb_levels[0].tcb_status == "OutOfDate"


def test_forge_pcs_responses() -> None:
    ti_body, qe_body = FORGE.pcs_responses()
    col = FORGE.collateral()
    assert ti_body == '{"tcbInfo":' + col["tcb_info"] + ',"signature":"' + col["tcb_info_signature"] + '"}'
    assert qe_body == (
        '{"enclaveIdentity":' + col["qe_identity"] + ',"signature":"' + col["qe_identity_signature"] + '"}'
    )


def test_forge_pcs_bundle() -> None:
    bundle = FORGE.collateral(format="pcs-bundle", with_pck_chain=True)
    ti_body, qe_body = FORGE.pcs_responses()
    v3 = FORGE.collateral()
    assert bundle == {
        "tcb_info_response": ti_body,
        "tcb_info_issuer_chain": v3["tcb_info_issuer_chain"],
        "qe_identity_response": qe_body,
        "qe_identity_issuer_chain": v3["qe_identity_issuer_chain"],
        "pck_crl_issuer_chain": v3["pck_crl_issuer_chain"],
        "root_ca_crl": v3["root_ca_crl"],
        "pck_crl": v3["pck_crl"],
        "pck_certificate_chain": FORGE.pki.pck_chain_pem,
    }
    swapped = FORGE.collateral(format="pcs-bundle", tcb_info_signature=bytes(64))
    assert json.loads(swapped["tcb_info_response"])["signature"] == "00" * 64
    with pytest.raises(ForgeError):
        FORGE.collateral(format="pcs")


@pytest.mark.parametrize("fmt", ["dcap-qvl", "pcs-bundle"])
@pytest.mark.parametrize("tee", ["TDX", "SGX"])
def test_forged_collateral_loads_and_authenticates(fmt: str, tee: str) -> None:
    """tdxverify's own loader accepts both forged formats and authenticates them under the forge root."""
    root = x509.load_der_x509_certificate(FORGE.root_ca_der)
    loaded = load_collateral(FORGE.collateral(tee, format=fmt, with_pck_chain=True))
    assert loaded.format == fmt and loaded.tcb_info.id == tee
    assert loaded.tcb_info_raw == FORGE.tcb_info(tee).to_text().encode()
    authenticate_collateral(loaded, now=FORGE.now, root=root)
    with pytest.raises(VerificationError):
        authenticate_collateral(loaded, now=FORGE.now, root=Forge(seed="elsewhere").pki.root)
    with pytest.raises(VerificationError):
        authenticate_collateral(
            load_collateral(FORGE.collateral(tee, format=fmt, tcb_info_signature=bytes(64))),
            now=FORGE.now,
            root=root,
        )


@pytest.mark.parametrize("fmt", ["dcap-qvl", "pcs-bundle"])
@pytest.mark.parametrize(
    ("overrides", "tee"),
    [({}, "TDX"), ({"version": 5}, "TDX"), ({"version": 5, "body_type": 2}, "TDX"), ({"version": 3}, "SGX")],
    ids=["tdx-v4", "tdx15-v5", "tdx10-v5", "sgx-v3"],
)
def test_forge_defaults_verify_up_to_date(overrides: dict[str, int], tee: str, fmt: str) -> None:
    """The promise of docs/forge.md: default quote + default collateral + forge root -> UpToDate."""
    quote = FORGE.quote(**overrides)
    verdict = tdxverify.verify(quote, FORGE.collateral(tee, format=fmt), now=FORGE.now, root_ca=FORGE.root_ca_der)
    assert (verdict.status, tuple(verdict.advisory_ids)) == ("UpToDate", ())
    assert verdict.report_data == tdxverify.parse_quote(quote).report.report_data
    # Intel's root (the default trust anchor) never accepts a forgery.
    with pytest.raises(VerificationError) as info:
        tdxverify.verify(quote, FORGE.collateral(tee, format=fmt), now=FORGE.now)
    assert info.value.code == "untrusted_root"


def test_docs_example() -> None:
    forge = Forge(seed="my-tests")
    quote = forge.quote()
    collateral = forge.collateral()
    verdict = tdxverify.verify(quote, collateral, now=forge.now, root_ca=forge.root_ca_der)
    assert verdict.status == "UpToDate"
    rd = b"\x07" * 64
    verdict = tdxverify.verify(
        forge.quote(rtmr3=b"\x01" * 48, report_data=rd), collateral, now=forge.now, root_ca=forge.root_ca_der
    )
    assert verdict.report_data == rd and verdict.rtmr3 == b"\x01" * 48
    late = forge.now + 40 * 86_400
    with pytest.raises(VerificationError):
        tdxverify.verify(quote, collateral, now=late, root_ca=forge.root_ca_der)
