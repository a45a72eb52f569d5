"""Find the Prisma CLI the repository pins, and install it on request (never globally).

The CLI belongs to the package whose package.json depends on `prisma`: the repository root, or
a workspace package (`packages/db`) found by `workspaces`. It is looked up as Node would from
that package: its own node_modules, then each folder above it up to the root (npm and yarn
classic hoist to the root, pnpm links into the package).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.prisma_cli.workspaces import (
    PackageManager,
    prisma_package,
    read_package_json,
    yarn_is_berry,
)
from prisma_tasks.prisma_cli.workspaces import package_manager as detect_manager


class PrismaMissing(PrismaTasksError):
    pass


@dataclass(frozen=True)
class PrismaInstall:
    command: tuple[str, ...]  # how to run the CLI
    version: str | None
    package_root: Path | None  # node_modules/prisma, when installed locally
    package_dir: Path | None = None  # the folder whose package.json depends on prisma


def repository_manager(root: Path) -> PackageManager:
    if read_package_json(root) is None:
        raise PrismaMissing(
            f"{root}: no package.json pins the Prisma CLI; add one with "
            '"prisma": "6.7.0" and "@prisma/client": "6.7.0" (see README) and commit its lockfile'
        )
    return detect_manager(root)


def node_modules_up(start: Path, root: Path) -> list[Path]:
    """The node_modules folders Node searches from `start`, up to (and with) the root's."""
    folders = []
    for folder in (start, *start.parents):
        folders.append(folder / "node_modules")
        if folder == root or not folder.is_relative_to(root):
            break
    return folders


def find_package(name: str, start: Path, root: Path) -> Path | None:
    """`node_modules/<name>` as Node resolves it from `start` (a folder), or None."""
    for folder in node_modules_up(start, root):
        if (folder / name / "package.json").is_file():
            return folder / name
    return None


def package_dir(settings: Settings) -> Path:
    return prisma_package(settings.root, settings.prisma_package or None, settings.source)


def locate(settings: Settings) -> PrismaInstall:
    owner = package_dir(settings)
    if settings.prisma_command:
        return PrismaInstall(settings.prisma_command, None, None, owner)
    package = find_package("prisma", owner, settings.root)
    binary = package.parent / ".bin" / "prisma" if package else None
    if package is None or binary is None or not binary.exists():
        raise PrismaMissing(_missing(settings, owner))
    version = None
    with contextlib.suppress(OSError, ValueError, KeyError):
        version = json.loads((package / "package.json").read_text())["version"]
    return PrismaInstall((str(binary),), version, package, owner)


def _missing(settings: Settings, owner: Path) -> str:
    root = settings.root
    if (root / ".pnp.cjs").is_file():
        return pnp_message(root)
    manager = repository_manager(root)
    where = owner / "node_modules" if owner == root else f"{owner / 'node_modules'} (or above)"
    return (
        f"the Prisma CLI is not installed in {where}; run `invoke prisma.install` "
        f"(it runs `{' '.join(manager.install_command())}` with {manager.label})"
    )


def pnp_message(root: Path) -> str:
    # Checked with yarn 4.18 and prisma 6.7: validate runs, but generate cannot resolve
    # @prisma/client (its bundled resolver reads node_modules on disk), output set or not.
    return (
        f"this repository uses Yarn Plug'n'Play ({root / '.pnp.cjs'}: no node_modules), which "
        "Prisma 6.7 cannot work with: `prisma generate` finds @prisma/client only in a "
        "node_modules folder on disk (with or without a generator output). Add "
        f"`nodeLinker: node-modules` to {root / '.yarnrc.yml'} and run `invoke prisma.install`"
    )


def install(settings: Settings) -> tuple[PackageManager, tuple[str, ...]]:
    """Install the pinned packages with the repository's own package manager, at its root
    (where workspaces are installed from); the manager and the command it ran."""
    manager = repository_manager(settings.root)
    if shutil.which(manager.name) is None:
        raise PrismaMissing(
            f"{manager.name} is not on PATH (the repository's package manager, from "
            f"{manager.why}); install Node.js (20+) with {manager.name}"
        )
    if manager.name == "yarn" and manager.why == "yarn.lock" and not manager.berry:
        manager = _yarn_on_path(settings.root, manager)
    command = manager.install_command()
    result = subprocess.run(command, cwd=settings.root)
    if result.returncode != 0:
        raise PrismaTasksError(f"`{' '.join(command)}` failed with exit code {result.returncode}")
    return manager, command


def _yarn_on_path(root: Path, manager: PackageManager) -> PackageManager:
    """Nothing in the repository said berry: ask the yarn that will run."""
    try:
        version = subprocess.run(
            ["yarn", "--version"], cwd=root, capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return manager
    if not yarn_is_berry(version):
        return manager
    return PackageManager("yarn", True, manager.lockfile, f"`yarn --version` {version.strip()}")
