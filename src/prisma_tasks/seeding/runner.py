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
from prisma_tasks.errors import CheckFailed, ConfigError, PrismaTasksError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.dependencies import SeedDependencies
from prisma_tasks.seeding.guard import SeedDatabase, SeedTransactions, TransactionControl
from prisma_tasks.seeding.node_seeds import (
    NODE_SEED_SUFFIXES,
    NodeSeedFailed,
    is_node_seed,
    run_node_seeds,
    run_prisma_seed,
)
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
    for paths in seeded.values():
        _one_runtime(settings.root, paths)
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
            if path.suffix in (".sql", ".py", *NODE_SEED_SUFFIXES) and not path.name.startswith("_")
        )
    )


def _one_runtime(root: Path, paths: tuple[Path, ...]) -> None:
    """A module's seeds share one transaction, which a Node process and this one cannot."""
    node = [path for path in paths if is_node_seed(path)]
    if node and len(node) != len(paths):
        python = [path for path in paths if not is_node_seed(path)]
        raise ConfigError(
            f"{paths[0].parent.relative_to(root)}: mixes SQL/Python seeds "
            f"({', '.join(p.name for p in python)}) with JS/TS seeds "
            f"({', '.join(p.name for p in node)}); a module's seeds run in one transaction, "
            "and a Node process cannot share this one's: keep the module's seeds in one language"
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


def run_module(
    transactions: SeedTransactions, seeds: ModuleSeeds, settings: Settings, url: str
) -> None:
    root = settings.root
    if seeds.files and is_node_seed(seeds.files[0]):
        _run_node_module(seeds, settings, url)
        return
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


def _run_node_module(seeds: ModuleSeeds, settings: Settings, url: str) -> None:
    try:
        run_node_seeds(settings, url, list(seeds.files))
    except NodeSeedFailed as failed:
        where = _shown(Path(failed.file), settings.root) if failed.file else "its seeds"
        raise SeedFailed(
            f"seed of module '{seeds.module}' failed in {where}: {failed.error}; its "
            "transaction was rolled back, the modules before it stay seeded"
        ) from failed


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
    transactions: SeedTransactions, plan: list[ModuleSeeds], settings: Settings, url: str, say: Say
) -> None:
    for index, seeds in enumerate(plan, 1):
        started = time.perf_counter()
        run_module(transactions, seeds, settings, url)
        say(
            f"[{index}/{len(plan)}] seeded {seeds.module} ({len(seeds.files)} file(s)) "
            f"in {time.perf_counter() - started:.2f}s"
        )


def run_seeds(settings: Settings, url: str, say: Say, plan: list[ModuleSeeds]) -> list[str]:
    """Run a plan from plan_seeds, then Prisma's own `prisma db seed` when package.json has
    one; returns the modules seeded, in order."""
    if not plan:
        say("no module has seeds")
    else:
        with _seeding(url, settings.root) as transactions:
            _run_plan(transactions, plan, settings, url, say)
    _prisma_seed(settings, url, say)
    return [seeds.module for seeds in plan]


def _prisma_seed(settings: Settings, url: str, say: Say) -> None:
    try:
        seed = run_prisma_seed(settings, url)
        if seed is not None:
            say(f"ran `prisma db seed` ({seed} prisma.seed)")
    except NodeSeedFailed as failed:
        raise SeedFailed(f"{failed.file}: {failed.error}; the module seeds stay") from failed


def seed_all(
    settings: Settings, url: str, say: Say, modules: Iterable[str] | None = None
) -> list[str]:
    """Seed the selected modules (and their dependencies first); returns the order used."""
    return run_seeds(settings, url, say, plan_seeds(settings, modules))


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
            _run_plan(transactions, plan, settings, url, say)
            problems = _seeded_again(transactions, plan, settings, url)
    if problems:
        raise CheckFailed(
            "seeding twice changed the database:\n" + "\n".join(f"  {p}" for p in problems)
        )
    say(f"verified: seeding {len(plan)} module(s) a second time changed no table")


def _seeded_again(
    transactions: SeedTransactions, plan: list[ModuleSeeds], settings: Settings, url: str
) -> list[str]:
    """Seed each module of the plan a second time; what that changed, per module and table."""
    problems = []
    reference = snapshot(transactions.connection)
    for seeds in plan:
        try:
            run_module(transactions, seeds, settings, url)
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
