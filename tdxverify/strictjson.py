"""Strict JSON for security-relevant documents (collateral, policies).

Python's ``json`` keeps the last of duplicate keys and accepts ``NaN`` and
``Infinity``. A document someone signed or wrote as policy must mean exactly
one thing, so duplicates and non-finite numbers are refused.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["JsonProblem", "loads_strict"]


class JsonProblem(ValueError):
    """Why a text is not strict JSON (callers turn it into their coded error)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # built in C; only a size difference sends us looking for the duplicate
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonProblem(f"has the key {key!r:.80} more than once in one object")
            seen.add(key)
    return out


def _reject_constant(name: str) -> Any:
    raise JsonProblem(f"contains the non-finite number {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # e.g. 1e999
        raise JsonProblem(f"contains the non-finite number {text:.40}")
    return value


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing duplicate keys, NaN/Infinity and overflowing numbers.

    Raises :class:`JsonProblem` with a phrase that completes "the document ...".
    """
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except JsonProblem:
        raise
    except RecursionError:
        raise JsonProblem("is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, and int digit limits
        raise JsonProblem(f"is not valid JSON ({exc})") from None
