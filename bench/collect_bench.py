"""Benchmark `invoke prisma.collect` on a synthetic monorepo (run on demand, not in CI).

    python bench/collect_bench.py [--modules 1000] [--files 5] [--runs 7]

Prints the whole-process median of: `invoke --version` (the start-up floor), a full collect
(prisma/schemas removed first), a no-op collect, and `collect --check`, each with its ratio
to the floor. Targets (issue 2): no-op and --check within 1.5x the floor, full within 3x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE = (REPO / "prisma" / "base.prisma").read_text()


def build_tree(root: Path, modules: int, files: int) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    (root / "prisma").mkdir()
    (root / "prisma" / "base.prisma").write_text(BASE)
    for m in range(modules):
        schema = root / "modules" / f"mod{m:04d}" / "schema"
        schema.mkdir(parents=True)
        for f in range(files):
            name = f"M{m:04d}F{f}"
            (schema / f"file{f}.prisma").write_text(
                f"/// model {name}Doc {{ in a doc comment\n"
                f'model {name} {{\n  id Int @id\n  label String @default("{{x}}")\n'
                f"  createdAt DateTime @default(now())\n}}\n\nenum {name}Kind {{\n  A\n  B\n}}\n"
            )


def median_seconds(command: list[str], cwd: Path, runs: int, before: Callable[[], None]) -> float:
    samples = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    invoke = [sys.executable, "-m", "invoke"]
    with tempfile.TemporaryDirectory(prefix="prisma-tasks-bench-") as tmp:
        root = Path(tmp)
        build_tree(root, args.modules, args.files)
        collected = root / "prisma" / "schemas"

        def remove_collected() -> None:
            shutil.rmtree(collected, ignore_errors=True)

        def nothing() -> None:
            pass

        floor = median_seconds([*invoke, "--version"], root, args.runs, nothing)
        full = median_seconds([*invoke, "prisma.collect"], root, args.runs, remove_collected)
        # Files written less than a second ago are not trusted by the stat snapshot (racy
        # timestamps, as in git); a developer's no-op collect runs long after the last edit.
        time.sleep(1.2)
        subprocess.run([*invoke, "prisma.collect"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        noop = median_seconds([*invoke, "prisma.collect"], root, args.runs, nothing)
        check = median_seconds([*invoke, "prisma.collect", "--check"], root, args.runs, nothing)
    files = args.modules * args.files
    print(
        f"{args.modules} modules x {args.files} files = {files} schema files, median of {args.runs}"
    )
    print(f"{'command':<28}{'seconds':>10}{'x floor':>10}{'target':>10}")
    for label, seconds, target in (
        ("invoke --version (floor)", floor, None),
        ("prisma.collect (full)", full, 3.0),
        ("prisma.collect (no-op)", noop, 1.5),
        ("prisma.collect --check", check, 1.5),
    ):
        ratio = seconds / floor
        verdict = (
            "" if target is None else (f"<= {target}x " + ("ok" if ratio <= target else "MISSED"))
        )
        print(f"{label:<28}{seconds:>10.3f}{ratio:>10.2f}{verdict:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
