"""Run one fuzz target for a given time: ``python fuzz/run.py TARGET --seconds 300``.

Engines: ``atheris`` (coverage-guided libFuzzer over instrumented tdxverify;
the default when installed, ``pip install -e '.[fuzz]'``) or ``hypothesis``
(seed mutations drawn by hypothesis; no coverage feedback -- the fallback
where atheris cannot be installed). The working corpus lives in
``.fuzz/corpus/TARGET`` (seeded from ``vectors/``, the conformance suite and
the forge, plus the stored regression inputs in ``tests/fuzz_regressions/TARGET``);
crashing and slow inputs land in ``.fuzz/artifacts/TARGET``. The exit status
is non-zero when the invariant broke or an input was too slow.

Other commands: ``--list`` (targets and their invariants), ``--replay FILE...``
(run stored inputs through the target, no engine).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fuzz.harnesses import Target

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".fuzz"
REGRESSIONS = REPO / "tests" / "fuzz_regressions"
TARGET_NAMES = ("parse_quote", "load_collateral", "verify", "load_policy", "eventlog")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _targets() -> dict[str, Target]:
    from fuzz.harnesses import TARGETS

    return TARGETS


def _write_seeds(name: str, corpus: Path) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    n = 0
    for _, blob in _targets()[name].seeds():
        (corpus / hashlib.sha1(blob).hexdigest()).write_bytes(blob)
        n += 1
    return n


def _child_atheris(name: str, seconds: int, timeout: int, corpus: Path, artifacts: Path) -> None:
    """Runs inside the child process: instrument tdxverify, hand over to libFuzzer (never returns)."""
    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports(include=["tdxverify", "fuzz"]):
        from fuzz.harnesses import TARGETS
    target = TARGETS[name]
    artifacts.mkdir(parents=True, exist_ok=True)
    dirs = [str(corpus)]
    reg = REGRESSIONS / name
    if reg.is_dir():
        dirs.append(str(reg))
    argv = [
        sys.argv[0],
        *dirs,
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-max_len={target.max_len}",
        "-rss_limit_mb=1536",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
        "-reload=0",
    ]
    atheris.Setup(argv, target.check)
    atheris.Fuzz()


_STAT = re.compile(r"^#(\d+)\s+(NEW|REDUCE|pulse|INITED|DONE)\s+cov: (\d+) ft: (\d+)(?: corp: (\d+))?")


def _run_atheris(name: str, seconds: int, timeout: int, corpus: Path, artifacts: Path) -> int:
    """Run libFuzzer in a child process and summarise its coverage curve (for plateau checks)."""
    work = corpus.parent.parent
    cmd = [sys.executable, __file__, "--child", name, "--seconds", str(seconds), "--timeout", str(timeout)]
    cmd += ["--workdir", str(work)]
    start = time.monotonic()
    last_new = start
    inited = final = None
    log_path = work / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log, subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, errors="replace") as p:
        assert p.stderr is not None
        for line in p.stderr:
            log.write(line)
            m = _STAT.match(line)
            if m:
                cov = (int(m.group(3)), int(m.group(4)))
                if m.group(2) == "INITED":
                    inited = cov
                if m.group(2) in ("NEW", "REDUCE") and (final is None or cov > final):
                    last_new = time.monotonic()
                final = cov
            elif line.startswith(("==", "Traceback", " ===", "stat::", "INFO: a leak", "artifact_prefix")) or (
                "Error" in line or "Exception" in line or "Timeout" in line or "timeout" in line
            ):
                sys.stderr.write(line)
        rc = p.wait()
    elapsed = time.monotonic() - start
    print(
        f"{name}: rc={rc} after {elapsed:.0f}s; coverage (edges, features) at start {inited}, at end {final}; "
        f"last new coverage {last_new - start:.0f}s in; log {log_path}",
        flush=True,
    )
    return rc


def _run_hypothesis(name: str, seconds: int, timeout: int, corpus: Path, artifacts: Path) -> int:
    """Fallback engine: random structural mutations of the corpus, shrunk by hypothesis on failure."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    target = _targets()[name]
    pool = [p.read_bytes() for p in sorted(corpus.iterdir())]
    reg = REGRESSIONS / name
    if reg.is_dir():
        pool += [p.read_bytes() for p in sorted(reg.iterdir()) if p.is_file()]

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        buf = bytearray(draw(st.sampled_from(pool)))
        for _ in range(draw(st.integers(1, 8))):
            op = draw(st.sampled_from(["flip", "set", "insert", "delete", "splice", "truncate", "repeat"]))
            pos = draw(st.integers(0, max(len(buf) - 1, 0)))
            if op == "flip" and buf:
                buf[pos] ^= 1 << draw(st.integers(0, 7))
            elif op == "set" and buf:
                buf[pos] = draw(st.integers(0, 255))
            elif op == "insert":
                buf[pos:pos] = draw(st.binary(min_size=1, max_size=16))
            elif op == "delete":
                del buf[pos : pos + draw(st.integers(1, 64))]
            elif op == "splice":
                other = draw(st.sampled_from(pool))
                buf[pos:] = other[draw(st.integers(0, max(len(other) - 1, 0))) :]
            elif op == "truncate":
                del buf[pos:]
            elif op == "repeat":
                buf[pos:pos] = bytes(buf[pos : pos + 32]) * draw(st.integers(2, 64))
        return bytes(buf[: target.max_len])

    runs = 0

    @settings(max_examples=200, deadline=timeout * 1000, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated())
    def one(data: bytes) -> None:
        nonlocal runs
        runs += 1
        try:
            target.check(data)
        except BaseException:
            artifacts.mkdir(parents=True, exist_ok=True)
            (artifacts / f"crash-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
            raise

    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            one()  # each call draws 200 fresh examples (no database: nothing replays)
    except Exception as exc:
        print(f"{name}: invariant broken ({type(exc).__name__}: {exc}); input saved under {artifacts}", flush=True)
        return 1
    print(f"{name}: rc=0, {runs} inputs in {seconds}s (hypothesis engine, no coverage feedback)", flush=True)
    return 0


def replay(name: str, files: list[Path]) -> int:
    target = _targets()[name]
    failures = 0
    for f in files:
        t0 = time.monotonic()
        try:
            target.check(f.read_bytes())
        except BaseException as exc:
            failures += 1
            print(f"{f}: FAIL {type(exc).__name__}: {exc}")
            continue
        print(f"{f}: ok ({time.monotonic() - t0:.3f}s)")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python fuzz/run.py", description=__doc__.splitlines()[0])
    ap.add_argument("target", nargs="?", help=f"one of {', '.join(TARGET_NAMES)}")
    ap.add_argument("--seconds", type=int, default=60, help="time budget (default 60)")
    ap.add_argument("--timeout", type=int, default=5, help="seconds after which one input counts as a hang")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    ap.add_argument("--list", action="store_true", help="list the targets and their invariants")
    ap.add_argument("--replay", nargs="+", type=Path, metavar="FILE", help="run stored inputs, no engine")
    ap.add_argument("--workdir", type=Path, default=WORK, help="corpus, artifacts and logs (default .fuzz/)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    corpus, artifacts = args.workdir / "corpus" / str(args.target), args.workdir / "artifacts" / str(args.target)
    if args.child:  # before anything imports tdxverify: atheris must instrument the import
        _child_atheris(args.target, args.seconds, args.timeout, corpus, artifacts)
        return 0
    if args.list:
        for t in _targets().values():
            print(f"{t.name}\n    {' '.join(t.doc.split())}\n")
        return 0
    if args.target not in _targets():
        ap.error(f"target must be one of {', '.join(sorted(_targets()))}")
    if args.replay:
        return replay(args.target, args.replay)
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if importlib.util.find_spec("atheris") is not None else "hypothesis"
    n = _write_seeds(args.target, corpus)
    print(f"{args.target}: {engine} for {args.seconds}s, {n} seeds, corpus {corpus}", flush=True)
    run = _run_atheris if engine == "atheris" else _run_hypothesis
    return run(args.target, args.seconds, args.timeout, corpus, artifacts)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
