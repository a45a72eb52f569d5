"""The stat snapshot: an unchanged repository is confirmed without listing or reading files."""

from __future__ import annotations

import os
import time

import pytest

import prisma_tasks.schema.collect as collector
from prisma_tasks.config import load_settings
from prisma_tasks.errors import SchemaError
from prisma_tasks.schema import snapshot as collect_snapshot
from prisma_tasks.schema.collect import collect

USER = "model User {\n  id Int @id\n}\n"


@pytest.fixture
def settled(tree, monkeypatch):
    """A collected tree whose files count as old enough to trust."""
    monkeypatch.setattr(collect_snapshot, "RACY_NS", 0)
    tree.module("identity", "models.prisma", USER)
    tree.module("orders", "models.prisma", "model Order {\n  id Int @id\n}\n")
    collect(load_settings(tree.root, environ={}))
    return tree


def no_discovery(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the fast path should not list folders")

    monkeypatch.setattr(collector, "discover", refuse)


def run(tree):
    return collect(load_settings(tree.root, environ={}))


def touch_later(path) -> None:
    later = time.time_ns() + 5_000_000_000
    os.utime(path, ns=(later, later))


def test_unchanged_repository_skips_discovery_and_still_answers(settled, monkeypatch) -> None:
    no_discovery(monkeypatch)
    result = run(settled)
    assert [s.link_name for s in result.sources] == [
        "identity__models.prisma",
        "orders__models.prisma",
    ]
    assert result.changes.any is False and result.owner_of("Order") == "orders"


@pytest.mark.parametrize(
    "change",
    [
        "new file in a schema folder",
        "new module",
        "edited file",
        "foreign file in the collected folder",
        "edited base.prisma",
        "removed link",
    ],
)
def test_every_kind_of_change_takes_the_full_path(settled, monkeypatch, change) -> None:
    root = settled.root
    if change == "new file in a schema folder":
        settled.module("orders", "lines.prisma", "model Line {\n  id Int @id\n}\n")
    elif change == "new module":
        settled.module("billing", "models.prisma", "model Invoice {\n  id Int @id\n}\n")
    elif change == "edited file":
        path = root / "modules/orders/schema/models.prisma"
        path.write_text("model Order {\n  id Int @id\n  n Int\n}\n")
        touch_later(path)
    elif change == "foreign file in the collected folder":
        (root / "prisma/schemas/zombie.prisma").write_text(USER)
    elif change == "edited base.prisma":
        base = root / "prisma/base.prisma"
        base.write_text(base.read_text() + "\n")
        touch_later(base)
    elif change == "removed link":
        (root / "prisma/schemas/orders__models.prisma").unlink()
    calls = []
    real = collector.discover
    monkeypatch.setattr(collector, "discover", lambda *a, **k: calls.append(1) or real(*a, **k))
    if change == "foreign file in the collected folder":
        with pytest.raises(SchemaError, match=r"zombie\.prisma: was not written by"):
            run(settled)
    else:
        run(settled)
    assert calls == [1], f"{change}: the snapshot was trusted"


def test_a_snapshot_is_not_written_while_files_are_fresh(tree) -> None:
    tree.module("identity", "models.prisma", USER)
    collect(load_settings(tree.root, environ={}))  # files written just now: racy
    assert not (tree.root / ".prisma-tasks/collect-snapshot.marshal").exists()


def test_a_changed_setting_takes_the_full_path(settled, monkeypatch) -> None:
    settled.write("pyproject.toml", '[tool.prisma-tasks]\nlink_mode = "copy"\n')
    result = run(settled)
    assert result.mode == "copy" and result.changes.replaced
