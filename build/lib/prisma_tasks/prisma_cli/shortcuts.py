"""Skip Prisma CLI calls whose answer is already known (each call costs about a second).

- The diff from the migration history to the schema depends only on the schema files, the
  migration files and the Prisma version: after a diff came out empty, the same inputs give
  the same answer, so `prisma.migrate` does not ask again (`prisma.diff` and the gate always do).
- `migrate deploy` has nothing to do when every migration folder is recorded as finished in
  the database's `_prisma_migrations` table; that is one SQL query, not a Node process.
"""

from __future__ import annotations

import hashlib

from prisma_tasks.prisma_cli.history_lock import on_disk
from prisma_tasks.prisma_cli.migrations import generate_inputs_hash
from prisma_tasks.prisma_cli.runner import Prisma


def _diff_inputs(prisma: Prisma) -> str:
    digest = hashlib.sha256(generate_inputs_hash(prisma).encode())
    for name, checksum in on_disk(prisma.settings.migrations_path).items():
        digest.update(f"{name}:{checksum}\n".encode())
    return digest.hexdigest()


def _stamp(prisma: Prisma):
    return prisma.settings.state_path / "diff-clean.sha256"


def known_clean(prisma: Prisma) -> bool:
    stamp = _stamp(prisma)
    return stamp.is_file() and stamp.read_text().strip() == _diff_inputs(prisma)


def remember_clean(prisma: Prisma) -> None:
    stamp = _stamp(prisma)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(_diff_inputs(prisma) + "\n")


def everything_applied(prisma: Prisma, url: str) -> bool:
    """True when the database has finished every migration on disk and none failed."""
    from prisma_tasks.db.connection import Connection

    wanted = set(on_disk(prisma.settings.migrations_path))
    try:
        connection = Connection.open(url, prisma.settings.root)
    except Exception:
        return False  # unreachable or not created yet: let Prisma say so
    try:
        rows = connection.execute(
            "SELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL "
            'FROM "_prisma_migrations"'
        )
    except Exception:
        return False  # no history table yet
    finally:
        connection.close()
    finished = {name for name, done, rolled_back in rows if done and not rolled_back}
    failed = any(not done and not rolled_back for _, done, rolled_back in rows)
    return not failed and wanted <= finished
