"""Benchmark the overhead of `invoke db.run -- COMMAND` over COMMAND alone (on demand, not in CI).

    python bench/run_overhead_bench.py [--runs 5] [--backend postgres|sqlite|both]

Per backend a small monorepo is built in a temp folder as the e2e suite lays one out (tasks.py,
pyproject.toml with the wasm engine, this repo's package.json and node_modules linked; two
modules, identity with User and a Role enum and a SQL seed, orders with Order and a relation
to User), its `init` migration made by `invoke prisma.migrate --name init` on the dev database
(postgres: the local dev cluster, no DATABASE_URL and no PRISMA_TASKS_ADMIN_URL; sqlite: a file
in the repo), and the dev database seeded (`invoke db.seed`). One warm-up
`invoke db.run -- node -e ...` builds the template, so every timed run finds the schema
unchanged (the second and later runs of a developer's day). Then, alternating, --runs runs of
`invoke db.run -- node --test tests-js/` and of `node --test tests-js/` alone on the seeded dev
database. The test connects with the driver a team's test would use (pg, @libsql/client) and
counts the seeded users, so both commands do the same work. Each figure is whole-process wall
time (time.perf_counter around subprocess.run). Printed, in one table per backend: the runs,
the medians, the overhead (median db.run - median alone) and the ratio (db.run / alone), with
the cores and the load average before and after. Nothing is asserted on timings; the dev
database is stopped at the end and the temp folder removed (db.run removes its own databases).
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
WARM_UP = 'console.log("DATABASE_URL set:", Boolean(process.env.DATABASE_URL))'
TEST = ["node", "--test", "tests-js/"]


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
        (root / ".gitignore").write_text("node_modules\n.prisma-tasks/\ngenerated/\n")
        self.alone_env = dict(self.env)
        self.times: dict[str, list[float]] = {"db.run": [], "alone": []}

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
        if mode == "db.run":
            elapsed, output = self.invoke("db.run", "--", *TEST)
        else:
            elapsed, output = self.run(TEST, self.alone_env)
        if "# pass 1" not in output or "# fail 0" not in output:
            sys.exit(f"{self.backend} {mode}: the node test did not pass:\n{output}")
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
    runs = max(len(b.times["alone"]) for b in benches)
    width = max(len("db.run runs (s)"), 6 * runs - 1)
    header = (
        f"{'backend':<9} {'db.run runs (s)':<{width}}  {'alone runs (s)':<{width}}  "
        f"{'db.run med':>10} {'alone med':>9} {'overhead':>8} {'ratio':>6}"
    )
    print("\n" + header)
    print("-" * len(header))
    for bench in benches:
        wrapped, alone = bench.times["db.run"], bench.times["alone"]
        run_median, alone_median = statistics.median(wrapped), statistics.median(alone)
        print(
            f"{bench.backend:<9} {' '.join(f'{t:5.2f}' for t in wrapped):<{width}}  "
            f"{' '.join(f'{t:5.2f}' for t in alone):<{width}}  "
            f"{run_median:9.2f}s {alone_median:8.2f}s {run_median - alone_median:7.2f}s "
            f"{run_median / alone_median:5.1f}x"
        )


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
                f"machine: {os.cpu_count()} cores; {options.runs} runs per mode, alternating; "
                f"load average before: {load()}"
            )
            for _ in range(options.runs):
                for bench in benches:
                    bench.measure("db.run")
                    bench.measure("alone")
            print(f"load average after: {load()}")
            report(benches)
        finally:
            for bench in benches:
                bench.close()


if __name__ == "__main__":
    main()
