"""Error codes are public API: each one is documented, and no undocumented code can be raised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tdxverify.errors import ERROR_CODES, QuoteFormatError, VerificationError

DOC = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()


def test_every_code_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, re.M))
    assert documented == set(ERROR_CODES)


def test_codes_are_snake_case() -> None:
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in ERROR_CODES)


def test_undocumented_code_is_refused() -> None:
    with pytest.raises(ValueError):
        VerificationError("x", code="made_up_code")


def test_defaults() -> None:
    err = QuoteFormatError("bad")
    assert (err.code, err.step) == ("quote_format", "parse")
    assert VerificationError("x").code == "internal_error"
