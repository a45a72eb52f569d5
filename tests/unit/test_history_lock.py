"""prisma/migrations/migrations.lock: what `invoke prisma.check` and `prisma.lock` decide."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from prisma_tasks.errors import CheckFailed
from prisma_tasks.prisma_cli import history_lock
from prisma_tasks.prisma_cli.history_lock import LOCK_NAME, check, read_lock, record_new, write_lock

INIT = "20260101090000_init"
NOTE = "20260102090000_order_note"
AUDIT = "20260103090000_audit"

SQL = {
    INIT: (
        '-- CreateTable\nCREATE TABLE "User" (\n    "id" SERIAL NOT NULL,\n\n'
        '    CONSTRAINT "User_pkey" PRIMARY KEY ("id")\n);\n'
    ),
    NOTE: '-- AlterTable\nALTER TABLE "User" ADD COLUMN     "note" TEXT;\n',
    AUDIT: (
        '-- CreateTable\nCREATE TABLE "Audit" (\n    "id" SERIAL NOT NULL,\n\n'
        '    CONSTRAINT "Audit_pkey" PRIMARY KEY ("id")\n);\n'
    ),
}


def add(migrations: Path, name: str, sql: str | None = None) -> Path:
    folder = migrations / name
    folder.mkdir(parents=True)
    (folder / "migration.sql").write_text(SQL[name] if sql is None else sql, encoding="utf-8")
    return folder


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "prisma" / "migrations"
    folder.mkdir(parents=True)
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return folder


@pytest.fixture
def locked(migrations: Path) -> Path:
    """init and order_note, both locked."""
    add(migrations, INIT)
    add(migrations, NOTE)
    write_lock(migrations)
    return migrations


def lock_text(migrations: Path) -> str:
    return (migrations / LOCK_NAME).read_text(encoding="utf-8")


def sha(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def messages(migrations: Path) -> list[str]:
    return [str(finding) for finding in check(migrations)]


def test_write_lock_records_every_migration_in_order_with_its_checksum(migrations: Path) -> None:
    add(migrations, NOTE)
    add(migrations, INIT)
    write_lock(migrations)
    assert read_lock(migrations) == [(INIT, sha(SQL[INIT])), (NOTE, sha(SQL[NOTE]))]
    text = lock_text(migrations)
    assert text.startswith("#") and text.endswith("\n")
    assert not list(migrations.glob(f".{LOCK_NAME}.tmp-*"))


def test_record_new_creates_the_lock_then_appends_only_new_migrations(migrations: Path) -> None:
    add(migrations, INIT)
    assert record_new(migrations) == [INIT]
    assert read_lock(migrations) == [(INIT, sha(SQL[INIT]))]

    add(migrations, NOTE)
    assert history_lock.unlocked(migrations) == [NOTE]
    assert record_new(migrations) == [NOTE]
    assert read_lock(migrations) == [(INIT, sha(SQL[INIT])), (NOTE, sha(SQL[NOTE]))]

    before = lock_text(migrations)
    assert record_new(migrations) == []
    assert lock_text(migrations) == before


def test_record_new_on_an_empty_history_writes_an_empty_lock(migrations: Path) -> None:
    assert record_new(migrations) == []
    assert (migrations / LOCK_NAME).is_file() and read_lock(migrations) == []


def test_a_clean_history_passes(locked: Path) -> None:
    assert check(locked) == []
    add(locked, AUDIT)  # new and after the last locked one: fine until it is locked
    assert check(locked) == []
    record_new(locked)
    assert check(locked) == []


def test_no_lock_and_no_migrations_passes(migrations: Path) -> None:
    assert check(migrations) == []


def test_an_edited_locked_migration_fails_with_its_name(locked: Path) -> None:
    sql = locked / NOTE / "migration.sql"
    sql.write_text(SQL[NOTE].replace("TEXT", "VARCHAR(200)"), encoding="utf-8")
    (finding,) = check(locked)
    assert finding.migration == NOTE
    assert str(finding).startswith(f"{NOTE}: edited after it was locked")
    assert "new migration" in finding.message


def test_a_whitespace_only_edit_is_an_edit(locked: Path) -> None:
    (locked / INIT / "migration.sql").write_text(SQL[INIT] + "\n", encoding="utf-8")
    assert [f.migration for f in check(locked)] == [INIT]


def test_a_deleted_locked_migration_fails_with_its_name(locked: Path) -> None:
    (locked / NOTE / "migration.sql").unlink()
    (locked / NOTE).rmdir()
    (finding,) = check(locked)
    assert finding.migration == NOTE and "deleted after it was locked" in finding.message


def test_a_renamed_locked_migration_names_the_new_name(locked: Path) -> None:
    renamed = "20260102090000_user_note"
    (locked / NOTE).rename(locked / renamed)
    (finding,) = check(locked)
    assert finding.migration == NOTE
    assert f"renamed to {renamed}" in finding.message


def test_a_renamed_and_edited_migration_is_a_deletion(locked: Path) -> None:
    (locked / NOTE).rename(locked / "20260102090000_user_note")
    (locked / "20260102090000_user_note" / "migration.sql").write_text("SELECT 1;\n")
    findings = messages(locked)
    assert any(m.startswith(f"{NOTE}: deleted after it was locked") for m in findings), findings


def test_a_reordered_lock_file_fails_naming_the_migration_out_of_place(locked: Path) -> None:
    add(locked, AUDIT)
    record_new(locked)
    lines = lock_text(locked).splitlines()
    entries = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    first, second = entries[1], entries[2]  # NOTE, AUDIT -> AUDIT, NOTE
    lines[first], lines[second] = lines[second], lines[first]
    (locked / LOCK_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")

    findings = check(locked)
    assert findings, "a reordered lock passed"
    (finding,) = findings
    assert finding.migration == NOTE
    assert f"locked after {AUDIT}" in finding.message and "reordered" in finding.message


def test_a_new_migration_sorting_before_the_last_locked_one_is_non_linear(
    locked: Path,
) -> None:
    # Branch b added 0102 0800, branch a added 0102 0900 (order_note) and was merged first.
    early = "20260102080000_audit"
    add(locked, early, SQL[AUDIT])
    (finding,) = check(locked)
    assert finding.migration == early
    assert NOTE in finding.message
    assert "non-linear" in finding.message
    assert "invoke prisma.migrate" in finding.message  # the fix


def test_a_merged_lock_with_both_branches_lines_is_non_linear(locked: Path) -> None:
    """The lock conflict resolved by keeping both sides: main's line first, then the branch's."""
    early = "20260102080000_audit"
    add(locked, early, SQL[AUDIT])
    with (locked / LOCK_NAME).open("a", encoding="utf-8") as lock:
        lock.write(f"{early} {sha(SQL[AUDIT])}\n")
    findings = messages(locked)
    assert findings, "a merged, non-linear lock passed"
    text = "\n".join(findings)
    assert early in text and NOTE in text
    assert "non-linear" in text and "invoke prisma.migrate" in text


def test_record_new_refuses_while_a_problem_exists_and_writes_nothing(locked: Path) -> None:
    (locked / INIT / "migration.sql").write_text(SQL[INIT] + "-- edited\n", encoding="utf-8")
    add(locked, AUDIT)
    before = (locked / LOCK_NAME).read_bytes()
    with pytest.raises(CheckFailed) as raised:
        record_new(locked)
    assert INIT in str(raised.value) and "nothing was written" in str(raised.value)
    assert (locked / LOCK_NAME).read_bytes() == before
    assert not list(locked.glob(f".{LOCK_NAME}.tmp-*"))


def test_record_new_refuses_a_non_linear_migration(locked: Path) -> None:
    add(locked, "20260102080000_audit", SQL[AUDIT])
    before = lock_text(locked)
    with pytest.raises(CheckFailed):
        record_new(locked)
    assert lock_text(locked) == before


def test_a_malformed_lock_line_names_file_and_line(locked: Path) -> None:
    text = lock_text(locked)
    (locked / LOCK_NAME).write_text(text + "20260104090000_broken\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    with pytest.raises(history_lock.MalformedLock) as raised:
        check(locked)
    assert f"{locked / LOCK_NAME}:{line}:" in str(raised.value)
    assert "20260104090000_broken" in str(raised.value)


def test_relock_updates_only_an_unmerged_migration(migrations: Path) -> None:
    add(migrations, "20260101000000_init", SQL[INIT])
    add(migrations, "20260102000000_drop_note", 'ALTER TABLE "A" DROP COLUMN "note";\n')
    record_new(migrations)
    sql = migrations / "20260102000000_drop_note" / "migration.sql"
    sql.write_text("-- prisma-tasks: allow-destructive reviewed\n" + sql.read_text())
    assert [f.migration for f in check(migrations)] == ["20260102000000_drop_note"]

    with pytest.raises(CheckFailed, match="on the default branch already"):
        history_lock.relock(migrations, "20260102000000_drop_note", {"20260102000000_drop_note"})
    with pytest.raises(CheckFailed, match="no git history"):
        history_lock.relock(migrations, "20260102000000_drop_note", None)
    before = read_lock(migrations)

    history_lock.relock(migrations, "20260102000000_drop_note", {"20260101000000_init"})
    assert check(migrations) == []
    after = read_lock(migrations)
    assert after[0] == before[0] and after[1][1] != before[1][1]


def test_relock_without_a_default_branch_yet_and_when_it_cannot_be_told(migrations: Path) -> None:
    add(migrations, "20260101000000_init", SQL[INIT])
    record_new(migrations)
    sql = migrations / "20260101000000_init" / "migration.sql"
    sql.write_text("-- reviewed\n" + sql.read_text())
    with pytest.raises(CheckFailed, match=r"merged \(no 'main' branch, but master exists"):
        history_lock.relock(
            migrations, "20260101000000_init", None, "no 'main' branch, but master exists"
        )
    # An empty set: no default branch yet, so nothing is merged anywhere.
    assert history_lock.relock(migrations, "20260101000000_init", set()) == "20260101000000_init"
    assert check(migrations) == []
