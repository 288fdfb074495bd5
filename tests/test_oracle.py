"""Differential checks against dcap-qvl (the ``oracle`` extra): the oracle helper itself, and the forge.

Runs whenever dcap-qvl is installed (``pip install -e '.[oracle]'``).
"""

from __future__ import annotations

import pytest

pytest.importorskip("dcap_qvl")

from .oracle import OracleResult, oracle_verify
from .vectors import VECTORS_DIR, verifiable_vectors

pytestmark = pytest.mark.oracle

INTEL_ROOT = (VECTORS_DIR / "intel-sgx-root-ca.der").read_bytes()
VECTORS = verifiable_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_oracle_reproduces_the_recorded_verdicts(vector: object) -> None:
    """The expected verdicts of the real vectors came from dcap-qvl: the helper must reproduce them."""
    from .vectors import Vector

    assert isinstance(vector, Vector)
    collateral = vector.collateral
    assert collateral is not None and vector.now is not None
    got = oracle_verify(vector.quote, collateral, vector.now, INTEL_ROOT)
    want = vector.expected["verdict"]
    assert got.ok is want["ok"]
    if want["ok"]:
        assert got.status == want["status"]
        assert got.advisory_set == frozenset(want["advisory_ids"])
        assert got.error is None
    else:
        assert got.status is None and got.advisory_ids == ()
        assert got.error is not None and want["reference_error"] in got.error


def test_oracle_rejects_outside_the_collateral_window() -> None:
    vector = next(v for v in VECTORS if v.expected["verdict"]["ok"])
    collateral = vector.collateral
    assert collateral is not None
    late = oracle_verify(
        vector.quote, collateral, vector.expected["collateral_valid_until"] + 86_400, INTEL_ROOT
    )
    assert not late.ok and late.error


def test_oracle_turns_malformed_input_into_a_rejection() -> None:
    vector = VECTORS[0]
    collateral = vector.collateral
    assert collateral is not None and vector.now is not None
    assert not oracle_verify(b"\x04\x00" + bytes(10), collateral, vector.now, INTEL_ROOT).ok
    broken = dict(collateral, tcb_info_signature="zz")
    result = oracle_verify(vector.quote, broken, vector.now, INTEL_ROOT)
    assert result == OracleResult(False, None, (), result.error) and result.error
    other_root = oracle_verify(vector.quote, collateral, vector.now, b"\x30\x03\x02\x01\x00")
    assert not other_root.ok
