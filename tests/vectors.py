"""The real vectors under ``vectors/``, as data for tests that walk all of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tdxverify.quote import decode_quote_file

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"


@dataclass(frozen=True)
class Vector:
    name: str
    path: Path
    quote_path: Path
    expected: dict[str, Any]

    @property
    def quote(self) -> bytes:
        return decode_quote_file(self.quote_path.read_bytes())

    @property
    def collateral_path(self) -> Path | None:
        p = self.path / "collateral.json"
        return p if p.exists() else None

    @property
    def collateral(self) -> dict[str, Any] | None:
        p = self.collateral_path
        return json.loads(p.read_text()) if p else None

    @property
    def now(self) -> int | None:
        return self.expected.get("now")

    @property
    def event_log_path(self) -> Path | None:
        """The vector's event log: dstack's tcb_info.json, or a CCEL log area (``expected.json`` names it)."""
        name = self.expected.get("dstack_tcb_info_file") or (self.expected.get("event_log") or {}).get("file")
        return self.path / name if name else None


@cache
def all_vectors() -> tuple[Vector, ...]:
    out = []
    for d in sorted(VECTORS_DIR.iterdir()):
        exp = d / "expected.json"
        if not exp.exists():
            continue
        quote = next(p for p in (d / "quote.bin", d / "quote.hex") if p.exists())
        out.append(Vector(d.name, d, quote, json.loads(exp.read_text())))
    return tuple(out)


def verifiable_vectors() -> tuple[Vector, ...]:
    """Vectors that carry collateral and an expected verdict."""
    return tuple(v for v in all_vectors() if v.collateral_path is not None and "verdict" in v.expected)


def event_log_vectors() -> tuple[Vector, ...]:
    """Vectors that carry an event log of the TD that produced the quote."""
    return tuple(v for v in all_vectors() if v.event_log_path is not None)
