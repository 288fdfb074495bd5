"""Fetch collateral from Intel PCS or a PCCS, assemble it, and check its freshness.

What the operator runs to refresh collateral (``docs/collateral.md``):

1. :func:`collateral_request` reads, from the quote's PCK certificate, the
   FMSPC, which PCK CA issued it (platform / processor) and the TEE type;
2. :func:`fetch_collateral` / :func:`fetch_collateral_for` GET the Intel PCS
   v4 API (or a PCCS serving the same paths): TCB info, QE identity, the PCK
   CRL, the root CA CRL; the issuer chains come from the response headers;
3. the response bodies are kept exactly as served (Intel's signatures cover
   the bytes) in a *PCS bundle* (``docs/trust.md``) and loaded with
   :func:`tdxverify.collateral.load_collateral`;
4. :func:`write_collateral` stores it; :func:`freshness_report` says whether
   it authenticates and until when it is fresh.

Fetching never authenticates (verification does that, every time), but it
checks that each response is the document asked for. Every fetch failure is
a :class:`~tdxverify.errors.CollateralError` with code
``collateral_fetch_failed`` naming the URL, the status and what to do.
Standard library only (``urllib``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import socket
import ssl
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from http.client import HTTPException
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from .collateral import Collateral, authenticate_collateral, load_collateral
from .errors import TIME_CODES, CertificateError, CollateralError, VerificationError
from .pck import pck_extension_of
from .pki import Instant, as_utc, load_certificates, load_crl, pem_chain, pinned_root_ca
from .quote import Quote, decode_quote_file, parse_quote

__all__ = [
    "DEFAULT_TIMEOUT",
    "INTEL_PCS_URL",
    "INTEL_ROOT_CA_CRL_URL",
    "CollateralRequest",
    "CollateralUrls",
    "OutputFormat",
    "collateral_document",
    "collateral_request",
    "fetch_collateral",
    "fetch_collateral_for",
    "format_freshness",
    "freshness_report",
    "pcs_base_url",
    "tls_opener",
    "write_collateral",
]

INTEL_PCS_URL = "https://api.trustedservices.intel.com"
INTEL_ROOT_CA_CRL_URL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
"""Where Intel publishes the root CA CRL (also the CRL distribution point of the certificates the root issues)."""
DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
"""No genuine response comes near this (PCK CRLs are the largest, well under 1 MiB)."""

# Intel PCS v4 response headers carrying the (URL-encoded PEM) issuer chains. API v3
# named the TCB info one SGX-TCB-Info-Issuer-Chain, and some PCCS versions still send that.
TCB_INFO_ISSUER_CHAIN_HEADERS = ("TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain")
QE_IDENTITY_ISSUER_CHAIN_HEADER = "SGX-Enclave-Identity-Issuer-Chain"
PCK_CRL_ISSUER_CHAIN_HEADER = "SGX-PCK-CRL-Issuer-Chain"

TeeType = Literal["TDX", "SGX"]
PckCa = Literal["platform", "processor"]
UpdateType = Literal["standard", "early"]

_UA = "tdxverify-fetch-collateral"
_API_SUFFIX = re.compile(r"/(?:sgx|tdx)/certification/(v\d+)$", re.IGNORECASE)


def _failed(msg: str) -> CollateralError:
    return CollateralError(msg, code="collateral_fetch_failed", step="fetch")


# --------------------------------------------------------------------------- what to fetch


def pcs_base_url(url: str | None) -> str:
    """The base URL of the service: Intel PCS for ``None``, else ``url`` normalised.

    A PCCS is given by its base (``https://pccs.example:8081``); a trailing
    ``/sgx/certification/v4`` or ``/tdx/certification/v4`` (dcap-qvl's
    convention) and trailing slashes are removed. Only http(s) URLs without
    query or fragment are accepted (``input_invalid`` otherwise), and only API v4.
    """
    if url is None:
        return INTEL_PCS_URL

    def bad(why: str) -> VerificationError:
        return VerificationError(
            f"the PCS/PCCS URL {url!r:.200} {why}; give the service's base URL, e.g. https://pccs.example:8081",
            code="input_invalid",
            step="fetch",
        )

    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError as exc:
        raise bad(f"cannot be parsed ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad("is not an http:// or https:// URL")
    if not parts.hostname:
        raise bad("has no host")
    if parts.query or parts.fragment:
        raise bad("has a query or fragment")
    path = parts.path.rstrip("/")
    m = _API_SUFFIX.search(path)
    if m is not None:
        if m.group(1).lower() != "v4":
            raise bad(f"names API {m.group(1)}; tdxverify uses the v4 API")
        path = path[: m.start()]
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


@dataclass(frozen=True)
class CollateralUrls:
    """The URLs one fetch uses."""

    base_url: str
    service: Literal["Intel PCS", "PCCS"]
    tcb_info: str
    qe_identity: str
    pck_crl: str
    root_ca_crl: str | None
    """PCCS only (``/sgx/certification/v4/rootcacrl``); for Intel PCS the root CA
    CRL comes from the CRL distribution point in the fetched certificates."""

    def to_dict(self) -> dict[str, str | None]:
        return {
            "service": self.service,
            "base_url": self.base_url,
            "tcb_info": self.tcb_info,
            "qe_identity": self.qe_identity,
            "pck_crl": self.pck_crl,
            "root_ca_crl": self.root_ca_crl,
        }


@dataclass(frozen=True)
class CollateralRequest:
    """What collateral a platform needs: its TEE type, FMSPC and PCK CA."""

    tee: TeeType
    fmspc: bytes
    ca: PckCa

    def __post_init__(self) -> None:
        if self.tee not in ("TDX", "SGX"):
            raise VerificationError(f"tee must be 'TDX' or 'SGX', not {self.tee!r}", code="input_invalid", step="fetch")
        if self.ca not in ("platform", "processor"):
            raise VerificationError(
                f"ca must be 'platform' or 'processor', not {self.ca!r}", code="input_invalid", step="fetch"
            )
        if not isinstance(self.fmspc, bytes) or len(self.fmspc) != 6:
            raise VerificationError("fmspc must be 6 bytes", code="input_invalid", step="fetch")

    @property
    def fmspc_hex(self) -> str:
        return self.fmspc.hex().upper()

    def urls(self, pccs_url: str | None = None, *, update: UpdateType | None = None) -> CollateralUrls:
        """The v4 API URLs at ``pccs_url`` (default Intel PCS); ``update`` selects Intel's
        ``standard`` or ``early`` TCB recovery collateral (omitted: the service's default, standard)."""
        base = pcs_base_url(pccs_url)
        if update not in (None, "standard", "early"):
            raise VerificationError(
                f"update must be 'standard' or 'early', not {update!r}", code="input_invalid", step="fetch"
            )
        tee = self.tee.lower()
        upd = f"update={update}" if update else ""
        is_intel = base.lower() == INTEL_PCS_URL
        return CollateralUrls(
            base_url=base,
            service="Intel PCS" if is_intel else "PCCS",
            tcb_info=f"{base}/{tee}/certification/v4/tcb?fmspc={self.fmspc_hex}" + (f"&{upd}" if upd else ""),
            qe_identity=f"{base}/{tee}/certification/v4/qe/identity" + (f"?{upd}" if upd else ""),
            pck_crl=f"{base}/sgx/certification/v4/pckcrl?ca={self.ca}&encoding=der",
            root_ca_crl=None if is_intel else f"{base}/sgx/certification/v4/rootcacrl",
        )


def _ca_kind(name: x509.Name) -> PckCa | None:
    try:
        cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return None
    words = set(re.split(r"[^a-z]+", str(cns[0].value).lower())) if cns else set()
    if "platform" in words and "processor" not in words:
        return "platform"
    if "processor" in words and "platform" not in words:
        return "processor"
    return None


def collateral_request(quote: Quote | bytes) -> CollateralRequest:
    """TEE type, FMSPC and PCK CA of the platform that made ``quote`` (a :class:`Quote`
    or quote bytes: raw, hex or base64), read from its PCK certificate.

    The certificate is not verified here (verification does that); it only
    says which collateral to fetch. Codes: the quote's own parse errors,
    ``unsupported_certification_data`` (no PCK chain in the quote),
    ``pck_chain_invalid``, ``pck_extension_invalid``.
    """
    if isinstance(quote, Quote):
        q = quote
    elif isinstance(quote, (bytes, bytearray, memoryview)):
        q = parse_quote(decode_quote_file(bytes(quote)))
    else:
        raise VerificationError(
            f"the quote must be a Quote or bytes, not {type(quote).__name__}", code="input_invalid", step="fetch"
        )
    chain = q.pck_chain
    if not chain:
        raise CertificateError(
            "the quote carries no PCK certificate chain, so its FMSPC and PCK CA are unknown; fetch with "
            "fetch_collateral_for(CollateralRequest(tee, fmspc, ca)) instead",
            code="unsupported_certification_data",
            step="fetch",
        )
    try:
        certs = [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError as exc:
        raise CertificateError(
            f"a certificate in the quote's PCK chain is not valid DER ({exc})", code="pck_chain_invalid", step="fetch"
        ) from None
    # The leaf is the one certificate that issued no other one in the chain.
    issuers = {c.issuer for c in certs}
    leaves = [c for c in certs if c.subject not in issuers]
    if len(leaves) != 1:
        raise CertificateError(
            "the quote's PCK chain has no single leaf certificate", code="pck_chain_invalid", step="fetch"
        )
    leaf = leaves[0]
    ca = _ca_kind(leaf.issuer)
    if ca is None:
        raise CertificateError(
            f"the PCK certificate's issuer {leaf.issuer.rfc4514_string()!r:.120} is neither a PCK Platform CA "
            "nor a PCK Processor CA",
            code="pck_chain_invalid",
            step="fetch",
        )
    tee: TeeType = "TDX" if q.tee == "TDX" else "SGX"
    return CollateralRequest(tee=tee, fmspc=pck_extension_of(leaf).fmspc, ca=ca)


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class _Response:
    url: str
    headers: Message
    body: bytes


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _status_advice(status: int, what: str, headers: Message | None) -> str:
    if status == 404:
        return (
            f"the service has no {what} at this path: check the base URL (--pccs-url, e.g. "
            "https://pccs.example:8081) and that it serves the v4 API; for TCB info, also that the "
            "FMSPC is one Intel knows (a PCCS must be able to reach Intel PCS to learn it)"
        )
    if status in (401, 403):
        return "the service refused the request: check the PCCS's access configuration"
    if status == 429:
        retry = headers.get("Retry-After") if headers is not None else None
        return f"the service is rate-limiting: retry later{f' (after {retry} s)' if retry else ''}"
    if status >= 500:
        return "the service failed: retry later, or fetch from another source (Intel PCS or your PCCS)"
    return "the service did not return the document: check the URL and the service"


def _intel_error(headers: Message | None) -> str:
    if headers is None:
        return ""
    parts = [f"{h} {headers[h]!r:.200}" for h in ("Error-Code", "Error-Message", "Request-ID") if headers.get(h)]
    return f" ({', '.join(parts)})" if parts else ""


def _read_bounded(resp: Any, url: str, what: str, deadline: float, timeout: float) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = resp.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_RESPONSE_BYTES:
            raise _failed(
                f"could not fetch the {what} from {url}: the response exceeds {MAX_RESPONSE_BYTES} bytes; "
                "this is not an Intel PCS / PCCS response: check the URL"
            )
        if time.monotonic() > deadline:
            # Socket timeouts bound each read; this bounds a server that trickles bytes.
            raise _failed(
                f"could not fetch the {what} from {url}: the response took longer than {timeout:g} s; "
                "check the network / proxy, or allow more time (--timeout)"
            )
        chunks.append(chunk)


class _Missing(Exception):
    """A 404 for a document the caller can get elsewhere."""


def _get(
    opener: urllib.request.OpenerDirector,
    url: str,
    what: str,
    timeout: float,
    *,
    missing_ok: bool = False,
) -> _Response:
    """GET ``url`` and return the 200 response; :class:`_Missing` for a 404 when ``missing_ok``."""
    req = urllib.request.Request(url, headers={"User-Agent": _UA, "Accept": "*/*"})
    deadline = time.monotonic() + timeout
    try:
        with opener.open(req, timeout=timeout) as resp:
            status = int(resp.status)
            if status != 200:
                raise _failed(
                    f"could not fetch the {what} from {url}: HTTP {status} (expected 200){_intel_error(resp.headers)}; "
                    + _status_advice(status, what, resp.headers)
                )
            return _Response(url=url, headers=resp.headers, body=_read_bounded(resp, url, what, deadline, timeout))
    except urllib.error.HTTPError as exc:
        headers = exc.headers
        exc.close()
        if exc.code == 404 and missing_ok:
            raise _Missing(url) from None
        raise _failed(
            f"could not fetch the {what} from {url}: HTTP {exc.code} {exc.reason}{_intel_error(headers)}; "
            + _status_advice(exc.code, what, headers)
        ) from None
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        # URLError, TimeoutError and ssl errors are OSErrors; ValueError: a URL urllib cannot use.
        reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, (TimeoutError, socket.timeout)):
            problem = f"no answer within {timeout:g} s"
            advice = "check the network / proxy settings and that the service is up, or allow more time (--timeout)"
        elif isinstance(reason, ssl.SSLCertVerificationError):
            problem = f"the TLS certificate of {_host(url)} is not trusted ({reason.verify_message})"
            advice = (
                "a PCCS usually has its own (often self-signed) certificate: trust its CA with --tls-ca FILE "
                "(tdxverify.pccs.tls_opener); Intel's signatures, not TLS, authenticate the collateral"
            )
        else:
            problem = f"{type(reason).__name__}: {reason}"
            advice = "check the URL, the network, and the proxy settings (HTTPS_PROXY / NO_PROXY)"
        raise _failed(f"could not fetch the {what} from {url}: {problem}; {advice}") from None


def tls_opener(cafile: str | os.PathLike[str] | None = None) -> urllib.request.OpenerDirector:
    """A urllib opener whose HTTPS trusts the CA certificates in ``cafile`` (PEM)
    instead of the system store: for a PCCS with its own certificate."""
    context = ssl.create_default_context(cafile=os.fspath(cafile) if cafile is not None else None)
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


# --------------------------------------------------------------------------- pieces


def _wrong(resp: _Response, what: str, why: str) -> CollateralError:
    return _failed(
        f"the {what} from {resp.url} is not usable: {why}; the service is not an Intel PCS v4 / PCCS endpoint, "
        "returned an error page, or a proxy altered the response"
    )


def _chain_header(resp: _Response, names: tuple[str, ...], what: str) -> str:
    for name in names:
        value = resp.headers.get(name)
        if value:
            text = urllib.parse.unquote(value.strip())
            try:
                load_certificates(text, code="collateral_format", step="fetch", what=f"the {name} header")
            except VerificationError as exc:
                raise _wrong(resp, what, exc.message) from None
            return text
    raise _failed(
        f"the response for the {what} from {resp.url} lacks the {' / '.join(names)} header carrying its issuer "
        "chain; the service is not an Intel PCS v4 / PCCS endpoint, or a proxy dropped the header"
    )


def _json_body(resp: _Response, member: str, what: str) -> str:
    try:
        text = resp.body.decode("utf-8")
    except UnicodeDecodeError:
        raise _wrong(resp, what, "the body is not UTF-8 text") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise _wrong(resp, what, f"the body is not JSON (starts {text[:60]!r})") from None
    if not isinstance(value, dict) or not isinstance(value.get(member), dict):
        raise _wrong(resp, what, f"the body is not a JSON object with a {member!r} object")
    if not isinstance(value.get("signature"), str):
        raise _wrong(resp, what, "the body has no 'signature' string")
    return text  # exactly as served: the signature covers these bytes


def _crl_body(resp: _Response, what: str) -> x509.CertificateRevocationList:
    # Intel PCS serves DER (encoding=der); PCCSs serve DER, PEM or hex text: load_crl takes all three.
    try:
        return load_crl(resp.body, step="fetch", what=f"the {what}")
    except VerificationError as exc:
        raise _wrong(resp, what, exc.message) from None


def _crl_distribution_point(chain_pem: str) -> str:
    """The root CA CRL URL: the CRL distribution point of a certificate the root issued."""
    certs = load_certificates(chain_pem, code="collateral_format", step="fetch")
    subjects = {c.subject for c in certs}
    for cert in certs:
        if cert.issuer == cert.subject or cert.issuer not in subjects:
            continue
        try:
            cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for point in cdp:
            for name in point.full_name or ():
                if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(
                    ("https://", "http://")
                ):
                    return name.value
    return INTEL_ROOT_CA_CRL_URL


# --------------------------------------------------------------------------- fetch


def fetch_collateral(
    quote: Quote | bytes,
    *,
    pccs_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    opener: urllib.request.OpenerDirector | None = None,
    update: UpdateType | None = None,
) -> Collateral:
    """Fetch the collateral ``quote`` needs from Intel PCS (default) or the PCCS at ``pccs_url``.

    Same as ``fetch_collateral_for(collateral_request(quote), ...)``.
    """
    return fetch_collateral_for(
        collateral_request(quote), pccs_url=pccs_url, timeout=timeout, opener=opener, update=update
    )


def fetch_collateral_for(
    request: CollateralRequest,
    *,
    pccs_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    opener: urllib.request.OpenerDirector | None = None,
    update: UpdateType | None = None,
) -> Collateral:
    """Fetch TCB info, QE identity, PCK CRL and root CA CRL for ``request`` and return
    them loaded as a PCS bundle (:class:`Collateral`, format ``pcs-bundle``), unauthenticated.

    ``timeout`` bounds each request (seconds); ``opener`` replaces the default
    urllib opener (e.g. :func:`tls_opener`). Raises ``collateral_fetch_failed``
    for any HTTP, network, header or content problem, ``input_invalid`` for a bad URL.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise VerificationError(f"timeout must be a positive number, not {timeout!r}", code="input_invalid")
    urls = request.urls(pccs_url, update=update)
    op = opener if opener is not None else urllib.request.build_opener()

    def get(url: str, what: str, *, missing_ok: bool = False) -> _Response:
        return _get(op, url, what, float(timeout), missing_ok=missing_ok)

    what_tcb = f"{request.tee} TCB info for FMSPC {request.fmspc_hex}"
    tcb = get(urls.tcb_info, what_tcb)
    qe = get(urls.qe_identity, f"{request.tee} QE identity")
    crl = get(urls.pck_crl, f"PCK {request.ca} CA CRL")
    bundle: dict[str, str] = {
        "tcb_info_response": _json_body(tcb, "tcbInfo", what_tcb),
        "tcb_info_issuer_chain": _chain_header(tcb, TCB_INFO_ISSUER_CHAIN_HEADERS, what_tcb),
        "qe_identity_response": _json_body(qe, "enclaveIdentity", f"{request.tee} QE identity"),
        "qe_identity_issuer_chain": _chain_header(qe, (QE_IDENTITY_ISSUER_CHAIN_HEADER,), "QE identity"),
        "pck_crl_issuer_chain": _chain_header(crl, (PCK_CRL_ISSUER_CHAIN_HEADER,), "PCK CRL"),
    }
    pck_crl = _crl_body(crl, "PCK CRL")

    root_resp: _Response | None = None
    if urls.root_ca_crl is not None:
        try:
            root_resp = get(urls.root_ca_crl, "root CA CRL", missing_ok=True)
        except _Missing:
            root_resp = None
    if root_resp is None:
        # Intel PCS has no root CA CRL endpoint (nor do some PCCSs): follow the certificates' pointer.
        root_resp = get(_crl_distribution_point(bundle["pck_crl_issuer_chain"]), "root CA CRL")
    root_crl = _crl_body(root_resp, "root CA CRL")
    bundle["root_ca_crl"] = root_crl.public_bytes(serialization.Encoding.DER).hex()
    bundle["pck_crl"] = pck_crl.public_bytes(serialization.Encoding.DER).hex()

    try:
        collateral = load_collateral(bundle)
    except VerificationError as exc:
        raise _failed(
            f"the collateral fetched from {urls.base_url} ({urls.service}) cannot be loaded: [{exc.code}] "
            f"{exc.message}; the service returned malformed collateral: retry, or fetch from another source"
        ) from None
    _check_kind(collateral, request, urls)
    return collateral


def _check_kind(c: Collateral, request: CollateralRequest, urls: CollateralUrls) -> None:
    """Each document is the one asked for (authentication comes later, in verification)."""
    want_qe = "TD_QE" if request.tee == "TDX" else "QE"
    problems = []
    if c.tcb_info.fmspc != request.fmspc:
        problems.append(f"{urls.tcb_info} served TCB info for FMSPC {c.tcb_info.fmspc.hex().upper()}")
    if c.tcb_info.id != request.tee:
        problems.append(f"{urls.tcb_info} served {c.tcb_info.id} TCB info, not {request.tee}")
    if c.qe_identity.id != want_qe:
        problems.append(f"{urls.qe_identity} served the {c.qe_identity.id} identity, not {want_qe}")
    if _ca_kind(c.pck_crl.issuer) != request.ca:
        problems.append(f"{urls.pck_crl} served a CRL issued by {c.pck_crl.issuer.rfc4514_string()!r:.120}")
    if problems:
        raise _failed(
            "the service returned the wrong collateral: "
            + "; ".join(problems)
            + f" (asked for {request.tee}, FMSPC {request.fmspc_hex}, PCK {request.ca} CA); check the service"
        )


# --------------------------------------------------------------------------- writing


OutputFormat = Literal["dcap-qvl", "pcs-bundle"]


def collateral_document(
    collateral: Collateral, *, source: Mapping[str, Any] | None = None, format: OutputFormat | None = None
) -> dict[str, Any]:
    """``collateral`` as the JSON object :func:`load_collateral` reads back to an equal :class:`Collateral`.

    ``format="dcap-qvl"``: dcap-qvl's ``QuoteCollateralV3`` JSON (the signed
    text unchanged; what a NEAR contract's ``update_collateral`` stores), with
    exactly dcap-qvl's keys. ``format="pcs-bundle"``: the response bodies as
    served (only for collateral that was loaded or fetched as a bundle). ``None``:
    the collateral's own format. ``source`` (e.g. where it was fetched from)
    is stored under ``"source"``, which loading ignores; dcap-qvl documents never carry it.
    """
    fmt = format if format is not None else collateral.format
    if fmt not in ("dcap-qvl", "pcs-bundle"):
        raise VerificationError(
            f"format must be 'dcap-qvl' or 'pcs-bundle', not {fmt!r}", code="input_invalid", step="fetch"
        )
    if fmt == "dcap-qvl":
        return dict(collateral.to_dcap_qvl())
    if collateral.tcb_info_response is None or collateral.qe_identity_response is None:
        raise VerificationError(
            "this collateral was not loaded from PCS responses, so it has no response bodies to write as a "
            "PCS bundle; write it in dcap-qvl's format",
            code="input_invalid",
            step="fetch",
        )
    doc: dict[str, Any] = {
        "tcb_info_response": collateral.tcb_info_response,
        "tcb_info_issuer_chain": pem_chain(collateral.tcb_info_issuer_chain),
        "qe_identity_response": collateral.qe_identity_response,
        "qe_identity_issuer_chain": pem_chain(collateral.qe_identity_issuer_chain),
        "pck_crl_issuer_chain": pem_chain(collateral.pck_crl_issuer_chain),
        "root_ca_crl": collateral.root_ca_crl_der.hex(),
        "pck_crl": collateral.pck_crl_der.hex(),
    }
    if collateral.pck_certificate_chain is not None:
        doc["pck_certificate_chain"] = pem_chain(collateral.pck_certificate_chain)
    if source is not None:
        doc["source"] = dict(source)
    return doc


def write_collateral(
    collateral: Collateral,
    dest: str | os.PathLike[str],
    *,
    source: Mapping[str, Any] | None = None,
    format: OutputFormat | None = None,
) -> None:
    """Write :func:`collateral_document` as JSON to ``dest`` (``input_invalid`` on I/O errors).

    A regular file (or a missing one) is replaced atomically: it is either the
    old file or the complete new one, never a partial write. A file being
    replaced keeps its permission bits; a new one gets the usual ``0666 & ~umask``.
    A symbolic link is followed (its target is replaced). Anything else
    (``/dev/stdout``, a pipe) is written to directly.
    """
    text = json.dumps(collateral_document(collateral, source=source, format=format), indent=2) + "\n"
    tmp: str | None = None
    try:
        try:
            st: os.stat_result | None = os.stat(dest)  # follows symbolic links
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(dest, "w", encoding="utf-8") as fh:  # a device or pipe: nothing to replace
                fh.write(text)
            return
        path = Path(os.path.realpath(dest))
        tmp = _create_temp(path)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise VerificationError(
            f"cannot write the collateral to {str(dest)!r:.200} ({exc.strerror or exc}); check the path",
            code="input_invalid",
            step="fetch",
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _create_temp(path: Path) -> str:
    """A new empty file next to ``path``, created with mode 0666 so the umask applies as for any new file."""
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return name
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


# --------------------------------------------------------------------------- freshness


def freshness_report(
    collateral: Collateral,
    *,
    now: Instant,
    root: x509.Certificate | None = None,
    max_age: timedelta | None = None,
    min_valid: timedelta | None = None,
) -> dict[str, Any]:
    """Authenticate ``collateral`` at ``now`` against ``root`` (default: the pinned
    Intel SGX Root CA) and report its freshness, JSON-ready.

    ``ok`` is true when it authenticates, every window holds at ``now`` and
    every rule asked for holds: ``max_age`` (the TCB info and the QE identity
    were each issued at most that long before ``now``) and ``min_valid``
    (nothing expires within that long after ``now``). ``rules`` lists each
    rule checked (``name``, ``subject``, ``limit``, ``limit_seconds``, ``ok``,
    ``detail``); ``failed_rules`` names the failed ones.
    Collateral that is genuine but outside its window is still reported as
    ``authenticated`` (the signatures, chains and CRLs verified at a time inside
    every window), with the time ``error``; collateral that does not
    authenticate is reported from its unauthenticated content. Keys: those of
    :meth:`~tdxverify.collateral.AuthenticatedCollateral.freshness`, plus
    ``ok``, ``tee_type``, ``root_ca``.
    """
    t = as_utc(now)
    anchor = root if root is not None else pinned_root_ca()
    error: VerificationError | None = None
    report: dict[str, Any] | None = None
    try:
        report = authenticate_collateral(collateral, now=t, root=anchor).freshness(t)
    except VerificationError as exc:
        error = exc
        inside = _inside_every_window(collateral) if exc.code in TIME_CODES else None
        if inside is not None:
            try:
                report = authenticate_collateral(collateral, now=inside, root=anchor).freshness(t)
            except VerificationError:
                report = None
        if report is None:
            report = collateral.freshness(t)
    if error is not None:
        report["error"] = error.to_dict()
        report["fresh"] = False
    ti, qe = collateral.tcb_info, collateral.qe_identity
    for key, doc in (("tcb_info", ti), ("qe_identity", qe)):
        report[key]["age_seconds"] = int((t - doc.issue_date).total_seconds())
        report[key]["seconds_until_next_update"] = int((doc.next_update - t).total_seconds())
    rules = _rules(collateral, report, t, max_age=max_age, min_valid=min_valid)
    report["rules"] = rules
    report["failed_rules"] = [f"{r['name']}:{r['subject']}" for r in rules if not r["ok"]]
    root_der = anchor.public_bytes(serialization.Encoding.DER)
    return {
        "ok": error is None and not report["failed_rules"],
        "tee_type": "TDX" if collateral.tcb_info.id == "TDX" else "SGX",
        **report,
        "root_ca": {
            "subject": anchor.subject.rfc4514_string(),
            "sha256": anchor.fingerprint(hashes.SHA256()).hex(),
            "pinned": root_der == pinned_root_ca().public_bytes(serialization.Encoding.DER),
        },
    }


def duration_label(d: timedelta) -> str:
    """``30d``, ``12h``, ``90m``, ``45s``: the largest unit that divides ``d`` exactly."""
    s = int(d.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def _rules(
    c: Collateral, report: Mapping[str, Any], now: datetime, *, max_age: timedelta | None, min_valid: timedelta | None
) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for d, name in ((max_age, "max_age"), (min_valid, "min_valid")):
        if d is not None and d < timedelta(0):
            raise VerificationError(f"{name} must not be negative", code="input_invalid", step="collateral")
    if max_age is not None:
        for subject, what, issued in (
            ("tcb_info", "TCB info", c.tcb_info.issue_date),
            ("qe_identity", "QE identity", c.qe_identity.issue_date),
        ):
            age = now - issued
            ok = age <= max_age
            rules.append(
                {
                    "name": "max_age",
                    "subject": subject,
                    "limit": duration_label(max_age),
                    "limit_seconds": int(max_age.total_seconds()),
                    "ok": ok,
                    "detail": f"the {what} was issued {_span(age.total_seconds())} ago ({_iso_z(issued)})"
                    + ("" if ok else f", more than the maximum age {duration_label(max_age)}"),
                }
            )
    if min_valid is not None:
        left = timedelta(seconds=int(report["seconds_until_expiry"]))
        ok = left >= min_valid
        when = f"in {_span(left.total_seconds())}" if left > timedelta(0) else f"{_span(left.total_seconds())} ago"
        rules.append(
            {
                "name": "min_valid",
                "subject": "collateral",
                "limit": duration_label(min_valid),
                "limit_seconds": int(min_valid.total_seconds()),
                "ok": ok,
                "detail": f"the first piece to expire, {report['expires_first']}, expires {when} "
                f"({report['expires_at']})" + ("" if ok else f", sooner than {duration_label(min_valid)}"),
            }
        )
    return rules


def _iso_z(t: datetime) -> str:
    return as_utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _inside_every_window(c: Collateral) -> datetime | None:
    bounds = c.time_bounds()
    start = max(b.not_before for b in bounds)
    end = min(b.not_after for b in bounds)
    if start >= end:
        return None
    return start + (end - start) / 2


def _span(seconds: float) -> str:
    s = int(abs(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {rem % 60}s"


def _when(not_before: str, not_after: str, now: datetime) -> str:
    nb = datetime.fromisoformat(not_before.replace("Z", "+00:00"))
    na = datetime.fromisoformat(not_after.replace("Z", "+00:00"))
    if now < nb:
        return f"NOT YET VALID (for {_span((nb - now).total_seconds())})"
    left = (na - now).total_seconds()
    return f"expires in {_span(left)}" if left > 0 else f"EXPIRED {_span(left)} ago"


def format_freshness(report: Mapping[str, Any]) -> str:
    """The human-readable form of :func:`freshness_report` (what ``tdxverify collateral`` prints)."""
    now = datetime.fromisoformat(str(report["now"]).replace("Z", "+00:00"))
    ti, qe = report["tcb_info"], report["qe_identity"]
    lines: list[str] = []
    rules = report.get("rules", [])
    failed = [r for r in rules if not r["ok"]]
    if report["ok"]:
        held = "".join(f", {r['name'].replace('_', '-')} {r['limit']}" for r in rules if r["subject"] != "qe_identity")
        lines.append(f"FRESH: the collateral authenticates and is valid at {report['now']}{held}")
    elif report["error"] is None and failed:
        r = failed[0]
        lines.append(f"STALE: [{r['name'].replace('_', '-')} {r['limit']}] {r['detail']}")
        lines.append("  what to do: fetch fresh collateral (tdxverify fetch-collateral --quote QUOTE -o FILE)")
    else:
        err = report["error"] or {}
        state = "NOT FRESH" if report["authenticated"] else "NOT AUTHENTIC"
        lines.append(f"{state}: [{err.get('code')}] at step {err.get('step')}: {err.get('message')}")
        lines.append(
            "  what to do: fetch fresh collateral (tdxverify fetch-collateral --quote QUOTE -o FILE) and check it again"
        )
    for r in rules:
        rule = f"{r['name'].replace('_', '-')} {r['limit']}"
        lines.append(f"  rule {rule:<16} [{'ok' if r['ok'] else 'FAIL'}] {r['detail']}")
    root = report["root_ca"]
    lines.append(
        f"  authenticated    {'yes' if report['authenticated'] else 'NO'}, against "
        f"{'the pinned Intel SGX Root CA' if root['pinned'] else root['subject'] + ' sha256:' + root['sha256']}"
    )
    lines.append(f"  TEE / FMSPC      {report['tee_type']}, FMSPC {ti['fmspc']}, PCE-ID {ti['pce_id']}")
    lines.append(
        f"  TCB evaluation   tcbEvaluationDataNumber {report['tcb_evaluation_data_number']} "
        f"(QE identity: {qe['tcb_evaluation_data_number']})"
    )
    left = int(report["seconds_until_expiry"])
    lines.append(
        f"  earliest expiry  {report['expires_at']} "
        f"({'in ' + _span(left) if left > 0 else 'EXPIRED ' + _span(left) + ' ago'}): {report['expires_first']}"
    )
    lines.append(f"  format           {report['format']}")
    rows = [
        (w["label"], w["not_before"], w["not_after"], _when(w["not_before"], w["not_after"], now))
        for w in report["windows"]
    ]
    width = max(len(r[0]) for r in rows)
    lines.append(f"  {'piece'.ljust(width)}  {'issued / from':20}  {'next update / until':20}  status")
    for label, nb, na, state in rows:
        lines.append(f"  {label.ljust(width)}  {nb:20}  {na:20}  {state}")
    return "\n".join(lines) + "\n"
