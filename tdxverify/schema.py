"""The JSON schema of the CLI's ``--json`` verdict, shipped with the package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["verdict_schema"]


def verdict_schema() -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of ``Verdict.to_dict()``, ``tdxverify ... --json`` and each
    ``tdxverify batch`` line, from ``tdxverify/data/verdict.schema.json``."""
    text = resources.files("tdxverify").joinpath("data/verdict.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
