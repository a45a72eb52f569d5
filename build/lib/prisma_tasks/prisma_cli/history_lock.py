"""prisma/migrations/migrations.lock: each migration's name and checksum, in applied order.

Committed with the migrations. `invoke prisma.migrate` appends to it; `invoke prisma.check`
fails when a migration already in the lock was edited, deleted, renamed or reordered, and
when a new migration sorts before one already in the lock (two branches each added one:
Prisma would apply them in another order on each database).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.fsutil import write_atomically

LOCK_NAME = "migrations.lock"
_HEADER = (
    "# prisma-tasks migration lock: name and sha256 of each migration.sql, in applied order.\n"
    "# Written by `invoke prisma.migrate` and `invoke prisma.lock`;\n"
    "# checked by `invoke prisma.check`.\n"
)


@dataclass(frozen=True)
class Finding:
    migration: str
    message: str

    def __str__(self) -> str:
        return f"{self.migration}: {self.message}"


class MalformedLock(PrismaTasksError):
    """migrations.lock cannot be read: exit 2, naming file and line."""


def _render(entries: list[tuple[str, str]]) -> str:
    return _HEADER + "".join(f"{name} {digest}\n" for name, digest in entries)


def checksum(folder: Path) -> str:
    return hashlib.sha256((folder / "migration.sql").read_bytes()).hexdigest()


def on_disk(migrations: Path) -> dict[str, str]:
    if not migrations.is_dir():
        return {}
    return {
        p.name: checksum(p)
        for p in sorted(migrations.iterdir())
        if p.is_dir() and not p.name.startswith(".") and (p / "migration.sql").is_file()
    }


def read_lock(migrations: Path) -> list[tuple[str, str]]:
    path = migrations / LOCK_NAME
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise MalformedLock(
                f"{path}:{number}: expected '<migration> <sha256>', found {line!r}"
                + (
                    " (an unresolved merge conflict?)"
                    if line.startswith(("<<<", "===", ">>>"))
                    else ""
                )
            )
        entries.append((parts[0], parts[1]))
    return entries


def check_or_raise(migrations: Path) -> None:
    findings = check(migrations)
    if findings:
        from prisma_tasks.errors import CheckFailed

        raise CheckFailed(
            f"the migration history does not match {LOCK_NAME}; nothing was written:\n"
            + "\n".join(f"  {finding}" for finding in findings)
        )


def record_new(migrations: Path) -> list[str]:
    """Append migrations that are not locked yet; refuses while `check` finds a problem."""
    check_or_raise(migrations)
    new = unlocked(migrations)
    if new or not (migrations / LOCK_NAME).exists():
        write_lock(migrations)
    return new


def relock(
    migrations: Path, name: str, merged: set[str] | None, unknown_because: str = "no git history"
) -> str:
    """Re-record one edited migration's checksum: only for a migration not merged yet.

    `merged` is the set of migrations on the default branch (empty when there is no default
    branch yet; None: unknown, refuse, saying `unknown_because`). Once a migration is merged,
    databases may have applied it and it must never change again.
    """
    from prisma_tasks.errors import CheckFailed, PrismaTasksError

    entries = read_lock(migrations)
    if name not in dict(entries):
        raise PrismaTasksError(
            f"{name} is not in {LOCK_NAME}; `invoke prisma.lock` records new ones"
        )
    if merged is None:
        raise CheckFailed(
            f"cannot tell whether {name} is merged ({unknown_because}): refusing to relock"
        )
    if name in merged:
        raise CheckFailed(
            f"{name} is on the default branch already: databases may have applied it; "
            "put the change in a new migration instead"
        )
    folder = migrations / name
    if not (folder / "migration.sql").is_file():
        raise PrismaTasksError(f"{folder}/migration.sql does not exist")
    updated = [(entry, checksum(folder) if entry == name else digest) for entry, digest in entries]
    write_atomically(migrations / LOCK_NAME, _render(updated))
    return name


def write_lock(migrations: Path) -> Path:
    """Record every migration on disk, in order."""
    path = migrations / LOCK_NAME
    write_atomically(path, _render(list(on_disk(migrations).items())))
    return path


def check(migrations: Path) -> list[Finding]:
    locked = read_lock(migrations)
    disk = on_disk(migrations)
    findings: list[Finding] = []
    locked_names = [name for name, _ in locked]
    by_checksum = {digest: name for name, digest in disk.items()}
    for name, digest in locked:
        if name not in disk:
            renamed = by_checksum.get(digest)
            if renamed and renamed not in locked_names:
                findings.append(Finding(name, f"renamed to {renamed} after it was locked"))
            else:
                findings.append(
                    Finding(name, "deleted after it was locked (databases have applied it)")
                )
        elif disk[name] != digest:
            findings.append(
                Finding(
                    name,
                    "edited after it was locked: databases that applied it will not "
                    "see the change; put the change in a new migration (a migration that is "
                    f"not merged yet may be re-locked: `invoke prisma.lock --relock {name}`)",
                )
            )
    highest = ""
    for name in locked_names:
        if name < highest:
            # Prisma applies migrations in name order: a fresh database runs this one before
            # `highest`, databases that followed the lock ran it after.
            findings.append(
                Finding(
                    name,
                    f"is locked after {highest} but sorts before it: two branches each added a "
                    f"migration (non-linear history) and both lines were kept in {LOCK_NAME}, or "
                    "the lock was reordered by hand. Fix: delete this migration's folder and its "
                    f"line in {LOCK_NAME}, and run `invoke prisma.migrate --name <name>` again so "
                    f"it is recreated after {highest} (a hand-reordered lock: restore it from git)",
                )
            )
        highest = max(highest, name)
    last_locked = max(locked_names, default="")
    renamed_targets = {
        f.message.split(" to ")[1].split()[0] for f in findings if "renamed to" in f.message
    }
    for name in disk:
        if name in locked_names or name in renamed_targets:
            continue
        if name < last_locked:
            findings.append(
                Finding(
                    name,
                    f"is new but sorts before {last_locked}, which is already locked: two branches "
                    "each added a migration (non-linear history). Fix: delete this migration's "
                    "folder, merge, and run `invoke prisma.migrate --name <name>` again so it is "
                    f"recreated after {last_locked}",
                )
            )
    return findings


def unlocked(migrations: Path) -> list[str]:
    locked = {name for name, _ in read_lock(migrations)}
    return [name for name in on_disk(migrations) if name not in locked]
