"""Find and run module seeds in dependency order, each module in its own transaction.

A module's seeds live in its folder: `seeds/*.sql` (run in name order) and `seeds/*.py` files
defining `seed(db)`, where db is a Connection. A failing seed rolls back its own
transaction, names the module and file, and leaves the modules before it in place.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.db.connection import Connection
from prisma_tasks.errors import CheckFailed, PrismaTasksError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.dependencies import module_dependencies, seed_order
from prisma_tasks.seeding.snapshot import differences, snapshot

Say = Callable[[str], None]


class SeedFailed(PrismaTasksError):
    pass


@dataclass(frozen=True)
class ModuleSeeds:
    module: str
    files: tuple[Path, ...]


def find_seeds(settings: Settings, modules: Iterable[str]) -> list[ModuleSeeds]:
    result = collect(settings)
    folders = {source.module: settings.root / source.module_dir for source in result.sources}
    found = []
    for module in modules:
        folder = folders[module] / "seeds"
        files = (
            sorted(
                path
                for path in folder.glob("*")
                if path.suffix in (".sql", ".py") and not path.name.startswith("_")
            )
            if folder.is_dir()
            else []
        )
        found.append(ModuleSeeds(module, tuple(files)))
    return found


def planned_order(settings: Settings, selected: Iterable[str] | None = None) -> list[str]:
    result = collect(settings)
    return seed_order(module_dependencies(result, settings.seed_dependencies), selected)


def _run_file(connection: Connection, path: Path) -> None:
    if path.suffix == ".sql":
        connection.execute_script(path.read_text(encoding="utf-8"))
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
    seed(connection)


def run_module(connection: Connection, seeds: ModuleSeeds, root: Path) -> None:
    path = None
    try:
        with connection.transaction():  # one transaction for all of the module's files
            for path in seeds.files:
                _run_file(connection, path)
    except SeedFailed:
        raise
    except Exception as exc:
        relative = path.relative_to(root) if path else "its seeds"
        raise SeedFailed(
            f"seed of module '{seeds.module}' failed in {relative}: "
            f"{type(exc).__name__}: {exc}; its transaction was rolled back, "
            "the modules before it stay seeded"
        ) from exc


def seed_all(
    settings: Settings, url: str, say: Say, modules: Iterable[str] | None = None
) -> list[str]:
    """Seed the selected modules (and their dependencies first); returns the order used."""
    order = planned_order(settings, modules)
    plan = [seeds for seeds in find_seeds(settings, order) if seeds.files]
    if not plan:
        say("no module has seeds")
        return []
    root = settings.root
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # seeds may import their module's own code
    connection = Connection.open(url, root)
    try:
        for index, seeds in enumerate(plan, 1):
            started = time.perf_counter()
            run_module(connection, seeds, root)
            say(
                f"[{index}/{len(plan)}] seeded {seeds.module} ({len(seeds.files)} file(s)) "
                f"in {time.perf_counter() - started:.2f}s"
            )
    finally:
        connection.close()
    return [seeds.module for seeds in plan]


def verify_seeds(
    settings: Settings, url: str, say: Say, modules: Iterable[str] | None = None
) -> None:
    """Seed, snapshot every table, seed each module again: any change names module and table."""
    seeded = seed_all(settings, url, say, modules)
    connection = Connection.open(url, settings.root)
    try:
        reference = snapshot(connection)
        problems = []
        for seeds in find_seeds(settings, seeded):
            try:
                run_module(connection, seeds, settings.root)
            except SeedFailed as failure:
                problems.append(
                    f"module '{seeds.module}' is not idempotent: its second run failed: {failure}"
                )
                continue
            now = snapshot(connection)
            for change in differences(reference, now):
                problems.append(f"module '{seeds.module}' is not idempotent: {change}")
            reference = now
    finally:
        connection.close()
    if problems:
        raise CheckFailed(
            "seeding twice changed the database:\n" + "\n".join(f"  {p}" for p in problems)
        )
    say(f"verified: seeding {len(seeded)} module(s) a second time changed no table")
