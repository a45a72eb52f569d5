"""Destructive-change lint for migration SQL (what the paid tier of migration tools checks).

Findings: dropped tables or columns, column type changes (rewrite or data loss), NOT NULL
added without a default to a table that existed before, and renames that Prisma writes as
drop + add. Each names file and line. A reviewed marker acknowledges one finding:

    -- prisma-tasks: allow-destructive <why this is safe>
    ALTER TABLE "Order" DROP COLUMN "note";

The marker covers the statement right after it (comments in between are fine).

On SQLite Prisma writes most column changes as a table rebuild (create "new_X", copy the
columns both versions have, drop X, rename): a dropped column is simply not copied, so the SQL
alone cannot show it. Given the columns X had before (`columns_before`, e.g. read from the
database the migration is about to change), the lint reports the columns the copy leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

MARKER = "prisma-tasks: allow-destructive"

_IDENT = r'"?([\w]+)"?'
_DROP_TABLE = re.compile(rf"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?{_IDENT}", re.I)
_ALTER_TABLE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?{_IDENT}\s+(.*)$", re.I | re.S)
_DROP_COLUMN = re.compile(rf"DROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?{_IDENT}", re.I)
# the definition runs to the next comma outside parentheses and strings: DECIMAL(65,30) NOT NULL
_ADD_COLUMN = re.compile(rf"ADD\s+COLUMN\s+{_IDENT}\s+((?:[^,(']|\([^)]*\)|'[^']*')*)", re.I)
_TYPE_CHANGE = re.compile(rf"ALTER\s+COLUMN\s+{_IDENT}\s+(?:SET\s+DATA\s+)?TYPE\b", re.I)
_SET_NOT_NULL = re.compile(rf"ALTER\s+COLUMN\s+{_IDENT}\s+SET\s+NOT\s+NULL", re.I)
_CREATE_TABLE = re.compile(rf"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_IDENT}", re.I)
_SQLITE_REDEFINE = re.compile(r'^\s*ALTER\s+TABLE\s+"?new_(\w+)"?\s+RENAME\s+TO', re.I)
# The copy of a rebuild: INSERT INTO "new_X" ("a", "b") SELECT "a", "b" FROM "X"
_SQLITE_COPY = re.compile(r'^\s*INSERT\s+INTO\s+"?new_(\w+)"?\s*\(([^)]*)\)\s*SELECT\b', re.I)
# A column line of Prisma's CREATE TABLE: `    "name" TYPE ...` (constraints start with a keyword)
_CREATED_COLUMN = re.compile(r'^\s*"(\w+)"\s', re.M)

ColumnsBefore = Callable[[str], Collection[str] | None]


@dataclass(frozen=True)
class LintFinding:
    path: str
    line: int
    problem: str

    @property
    def message(self) -> str:
        """The problem, and how a reviewed migration acknowledges it."""
        return f"{self.problem} (acknowledge with '-- {MARKER} <why>')"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Statement:
    text: str
    line: int
    acknowledged: bool


def statements(sql: str) -> list[Statement]:
    """Split on `;` outside strings and comments, remembering each statement's first line.

    Only a `--` comment carries the marker; a block comment is skipped.
    """
    found: list[Statement] = []
    current: list[str] = []
    start_line = 0
    marker_pending = False
    line = 1
    i = 0
    in_string = False
    while i < len(sql):
        char = sql[i]
        if not in_string and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            if MARKER in sql[i:end]:
                marker_pending = True
            i = end
            continue
        if not in_string and sql.startswith("/*", i):  # e.g. the warnings `migrate dev` writes
            end = sql.find("*/", i + 2)
            end = len(sql) if end < 0 else end + 2
            line += sql.count("\n", i, end)
            i = end
            continue
        if char == "'":
            in_string = not in_string
        if char == "\n":
            line += 1
        if not current and not char.isspace():
            start_line = line
        if char == ";" and not in_string:
            text = "".join(current).strip()
            if text:
                found.append(Statement(text, start_line, marker_pending))
            current, marker_pending = [], False
        elif current or not char.isspace():
            current.append(char)
        i += 1
    tail = "".join(current).strip()
    if tail:
        found.append(Statement(tail, start_line, marker_pending))
    return found


def lint_sql(sql: str, path: str, columns_before: ColumnsBefore | None = None) -> list[LintFinding]:
    """Findings in `sql`; `columns_before(table)` (None: unknown) shows SQLite rebuilds too."""
    parsed = statements(sql)
    created = {m.group(1) for s in parsed if (m := _CREATE_TABLE.match(s.text))}
    redefined = {m.group(1) for s in parsed if (m := _SQLITE_REDEFINE.match(s.text))}
    findings: list[LintFinding] = []
    drops: dict[str, list[tuple[str, Statement]]] = {}
    adds: dict[str, list[str]] = {}

    def report(statement: Statement, message: str) -> None:
        if not statement.acknowledged:
            findings.append(LintFinding(path, statement.line, message))

    copied: dict[str, tuple[Statement, set[str]]] = {}
    for statement in parsed:
        if match := _SQLITE_COPY.match(statement.text):
            columns = {c.strip().strip('"') for c in match.group(2).split(",") if c.strip()}
            copied[match.group(1)] = (statement, columns)
    for statement in parsed:
        if match := _DROP_TABLE.match(statement.text):
            table = match.group(1)
            if table in redefined:
                # SQLite's RedefineTables: copy into new_X, drop X, rename; only the columns
                # left out of the copy are lost.
                if columns_before is not None:
                    _report_rebuild(table, statement, parsed, copied, columns_before, report)
                continue
            report(statement, f'drops table "{table}" and all its rows')
            continue
        match = _ALTER_TABLE.match(statement.text)
        if not match:
            continue
        table, body = match.group(1), match.group(2)
        for column in _DROP_COLUMN.findall(body):
            drops.setdefault(table, []).append((column, statement))
        for column in _TYPE_CHANGE.findall(body):
            report(
                statement,
                f'changes the type of "{table}"."{column}": rewrites the table, may lose data',
            )
        for column, definition in _ADD_COLUMN.findall(body):
            adds.setdefault(table, []).append(column)
            if (
                table not in created
                and re.search(r"\bNOT\s+NULL\b", definition, re.I)
                and not re.search(r"\bDEFAULT\b", definition, re.I)
            ):
                report(
                    statement,
                    f'adds NOT NULL column "{table}"."{column}" without a default: '
                    "fails on existing rows",
                )
        for column in _SET_NOT_NULL.findall(body):
            if table not in created:
                report(
                    statement, f'sets "{table}"."{column}" NOT NULL: fails if any row holds NULL'
                )
    for table, dropped in drops.items():
        for column, statement in dropped:
            if adds.get(table):
                report(
                    statement,
                    f'drops "{table}"."{column}" and adds {", ".join(adds[table])}: if this is a '
                    "rename, Prisma wrote it as drop + add and the data is lost; write "
                    "ALTER TABLE ... RENAME COLUMN instead",
                )
            else:
                report(statement, f'drops column "{table}"."{column}" and its data')
    return sorted(findings, key=lambda f: f.line)


def _report_rebuild(
    table: str,
    drop: Statement,
    parsed: list[Statement],
    copied: dict[str, tuple[Statement, set[str]]],
    columns_before: ColumnsBefore,
    report: Callable[[Statement, str], None],
) -> None:
    before = columns_before(table)
    if not before:
        return  # not known, or the table does not exist yet: nothing of it can be lost
    copy, kept = copied.get(table, (drop, set()))
    lost = [column for column in before if column not in kept]
    if not lost:
        return
    new_table = next(
        (s.text for s in parsed if (m := _CREATE_TABLE.match(s.text)) and m[1] == f"new_{table}"),
        "",
    )
    added = [c for c in _CREATED_COLUMN.findall(new_table) if c not in kept and c not in before]
    names = ", ".join(f'"{table}"."{column}"' for column in lost)
    if added:
        report(
            copy,
            f'rebuilds "{table}" without {names} and adds {", ".join(added)}: if this is a '
            "rename, Prisma wrote it as drop + add and the data is lost; copy the column into "
            "its new name in the INSERT instead",
        )
    else:
        report(copy, f'rebuilds "{table}" without {names}: drops the column(s) and their data')


def lint_migration(folder: Path, root: Path) -> list[LintFinding]:
    path = folder / "migration.sql"
    return lint_sql(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
