"""What every task shares: settings, turning errors into exit codes, plain output."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.exceptions import Exit

from prisma_tasks.config import Settings, load_settings
from prisma_tasks.envfiles import load_env_files
from prisma_tasks.errors import PrismaTasksError

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    """The repository's settings; its `.env` files are loaded on the first call (see envfiles)."""
    config = load_settings()
    _load_env_once(config.root, config.schema_folder)
    return config


@functools.cache
def _load_env_once(root: Path, schema_folder: Path) -> None:
    names = load_env_files(root, schema_folder)
    if names:
        notice(f"environment variables loaded from .env: {', '.join(sorted(names))}")


def reports_errors(function: F) -> F:
    """Turn PrismaTasksError into invoke's Exit with the error's exit code and message.

    SIGTERM unwinds the task like Ctrl-C (exit 130): its `finally` blocks run, a Prisma child
    is stopped and waited for, and the databases it made are dropped.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from prisma_tasks.databases.provisioner import terminate_as_interrupt

        try:
            with terminate_as_interrupt():
                return function(*args, **kwargs)
        except PrismaTasksError as error:
            raise Exit(
                message=f"error: {error}" if error.exit_code != 1 else str(error),
                code=error.exit_code,
            ) from error
        except KeyboardInterrupt:
            raise Exit(message="interrupted", code=130) from None

    return wrapper  # type: ignore[return-value]


def say(message: str) -> None:
    print(message, flush=True)


def quiet_progress(quiet: bool) -> None:
    """A task's --quiet: hide progress lines for the rest of this process."""
    if quiet:
        os.environ["PRISMA_TASKS_QUIET"] = "1"


def progress(message: str) -> None:
    """Progress of long work, as plain lines (no cursor tricks: CI logs read them as they are).

    PRISMA_TASKS_QUIET=1 hides progress; results and errors are always printed.
    """
    if os.environ.get("PRISMA_TASKS_QUIET", "").lower() not in ("1", "true", "yes"):
        print(message, flush=True)


def notice_progress(message: str) -> None:
    """Progress on stderr, for tasks whose stdout belongs to another program."""
    if os.environ.get("PRISMA_TASKS_QUIET", "").lower() not in ("1", "true", "yes"):
        print(message, file=sys.stderr, flush=True)


def terminal_confirm() -> Callable[[str], bool] | None:
    """A yes/no question for the person at the terminal; None when stdin is not a terminal
    (CI, a pipe): then nobody can answer, and a task that needs a yes refuses instead."""
    if not sys.stdin.isatty():
        return None

    def ask(question: str) -> bool:
        try:
            answer = input(f"{question} [y/N] ")
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask


def notice(message: str) -> None:
    print(f"notice: {message}", file=sys.stderr, flush=True)
