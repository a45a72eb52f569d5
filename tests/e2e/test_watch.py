"""prisma.watch reacts to real file events: a module file added, changed and removed."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import pytest

from prisma_tasks.commands.watch import watch
from prisma_tasks.config import load_settings

from .conftest import make_monorepo

pytestmark = pytest.mark.e2e


def wait_for(messages: queue.Queue[str], text: str, timeout: float = 60.0) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = messages.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(message)
        if text in message:
            return seen
    raise AssertionError(f"no message containing {text!r} within {timeout}s; saw {seen}")


def test_watch_recollects_on_add_change_and_remove_and_survives_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The watcher runs in this process: the session's DATABASE_URL (maybe SQLite) must not leak
    # into a PostgreSQL repo's validation.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    repo = make_monorepo(tmp_path / "repo", "postgres", "")
    settings = load_settings(repo.root, environ={})
    messages: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=watch, args=(settings, messages.put), kwargs={"generate": False, "stop_event": stop}
    )
    worker.start()
    try:
        wait_for(messages, "watching")
        collected = repo.root / "prisma/schemas"

        repo.write("modules/billing/schema/models.prisma", "model Invoice {\n  id Int @id\n}\n")
        wait_for(messages, "changed: modules/billing/schema/models.prisma")
        wait_for(messages, "ok: collected")
        assert (collected / "billing__models.prisma").is_symlink()

        repo.write(
            "modules/billing/schema/models.prisma", "model Invoice {\n  id Int @id\n  x Nope\n}\n"
        )
        seen = wait_for(messages, "still watching")
        assert any("Nope" in message for message in seen)

        repo.write("modules/billing/schema/models.prisma", "model Invoice {\n  id Int @id\n}\n")
        wait_for(messages, "ok: collected")

        (repo.root / "modules/billing/schema/models.prisma").unlink()
        wait_for(messages, "changed: modules/billing/schema/models.prisma")
        wait_for(messages, "ok: collected")
        assert not (collected / "billing__models.prisma").exists()
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
