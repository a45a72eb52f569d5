"""The gate's Prisma work in one CLI start (wasm mode): the drift diff, with the format check
loaded into the same Node process (node/format_check.mjs), started while the throwaway
database it diffs on is still being made (the adapter waits for its URL on stdin).

Native mode keeps its two commands (`format --check`, then `migrate diff`): see gate.py.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from prisma_tasks.prisma_cli import migrations
from prisma_tasks.prisma_cli.runner import Prisma, Started, placeholder_url

HANDED_URL = {"PRISMA_TASKS_URL_FROM_STDIN": "1"}
# The handed database is an empty clone made for this diff: the history is applied to it, not
# to a scratch database the adapter would create beside it (templates/common.cjs).
DIFF_ON_HANDED = {"PRISMA_TASKS_DIFF_ON_HANDED": "1"}


def schema_files(prisma: Prisma) -> list[Path]:
    """Every *.prisma below the schema folder, as `prisma format` reads them (links followed)."""
    folder = prisma.settings.schema_folder
    return sorted(path for path in folder.rglob("*.prisma") if path.is_file())


class DriftAndFormat:
    """`migrate diff` from the history to the schema plus `format --check`, one Node process."""

    def __init__(self, prisma: Prisma) -> None:
        self.prisma = prisma
        self.folder = Path(tempfile.mkdtemp(prefix="prisma-gate-"))
        self.output = self.folder / "diff.sql"
        self.report = self.folder / "format.json"
        request = self.folder / "format-request.json"
        files = [str(path) for path in schema_files(prisma)]
        request.write_text(json.dumps({"files": files, "report": str(self.report)}))
        preload = f"--import={migrations.node_module('format_check.mjs').as_uri()}"
        node_options = " ".join(filter(None, [prisma.environ.get("NODE_OPTIONS"), preload]))
        extra_env = {
            **migrations.DIFF_VIA_DEPLOY,
            **HANDED_URL,
            **DIFF_ON_HANDED,
            "PRISMA_TASKS_FORMAT_CHECK": str(request),
            "NODE_OPTIONS": node_options,
        }
        migrations.ensure_lock(prisma)
        args = migrations.diff_arguments(prisma, self.output, None)
        # A placeholder: the adapter connects only to the URL it is handed (never a directUrl).
        placeholder = placeholder_url(prisma.provider)
        try:
            self.started: Started | None = prisma.start(
                *args, database_url=placeholder, extra_env=extra_env
            )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def finish(self, database_url: str) -> migrations.PendingChange:
        """Hand it the database and wait: the pending change, or PrismaFailed."""
        assert self.started is not None
        self.started.connected_url = database_url
        sweep = self.prisma.provider == "postgresql"
        if sweep:
            from prisma_tasks.databases import shadows

            shadows.reap_at(database_url)
        try:
            self.started.send(database_url)
            result = self.started.finish(check=False, echo=False)
        finally:
            self.started = None
            if sweep:
                shadows.reap_at(database_url)
        return migrations.diff_result(self.prisma, result, self.output)

    def unformatted(self) -> list[str] | None:
        """The schema files that are not formatted (as the user knows them: module files), or
        None when the check did not run in the process (then run `prisma format --check`)."""
        try:
            report = json.loads(self.report.read_text())
        except (OSError, ValueError):
            return None
        if "unformatted" not in report:
            return None
        return [self._shown(Path(path)) for path in report["unformatted"]]

    def _shown(self, path: Path) -> str:
        root = self.prisma.settings.root
        real = Path(os.path.realpath(path))
        shown = real.relative_to(root).as_posix() if real.is_relative_to(root) else str(real)
        return self.prisma.map_copies(shown)

    def close(self) -> None:
        if self.started is not None:
            self.started.stop()
            self.started = None
        shutil.rmtree(self.folder, ignore_errors=True)
