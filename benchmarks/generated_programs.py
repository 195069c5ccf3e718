"""The generated-program run: hypothesmith programs through ``somatrace check``, real files with
an inserted entrypoint or span through ``somatrace fix``.

    python benchmarks/generated_programs.py                    # 2,000 + 40 programs, 320 files
    python benchmarks/generated_programs.py --programs 500 --real-files 100 --seed 7

Phase 1 draws ``--programs`` distinct ``hypothesmith.from_grammar()`` programs and
``--node-programs`` distinct ``from_node()`` ones (Hypothesis, seeded: the same seed and versions
give the same programs), half of them *primed* with an app and a span; writes them into real git
repositories of ``--batch-size`` files and runs the real CLI over each (``check --output-format
json``, then ``fix`` / ``fix --diff`` / ``check`` on the primed ones). Phase 2 fetches pinned
wheels of ``benchmarks/corpora.toml`` (``fetch_corpus.py``'s download, sha256-verified, into
``benchmarks/corpus/``), inserts a service entrypoint (ST101) or an untagged span (ST301) into
``--real-files`` of their modules, and runs the real ``fix`` over each package's tree. What is
asserted is written in ``tests/hostile/generated.py`` (shared with
``tests/hostile/test_generated_programs.py``, the small seeded version of this run).

Prints counts and wall times per phase and step, findings by code, ST900 reasons, files fixed and
every failure; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.hostile

from corpora import load_corpora
from fetch_corpus import FetchError, fetch_wheel

from tests.hostile import generated

CORPUS = "llm-stack"
# Each takes an equal share of --real-files; what a small one lacks, the next ones take.
WHEELS = ("autogen-core", "smolagents", "pydantic-ai-slim", "langchain-core")


def phase_programs(args: argparse.Namespace, workdir: Path) -> generated.Tally:
    made = generated.generate_programs(args.programs, args.seed, node_count=args.node_programs)
    origins = {o: sum(p.origin == o for p in made.programs) for o in ("grammar", "node")}
    primed = sum(p.primed for p in made.programs)
    tally = generated.check_programs(made.programs, workdir, batch_size=args.batch_size)
    print(
        generated.report(
            "phase 1, generated programs through check",
            tally,
            [
                f"  generated: {len(made.programs)} distinct programs ({origins['grammar']} "
                f"from_grammar, {origins['node']} from_node) of {sum(made.drawn.values())} "
                f"drawn, seed {args.seed}, in {made.seconds:.1f} s",
                f"  primed with an app and a span: {primed} ({made.not_primable} could not be)",
                f"  source: {sum(len(p.data) for p in made.programs):,} bytes",
            ],
        )
    )
    return tally


def phase_real_files(args: argparse.Namespace, workdir: Path) -> generated.Tally:
    tally = generated.Tally()
    corpus = load_corpora()[CORPUS]
    by_name = {w.name: w for w in corpus.wheels}
    wheels = [by_name[name] for name in args.wheels if name in by_name]  # in the order given
    missing = set(args.wheels) - set(by_name)
    if missing:
        tally.failures.append(f"not in corpus {CORPUS}: {', '.join(sorted(missing))}")
        return tally
    lines = []
    started = time.perf_counter()
    for index, wheel in enumerate(wheels):
        try:
            files, _ = fetch_wheel(corpus, wheel)
        except FetchError as exc:
            tally.failures.append(f"{wheel.requirement}: {exc}")
            continue
        sources = generated.python_sources(corpus.dist_dir(wheel), wheel.name)
        wanted = math.ceil((args.real_files - tally.files) / (len(wheels) - index))
        one = generated.Tally()
        count = generated.fix_real_files(
            one, workdir / wheel.name, sources, wanted, f"{args.seed}:{wheel.name}"
        )
        tally.merge(one)
        lines.append(
            f"  {wheel.requirement}: {files} files, {count} with an insertion, "
            f"{one.notes['fix: files changed']} fixed, {len(one.failures)} failures, "
            f"{sum(one.seconds.values()):.1f} s"
        )
    lines.insert(0, f"  wall: {time.perf_counter() - started:.1f} s")
    if tally.files < args.real_files:
        tally.failures.append(f"only {tally.files} files got an insertion (< {args.real_files})")
    print(generated.report("phase 2, real files with an insertion through fix", tally, lines))
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2000, help="from_grammar() programs")
    parser.add_argument("--node-programs", type=int, default=40, help="from_node() programs")
    parser.add_argument("--batch-size", type=int, default=200, help="programs per tree")
    parser.add_argument("--real-files", type=int, default=320, help="files given an insertion")
    parser.add_argument("--wheels", nargs="+", default=list(WHEELS), help=f"of {CORPUS}")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="work here and keep the trees (default: a tmp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="somatrace-generated-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        tallies = [phase_programs(args, workdir / "programs")]
        print()
        tallies.append(phase_real_files(args, workdir / "real"))
    # This process's own peak: Hypothesis keeps every drawn example. (Not the CLI's: a child's
    # ru_maxrss starts from this process's RSS at the fork, so RUSAGE_CHILDREN cannot tell it.)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failures = [f for t in tallies for f in t.failures]
    print(
        f"\ntotal: {time.perf_counter() - started:.1f} s, peak RSS of this script (generation) "
        f"{rss:.0f} MB, {len(failures)} failures"
    )
    for failure in failures[:50]:
        print(f"\nFAIL {failure[:3000]}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
