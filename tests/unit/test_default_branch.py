"""Which migrations count as merged (gate.migrations_on_default_branch), in real git repositories.

Without a default branch yet (no commit, or no main/master anywhere) nothing is merged: every
migration is new and may be re-locked. Where it cannot be told, the answer is None (refuse).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from prisma_tasks.commands.gate import migrations_on_default_branch, new_migrations
from prisma_tasks.config import load_settings

INIT = "20260101000000_init"


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    migration = root / "prisma/migrations" / INIT
    migration.mkdir(parents=True)
    (migration / "migration.sql").write_text("SELECT 1;\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    return root


def decided(root: Path, branch: str = "main") -> tuple[set[str] | None, str]:
    return migrations_on_default_branch(load_settings(root, environ={}), branch)


def commit_on(root: Path, branch: str) -> None:
    git(root, "init", "-q", "-b", branch)
    git(root, "add", "-A")
    git(root, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init")


def test_not_a_repository_cannot_be_told(repo: Path) -> None:
    merged, how = decided(repo)
    assert merged is None and "not in a git repository" in how
    folders, how = new_migrations(load_settings(repo, environ={}), "main")
    assert [f.name for f in folders] == [INIT] and how.endswith("linting every migration")


def test_a_repository_without_commits_has_merged_nothing(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    assert decided(repo) == (set(), "no commit yet: every migration is new")


def test_a_repository_without_main_or_master_has_merged_nothing(repo: Path) -> None:
    commit_on(repo, "trunk")
    assert decided(repo) == (set(), "no 'main' branch yet: every migration is new")


def test_master_when_main_is_configured_cannot_be_told(repo: Path) -> None:
    commit_on(repo, "master")
    merged, how = decided(repo)
    assert merged is None and "master exists" in how and "default_branch" in how


def test_the_default_branch_itself_is_compared_with(repo: Path) -> None:
    commit_on(repo, "main")
    merged, how = decided(repo)
    assert merged == {INIT} and how.startswith("compared with main at ")
    merged, how = decided(repo, "trunk")
    assert merged is None and "main exists" in how  # 'trunk' may be a typo: refuse


def test_a_remote_may_have_the_default_branch(repo: Path) -> None:
    commit_on(repo, "trunk")  # e.g. cloned with --single-branch
    git(repo, "remote", "add", "origin", "https://example.invalid/repo.git")
    merged, how = decided(repo)
    assert merged is None and "remote origin may have it" in how
