"""Benchmark `invoke prisma.check` and `invoke prisma.migrate` with a change, on a 78-model
schema (bench/big_schema.py), for this checkout and a baseline, in the same run.

    python bench/gate_bench.py [--runs 5] [--baseline-src /work/main/src] [--only check|migrate]

Each variant gets its own temp monorepo (formatted, with an `init` migration made by that
variant, on its own local dev database: no DATABASE_URL). Runs alternate between the variants.
`check` is timed as CI runs it; `migrate` adds one nullable column per run and times
`invoke prisma.migrate --name change_<n>` (diff, write, deploy, generate). The baseline runs
with PYTHONPATH=<baseline-src>, so only the Python package differs (same node_modules).
Printed per task and variant: median, min, max, the ratio of medians, the Prisma CLI starts of
one run (counted by a `node` wrapper first on PATH, tests/e2e/prisma_starts.py) and the load
average before and after. Nothing is asserted; each dev database is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from big_schema import write_monorepo  # noqa: E402

from tests.e2e.prisma_starts import counting_node  # noqa: E402


class Variant:
    def __init__(self, label: str, root: Path, src: Path | None, tmp: Path) -> None:
        self.label, self.root = label, root
        self.starts = counting_node(tmp / f"starts-{label}")
        self.env = {**os.environ, **self.starts.env}
        self.env.pop("DATABASE_URL", None)
        if src is not None:
            self.env["PYTHONPATH"] = str(src)
        self.times: dict[str, list[float]] = {"check": [], "migrate": []}
        self.counts: dict[str, list[str]] = {}
        self.changes = 0

    def invoke(self, *args: str) -> float:
        self.starts.reset()
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(
                f"{self.label}: invoke {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )
        return elapsed

    def add_change(self) -> None:
        self.changes += 1
        path = self.root / "modules/crm/schema/core.prisma"
        text = path.read_text()
        marker = "  notes "
        at = text.index(marker)
        line_end = text.index("\n", at)
        column = f"\n  benchExtra{self.changes} String?"
        path.write_text(text[:line_end] + column + text[line_end:])
        self.invoke("prisma.format")

    def run(self, task: str) -> None:
        if task == "check":
            elapsed = self.invoke("prisma.check")
        else:
            self.add_change()
            elapsed = self.invoke("prisma.migrate", "--name", f"change_{self.changes}")
        self.times[task].append(elapsed)
        self.counts[task] = self.starts.commands()


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(task: str, variants: list[Variant]) -> None:
    print(f"\n{task}:")
    medians = []
    for variant in variants:
        times = variant.times[task]
        median = statistics.median(times)
        medians.append(median)
        starts = variant.counts.get(task, [])
        heads = ", ".join(" ".join(c.split()[:2]) for c in starts)
        print(
            f"  {variant.label:<9} median {median:5.2f}s  min {min(times):5.2f}s  "
            f"max {max(times):5.2f}s  ({len(times)} runs)  CLI starts {len(starts)}: {heads}"
        )
    if len(medians) == 2:
        print(f"  baseline/current ratio of medians: {medians[1] / medians[0]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--only", choices=["check", "migrate"], default=None)
    options = parser.parse_args()
    tasks = [options.only] if options.only else ["check", "migrate"]
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # a dev cluster may run as 'postgres' (when we are root)
        variants = [Variant("current", write_monorepo(tmp / "current"), None, tmp)]
        if options.baseline_src:
            src = options.baseline_src.resolve()
            variants.append(Variant("baseline", write_monorepo(tmp / "baseline"), src, tmp))
        try:
            for variant in variants:
                variant.invoke("prisma.format")
                variant.invoke("prisma.migrate", "--name", "init")
            print(f"78 models, 8 modules; load average before: {load()}")
            for task in tasks:
                for _ in range(options.runs):
                    for variant in variants:
                        variant.run(task)
            print(f"load average after: {load()}")
            for task in tasks:
                report(task, variants)
        finally:
            for variant in variants:
                subprocess.run(
                    [sys.executable, "-m", "invoke", "db.down"],
                    cwd=variant.root,
                    env=variant.env,
                    capture_output=True,
                )


if __name__ == "__main__":
    main()
