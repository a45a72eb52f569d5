"""What a test template database is built from, and its content hash.

The hash covers the collected schema (base + module files), the migration files, the module
seed sources and the suite's version: change any of them and the next run builds a new
template; change none and a kept server's template is reused without migrating.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from prisma_tasks import __version__
from prisma_tasks.config import Settings


def template_inputs(settings: Settings) -> list[Path]:
    """Everything a template is built from: base.prisma, module schemas, migrations, and each
    module's seeds and Python code (seeds import their module's tables.py)."""
    from prisma_tasks.schema.collect import collect

    paths: set[Path] = {settings.base_path}
    result = collect(settings)
    paths.update(source.path for source in result.sources)
    if settings.migrations_path.is_dir():
        paths.update(settings.migrations_path.rglob("*"))
    # Prisma's own seed: package.json names the command (the root's, or that of the workspace
    # package running the CLI), and the files the command names, relative to that package
    from prisma_tasks.seeding.node_seeds import prisma_seed

    paths.add(settings.root / "package.json")
    seed = prisma_seed(settings)
    if seed is not None:
        paths.add(seed.folder / "package.json")
        paths.update(seed.folder / word for word in seed.command.split())
    for module_dir in {source.module_dir for source in result.sources}:
        folder = settings.root / module_dir
        paths.update(folder.glob("seeds/**/*"))
        paths.update(folder.glob("*.py"))
    return sorted(path for path in paths if path.is_file() and "__pycache__" not in path.parts)


def content_hash(settings: Settings, paths: Iterable[Path] | None = None, extra: str = "") -> str:
    digest = hashlib.sha256(f"prisma-tasks {__version__}|{extra}".encode())
    for path in template_inputs(settings) if paths is None else paths:
        digest.update(b"\0" + str(path.relative_to(settings.root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def deploy_migrations(settings: Settings, seed: bool = True):
    """A prepare step: `prisma migrate deploy` on the template database, then the module seeds."""

    def prepare(url: str) -> None:
        from prisma_tasks.prisma_cli.runner import Prisma
        from prisma_tasks.seeding import plan_seeds, run_seeds

        plan = plan_seeds(settings) if seed else []  # a dependency cycle stops before deploying
        Prisma.for_settings(settings).run("migrate", "deploy", database_url=url, echo=False)
        if seed:  # also with no module seeds: package.json's prisma.seed runs after them
            run_seeds(settings, url, lambda message: None, plan)

    return prepare


Prepare = Callable[[str], None]


def template_recipe(
    settings: Settings, backend: str, seed: bool = True
) -> tuple[str, Prepare | None]:
    """(label, prepare step) of the template for a backend: the migrations and seeds when the
    datasource's provider fits the backend and a history exists; else an empty database.

    The label is part of the content hash, so every user of a recipe (the pytest plugin,
    `invoke db.run`) shares one template per content.
    """
    from prisma_tasks.prisma_cli.runner import datasource_provider

    try:
        provider = datasource_provider(settings.base_path)
    except Exception:
        return "empty", None
    fits = (provider == "sqlite") == (backend == "sqlite")
    if not fits or not settings.migrations_path.is_dir():
        return "empty", None
    label = "prisma-migrate-deploy+seeds" if seed else "prisma-migrate-deploy"
    return label, deploy_migrations(settings, seed=seed)


def template_hash(settings: Settings, label: str, backend: str) -> str:
    return content_hash(settings, extra=f"{label}|{backend}")
