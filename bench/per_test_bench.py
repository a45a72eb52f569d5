"""Benchmark what per-test database isolation costs each test: `rollback_db`, `fresh_database_url`
and pytest-postgresql's per-test database, all on one PostgreSQL server (on demand, not in CI);
with --backend sqlite, `rollback_db` and `fresh_database_url` on SQLite.

    pip install pytest-postgresql      # the anchor; this bench's environment only
    python bench/per_test_bench.py [--tests 200] [--runs 3] [--disk] [--backend sqlite]

One local PostgreSQL cluster is started for the whole bench (Provisioner("postgres").open(): a
private cluster on loopback, fsync off, the cluster cache off), and every pytest run reaches it:
the prisma-tasks fixtures through PRISMA_TASKS_ADMIN_URL (the temp repo's pyproject sets
postgres_provider = "server", so they use that server and never start a cluster of their own),
pytest-postgresql through BENCH_PG_* variables its conftest reads. Every subprocess gets
PRISMA_TASKS_RUNTIME_DIR inside the bench's temp folder, so no state outside it is touched. That
temp folder (and so the cluster) is where runs put theirs (runtime_root.py: RAM when it has
room); --disk puts it on the temp folder's disk instead.

The temp monorepo (tasks.py, pyproject.toml with the wasm engine, this repo's package.json and
node_modules linked, as the e2e suite lays one out) has one module, identity, with a User model
and a hand-written `init` migration (Prisma's SQL for that model). Four test files, each with
--tests tests (one parametrized test):
- plain: no database (the baseline);
- rollback_db: each test inserts one User through the fixture's connection and counts 1;
- fresh_database_url: each test connects with psycopg, inserts one User and counts 1;
- pytest-postgresql: `factories.postgresql_noproc(host=, port=, user=, password=, load=[the
  init migration.sql])` and `factories.postgresql("<that fixture>", dbname=...)`, so its
  template holds the same table; each test inserts one User on its connection and counts 1.
A count of 1 in every test shows each one is isolated from the others. With --backend sqlite
there is no cluster and no pytest-postgresql: the datasource is SQLite, the migration is Prisma's
SQLite SQL, fresh_database_url tests connect with prisma-tasks' Connection (stdlib sqlite3), and
the fixtures copy the template file in the runtime folder.

One warm-up run of one test per database file comes first (it builds prisma-tasks' template
with `prisma migrate deploy`; later runs find it current, as a developer's second run does).
Then --runs rounds, each running every file once whole and once with only its first test
(interleaved, so load drifts alike). Each figure is whole-process wall time of `pytest -q
TARGET` (time.perf_counter around subprocess.run), with plugin autoload off and only
prisma-tasks' and pytest-postgresql's plugins loaded (`-p`), in every mode: other installed
plugins' imports (hypothesis, Faker: seconds on a busy machine) are startup noise.

Printed per mode, from the medians of the runs (N = --tests):
- runs, median: the N-test runs;
- per test: (N-test run - plain's N-test run) / N, issue 14's figure; it spreads the
  session's fixed costs (provisioner open, template check, the rollback clone and its
  connection; pytest-postgresql's template build and drop) over the N tests;
- 1 test: the one-test runs; first: a one-test run over plain's (those fixed costs plus one
  test);
- each next: ((N-test - 1-test) - plain's (N-test - 1-test)) / (N - 1), what one more test
  adds once the session is set up;
then the ratios of both per-test costs (those of the modes the backend has), the cores and the
load average before and after. Issue 14's targets: the rollback fixture <= 2 ms per test on
both backends, and the per-test isolation anchors (fresh_database_url against
pytest-postgresql). Nothing is asserted on timings; the cluster is
stopped and removed at the end, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.run_overhead_bench import GENERATOR, PYTEST  # noqa: E402
from prisma_tasks.config import load_settings  # noqa: E402
from prisma_tasks.databases import runtime_root  # noqa: E402
from prisma_tasks.databases.provisioner import Provisioner, terminate_as_interrupt  # noqa: E402
from tests.e2e.conftest import BASES, Monorepo, bare_monorepo  # noqa: E402

MODEL = """model User {
  id    Int    @id @default(autoincrement())
  email String @unique
}
"""
# What `prisma migrate dev --name init` writes for MODEL (Prisma 6.7), per backend.
MIGRATIONS = {
    "postgres": """-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
""",
    "sqlite": """-- CreateTable
CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "email" TEXT NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
""",
}
MIGRATION_DIR = "prisma/migrations/20260101000000_init"
MIGRATION_LOCK = (
    "# Please do not edit this file manually\n"
    "# It should be added in your version-control system (e.g., Git)\n"
    'provider = "{provider}"\n'
)
PROVIDERS = {"postgres": "postgresql", "sqlite": "sqlite"}
CONFTEST = f"""import os
from pathlib import Path

from pytest_postgresql import factories

bench_pg_server = factories.postgresql_noproc(
    host=os.environ["BENCH_PG_HOST"],
    port=os.environ["BENCH_PG_PORT"],
    user=os.environ["BENCH_PG_USER"],
    password=os.environ["BENCH_PG_PASSWORD"],
    dbname="pp_bench",
    load=[Path(__file__).parent.parent / "{MIGRATION_DIR}" / "migration.sql"],
)
bench_pg = factories.postgresql("bench_pg_server", dbname="pp_bench")
"""
HEADER = """from pathlib import Path

import psycopg
import pytest
from prisma_tasks.db.connection import Connection

N = {tests}
COUNT = 'SELECT count(*) FROM "User"'


@pytest.mark.parametrize("i", range(N))
"""
POSTGRES_TESTS = {
    # mode: (file, the test function, below HEADER)
    "plain": ("test_plain.py", "def test_plain(i):\n    assert i >= 0\n"),
    "rollback_db": (
        "test_rollback.py",
        """def test_rollback(rollback_db, i):
    rollback_db.execute('INSERT INTO "User" (email) VALUES (?)', [f"u{i}@example.com"])
    assert rollback_db.one(COUNT) == (1,)
""",
    ),
    "fresh_database_url": (
        "test_fresh.py",
        """def test_fresh(fresh_database_url, i):
    with psycopg.connect(fresh_database_url) as connection:
        connection.execute('INSERT INTO "User" (email) VALUES (%s)', (f"u{i}@example.com",))
        assert connection.execute(COUNT).fetchone() == (1,)
""",
    ),
    "pytest-postgresql": (
        "test_pytest_postgresql.py",
        """def test_pytest_postgresql(bench_pg, i):
    bench_pg.execute('INSERT INTO "User" (email) VALUES (%s)', (f"u{i}@example.com",))
    assert bench_pg.execute(COUNT).fetchone() == (1,)
""",
    ),
}
SQLITE_TESTS = {
    "plain": POSTGRES_TESTS["plain"],
    "rollback_db": POSTGRES_TESTS["rollback_db"],
    "fresh_database_url": (
        "test_fresh.py",
        """def test_fresh(fresh_database_url, i):
    connection = Connection.open(fresh_database_url, Path.cwd())
    try:
        connection.execute('INSERT INTO "User" (email) VALUES (?)', [f"u{i}@example.com"])
        assert connection.one(COUNT) == (1,)
    finally:
        connection.close()
""",
    ),
}
TESTS = {"postgres": POSTGRES_TESTS, "sqlite": SQLITE_TESTS}
# Only the two plugins under test: the test extra's hypothesis and Faker plugins alone add ~3 s of
# imports to every pytest start on a busy 2-core machine, noise that the subtraction cannot
# remove. The same for every mode, the plain baseline included.
PLUGINS = {
    "postgres": ["-p", "prisma_tasks.testing.pytest_plugin", "-p", "pytest_postgresql.plugin"],
    "sqlite": ["-p", "prisma_tasks.testing.pytest_plugin"],
}
RATIOS = [
    ("fresh_database_url", "rollback_db"),
    ("pytest-postgresql", "fresh_database_url"),
    ("pytest-postgresql", "rollback_db"),
]


def require_pytest_postgresql() -> None:
    if importlib.util.find_spec("pytest_postgresql") is None:
        sys.exit("per_test_bench needs pytest-postgresql: pip install pytest-postgresql")


def build_repo(root: Path, tests: int, backend: str) -> Monorepo:
    extra = 'postgres_provider = "server"\n' if backend == "postgres" else ""
    repo = bare_monorepo(root, "", pyproject_extra=extra)
    repo.write("prisma/base.prisma", BASES[backend] + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", MODEL)
    repo.write(f"{MIGRATION_DIR}/migration.sql", MIGRATIONS[backend])
    lock = MIGRATION_LOCK.format(provider=PROVIDERS[backend])
    repo.write("prisma/migrations/migration_lock.toml", lock)
    if backend == "postgres":
        repo.write("tests-py/conftest.py", CONFTEST)
    for file, body in TESTS[backend].values():
        repo.write(f"tests-py/{file}", HEADER.format(tests=tests) + body)
    return repo


def open_cluster(tmp: Path) -> Provisioner:
    """The bench's one cluster, with the cache off (so close() removes it)."""
    settings = dataclasses.replace(
        load_settings(root=tmp), cluster_cache=False, postgres_provider="local"
    )
    environ = {k: v for k, v in os.environ.items() if k != "PRISMA_TASKS_ADMIN_URL"}
    return Provisioner("postgres", settings, environ=environ).open()


@dataclasses.dataclass(frozen=True)
class Bench:
    root: Path  # the temp monorepo
    env: dict[str, str]  # every pytest run's environment
    backend: str  # "postgres" | "sqlite"

    @property
    def tests(self) -> dict[str, tuple[str, str]]:
        return TESTS[self.backend]


def pytest_env(provisioner: Provisioner | None) -> dict[str, str]:
    """The environment of every pytest run: the bench's server (None: SQLite, no server)."""
    dropped = ("DATABASE_URL", "PRISMA_TASKS_BACKEND", "PRISMA_TASKS_PG_PROVIDER")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if provisioner is None:
        return {k: v for k, v in env.items() if k != "PRISMA_TASKS_ADMIN_URL"}
    cluster, server = provisioner.cluster, provisioner.server
    assert cluster is not None and server is not None
    env.update(
        PRISMA_TASKS_ADMIN_URL=server.admin_url,
        BENCH_PG_HOST="127.0.0.1",
        BENCH_PG_PORT=str(cluster.port),
        BENCH_PG_USER="postgres",
        BENCH_PG_PASSWORD=cluster.password,
    )
    return env


def run_pytest(bench: Bench, target: str, expect: int) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [*PYTEST, *PLUGINS[bench.backend], target],
        cwd=bench.root,
        env=bench.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or f"{expect} passed" not in result.stdout:
        sys.exit(f"pytest {target} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return elapsed


def target(bench: Bench, mode: str, one: bool) -> str:
    """The mode's whole file, or only its first test (`one`)."""
    file, body = bench.tests[mode]
    name = body.split("(", 1)[0].removeprefix("def ")
    return f"tests-py/{file}::{name}[0]" if one else f"tests-py/{file}"


def warm_up(bench: Bench) -> None:
    for mode in bench.tests:
        if mode != "plain":
            elapsed = run_pytest(bench, target(bench, mode, one=True), 1)
            print(f"warm-up {mode} (one test): {elapsed:.2f}s")


Times = dict[str, dict[bool, list[float]]]  # mode -> one test? -> wall times (s)


def measure(bench: Bench, tests: int, runs: int) -> Times:
    times: Times = {mode: {False: [], True: []} for mode in bench.tests}
    for _ in range(runs):
        for mode in bench.tests:
            for one in (False, True):
                count = 1 if one else tests
                times[mode][one].append(run_pytest(bench, target(bench, mode, one), count))
    return times


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclasses.dataclass
class Costs:
    per_test: float  # ms: (median of N tests - plain's) / N, issue 14's figure
    first: float  # s: a one-test run over plain's (session set-up, one test, teardown)
    after_first: float  # ms: what each test past the first adds


def costs_of(times: Times, tests: int) -> dict[str, Costs]:
    median = {
        mode: {one: statistics.median(t) for one, t in runs.items()} for mode, runs in times.items()
    }
    plain = median["plain"]
    result = {}
    for mode, runs in median.items():
        if mode == "plain":
            continue
        growth = (runs[False] - runs[True]) - (plain[False] - plain[True])
        result[mode] = Costs(
            per_test=(runs[False] - plain[False]) / tests * 1000,
            first=runs[True] - plain[True],
            after_first=growth / max(tests - 1, 1) * 1000,
        )
    return result


def report(times: Times, tests: int) -> None:
    costs = costs_of(times, tests)
    header = (
        f"{'mode':<20} {f'runs, {tests} tests (s)':<24} {'median':>7} {'per test':>10} "
        f"{'1 test (s)':>10} {'first':>7} {'each next':>10}"
    )
    print("\n" + header)
    print("-" * len(header))
    for mode, runs in times.items():
        shown = " ".join(f"{t:6.2f}" for t in runs[False])
        per_test, first, after = "baseline", "", ""
        if mode in costs:
            cost = costs[mode]
            per_test, first = f"{cost.per_test:7.2f} ms", f"{cost.first:6.2f}s"
            after = f"{cost.after_first:7.2f} ms"
        print(
            f"{mode:<20} {shown:<24} {statistics.median(runs[False]):6.2f}s {per_test:>10} "
            f"{statistics.median(runs[True]):9.2f}s {first:>7} {after:>10}"
        )
    print("\nratios (per test; each next):")
    for over, under in RATIOS:
        if over not in costs or under not in costs:
            continue
        print(
            f"  {over} / {under}: {ratio(costs[over].per_test, costs[under].per_test)}; "
            f"{ratio(costs[over].after_first, costs[under].after_first)}"
        )


def ratio(over: float, under: float) -> str:
    return f"{over / under:.1f}x" if under > 0 else "n/a (<= 0 ms)"


def pytest_postgresql_version() -> str:
    from importlib.metadata import version

    return version("pytest-postgresql")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tests", type=int, default=200, help="tests per pytest run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (median)")
    parser.add_argument(
        "--backend",
        choices=sorted(TESTS),
        default="postgres",
        help="postgres: one local cluster and pytest-postgresql's anchor; sqlite: files only",
    )
    parser.add_argument(
        "--disk",
        action="store_true",
        help="the runtime folder on the temp folder's disk, not where runs put it (RAM if room)",
    )
    options = parser.parse_args()
    if options.backend == "postgres":
        require_pytest_postgresql()
    where = None if options.disk else runtime_root.default_root().parent
    with (
        terminate_as_interrupt(),
        tempfile.TemporaryDirectory(prefix="per-test-bench-", dir=where) as name,
    ):
        tmp = Path(name)
        tmp.chmod(0o755)  # the cluster runs as 'postgres' when we are root
        runtime = tmp / "runtime"
        runtime.mkdir(mode=0o755)
        os.environ["PRISMA_TASKS_RUNTIME_DIR"] = str(runtime)  # this process and every child
        repo = build_repo(tmp / "repo", options.tests, options.backend)
        provisioner = open_cluster(tmp) if options.backend == "postgres" else None
        try:
            if provisioner is None:
                print(f"backend: sqlite, runtime folder {runtime}")
            else:
                print(f"server: {provisioner.provider}, under {tmp}")
                print(f"pytest-postgresql {pytest_postgresql_version()}")
            bench = Bench(repo.root, pytest_env(provisioner), options.backend)
            warm_up(bench)
            print(
                f"machine: {os.cpu_count()} cores; {options.tests} tests per run, "
                f"{options.runs} runs per mode, interleaved; load average before: {load()}"
            )
            times = measure(bench, options.tests, options.runs)
            print(f"load average after: {load()}")
            report(times, options.tests)
        finally:
            if provisioner is not None:
                provisioner.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the cluster and the temp folder are gone
        sys.exit(130)
