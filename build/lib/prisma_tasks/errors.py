"""Errors that carry the exit code the command line should end with.

Exit codes are a contract (see README): 0 ok, 1 a check failed, 2 usage or input error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


class PrismaTasksError(Exception):
    """Base class; `exit_code` tells the task runner how to end."""

    exit_code = EXIT_USAGE


class ConfigError(PrismaTasksError):
    """A setting in pyproject.toml (or the environment) is wrong."""


class SchemaError(PrismaTasksError):
    """One or more schema files break a collection rule. `problems` lists each one."""

    def __init__(self, problems: list[SchemaProblem]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} schema problem(s), nothing was written:"]
        lines += [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


class CheckFailed(PrismaTasksError):
    """A check (stale collection, drift, lint) found a difference."""

    exit_code = EXIT_CHECK_FAILED


class DatabaseUnreachable(PrismaTasksError):
    """A database could not be connected to: not reachable, credentials refused, or missing.

    `where` is the database as it may be shown (its URL with the password masked), `reason`
    the database's or Prisma's own message (no password in it).
    """

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"cannot connect to the database {where}: {reason}")


class SchemaProblem:
    """One finding, located at a file (repository-relative) and optionally a line."""

    __slots__ = ("line", "message", "path")

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"SchemaProblem({self!s})"
