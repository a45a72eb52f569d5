"""Which cached cluster a run takes, which ones go, and what the cache key depends on."""

from __future__ import annotations

from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.databases.cluster_cache import (
    MAX_AGE_SECONDS,
    MAX_ENTRIES,
    MAX_PER_PROJECT,
    MAX_USES,
    EntryMeta,
    cache_key,
    choose,
    evictions,
)
from prisma_tasks.errors import ConfigError

NOW = 1_000_000_000.0


def meta(project: str = "/repo", returned: float = NOW, uses: int = 0, age: float = 0) -> EntryMeta:
    created = NOW - age
    return EntryMeta(password="pw", project=project, uses=uses, created=created, returned=returned)


def test_the_newest_entry_of_the_same_project_is_taken_before_newer_ones_of_others() -> None:
    entries = [
        ("old-mine", meta(returned=NOW - 30)),
        ("new-other", meta("/other", returned=NOW)),
        ("new-mine", meta(returned=NOW - 10)),
    ]
    assert choose(entries, "/repo", NOW) == ("new-mine", [])
    assert choose(entries, "/third", NOW) == ("new-other", [])


def test_worn_and_old_entries_are_retired_not_taken() -> None:
    entries = [
        ("worn", meta(uses=MAX_USES, returned=NOW)),
        ("stale", meta(age=MAX_AGE_SECONDS, returned=NOW)),
        ("fine", meta(uses=MAX_USES - 1, age=MAX_AGE_SECONDS - 1, returned=NOW - 99)),
    ]
    assert choose(entries, "/repo", NOW) == ("fine", ["worn", "stale"])
    assert choose(entries[:2], "/repo", NOW) == (None, ["worn", "stale"])
    assert choose([], "/repo", NOW) == (None, [])


def test_a_new_entry_evicts_the_oldest_of_its_project_then_the_oldest_of_all() -> None:
    mine = [(f"mine-{n}", meta(returned=NOW - n)) for n in range(MAX_PER_PROJECT)]
    assert evictions(mine, "/repo") == [f"mine-{MAX_PER_PROJECT - 1}"]
    others = [(f"other-{n}", meta(f"/p{n}", returned=NOW - 100 - n)) for n in range(MAX_ENTRIES)]
    assert evictions(others, "/repo") == ["other-3"]
    assert evictions([*mine[:1], *others[:2]], "/repo") == []


def test_the_key_changes_with_the_binaries_the_user_and_the_initdb_options(tmp_path: Path) -> None:
    first, second = tmp_path / "15", tmp_path / "16"
    for bindir, size in ((first, 10), (second, 20)):
        bindir.mkdir()
        (bindir / "postgres").write_bytes(b"x" * size)
    options = ("--locale=C",)
    key = cache_key(first, "postgres", options)
    assert key == cache_key(first, "postgres", options)
    assert key != cache_key(second, "postgres", options)
    assert key != cache_key(first, None, options)
    assert key != cache_key(first, "postgres", ("--locale=en_US.UTF-8",))
    (first / "postgres").write_bytes(b"y" * 11)  # an upgraded server binary
    assert key != cache_key(first, "postgres", options)


@pytest.mark.parametrize(("raw", "expected"), [("0", False), ("off", False), ("yes", True)])
def test_cluster_cache_setting_from_the_environment(
    tmp_path: Path, raw: str, expected: bool
) -> None:
    settings = load_settings(tmp_path, environ={"PRISMA_TASKS_CLUSTER_CACHE": raw})
    assert settings.cluster_cache is expected
    assert load_settings(tmp_path, environ={}).cluster_cache is True


def test_cluster_cache_setting_rejects_what_is_not_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PRISMA_TASKS_CLUSTER_CACHE='maybe' must be true or"):
        load_settings(tmp_path, environ={"PRISMA_TASKS_CLUSTER_CACHE": "maybe"})
    (tmp_path / "pyproject.toml").write_text('[tool.prisma-tasks]\ncluster_cache = "no"\n')
    with pytest.raises(ConfigError, match="cluster_cache must be true or false, got str"):
        load_settings(tmp_path, environ={})
