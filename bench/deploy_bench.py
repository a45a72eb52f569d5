"""Benchmark wasm-mode `prisma migrate deploy` of the e2e corpus (on demand, not in CI).

    python bench/deploy_bench.py [--runs 3] [--backend postgres|sqlite]

The corpus of tests/e2e/corpus (hand-written migrations plus the generated tail, over 100
migrations) is laid out as a monorepo in a temp folder, and for each run deployed to a fresh
database of a private throwaway cluster (or a SQLite file) through `invoke prisma.deploy`'s own
code path. The baseline, measured in the same run on the same server: the same migration scripts
sent by psycopg / sqlite3 one script at a time in one connection (the floor for applying SQL),
and one Prisma CLI start (`prisma validate`), which every Prisma command pays.
Printed: corpus size (migrations, statements), medians of deploy, per 100 migrations, and the
ratios. Nothing is asserted. Every cluster is removed again, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from prisma_tasks.config import load_settings  # noqa: E402
from prisma_tasks.databases.provisioner import Provisioner  # noqa: E402
from prisma_tasks.prisma_cli.migrations import sqlite_path  # noqa: E402
from prisma_tasks.prisma_cli.runner import Prisma  # noqa: E402
from tests.e2e.corpus import corpus_monorepo  # noqa: E402


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def raw_apply(backend: str, url: str, scripts: list[str], root: Path) -> None:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(url, root)) as connection:
            for script in scripts:
                connection.executescript(script)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for script in scripts:
            connection.execute(script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp:
        corpus = corpus_monorepo(Path(tmp) / "repo", options.backend, "")
        root = corpus.repo.root
        settings = load_settings(root, environ={})
        folder = root / "prisma" / "migrations"
        scripts = [(folder / name / "migration.sql").read_text() for name in corpus.migrations]
        size = f"{len(corpus.migrations)} migrations, {corpus.statements} statements"
        provisioner = Provisioner(options.backend, settings, log=lambda _: None)
        provisioner.warm_clones = False
        try:
            provisioner.open()
            prisma = Prisma.for_settings(settings)

            def deploy(url: str) -> None:
                prisma.run("migrate", "deploy", database_url=url, echo=False)

            deploys, raws, starts = [], [], []
            for _ in range(options.runs):
                target, reference = provisioner.clone(), provisioner.clone()
                deploys.append(timed(lambda: deploy(target)))  # noqa: B023
                raws.append(timed(lambda: raw_apply(options.backend, reference, scripts, root)))  # noqa: B023
                starts.append(timed(lambda: prisma.run("validate", echo=False)))
        finally:
            provisioner.close()
    deploy, raw, start = (statistics.median(v) for v in (deploys, raws, starts))
    per_100 = deploy * 100 / len(corpus.migrations)
    print(f"backend {options.backend}: {size}")
    print(f"prisma migrate deploy (wasm)  {deploy:7.3f} s   per 100 migrations {per_100:6.3f} s")
    print(f"raw scripts, one connection   {raw:7.3f} s   deploy/raw {deploy / raw:5.1f}x")
    print(
        f"one Prisma CLI start          {start:7.3f} s   (deploy - start)/raw "
        f"{(deploy - start) / raw:5.1f}x"
    )


if __name__ == "__main__":
    main()
