"""Find and run module seeds in dependency order, each module in its own transaction.

A module's seeds live in its folder: `seeds/*.sql` (run in name order) and `seeds/*.py` files
defining `seed(db)`, where db is a Connection. Each module's seeds run in one transaction
that they cannot end (seeding.guard). A failing seed rolls back its own transaction, names the
module and file, and leaves the modules before it in place. The plan (which modules, in which
order: seeding.graph) is made before anything connects, so a dependency cycle is reported
before a database is touched.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.db.connection import Connection
from prisma_tasks.errors import CheckFailed, PrismaTasksError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.dependencies import SeedDependencies
from prisma_tasks.seeding.guard import SeedDatabase, SeedTransactions, TransactionControl
from prisma_tasks.seeding.snapshot import differences, snapshot

Say = Callable[[str], None]


class SeedFailed(PrismaTasksError):
    pass


@dataclass(frozen=True)
class ModuleSeeds:
    module: str
    files: tuple[Path, ...]


def plan_seeds(settings: Settings, modules: Iterable[str] | None = None) -> list[ModuleSeeds]:
    """The modules to seed, in order, with their files: the selected modules (default: all)
    and the modules they depend on, as far as they have seeds. Raises DependencyCycle."""
    result = collect(settings)
    files = {
        source.module: _seed_files(settings.root / source.module_dir / "seeds")
        for source in result.sources
    }
    seeded = {module: paths for module, paths in files.items() if paths}
    if not seeded and modules is None:
        return []
    dependencies = SeedDependencies.from_collect(result, settings.seed_dependencies)
    return [
        ModuleSeeds(module, seeded[module]) for module in dependencies.order(modules, seeded=seeded)
    ]


def _seed_files(folder: Path) -> tuple[Path, ...]:
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            path
            for path in folder.glob("*")
            if path.suffix in (".sql", ".py") and not path.name.startswith("_")
        )
    )


def _run_file(db: SeedDatabase, path: Path) -> None:
    if path.suffix == ".sql":
        db.execute_script(path.read_text(encoding="utf-8"))
        return
    name = f"_prisma_tasks_seed_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SeedFailed(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    seed = getattr(module, "seed", None)
    if not callable(seed):
        raise SeedFailed(f"{path}: defines no seed(db) function")
    seed(db)


def run_module(transactions: SeedTransactions, seeds: ModuleSeeds, root: Path) -> None:
    path = None
    try:
        with transactions.module():  # one transaction for all of the module's files
            for path in seeds.files:
                transactions.run(lambda db, path=path: _run_file(db, path))
    except SeedFailed:
        raise
    except TransactionControl as refused:
        outcome = (
            f"nothing of module '{seeds.module}' was written (its transaction was rolled back)"
            if refused.rolled_back
            else "the rest of its transaction was rolled back"
        )
        raise SeedFailed(
            f"seed of module '{seeds.module}' failed in {_shown(path, root)}: {refused}; "
            f"{outcome}, the modules before it stay seeded"
        ) from refused
    except Exception as exc:
        raise SeedFailed(
            f"seed of module '{seeds.module}' failed in {_shown(path, root)}: "
            f"{type(exc).__name__}: {exc}; its transaction was rolled back, "
            "the modules before it stay seeded"
        ) from exc


def _shown(path: Path | None, root: Path) -> str:
    return str(path.relative_to(root)) if path else "its seeds"


@contextmanager
def _seeding(url: str, root: Path) -> Iterator[SeedTransactions]:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # seeds may import their module's own code
    connection = Connection.open(url, root)
    try:
        yield SeedTransactions.on(connection)
    finally:
        connection.close()


def _run_plan(
    transactions: SeedTransactions, plan: list[ModuleSeeds], root: Path, say: Say
) -> None:
    for index, seeds in enumerate(plan, 1):
        started = time.perf_counter()
        run_module(transactions, seeds, root)
        say(
            f"[{index}/{len(plan)}] seeded {seeds.module} ({len(seeds.files)} file(s)) "
            f"in {time.perf_counter() - started:.2f}s"
        )


def run_seeds(root: Path, url: str, say: Say, plan: list[ModuleSeeds]) -> list[str]:
    """Run a plan from plan_seeds; returns the modules seeded, in order."""
    if not plan:
        say("no module has seeds")
        return []
    with _seeding(url, root) as transactions:
        _run_plan(transactions, plan, root, say)
    return [seeds.module for seeds in plan]


def seed_all(
    settings: Settings, url: str, say: Say, modules: Iterable[str] | None = None
) -> list[str]:
    """Seed the selected modules (and their dependencies first); returns the order used."""
    return run_seeds(settings.root, url, say, plan_seeds(settings, modules))


def verify_seeds(
    settings: Settings, url: str, say: Say, modules: Iterable[str] | None = None
) -> None:
    """Seed, snapshot every table, seed each module again: any change names module and table."""
    plan = plan_seeds(settings, modules)
    problems: list[str] = []
    if not plan:
        say("no module has seeds")
    else:
        with _seeding(url, settings.root) as transactions:
            _run_plan(transactions, plan, settings.root, say)
            problems = _seeded_again(transactions, plan, settings.root)
    if problems:
        raise CheckFailed(
            "seeding twice changed the database:\n" + "\n".join(f"  {p}" for p in problems)
        )
    say(f"verified: seeding {len(plan)} module(s) a second time changed no table")


def _seeded_again(transactions: SeedTransactions, plan: list[ModuleSeeds], root: Path) -> list[str]:
    """Seed each module of the plan a second time; what that changed, per module and table."""
    problems = []
    reference = snapshot(transactions.connection)
    for seeds in plan:
        try:
            run_module(transactions, seeds, root)
        except SeedFailed as failure:
            problems.append(
                f"module '{seeds.module}' is not idempotent: its second run failed: {failure}"
            )
            continue
        now = snapshot(transactions.connection)
        problems += [
            f"module '{seeds.module}' is not idempotent: {change}"
            for change in differences(reference, now)
        ]
        reference = now
    return problems
