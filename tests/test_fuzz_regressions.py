"""Every input the fuzzers found (tests/fuzz_regressions/TARGET/) and every seed keeps its target's invariant.

The targets and invariants are in ``fuzz/harnesses.py``; ``python fuzz/run.py --list`` prints them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.harnesses import CONFORMANCE, TARGETS, InvariantBroken, bases, check_verify, encode_verify_input, forge
from tdxverify import verify

REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
STORED = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file() and p.name != "README.md")


def test_every_stored_input_belongs_to_a_target() -> None:
    assert STORED, "no stored fuzz findings"
    assert {p.parent.name for p in STORED} <= set(TARGETS)


@pytest.mark.parametrize("path", STORED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_input_keeps_invariant(path: Path) -> None:
    TARGETS[path.parent.name].check(path.read_bytes())


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_keep_invariant(name: str) -> None:
    seeds = list(TARGETS[name].seeds())
    assert len(seeds) >= 3
    for label, blob in seeds:
        assert len(blob) <= TARGETS[name].max_len, label
        TARGETS[name].check(blob)


def test_verify_bases_cover_accept_and_reject() -> None:
    all_bases = bases()
    accepted = [b for b in all_bases if b.outcome is not None]
    rejected = [b for b in all_bases if b.must_reject]
    assert len(accepted) >= 30 and len(rejected) >= 40
    assert not any(b.must_reject and b.outcome is not None for b in all_bases)
    assert {b.outcome["tee_type"] for b in accepted if b.outcome} == {"TDX", "SGX"}


def _index(name: str) -> int:
    return next(i for i, b in enumerate(bases()) if b.name == name)


def test_verify_invariant_catches_other_signed_bytes() -> None:
    # A quote with other report data, validly signed by the forge's attestation key, verifies:
    # put in place of a base's quote the harness must flag it (its signed bytes are no base's).
    other = forge().quote(report_data=b"\x42" * 64)
    with pytest.raises(InvariantBroken, match="changed signed part: quote header/body"):
        check_verify(encode_verify_input(_index("forge-tdx-v4"), False, other))


def test_verify_invariant_allows_genuine_parts_of_another_base() -> None:
    # The debug-TD case's collateral with the up-to-date case's genuine quote verifies, and must:
    # every signed part is one the forge signed. The harness accepts that cross-over.
    genuine = (CONFORMANCE / "tdx_v4_up_to_date" / "quote.bin").read_bytes()
    base = bases()[_index("conformance-debug_td")]
    verdict = verify(
        genuine, base.collateral, now=base.now, root_ca=(CONFORMANCE / "debug_td/root_ca.der").read_bytes()
    )
    assert verdict.status == "UpToDate"
    check_verify(encode_verify_input(_index("conformance-debug_td"), False, genuine))


def test_verify_invariant_allows_unsigned_trailing_bytes() -> None:
    # Bytes after the signature data are unsigned and ignored: same signed parts, same verdict.
    base = bases()[_index("forge-tdx-v4")]
    check_verify(encode_verify_input(_index("forge-tdx-v4"), False, base.quote + b"\x00" * 7))
