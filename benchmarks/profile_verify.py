"""Profile one verification path with cProfile (not a test: run it directly).

    python benchmarks/profile_verify.py cold|first|warm [CALLS]

``cold``: ``verify()`` with the collateral as JSON text; ``first``: a new PCK
chain against cached collateral; ``warm``: one Verifier, distinct quotes.
Prints the top 30 functions by own time.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tdxverify
from tests.vectors import verifiable_vectors


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "cold"
    calls = int(argv[2]) if len(argv) > 2 else 300
    vec = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
    raw, now = vec.quote, vec.now
    assert vec.collateral_path is not None
    text = vec.collateral_path.read_text()
    verifier = tdxverify.Verifier()
    auth = verifier.authenticate(text, now)
    quotes = iter([raw + i.to_bytes(4, "little") for i in range(calls + 1)])

    def first() -> object:
        verifier._pck_cache.clear()
        verifier._chain_cache.clear()  # a new platform's PEM text has not been seen either
        verifier._tcb_cache.clear()
        return verifier.verify(raw, auth, now)

    paths: dict[str, Callable[[], object]] = {
        "cold": lambda: tdxverify.verify(raw, text, now=now),
        "first": first,
        "warm": lambda: verifier.verify(next(quotes), auth, now),
    }
    run = paths[mode]
    run()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        run()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
