"""SQLite: a folder of files per run, and one shared folder of templates (they outlive runs)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

from prisma_tasks.databases import owners
from prisma_tasks.databases.pg_local import ProvisionError
from prisma_tasks.databases.sqlite_files import SqliteFolder


class SqliteFiles:
    kind: ClassVar[str] = "sqlite"
    clones_ahead: ClassVar[bool] = False  # a file copy is as cheap as a pop

    def __init__(self) -> None:
        self.description = ""
        self.server = None
        self.cluster = None
        self.folder: SqliteFolder | None = None
        self.templates: SqliteFolder | None = None

    @property
    def directory(self) -> Path:
        return self._folder().directory

    def open(self, record: owners.OwnerRecord) -> None:
        root = owners.state_root()
        directory = Path(tempfile.mkdtemp(prefix="sqlite-", dir=root))
        record.sqlite_dir = str(directory)
        record.save()
        self.folder = SqliteFolder(directory)
        self.templates = SqliteFolder(root / "sqlite-templates")
        self.description = f"sqlite files in {directory}"

    def _folder(self) -> SqliteFolder:
        if self.folder is None:
            raise ProvisionError("the provisioner is not open")
        return self.folder

    def _templates(self) -> SqliteFolder:
        if self.templates is None:
            raise ProvisionError("the provisioner is not open")
        return self.templates

    def url_for(self, name: str) -> str:
        return self._folder().url_for(name)

    def create(self, name: str) -> str:
        return self._folder().create(name)

    def clone(self, template: str, name: str) -> str:
        templates, folder = self._templates(), self._folder()
        if not templates.exists(template):
            raise ProvisionError(f"no SQLite template {template!r}: build it with template()")
        SqliteFolder.copy(templates.path_for(template), folder.path_for(name))
        return folder.url_for(name)

    def drop(self, name: str) -> None:
        self._folder().drop(name)

    def template_exists(self, name: str) -> bool:
        return self._templates().exists(name)

    def create_template_build(self, name: str) -> str:
        return self._templates().create(name)

    def publish_template(self, building: str, name: str) -> bool:
        return self._templates().rename(building, name)

    def drop_template_build(self, name: str) -> None:
        self._templates().drop(name)

    def shown_url(self, name: str) -> str:
        return self.url_for(name)

    def close(self, keep: bool) -> None:
        if not keep and self.folder is not None:
            shutil.rmtree(self.folder.directory, ignore_errors=True)

    @staticmethod
    def reap(record: owners.OwnerRecord) -> list[str]:
        reaped = []
        if record.sqlite_dir:
            shutil.rmtree(record.sqlite_dir, ignore_errors=True)
            reaped.append(record.sqlite_dir)
            # a template half-built by the dead run (templates outlive runs, builds must not),
            # beside its folder: the record's runtime folder, whichever one is being reaped
            templates = Path(record.sqlite_dir).parent / "sqlite-templates"
            for leftover in templates.glob(f"{record.database_prefix()}*"):
                leftover.unlink(missing_ok=True)
                reaped.append(str(leftover))
        return reaped
