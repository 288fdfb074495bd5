"""Turning an HTTP request body into what :class:`~tdxverify.Verifier` needs, with coded errors.

``POST /v1/verify`` takes the quote alone (raw bytes, hex or base64, as
``application/octet-stream`` or ``text/plain``) or a JSON object
``{"quote": hex|base64, "collateral"?: object, "policy"?: object}``. Anything
else is refused with the HTTP status and code a client can act on. No input
is ever taken as a file path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..collateral import Collateral, load_collateral
from ..errors import VerificationError
from ..policy import Policy
from ..quote import Quote, decode_quote_file, parse_quote
from ..strictjson import JsonProblem, loads_strict

__all__ = ["JSON_FIELDS", "RAW_TYPES", "ServiceError", "VerifyInput", "parse_verify_body"]

RAW_TYPES = frozenset({"application/octet-stream", "text/plain"})
JSON_FIELDS = frozenset({"quote", "collateral", "policy", "event_log"})


class ServiceError(VerificationError):
    """A request the service refuses before verifying anything; ``http_status`` says how."""

    default_code = "input_invalid"
    default_step = "request"

    def __init__(self, message: str, *, http_status: int = 400, code: str | None = None) -> None:
        super().__init__(message, code=code, step="request")
        self.http_status = http_status


@dataclass(frozen=True)
class VerifyInput:
    """A parsed ``/v1/verify`` request."""

    quote_bytes: bytes
    """The raw quote (decoded from hex / base64 if it came as text)."""
    quote: Quote
    collateral: Collateral | None
    policy: Policy | None
    policy_key: str | None
    """The request's policy as canonical JSON (verifiers are reused per distinct policy)."""


def media_type(content_type: str | None) -> str | None:
    if content_type is None or not content_type.strip():
        return None
    return content_type.split(";", 1)[0].strip().lower()


def parse_verify_body(content_type: str | None, body: bytes) -> VerifyInput:
    """Parse a ``/v1/verify`` body; raises :class:`ServiceError` or the quote's / collateral's / policy's own
    coded error (``quote_format``, ``collateral_format``, ``policy_invalid`` ...)."""
    kind = media_type(content_type)
    if not body:
        raise ServiceError(
            'the request body is empty: send the quote (raw, hex or base64) or a JSON object {"quote": ...}'
        )
    if kind == "application/json":
        return _from_json(body)
    if kind is None or kind in RAW_TYPES:
        raw = decode_quote_file(body)
        return VerifyInput(raw, parse_quote(raw), None, None, None)
    raise ServiceError(
        f"unsupported Content-Type {content_type!r:.80}: send application/octet-stream or text/plain "
        '(the quote, raw / hex / base64) or application/json ({"quote": ..., "collateral"?: ..., '
        "\"policy\"?: ...}); with curl, add -H 'Content-Type: application/octet-stream' to --data-binary",
        http_status=415,
    )


def _from_json(body: bytes) -> VerifyInput:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(f"the JSON body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        doc = loads_strict(text)
    except JsonProblem as exc:
        raise ServiceError(f"the JSON body {exc}") from None
    if not isinstance(doc, dict):
        raise ServiceError(f'the JSON body must be an object with a "quote" member, not {_kind(doc)}')
    unknown = sorted(set(doc) - JSON_FIELDS)
    if unknown:
        # A misspelt member (e.g. "colateral") must not silently change what is verified.
        raise ServiceError(
            f"unknown member(s) {', '.join(repr(k)[:60] for k in unknown[:5])}; known: quote, collateral, policy"
        )
    if doc.get("event_log") is not None:
        raise ServiceError(
            "this service's tdxverify cannot replay event logs yet (event_log is not supported): send the "
            "request without event_log and compare the RTMRs in the verdict yourself"
        )
    q = doc.get("quote")
    if not isinstance(q, str):
        raise ServiceError(f'"quote" must be a hex or base64 string, not {_kind(q)}')
    raw = decode_quote_file(q.encode("utf-8"))
    quote = parse_quote(raw)
    collateral = _collateral(doc.get("collateral"))
    policy, policy_key = _policy(doc.get("policy"))
    return VerifyInput(raw, quote, collateral, policy, policy_key)


def _collateral(value: Any) -> Collateral | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return load_collateral(value)
    if isinstance(value, str) and value.lstrip().startswith("{"):
        return load_collateral(value.encode("utf-8"))  # as bytes: always JSON text, never a path
    raise ServiceError(
        f'"collateral" must be a JSON object (dcap-qvl QuoteCollateralV3 or a PCS bundle) or such an '
        f"object as a JSON string, not {_kind(value)}"
    )


def _policy(value: Any) -> tuple[Policy | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise ServiceError(f'"policy" must be a JSON object (see docs/policy.md), not {_kind(value)}')
    return Policy.from_mapping(value), json.dumps(value, sort_keys=True, separators=(",", ":"))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
