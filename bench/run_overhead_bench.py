"""Benchmark what a throwaway database adds to a test run when the schema did not change: `invoke
db.run -- COMMAND` over COMMAND alone, and a pytest run with one `database_url` test over a
plain pytest run, with the cluster cache on and off (on demand, not in CI).

    python bench/run_overhead_bench.py [--runs 5] [--backend postgres|sqlite|both]

Per backend a small monorepo is built in a temp folder as the e2e suite lays one out (tasks.py,
pyproject.toml with the wasm engine, this repo's package.json and node_modules linked; two
modules, identity with User and a Role enum and a SQL seed, orders with Order and a relation
to User), its `init` migration made by `invoke prisma.migrate --name init` on the dev database
(postgres: the local dev cluster, no DATABASE_URL and no PRISMA_TASKS_ADMIN_URL; sqlite: a file
in the repo), and the dev database seeded (`invoke db.seed`). One warm-up
`invoke db.run -- node -e ...` builds the template, so every timed run finds the schema
unchanged (the second and later runs of a developer's day). Then --runs rounds, each running
every mode once (interleaved, so load drifts alike): `invoke db.run -- node --test tests-js/`,
`node --test tests-js/` alone on the seeded dev database, `pytest tests-py/test_db.py` (one test
on the plugin's `database_url`) and `pytest tests-py/test_plain.py` (one test, no database).
Both tests connect with the driver a team's test would use (pg or @libsql/client, psycopg or
sqlite3) and count the seeded users, so each pair does the same work. The "cache off" modes
repeat db.run and the database test with PRISMA_TASKS_CLUSTER_CACHE=0 (every run makes its
cluster anew: the figures before the cluster cache), on PostgreSQL only (SQLite has no cluster).
Each figure is whole-process wall time (time.perf_counter around subprocess.run). Printed per
backend and mode: the runs, the median, and for db.run against "alone" and pytest db against
"pytest plain" the overhead (median - median) and the ratio, with the cores and the load
average before and after: issue 12's db.run overhead and issue 14's "first database_url test
over a plain pytest run". Nothing is asserted on timings; the dev database is stopped at the
end and the temp folder removed (db.run and the plugin remove their own databases).
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

from tests.e2e.conftest import BASES, IDENTITY, ORDERS, bare_monorepo  # noqa: E402

GENERATOR = (
    '\ngenerator client {\n  provider        = "prisma-client-js"\n'
    '  previewFeatures = ["driverAdapters"]\n  output          = "../generated/client"\n}\n'
)
SEED = (
    "INSERT INTO \"User\" (email, role) VALUES ('seeded@example.com', 'ADMIN')\n"
    "ON CONFLICT (email) DO NOTHING;\n"
)
# A team's smallest database test: it reaches DATABASE_URL with a plain driver (not the Prisma
# Client, which in wasm mode needs db.run's hook) and finds the seeded user.
NODE_TEST = """const test = require("node:test");
const assert = require("node:assert");

test("reaches its seeded database", async () => {
  const url = process.env.DATABASE_URL;
  assert.ok(url, "DATABASE_URL is set");
  let count;
  if (url.startsWith("file:")) {
    const { createClient } = require("@libsql/client");
    const client = createClient({ url });
    count = Number((await client.execute('SELECT count(*) AS n FROM "User"')).rows[0].n);
    client.close();
  } else {
    const { Client } = require("pg");
    const client = new Client({ connectionString: url });
    await client.connect();
    count = (await client.query('SELECT count(*)::int AS n FROM "User"')).rows[0].n;
    await client.end();
  }
  assert.strictEqual(count, 1);
});
"""
PYTEST_DB = """import sqlite3

import psycopg


def test_finds_the_seeded_user(database_url):
    if database_url.startswith("file:"):
        connection = sqlite3.connect(database_url[len("file:"):])
        count = connection.execute('SELECT count(*) FROM "User"').fetchone()[0]
        connection.close()
    else:
        with psycopg.connect(database_url) as connection:
            count = connection.execute('SELECT count(*) FROM "User"').fetchone()[0]
    assert count == 1
"""
PYTEST_PLAIN = "def test_plain():\n    assert sum([1, 2]) == 3\n"
WARM_UP = 'console.log("DATABASE_URL set:", Boolean(process.env.DATABASE_URL))'
TEST = ["node", "--test", "tests-js/"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
MODES = {
    # mode: (argv, cluster cache on, whose figure it is compared with)
    "db.run": (["db.run", "--", *TEST], True, "alone"),
    "db.run cache off": (["db.run", "--", *TEST], False, "alone"),
    "alone": (TEST, True, ""),
    "pytest db": ([*PYTEST, "tests-py/test_db.py"], True, "pytest plain"),
    "pytest db cache off": ([*PYTEST, "tests-py/test_db.py"], False, "pytest plain"),
    "pytest plain": ([*PYTEST, "tests-py/test_plain.py"], True, ""),
}


class Bench:
    def __init__(self, backend: str, root: Path) -> None:
        self.backend, self.root = backend, root
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "PRISMA_TASKS_ADMIN_URL", "PRISMA_TASKS_BACKEND")
        }
        if backend == "sqlite":
            self.env["DATABASE_URL"] = f"file:{root / 'dev.db'}"
        repo = bare_monorepo(root, self.env.get("DATABASE_URL", ""))
        repo.write("prisma/base.prisma", BASES[backend] + GENERATOR)
        repo.write("modules/identity/schema/models.prisma", IDENTITY)
        repo.write("modules/identity/seeds/01_users.sql", SEED)
        repo.write("modules/orders/schema/models.prisma", ORDERS)
        repo.write("tests-js/db.test.js", NODE_TEST)
        repo.write("tests-py/test_db.py", PYTEST_DB)
        repo.write("tests-py/test_plain.py", PYTEST_PLAIN)
        (root / ".gitignore").write_text("node_modules\n.prisma-tasks/\ngenerated/\n")
        self.alone_env = dict(self.env)
        self.modes = [m for m in MODES if backend == "postgres" or "cache off" not in m]
        self.times: dict[str, list[float]] = {mode: [] for mode in self.modes}

    def run(self, argv: list[str], env: dict[str, str]) -> tuple[float, str]:
        start = time.perf_counter()
        result = subprocess.run(
            argv,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(
                f"{self.backend}: {' '.join(argv)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return elapsed, result.stdout

    def invoke(self, *args: str) -> tuple[float, str]:
        return self.run([sys.executable, "-m", "invoke", *args], self.env)

    def prepare(self) -> None:
        self.invoke("prisma.migrate", "--name", "init")
        self.invoke("db.seed", "--quiet")
        if self.backend == "postgres":
            url = self.invoke("db.url", "--show-password")[1].strip().splitlines()[-1]
            self.alone_env["DATABASE_URL"] = url
        elapsed, output = self.invoke("db.run", "--", "node", "-e", WARM_UP)
        print(f"{self.backend}: warm-up db.run (builds the template) {elapsed:.2f}s: ", end="")
        print(output.strip().splitlines()[-1])

    def measure(self, mode: str) -> None:
        argv, cache, _ = MODES[mode]
        env = self.alone_env if mode == "alone" else dict(self.env)
        if not cache:
            env["PRISMA_TASKS_CLUSTER_CACHE"] = "0"
        if argv[0] == "db.run":
            argv = [sys.executable, "-m", "invoke", *argv]
        elapsed, output = self.run(argv, env)
        passed = "1 passed" in output if "pytest" in mode else "# pass 1" in output
        if not passed:
            sys.exit(f"{self.backend} {mode}: the test did not pass:\n{output}")
        self.times[mode].append(elapsed)

    def close(self) -> None:
        if self.backend == "postgres":
            subprocess.run(
                [sys.executable, "-m", "invoke", "db.down"],
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(benches: list[Bench]) -> None:
    header = (
        f"{'backend':<9} {'mode':<20} {'runs (s)':<30} {'median':>7} {'over':>13} {'+s':>6} "
        f"{'ratio':>6}"
    )
    print("\n" + header)
    print("-" * len(header))
    for bench in benches:
        for mode in bench.modes:
            times = bench.times[mode]
            median = statistics.median(times)
            anchor = MODES[mode][2]
            versus = ""
            if anchor:
                base = statistics.median(bench.times[anchor])
                versus = f"{anchor:>13} {median - base:5.2f}s {median / base:5.1f}x"
            runs = " ".join(f"{t:5.2f}" for t in times)
            print(f"{bench.backend:<9} {mode:<20} {runs:<30} {median:6.2f}s {versus}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    options = parser.parse_args()
    backends = ["postgres", "sqlite"] if options.backend == "both" else [options.backend]
    with tempfile.TemporaryDirectory(prefix="run-overhead-bench-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # a dev cluster may run as 'postgres' (when we are root)
        benches: list[Bench] = []
        try:
            for backend in backends:
                benches.append(Bench(backend, tmp / backend))
                benches[-1].prepare()
            print(
                f"machine: {os.cpu_count()} cores; {options.runs} runs per mode, interleaved; "
                f"load average before: {load()}"
            )
            for _ in range(options.runs):
                for bench in benches:
                    for mode in bench.modes:
                        bench.measure(mode)
            print(f"load average after: {load()}")
            report(benches)
        finally:
            for bench in benches:
                bench.close()


if __name__ == "__main__":
    main()
