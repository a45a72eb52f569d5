"""SQLite databases as files in a folder: create, clone (a consistent copy), drop."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def remove_database_file(path: Path) -> None:
    """A SQLite database and the journal, WAL and shared-memory files beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class SqliteFolder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, name: str) -> Path:
        return self.directory / f"{name}.db"

    def url_for(self, name: str) -> str:
        return f"file:{self.path_for(name)}"

    def create(self, name: str, template: str | None = None) -> str:
        target = self.path_for(name)
        if template is None:
            sqlite3.connect(target).close()
        else:
            self.copy(self.path_for(template), target)
        return self.url_for(name)

    @staticmethod
    def copy(source: Path, target: Path) -> None:
        # The backup API copies a consistent snapshot even if the template has a WAL beside it.
        staging = target.with_name(target.name + f".tmp-{os.getpid()}")
        with sqlite3.connect(source) as src, sqlite3.connect(staging) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        os.replace(staging, target)

    def drop(self, name: str) -> None:
        remove_database_file(self.path_for(name))

    def rename(self, old: str, new: str) -> bool:
        if self.path_for(new).exists():
            return False
        os.replace(self.path_for(old), self.path_for(new))
        return True

    def exists(self, name: str) -> bool:
        return self.path_for(name).exists()

    def names(self, prefix: str) -> list[str]:
        return sorted(p.stem for p in self.directory.glob(f"{prefix}*.db"))
