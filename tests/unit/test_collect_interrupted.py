"""A collect killed at any point leaves nothing Prisma would accept as a schema that it is not,
and the next run finishes the job and removes what the killed one left.

Each test runs `invoke prisma.collect` in a subprocess that PRISMA_TASKS_FAULT ends with
os._exit at one precise point (no cleanup runs, as with kill -9), then looks at what Prisma
reads: every *.prisma file below prisma/, recursively, following symlinks, hidden ones too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.errors import CheckFailed
from prisma_tasks.fsutil import FAULT_EXIT_CODE, FAULT_VARIABLE
from prisma_tasks.schema import linkfarm
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.linkfarm import INCOMPLETE_MARKER, MANIFEST, STAGING

SRC = str(Path(__import__("prisma_tasks").__file__).resolve().parents[1])
MARKER = f"schemas/{INCOMPLETE_MARKER}"


def model(name: str) -> str:
    return f"model {name} {{\n  id Int @id\n}}\n"


def invoke_collect(tree, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    tasks = tree.root / "tasks.py"
    if not tasks.exists():
        tasks.write_text("from prisma_tasks.tasks import ns\n")
    env = {key: value for key, value in os.environ.items() if key != FAULT_VARIABLE}
    env.update(PYTHONPATH=SRC, PRISMA_TASKS_QUIET="1")
    if fault is not None:
        env[FAULT_VARIABLE] = fault
    return subprocess.run(
        [sys.executable, "-m", "invoke", "prisma.collect"],
        cwd=tree.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def prisma_reads(tree) -> set[str]:
    """What `prisma --schema prisma` would read, relative to prisma/."""
    prisma = tree.root / "prisma"
    found = set()
    for folder, _, files in os.walk(prisma, followlinks=True):
        for name in files:
            if name.endswith(".prisma"):
                found.add(os.path.relpath(os.path.join(folder, name), prisma))
    return found


def collected(*modules: str) -> set[str]:
    return {"base.prisma"} | {f"schemas/{m}__models.prisma" for m in modules}


def assert_consistent_or_refused(seen: set[str], before: set[str], after: set[str]) -> None:
    """Prisma sees the collection before, the one after, or a marker it refuses to parse."""
    assert seen in (before, after) or (MARKER in seen and seen - {MARKER} <= before | after), seen


@pytest.mark.parametrize(
    ("state_dir", "fault"),
    [
        (".prisma-tasks", "collect:after-stage"),
        (".prisma-tasks", "collect:before-manifest"),
        # Inside prisma/, where Prisma reads: collect builds in place, under the marker,
        # instead of staging a folder there.
        ("prisma/.state", "collect:after-marker"),
        ("prisma/.state", "collect:after-entry"),
        ("prisma/.state", "collect:before-manifest"),
    ],
)
def test_a_first_collect_killed_anywhere_leaves_nothing_prisma_would_accept(
    tree, state_dir, fault
) -> None:
    tree.write("pyproject.toml", f'[tool.prisma-tasks]\nstate_dir = "{state_dir}"\n')
    for name in ("a", "b", "c"):
        tree.module(name, "models.prisma", model(name.upper()))
    killed = invoke_collect(tree, fault)
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr
    assert_consistent_or_refused(prisma_reads(tree), {"base.prisma"}, collected("a", "b", "c"))

    rerun = invoke_collect(tree)
    assert rerun.returncode == 0, rerun.stderr
    assert prisma_reads(tree) == collected("a", "b", "c")
    staging = tree.root / state_dir / STAGING
    assert not staging.exists() or not any(staging.iterdir())


@pytest.mark.parametrize(
    "fault", ["collect:after-marker", "collect:after-entry", "collect:before-manifest"]
)
def test_an_update_killed_anywhere_leaves_nothing_prisma_would_accept(tree, fault) -> None:
    for name in ("a", "b"):
        tree.module(name, "models.prisma", model(name.upper()))
    assert invoke_collect(tree).returncode == 0
    (tree.root / "modules/b/schema/models.prisma").unlink()
    for name in ("c", "d"):
        tree.module(name, "models.prisma", model(name.upper()))

    killed = invoke_collect(tree, fault)
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr
    assert_consistent_or_refused(prisma_reads(tree), collected("a", "b"), collected("a", "c", "d"))

    rerun = invoke_collect(tree)
    assert rerun.returncode == 0, rerun.stderr
    assert prisma_reads(tree) == collected("a", "c", "d")  # b's entry removed: it was collect's
    assert not [p for p in (tree.root / "prisma/schemas").iterdir() if ".tmp-" in p.name]


def test_a_killed_first_collect_then_a_rerun_gives_a_schema_without_duplicates(tree) -> None:
    for name in ("a", "b"):
        tree.module(name, "models.prisma", model(name.upper()))
    assert invoke_collect(tree, "collect:after-stage").returncode == FAULT_EXIT_CODE
    assert prisma_reads(tree) == {"base.prisma"}  # the staged folder is not below prisma/
    assert invoke_collect(tree).returncode == 0
    texts = [(tree.root / "prisma" / path).read_text() for path in prisma_reads(tree)]
    assert sum(text.count("model A {") for text in texts) == 1


def test_an_older_versions_leftover_staging_folder_is_removed(tree) -> None:
    """Versions before the state-folder staging built prisma/.schemas.tmp-XXXXXXXX/ and left it
    when killed; Prisma reads it, so every model in it was defined twice."""
    tree.module("a", "models.prisma", model("A"))
    assert invoke_collect(tree).returncode == 0
    leftover = tree.root / "prisma/.schemas.tmp-k3x_9qz1"
    leftover.mkdir()
    os.symlink("../../modules/a/schema/models.prisma", leftover / "a__models.prisma")
    assert "schemas/a__models.prisma" in prisma_reads(tree) and len(prisma_reads(tree)) == 3

    rerun = invoke_collect(tree)
    assert rerun.returncode == 0, rerun.stderr
    assert not leftover.exists() and prisma_reads(tree) == collected("a")


def test_a_hidden_folder_beside_the_collection_that_is_not_collects_is_left_alone(tree) -> None:
    tree.module("a", "models.prisma", model("A"))
    keep = tree.write("prisma/.schemas.tmp-k3x_9qz1/notes.txt", "mine")
    assert invoke_collect(tree).returncode == 0
    assert keep.exists()


def test_the_manifest_after_a_killed_update_still_owns_what_the_run_wrote(tree) -> None:
    tree.module("a", "models.prisma", model("A"))
    assert invoke_collect(tree).returncode == 0
    tree.module("b", "models.prisma", model("B"))
    assert invoke_collect(tree, "collect:after-entry").returncode == FAULT_EXIT_CODE
    manifest = (tree.root / ".prisma-tasks" / MANIFEST).read_text()
    assert "b__models.prisma" in manifest and INCOMPLETE_MARKER in manifest
    (tree.root / "modules/b/schema/models.prisma").unlink()  # b's entry is now stale
    rerun = invoke_collect(tree)
    assert rerun.returncode == 0, rerun.stderr
    assert prisma_reads(tree) == collected("a")


def test_check_names_an_older_versions_leftover_staging_folder(tree) -> None:
    tree.module("a", "models.prisma", model("A"))
    assert invoke_collect(tree).returncode == 0
    leftover = tree.root / "prisma/.schemas.tmp-k3x_9qz1"
    leftover.mkdir()
    (leftover / "a__models.prisma").write_text(model("A"))
    with pytest.raises(CheckFailed, match=r"leftover \.\./\.schemas\.tmp-k3x_9qz1/"):
        collect(load_settings(tree.root, environ={}), check=True)
    assert leftover.exists()  # --check writes nothing


def test_a_state_folder_on_another_filesystem_is_not_used_for_staging(tree, monkeypatch) -> None:
    state, folder = tree.root / ".prisma-tasks", tree.root / "prisma/schemas"
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if Path(path) == folder.parent:  # st_dev is the third field of a stat result
            return os.stat_result((*result[:2], result.st_dev + 1, *result[3:]))
        return result

    assert linkfarm.staging_folder_for(state, folder, tree.root / "prisma") == state / STAGING
    assert linkfarm.staging_folder_for(state, folder, tree.root) is None  # Prisma reads it
    monkeypatch.setattr(os, "stat", stat)
    assert linkfarm.staging_folder_for(state, folder, tree.root / "prisma") is None
