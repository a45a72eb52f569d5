"""Benchmark driving the Prisma CLI: no-op generate and migrate (run on demand, not in CI).

    python bench/prisma_tasks_bench.py [--runs 5]

In a copy of the reference monorepo (node_modules linked to this repository's), prints the
whole-process median of:
  (a) a no-op `invoke prisma.generate` (after one real generate) against Prisma's own
      `prisma generate` with the same config; target (issue "drive the Prisma CLI"): >= 5x faster;
  (b) `invoke prisma.migrate` with nothing to do against one Prisma CLI call (`prisma migrate
      status`), on a throwaway PostgreSQL database; target: <= 2 Prisma CLI calls, i.e. at
      most 2x the one call.
The Prisma CLI calls each task makes are counted in one extra, untimed run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prisma_tasks.config import load_settings
from prisma_tasks.databases.provisioner import provisioned
from prisma_tasks.prisma_cli.runner import Prisma

REPO = Path(__file__).resolve().parent.parent
COPIED = (
    "pyproject.toml",
    "tasks.py",
    "package.json",
    "package-lock.json",
    "prisma/base.prisma",
    "prisma/migrations",
    "modules",
)
# Runs invoke in-process with subprocess.run wrapped, and prints how many Prisma CLI calls it
# made (argv[0] is the CLI found by prisma_tasks.prisma_cli.locate) as the last stderr line.
COUNTING = """
import atexit, json, runpy, subprocess, sys
cli, calls, real = sys.argv[1], [], subprocess.run
def run(argv, *args, **kwargs):
    if isinstance(argv, (list, tuple)) and argv and argv[0] == cli:
        calls.append(" ".join(argv[1:3]))
    return real(argv, *args, **kwargs)
subprocess.run = run
atexit.register(lambda: print(json.dumps(calls), file=sys.stderr))
sys.argv = ["invoke", *sys.argv[2:]]
runpy.run_module("invoke", run_name="__main__")
"""


def build_tree(root: Path) -> None:
    for name in COPIED:
        source, target = REPO / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    (root / "node_modules").symlink_to(REPO / "node_modules", target_is_directory=True)


def median_seconds(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def prisma_calls(cli: str, task: str, cwd: Path, env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", COUNTING, cli, task],
        cwd=cwd,
        env=env,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stderr.strip().splitlines()[-1])


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed:\n{result.stdout}{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    invoke = [sys.executable, "-m", "invoke"]
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    with tempfile.TemporaryDirectory(prefix="prisma-tasks-cli-") as tmp:
        root = Path(tmp)
        build_tree(root)
        settings = load_settings(root, base_env)
        prisma = Prisma.for_settings(settings, base_env)
        cli = prisma.install.command[0]

        # (a) generate: one real generate first, so the task's run is the no-op one.
        run_once([*invoke, "prisma.generate"], root, base_env)
        noop_generate = median_seconds([*invoke, "prisma.generate"], root, base_env, args.runs)
        generate_calls = prisma_calls(cli, "prisma.generate", root, base_env)
        argv, env = prisma.command("generate")
        prisma_generate = median_seconds(argv, root, env, args.runs)

        # (b) migrate with nothing to do, on a throwaway database migrated once first.
        with provisioned("postgres", settings, environ=base_env) as databases:
            url = databases.clone()
            env_db = {**base_env, "DATABASE_URL": url}
            run_once([*invoke, "prisma.migrate"], root, env_db)
            noop_migrate = median_seconds([*invoke, "prisma.migrate"], root, env_db, args.runs)
            migrate_calls = prisma_calls(cli, "prisma.migrate", root, env_db)
            argv, env = prisma.command("migrate", "status", database_url=url)
            prisma_status = median_seconds(argv, root, env, args.runs)
            provider = databases.provider

    print(f"{prisma.describe()}; median of {args.runs} whole-process runs (seconds)")
    print(f"database: {provider}")
    print(f"{'command':<34}{'seconds':>9}{'ratio':>10}{'prisma calls':>14}{'target':>18}")
    speedup = prisma_generate / noop_generate
    ratio = noop_migrate / prisma_status
    rows = (
        ("prisma generate (baseline a)", prisma_generate, "1.00", "1", ""),
        (
            "invoke prisma.generate (no-op)",
            noop_generate,
            f"{speedup:.2f}x",
            str(len(generate_calls)),
            ">= 5x " + ("ok" if speedup >= 5 else "MISSED"),
        ),
        ("prisma migrate status (baseline b)", prisma_status, "1.00", "1", ""),
        (
            "invoke prisma.migrate (no-op)",
            noop_migrate,
            f"{ratio:.2f}",
            str(len(migrate_calls)),
            "<= 2x " + ("ok" if ratio <= 2 else "MISSED"),
        ),
    )
    for label, value, shown, calls, verdict in rows:
        print(f"{label:<34}{value:>9.3f}{shown:>10}{calls:>14}{verdict:>18}")
    calls_verdict = "ok" if len(migrate_calls) <= 2 else "MISSED"
    print(
        "ratio: (a) prisma generate / no-op task (speed-up); (b) no-op task / one Prisma call\n"
        f"no-op migrate: {len(migrate_calls)} Prisma CLI calls (target <= 2: {calls_verdict}): "
        f"{', '.join(migrate_calls) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
