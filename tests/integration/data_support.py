"""Helpers for the data-rule tests (unit of work, outbox, relay, sagas).

- `connect(url)`: a Connection closed afterwards.
- `sqlite_reference_url(...)`: a copy of the reference schema migrated onto SQLite by the real
  Prisma CLI (`invoke prisma.migrate` in a temporary monorepo; built once per test run).
- `Child`: a `python -m tests.integration.data_children ...` process that reports READY and
  can be SIGKILLed at any moment; `stop_all` kills and reaps whatever a test started.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prisma_tasks.db.connection import Connection
from tests.e2e.conftest import BASES, GENERATOR

REPO = Path(__file__).resolve().parents[2]
MODULES = ("identity", "catalog", "orders", "billing", "platform")
TENANT = "acme"


@contextlib.contextmanager
def connect(url: str) -> Iterator[Connection]:
    db = Connection.open(url)
    try:
        yield db
    finally:
        db.close()


def count(db: Connection, statement: str, params: list[object] | None = None) -> int:
    return int(db.execute(statement, params or [])[0][0])


# -- the reference schema on SQLite, migrated by the real Prisma CLI --------------------------
_sqlite_templates: dict[str, Path] = {}

SQLITE_BASE = BASES["sqlite"] + GENERATOR


def sqlite_reference_url(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    """A fresh SQLite file with every reference module's tables (no seed rows)."""
    template = _sqlite_templates.get("reference")
    if template is None:
        template = _build_sqlite_reference(tmp_path_factory.mktemp("sqlite-reference"))
        _sqlite_templates["reference"] = template
    copy = tmp_path / "reference.db"
    shutil.copyfile(template, copy)
    return f"file:{copy}"


def _build_sqlite_reference(root: Path) -> Path:
    if not (REPO / "node_modules" / ".bin" / "prisma").exists():
        pytest.fail("the pinned Prisma CLI is not installed: run `invoke prisma.install` (npm ci)")
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'sqlite-reference'\nversion = '0'\n\n"
        "[tool.prisma-tasks]\nengine = 'wasm'\n"
    )
    for name in ("tasks.py", "package.json", "package-lock.json"):
        shutil.copyfile(REPO / name, root / name)
    os.symlink(REPO / "node_modules", root / "node_modules")
    (root / "prisma").mkdir()
    (root / "prisma" / "base.prisma").write_text(SQLITE_BASE)
    for module in MODULES:
        shutil.copytree(REPO / "modules" / module / "schema", root / "modules" / module / "schema")
    database = root / "reference.db"
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "prisma.migrate", "--name", "init"],
        cwd=root,
        env={**os.environ, "DATABASE_URL": f"file:{database}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 or not database.exists():
        pytest.fail(f"prisma.migrate on SQLite failed:\n{result.stdout}\n{result.stderr}")
    return database


@dataclass(frozen=True)
class Shop:
    """A customer and products of the test's own, in tenant `acme`."""

    customer: int
    products: dict[str, int]


def make_shop(db: Connection, stock: dict[str, tuple[int, int]]) -> Shop:
    """Create a customer and products (name -> (price in cents, stock)) for one test."""
    token = time.time_ns()
    customer = db.insert(
        "User", {"tenantId": TENANT, "email": f"buyer-{token}@acme.test", "name": "Buyer"}
    )["id"]
    products = {
        sku: db.insert(
            "Product",
            {
                "tenantId": TENANT,
                "sku": f"{sku}-{token}",
                "name": sku.title(),
                "priceCents": price,
                "stock": units,
            },
        )["id"]
        for sku, (price, units) in stock.items()
    }
    return Shop(customer, products)


# -- child processes that can die at any moment --------------------------------------------
@dataclass
class Child:
    process: subprocess.Popen[str]
    stderr: Path

    def wait_ready(self, timeout: float = 30) -> None:
        line = self.read_line(timeout)
        if line.strip() != "READY":
            self.process.wait(timeout=30)
            pytest.fail(f"child failed ({line!r}): {self.stderr.read_text()}")

    def read_line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                pytest.fail(f"child silent for {timeout}s: {self.stderr.read_text()}")
        return self.process.stdout.readline()

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def kill(self) -> bool:
        """SIGKILL; True when the child was still running (killed, not already finished)."""
        running = self.process.poll() is None
        if running:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        return running

    def finish(self, timeout: float = 60) -> str:
        """Wait for a normal exit; returns the rest of stdout."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"child did not finish in {timeout}s: {self.stderr.read_text()}")
        if self.process.returncode != 0:
            pytest.fail(f"child exited {self.process.returncode}: {self.stderr.read_text()}")
        return out


class Children:
    """Starts children for one test; `stop_all` kills and reaps every one still running."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Child] = []

    def start(self, *args: str) -> Child:
        stderr = self.folder / f"child-{len(self.started)}.err"
        with open(stderr, "w", encoding="utf-8") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.data_children", *args],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        child = Child(process, stderr)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.started:
            if child.process.poll() is None:
                child.kill()
            for stream in (child.process.stdin, child.process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()


@contextlib.contextmanager
def children_in(folder: Path) -> Iterator[Children]:
    """For a fixture: `with children_in(tmp_path) as started: yield started`."""
    started = Children(folder)
    try:
        yield started
    finally:
        started.stop_all()


def poll_until(predicate: Callable[[], bool], timeout: float, every: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
