"""Find the Prisma CLI the repository pins, and install it on request (never globally)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.errors import PrismaTasksError

# lockfile -> (package manager, install command that honours the lockfile)
_LOCKFILES = (
    ("package-lock.json", "npm", ("npm", "ci", "--no-audit", "--no-fund")),
    ("pnpm-lock.yaml", "pnpm", ("pnpm", "install", "--frozen-lockfile")),
    ("yarn.lock", "yarn", ("yarn", "install", "--frozen-lockfile")),
)


class PrismaMissing(PrismaTasksError):
    pass


@dataclass(frozen=True)
class PrismaInstall:
    command: tuple[str, ...]  # how to run the CLI
    version: str | None
    package_root: Path | None  # node_modules/prisma, when installed locally


def package_manager(root: Path) -> tuple[str, tuple[str, ...]]:
    for lockfile, manager, install in _LOCKFILES:
        if (root / lockfile).is_file():
            return manager, install
    if (root / "package.json").is_file():
        return "npm", ("npm", "install", "--no-audit", "--no-fund")
    raise PrismaMissing(
        f"{root}: no package.json pins the Prisma CLI; add one with "
        '"prisma": "6.7.0" and "@prisma/client": "6.7.0" (see README) and commit its lockfile'
    )


def locate(settings: Settings) -> PrismaInstall:
    if settings.prisma_command:
        return PrismaInstall(settings.prisma_command, None, None)
    package = settings.root / "node_modules" / "prisma"
    binary = settings.root / "node_modules" / ".bin" / "prisma"
    if not binary.exists():
        manager, install = package_manager(settings.root)
        raise PrismaMissing(
            f"the Prisma CLI is not installed in {settings.root / 'node_modules'}; run "
            f"`invoke prisma.install` (it runs `{' '.join(install)}` with {manager})"
        )
    version = None
    with contextlib.suppress(OSError, ValueError, KeyError):
        version = json.loads((package / "package.json").read_text())["version"]
    return PrismaInstall((str(binary),), version, package)


def install(settings: Settings) -> tuple[str, ...]:
    """Install the pinned packages with the repository's own package manager."""
    manager, command = package_manager(settings.root)
    if shutil.which(command[0]) is None:
        raise PrismaMissing(f"{manager} is not on PATH; install Node.js (20+) with {manager}")
    result = subprocess.run(command, cwd=settings.root)
    if result.returncode != 0:
        raise PrismaTasksError(f"`{' '.join(command)}` failed with exit code {result.returncode}")
    return command
