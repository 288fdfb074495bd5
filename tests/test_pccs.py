"""tdxverify.pccs: fetching collateral from a PCS-shaped server on 127.0.0.1 (never the network).

The server serves the real vectors' collateral the way Intel PCS v4 / a PCCS
does: JSON bodies ``{"tcbInfo": <signed text>, "signature": ...}``, issuer
chains URL-encoded in headers, CRLs as DER (the root CA CRL as hex, as PCCS
serves it). Fetched collateral must verify exactly as the vector's own.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tdxverify import pccs
from tdxverify.collateral import load_collateral
from tdxverify.errors import VerificationError
from tdxverify.pccs import (
    INTEL_PCS_URL,
    CollateralRequest,
    collateral_document,
    collateral_request,
    fetch_collateral,
    fetch_collateral_for,
    format_freshness,
    freshness_report,
    pcs_base_url,
    tls_opener,
    write_collateral,
)
from tdxverify.quote import parse_quote
from tdxverify.testing import Forge
from tdxverify.testing.pcs import PROXY_VARS, PcsServer, Route, serve_collateral
from tdxverify.testing.pki import PkiSpec
from tdxverify.verify import verify

from .vectors import Vector, verifiable_vectors

VECTORS = verifiable_vectors()
NEAR = next(v for v in VECTORS if v.name == "tdx-v4-near-contract")
SGX = next(v for v in VECTORS if v.quote and parse_quote(v.quote).tee == "SGX")
INTEL_HOSTS = ("api.trustedservices.intel.com", "certificates.trustedservices.intel.com")


# --------------------------------------------------------------------------- the local PCS


def serve_vector(server: PcsServer, vec: Vector) -> None:
    """Serve ``vec``'s collateral at the PCS v4 / PCCS paths (and Intel's root CA CRL path)."""
    assert vec.collateral is not None
    serve_collateral(server, parse_quote(vec.quote).tee, vec.collateral)


class ToLocal(urllib.request.BaseHandler):
    """Sends Intel's hosts to the local server; refuses any other HTTPS host (tests never touch the network)."""

    handler_order = 100  # before HTTPSHandler sets the Host header

    def __init__(self, base: str) -> None:
        self.base = base
        self.seen: list[str] = []

    def https_request(self, req: urllib.request.Request) -> urllib.request.Request:
        parts = urllib.parse.urlsplit(req.full_url)
        if parts.hostname not in INTEL_HOSTS:
            raise AssertionError(f"a test tried to reach {req.full_url}")
        self.seen.append(req.full_url)
        req.full_url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return req


def local_opener(server: PcsServer) -> tuple[urllib.request.OpenerDirector, ToLocal]:
    to_local = ToLocal(server.url)
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), to_local), to_local


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PcsServer]:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    s = PcsServer()
    yield s
    s.close()


def _assert_verdict(vec: Vector, collateral: Any) -> None:
    expected = vec.expected["verdict"]
    if expected["ok"]:
        verdict = verify(vec.quote, collateral, now=vec.now)
        assert verdict.status == expected["status"]
        assert set(verdict.advisory_ids) == set(expected["advisory_ids"])
        assert verdict.collateral_expires_at == datetime.fromtimestamp(
            vec.expected["collateral_valid_until"], timezone.utc
        )
    else:
        with pytest.raises(VerificationError) as info:
            verify(vec.quote, collateral, now=vec.now)
        assert info.value.code == "tcb_level_not_found"


def _fetch_error(vec: Vector, server: PcsServer, **kw: Any) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        fetch_collateral(vec.quote, pccs_url=server.url, **kw)
    assert info.value.code == "collateral_fetch_failed", info.value
    assert info.value.step == "fetch"
    return info.value


# --------------------------------------------------------------------------- what to fetch


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_collateral_request_from_the_pck_certificate(vec: Vector) -> None:
    req = collateral_request(vec.quote)
    col = load_collateral(vec.collateral_path)  # type: ignore[arg-type]
    assert req.fmspc_hex == vec.expected["parsed"]["fmspc"]
    assert req.tee == vec.expected["parsed"]["tee_type"]
    # The vector's PCK CRL is the one of the CA that issued its PCK certificate.
    crl_issuer = col.pck_crl.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert str(crl_issuer) == f"Intel SGX PCK {req.ca.capitalize()} CA"
    assert collateral_request(parse_quote(vec.quote)) == req


def test_collateral_request_needs_a_pck_chain() -> None:
    no_chain = Forge().quote(pck_cert_data_type=3, pck_cert_data=b"\x01" * 64)
    with pytest.raises(VerificationError) as info:
        collateral_request(no_chain)
    assert info.value.code == "unsupported_certification_data"
    assert "fetch_collateral_for" in info.value.message
    with pytest.raises(VerificationError) as info:
        collateral_request("quote.bin")  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"
    with pytest.raises(VerificationError) as info:
        collateral_request(b"\x04\x00" + bytes(40))
    assert info.value.code == "quote_format"


def test_urls_for_intel_pcs_and_pccs() -> None:
    req = CollateralRequest(tee="TDX", fmspc=bytes.fromhex("20a06f000000"), ca="platform")
    intel = req.urls()
    assert intel.service == "Intel PCS"
    assert intel.tcb_info == f"{INTEL_PCS_URL}/tdx/certification/v4/tcb?fmspc=20A06F000000"
    assert intel.qe_identity == f"{INTEL_PCS_URL}/tdx/certification/v4/qe/identity"
    assert intel.pck_crl == f"{INTEL_PCS_URL}/sgx/certification/v4/pckcrl?ca=platform&encoding=der"
    assert intel.root_ca_crl is None  # from the certificates' CRL distribution point
    for given in (
        "https://pccs.example:8081",
        "https://pccs.example:8081/",
        "https://pccs.example:8081/sgx/certification/v4",
        "HTTPS://pccs.example:8081/tdx/certification/v4/",
    ):
        assert pcs_base_url(given) == "https://pccs.example:8081"
        u = req.urls(given, update="early")
        assert u.service == "PCCS"
        assert u.tcb_info == "https://pccs.example:8081/tdx/certification/v4/tcb?fmspc=20A06F000000&update=early"
        assert u.qe_identity == "https://pccs.example:8081/tdx/certification/v4/qe/identity?update=early"
        assert u.root_ca_crl == "https://pccs.example:8081/sgx/certification/v4/rootcacrl"
    sgx = CollateralRequest(tee="SGX", fmspc=bytes(6), ca="processor").urls("http://10.0.0.1/pccs")
    assert sgx.tcb_info == "http://10.0.0.1/pccs/sgx/certification/v4/tcb?fmspc=000000000000"
    assert sgx.qe_identity == "http://10.0.0.1/pccs/sgx/certification/v4/qe/identity"
    assert sgx.pck_crl.endswith("pckcrl?ca=processor&encoding=der")
    assert pcs_base_url(INTEL_PCS_URL + "/sgx/certification/v4") == INTEL_PCS_URL


@pytest.mark.parametrize(
    "url", ["ftp://pccs.example", "pccs.example:8081", "https://", "https://h/x?a=b", "https://h/sgx/certification/v3"]
)
def test_bad_base_url_is_input_invalid(url: str) -> None:
    with pytest.raises(VerificationError) as info:
        pcs_base_url(url)
    assert info.value.code == "input_invalid"
    assert "base URL" in info.value.message


def test_bad_request_fields_are_input_invalid() -> None:
    for kw in ({"tee": "XYZ"}, {"ca": "root"}, {"fmspc": b"\x00"}):
        args: dict[str, Any] = {"tee": "TDX", "fmspc": bytes(6), "ca": "platform", **kw}
        with pytest.raises(VerificationError) as info:
            CollateralRequest(**args)
        assert info.value.code == "input_invalid"
    with pytest.raises(VerificationError) as info:
        CollateralRequest("TDX", bytes(6), "platform").urls(update="late")  # type: ignore[arg-type]
    assert info.value.code == "input_invalid"


# --------------------------------------------------------------------------- fetching real collateral


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_fetch_from_pccs_verifies_like_the_vector(vec: Vector, server: PcsServer) -> None:
    serve_vector(server, vec)
    req = collateral_request(vec.quote)
    fetched = fetch_collateral(vec.quote, pccs_url=server.url + "/sgx/certification/v4/", timeout=5)
    assert fetched.format == "pcs-bundle"
    # Same content as the vector's own collateral: signed bytes, signatures, chains, CRLs
    # (the quote carries the PCK chain, so fetching does not add it).
    own = {k: v for k, v in (vec.collateral or {}).items() if k != "pck_certificate_chain"}
    assert fetched == load_collateral(own)
    assert fetched.tcb_info_response is not None
    assert fetched.tcb_info_response.encode() == server.routes[f"/{req.tee.lower()}/certification/v4/tcb"].body
    _assert_verdict(vec, fetched)
    tee = req.tee.lower()
    assert server.requests == [
        f"/{tee}/certification/v4/tcb?fmspc={req.fmspc_hex}",
        f"/{tee}/certification/v4/qe/identity",
        f"/sgx/certification/v4/pckcrl?ca={req.ca}&encoding=der",
        "/sgx/certification/v4/rootcacrl",
    ]


def test_fetch_from_intel_pcs_takes_the_root_crl_from_the_distribution_point(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    opener, to_local = local_opener(server)
    fetched = fetch_collateral(NEAR.quote, opener=opener, update="standard")
    assert to_local.seen == [
        f"{INTEL_PCS_URL}/tdx/certification/v4/tcb?fmspc=20A06F000000&update=standard",
        f"{INTEL_PCS_URL}/tdx/certification/v4/qe/identity?update=standard",
        f"{INTEL_PCS_URL}/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
        "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
    ]
    _assert_verdict(NEAR, fetched)


def test_pccs_without_rootcacrl_falls_back_to_the_distribution_point(server: PcsServer) -> None:
    serve_vector(server, SGX)
    del server.routes["/sgx/certification/v4/rootcacrl"]
    opener, to_local = local_opener(server)
    fetched = fetch_collateral(SGX.quote, pccs_url=server.url, opener=opener)
    assert "/sgx/certification/v4/rootcacrl" in server.requests
    assert to_local.seen == ["https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"]
    _assert_verdict(SGX, fetched)


def test_header_and_encoding_variants(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    tcb = server.routes["/tdx/certification/v4/tcb"]
    # API v3 name of the header (some PCCS versions), PEM root CA CRL, a PEM PCK CRL.
    tcb.headers["SGX-TCB-Info-Issuer-Chain"] = tcb.headers.pop("TCB-Info-Issuer-Chain")
    crl = x509.load_der_x509_crl(server.routes["/IntelSGXRootCA.der"].body)
    server.routes["/sgx/certification/v4/rootcacrl"].body = crl.public_bytes(serialization.Encoding.PEM)
    pck = server.routes["/sgx/certification/v4/pckcrl"]
    pck.body = x509.load_der_x509_crl(pck.body).public_bytes(serialization.Encoding.PEM)
    _assert_verdict(NEAR, fetch_collateral(NEAR.quote, pccs_url=server.url))


@pytest.mark.parametrize("tee", ["TDX", "SGX"])
def test_forged_platform_of_a_processor_ca(server: PcsServer, tee: str) -> None:
    # A synthetic PKI whose PCK certificate comes from the Processor CA: fetched with ca=processor.
    forge = Forge(pki=PkiSpec(pck_ca="processor"))
    serve_collateral(server, tee, forge.collateral(tee))
    quote = forge.quote(version=3) if tee == "SGX" else forge.quote()
    req = collateral_request(quote)
    assert (req.tee, req.ca) == (tee, "processor")
    fetched = fetch_collateral(quote, pccs_url=server.url)
    assert "/sgx/certification/v4/pckcrl?ca=processor&encoding=der" in server.requests
    verdict = verify(quote, fetched, now=forge.now, root_ca=forge.root_ca_der)
    assert verdict.tee_type == tee and verdict.fmspc == req.fmspc_hex


def test_fetch_for_an_explicit_platform(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    req = CollateralRequest(tee="TDX", fmspc=bytes.fromhex("20A06F000000"), ca="platform")
    assert fetch_collateral_for(req, pccs_url=server.url) == load_collateral(NEAR.collateral_path)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- failures


def test_404_names_url_status_and_intel_error(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    server.routes["/tdx/certification/v4/tcb"] = Route(
        404, headers={"Error-Code": "NoTcbInfoFound", "Request-ID": "abc123"}, body=b""
    )
    err = _fetch_error(NEAR, server)
    assert f"{server.url}/tdx/certification/v4/tcb?fmspc=20A06F000000" in err.message
    assert "HTTP 404" in err.message
    assert "NoTcbInfoFound" in err.message and "abc123" in err.message
    assert "--pccs-url" in err.message


def test_500_and_429(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    server.routes["/tdx/certification/v4/qe/identity"] = Route(500, body=b"oops")
    err = _fetch_error(NEAR, server)
    assert "HTTP 500" in err.message and "qe/identity" in err.message and "retry later" in err.message
    server.routes["/tdx/certification/v4/qe/identity"] = Route(429, headers={"Retry-After": "60"})
    err = _fetch_error(NEAR, server)
    assert "HTTP 429" in err.message and "60 s" in err.message


def test_non_200_success_status_is_refused(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    server.routes["/sgx/certification/v4/pckcrl"].status = 203
    err = _fetch_error(NEAR, server)
    assert "HTTP 203" in err.message and "pckcrl" in err.message


def test_timeout_is_bounded(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    server.routes["/tdx/certification/v4/tcb"].delay = 10
    start = time.monotonic()
    err = _fetch_error(NEAR, server, timeout=0.3)
    assert time.monotonic() - start < 5
    assert "no answer within 0.3 s" in err.message and "--timeout" in err.message


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(VerificationError) as info:
        fetch_collateral(NEAR.quote, pccs_url=f"http://127.0.0.1:{port}", timeout=2)
    assert info.value.code == "collateral_fetch_failed"
    assert f"127.0.0.1:{port}" in info.value.message and "network" in info.value.message


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/tdx/certification/v4/tcb", b"<html>Service Unavailable</html>", "not JSON"),
        ("/tdx/certification/v4/tcb", b'{"tcbInfo": "x", "signature": "00"}', "'tcbInfo' object"),
        ("/tdx/certification/v4/qe/identity", b'{"enclaveIdentity": {}}', "'signature'"),
        ("/tdx/certification/v4/qe/identity", b"\xff\xfe{}", "not UTF-8"),
        ("/sgx/certification/v4/pckcrl", b"not a CRL", "PCK CRL"),
        ("/sgx/certification/v4/rootcacrl", b"", "root CA CRL"),
    ],
)
def test_garbage_bodies(server: PcsServer, path: str, body: bytes, needle: str) -> None:
    serve_vector(server, NEAR)
    server.routes[path].body = body
    err = _fetch_error(NEAR, server)
    assert needle in err.message
    assert server.url + path in err.message


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/tdx/certification/v4/tcb", "TCB-Info-Issuer-Chain"),
        ("/tdx/certification/v4/qe/identity", "SGX-Enclave-Identity-Issuer-Chain"),
        ("/sgx/certification/v4/pckcrl", "SGX-PCK-CRL-Issuer-Chain"),
    ],
)
def test_missing_or_bad_issuer_chain_header(server: PcsServer, path: str, header: str) -> None:
    serve_vector(server, NEAR)
    del server.routes[path].headers[header]
    err = _fetch_error(NEAR, server)
    assert header in err.message and "lacks" in err.message
    server.routes[path].headers[header] = "not%20a%20chain"
    err = _fetch_error(NEAR, server)
    assert header in err.message and "not usable" in err.message


def test_response_size_is_bounded(server: PcsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    serve_vector(server, NEAR)
    monkeypatch.setattr(pccs, "MAX_RESPONSE_BYTES", 1000)
    err = _fetch_error(NEAR, server)
    assert "exceeds 1000 bytes" in err.message


def test_wrong_documents_are_refused(server: PcsServer) -> None:
    # The server answers the NEAR quote with another platform's TCB info, and SGX's QE identity.
    other = next(v for v in VECTORS if v.name == "tdx-v4-phala-uptodate")
    serve_vector(server, other)
    serve_vector(server, SGX)
    server.routes["/tdx/certification/v4/qe/identity"] = server.routes["/sgx/certification/v4/qe/identity"]
    err = _fetch_error(NEAR, server)
    assert "FMSPC B0C06F000000" in err.message
    assert "QE identity, not TD_QE" in err.message or "the QE identity, not TD_QE" in err.message


def test_loading_failure_is_a_fetch_failure(server: PcsServer) -> None:
    serve_vector(server, NEAR)
    tcb = server.routes["/tdx/certification/v4/tcb"]
    tcb.body = tcb.body.replace(b'"signature":"', b'"signature":"zz', 1)
    err = _fetch_error(NEAR, server)
    assert "[collateral_format]" in err.message and "signature" in err.message


@pytest.mark.parametrize(
    ("path", "old", "new", "code"),
    [
        # One byte, same meaning (hex case): Intel's signature covers the bytes, not the meaning.
        (
            "/tdx/certification/v4/tcb",
            b'"fmspc":"20a06f000000"',
            b'"fmspc":"20A06f000000"',
            "tcb_info_signature_invalid",
        ),
        ("/tdx/certification/v4/qe/identity", b'"isvprodid":2', b'"isvprodid":3', "qe_identity_signature_invalid"),
    ],
)
def test_altered_body_fetches_but_fails_verification(
    server: PcsServer, path: str, old: bytes, new: bytes, code: str
) -> None:
    serve_vector(server, NEAR)
    route = server.routes[path]
    assert route.body.count(old) == 1 and len(old) == len(new)
    route.body = route.body.replace(old, new)
    fetched = fetch_collateral(NEAR.quote, pccs_url=server.url)
    with pytest.raises(VerificationError) as info:
        verify(NEAR.quote, fetched, now=NEAR.now)
    assert info.value.code == code


def test_invalid_timeout() -> None:
    for bad in (0, -1, True, "5"):
        with pytest.raises(VerificationError) as info:
            fetch_collateral(NEAR.quote, pccs_url="http://127.0.0.1:9", timeout=bad)  # type: ignore[arg-type]
        assert info.value.code == "input_invalid"


# --------------------------------------------------------------------------- TLS


def _tls_files(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.derive_private_key(0x5EED, ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test PCCS")])
    start = datetime.now(timezone.utc) - timedelta(days=1)  # TLS checks the wall clock, not `now`
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    cert_file, key_file = tmp_path / "pccs.pem", tmp_path / "pccs.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def test_https_pccs_with_its_own_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    cert_file, key_file = _tls_files(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    server = PcsServer(ssl_context=ctx)
    try:
        serve_vector(server, NEAR)
        # Not trusted by default: a coded failure that says how to trust it.
        err = _fetch_error(NEAR, server, timeout=5)
        assert "TLS certificate" in err.message and "--tls-ca" in err.message
        fetched = fetch_collateral(NEAR.quote, pccs_url=server.url, timeout=5, opener=tls_opener(cert_file))
        _assert_verdict(NEAR, fetched)
    finally:
        server.close()


# --------------------------------------------------------------------------- writing and freshness


def test_write_and_reload(server: PcsServer, tmp_path: Path) -> None:
    serve_vector(server, NEAR)
    fetched = fetch_collateral(NEAR.quote, pccs_url=server.url)
    out = tmp_path / "collateral.json"
    write_collateral(fetched, out, source={"base_url": server.url})
    doc = json.loads(out.read_text())
    assert doc["source"] == {"base_url": server.url}
    # The bodies are stored exactly as served.
    assert doc["tcb_info_response"].encode() == server.routes["/tdx/certification/v4/tcb"].body
    assert doc["qe_identity_response"].encode() == server.routes["/tdx/certification/v4/qe/identity"].body
    assert load_collateral(out) == fetched
    _assert_verdict(NEAR, out)
    # Overwriting replaces the file; no temporary file is left behind.
    write_collateral(fetched, out)
    assert "source" not in json.loads(out.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collateral.json"]
    # dcap-qvl collateral is written in its own format.
    dq = load_collateral(NEAR.collateral_path)  # type: ignore[arg-type]
    assert collateral_document(dq) == dq.to_dcap_qvl()
    with pytest.raises(VerificationError) as info:
        write_collateral(fetched, tmp_path / "missing-dir" / "c.json")
    assert info.value.code == "input_invalid"


def test_freshness_report_fresh_expired_and_forged() -> None:
    col = load_collateral(NEAR.collateral_path)  # type: ignore[arg-type]
    until = NEAR.expected["collateral_valid_until"]
    fresh = freshness_report(col, now=NEAR.now)  # type: ignore[arg-type]
    assert fresh["ok"] and fresh["fresh"] and fresh["authenticated"] and fresh["error"] is None
    assert fresh["tee_type"] == "TDX" and fresh["tcb_info"]["fmspc"] == "20A06F000000"
    assert fresh["root_ca"]["pinned"] is True
    assert fresh["expires_at"] == datetime.fromtimestamp(until, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = format_freshness(fresh)
    assert text.startswith("FRESH:")
    assert "tcbEvaluationDataNumber 17" in text and "FMSPC 20A06F000000" in text and "expires in" in text

    late = freshness_report(col, now=until + 1)
    assert not late["ok"] and not late["fresh"] and late["authenticated"]
    assert late["error"]["code"] in {"crl_expired", "collateral_expired", "certificate_expired"}
    text = format_freshness(late)
    assert text.startswith("NOT FRESH:") and "EXPIRED" in text and "fetch-collateral" in text

    forged = load_collateral({**NEAR.collateral, "tcb_info_signature": "00" * 64})  # type: ignore[dict-item]
    bad = freshness_report(forged, now=NEAR.now)  # type: ignore[arg-type]
    assert not bad["ok"] and not bad["authenticated"]
    assert bad["error"]["code"] == "tcb_info_signature_invalid"
    assert format_freshness(bad).startswith("NOT AUTHENTIC: [tcb_info_signature_invalid]")
