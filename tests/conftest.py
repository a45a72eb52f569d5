"""Shared helpers: build small monorepo trees on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    """This repository's own settings, collecting into tmp_path (the repository is not written)."""
    import dataclasses

    from prisma_tasks.config import load_settings

    return dataclasses.replace(
        load_settings(Path(__file__).resolve().parents[1], environ={}),
        collected_dir=str(tmp_path / "schemas"),
        state_dir=str(tmp_path / "state"),
    )
