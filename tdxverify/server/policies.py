"""The server's policy is a floor: a request's policy may add rules, never remove them.

With ``tdxverify serve --policy`` and a request ``policy``, both are applied to
the same verified verdict and it is accepted only if both accept it. The
verdict's policy section then lists every rule once, named ``server:RULE`` or
``request:RULE``, and ``sources`` says which policy accepted. The two flags
that gate verification itself (``allow_debug``, ``allow_service_td``) are
granted only when both policies grant them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ..errors import PolicyError
from ..policy import Policy
from ..verdict import PolicyCheck, PolicyResult, Verdict

__all__ = ["SOURCES", "both", "floor", "labelled"]

SOURCES = ("server", "request")


def floor(server: Policy, request: Policy) -> Policy:
    """The server's policy with the verification-gating flags granted only if the request grants them too.

    Its appraisal rules are unchanged (neither flag is an appraisal rule).
    """
    return replace(
        server,
        allow_debug=server.allow_debug and request.allow_debug,
        allow_service_td=server.allow_service_td and request.allow_service_td,
    )


def both(verdict: Verdict, server: PolicyResult, request: Policy, now: datetime) -> Verdict:
    """``verdict`` (verified, appraised by the server's policy) appraised by ``request`` too.

    Returns the verdict carrying both results when both accept; otherwise raises
    ``policy_violation`` naming every failed rule, with that verdict attached.
    """
    bare = replace(verdict, policy=None)
    mine = request.evaluate(bare, now)
    checks = tuple(_prefixed("server", c) for c in server.checks) + tuple(_prefixed("request", c) for c in mine.checks)
    result = PolicyResult(checks)
    appraised = replace(verdict, policy=result)
    if not result.ok:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in result.failures)
        raise PolicyError(f"the quote verified but the policy rejects it: {failed}", verdict=appraised)
    return appraised


def labelled(policy: dict[str, Any]) -> dict[str, Any]:
    """A combined policy section (from :func:`both`) with ``sources``: each policy's own ``ok``."""
    sources = {src: all(c["ok"] for c in policy["checks"] if str(c["name"]).startswith(src + ":")) for src in SOURCES}
    return {**policy, "sources": sources}


def _prefixed(source: str, check: PolicyCheck) -> PolicyCheck:
    return PolicyCheck(f"{source}:{check.name}", check.ok, check.detail)
