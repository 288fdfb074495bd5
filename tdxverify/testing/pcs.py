"""A PCS-shaped HTTP(S) server on 127.0.0.1, for tests that fetch collateral without the network.

:class:`PcsServer` answers from a table of routes (path -> :class:`Route`), records
each request path, and can delay or fail any route; :func:`serve_collateral` fills
the table so that it serves dcap-qvl-format collateral the way Intel PCS v4 / a
PCCS does (JSON bodies with the signed text as served, issuer chains URL-encoded
in headers, CRLs as DER, the root CA CRL as hex).
"""

from __future__ import annotations

import http.server
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROXY_VARS", "PcsServer", "Route", "pcs_body", "serve_collateral"]

# Environment variables that would send a client's requests for 127.0.0.1 through a proxy: unset them in tests.
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass
class Route:
    """One canned answer: status, headers, body, and an optional delay before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


class PcsServer:
    """A threaded HTTP(S) server on 127.0.0.1 answering from ``routes`` (path -> Route); records request paths."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                route = outer.routes.get(urllib.parse.urlsplit(self.path).path, Route(404, body=b"not found"))
                if route.delay:
                    outer.release.wait(route.delay)
                try:
                    self.send_response(route.status)
                    for k, v in route.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        """Release delayed answers, stop serving and close the socket."""
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def pcs_body(member: str, signed_text: str, signature_hex: str) -> bytes:
    """A PCS v4 JSON body: the signed text as served, and its signature."""
    return ('{"' + member + '":' + signed_text + ',"signature":"' + signature_hex + '"}').encode()


def serve_collateral(server: PcsServer, tee_type: str, c: Mapping[str, Any]) -> None:
    """Serve dcap-qvl-format collateral ``c`` the way Intel PCS v4 / a PCCS does."""
    tee = tee_type.lower()

    def enc(pem: str) -> str:
        return urllib.parse.quote(pem, safe="")

    server.routes.update(
        {
            f"/{tee}/certification/v4/tcb": Route(
                headers={"TCB-Info-Issuer-Chain": enc(c["tcb_info_issuer_chain"]), "Content-Type": "application/json"},
                body=pcs_body("tcbInfo", c["tcb_info"], c["tcb_info_signature"]),
            ),
            f"/{tee}/certification/v4/qe/identity": Route(
                headers={"SGX-Enclave-Identity-Issuer-Chain": enc(c["qe_identity_issuer_chain"])},
                body=pcs_body("enclaveIdentity", c["qe_identity"], c["qe_identity_signature"]),
            ),
            "/sgx/certification/v4/pckcrl": Route(
                headers={"SGX-PCK-CRL-Issuer-Chain": enc(c["pck_crl_issuer_chain"])},
                body=bytes.fromhex(c["pck_crl"]),
            ),
            "/sgx/certification/v4/rootcacrl": Route(body=c["root_ca_crl"].encode()),
            "/IntelSGXRootCA.der": Route(body=bytes.fromhex(c["root_ca_crl"])),
        }
    )
