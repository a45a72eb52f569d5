"""Which cached cluster a run takes, which ones go, what the cache key depends on, and what a
broken entry or cache folder does (a miss, never an error)."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.databases.cluster_cache import (
    CLUSTER,
    FOLDER,
    MAX_AGE_SECONDS,
    MAX_ENTRIES,
    MAX_PER_PROJECT,
    MAX_USES,
    META,
    ClusterCache,
    EntryMeta,
    cache_key,
    choose,
    evictions,
    read_meta,
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
    assert choose(entries, "/repo", NOW, "") == ("new-mine", [])
    assert choose(entries, "/third", NOW, "") == ("new-other", [])


def test_worn_and_old_entries_are_retired_not_taken() -> None:
    entries = [
        ("worn", meta(uses=MAX_USES, returned=NOW)),
        ("stale", meta(age=MAX_AGE_SECONDS, returned=NOW)),
        ("fine", meta(uses=MAX_USES - 1, age=MAX_AGE_SECONDS - 1, returned=NOW - 99)),
    ]
    assert choose(entries, "/repo", NOW, "") == ("fine", ["worn", "stale"])
    assert choose(entries[:2], "/repo", NOW, "") == (None, ["worn", "stale"])
    assert choose([], "/repo", NOW, "") == (None, [])


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


GOOD: dict[str, Any] = {
    "password": "pw",
    "project": "/repo",
    "templates": ["pt_tpl_a"],
    "uses": 3,
    "created": NOW,
    "returned": NOW,
}


def write_entry(folder: Path, data: Any) -> Path:
    folder.mkdir(parents=True)
    (folder / META).write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


@pytest.mark.parametrize(
    "changed",
    [
        {"uses": "x"},
        {"uses": True},
        {"uses": 1.5},
        {"templates": 5},
        {"templates": ["ok", 7]},
        {"password": None},
        {"password": 12},
        {"project": ["/repo"]},
        {"created": "yesterday"},
        {"returned": float("nan")},
        {"created": float("inf")},
        {"unknown": 1},
    ],
    ids=repr,
)
def test_a_meta_with_a_wrong_type_is_no_entry(tmp_path: Path, changed: dict[str, Any]) -> None:
    entry = write_entry(tmp_path / "entry", {**GOOD, **changed})
    assert read_meta(entry) is None


@pytest.mark.parametrize("raw", ["", "{", "[]", "5", "null", '"pw"', "{}", '{"uses": 1}'])
def test_a_meta_that_is_not_an_object_with_a_password_is_no_entry(tmp_path: Path, raw: str) -> None:
    assert read_meta(write_entry(tmp_path / "entry", raw)) is None


def test_a_good_meta_is_read_with_defaults_for_what_it_lacks(tmp_path: Path) -> None:
    assert read_meta(write_entry(tmp_path / "full", GOOD)) == EntryMeta(**GOOD)
    sparse = read_meta(write_entry(tmp_path / "sparse", {"password": "pw", "created": 1}))
    assert sparse is not None and sparse.uses == 0 and sparse.templates == []


def test_an_entry_with_a_corrupt_meta_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache = ClusterCache(tmp_path, "key")
    write_entry(cache.folder / "entry-bad", {**GOOD, "uses": "x", "created": 1e18})
    into = tmp_path / "into"
    into.mkdir()
    assert cache.take(into, "/repo") is None
    assert list(cache.folder.glob("entry-*")) == [] and list(into.iterdir()) == []


def test_a_cache_folder_that_cannot_be_used_is_a_miss(tmp_path: Path) -> None:
    (tmp_path / FOLDER / "key" / ".lock").mkdir(parents=True)  # a folder: open() fails
    (tmp_path / FOLDER / "other").write_text("a file where a key's folder belongs")
    into = tmp_path / "into"
    into.mkdir()
    lines: list[str] = []
    assert ClusterCache(tmp_path, "key", log=lines.append).take(into, "/repo") is None
    (line,) = lines
    assert line.startswith("cluster cache: not used (IsADirectoryError: ")
    assert ClusterCache(tmp_path, "other").take(into, "/repo") is None
    assert ClusterCache(tmp_path / "missing", "key").take(into, "/repo") is None
    assert list(into.iterdir()) == []


def a_cluster_folder(parent: Path, name: str = "pg-run") -> Path:
    folder = parent / name
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "PG_VERSION").write_text("15\n")
    return folder


def test_a_given_back_folder_is_taken_whole_and_its_meta_stays_out_of_it(tmp_path: Path) -> None:
    cache = ClusterCache(tmp_path, "key")
    assert cache.give_back(a_cluster_folder(tmp_path), EntryMeta(password="pw", project="/repo"))
    (entry,) = cache.folder.glob("entry-*")
    assert sorted(path.name for path in entry.iterdir()) == sorted([CLUSTER, META])
    into = tmp_path / "into"
    into.mkdir()
    taken = cache.take(into, "/repo")
    assert taken is not None and taken.password == "pw"
    assert sorted(path.name for path in into.iterdir()) == ["data"]
    assert list(cache.folder.glob("entry-*")) == []


def test_an_entry_without_its_cluster_folder_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache = ClusterCache(tmp_path, "key")
    write_entry(cache.folder / "entry-half", GOOD)  # a give back killed before its rename
    into = tmp_path / "into"
    into.mkdir()
    assert cache.take(into, "/repo") is None
    assert list(cache.folder.glob("entry-*")) == [] and list(into.iterdir()) == []


def test_an_entry_given_back_before_a_reboot_is_retired_not_taken(tmp_path: Path) -> None:
    before = ClusterCache(tmp_path, "key", boot_id="boot-1")
    assert before.give_back(a_cluster_folder(tmp_path), EntryMeta(password="pw"))
    (entry,) = before.folder.glob("entry-*")
    kept = read_meta(entry)
    assert kept is not None and kept.boot_id == "boot-1"
    into = tmp_path / "into"
    into.mkdir()
    assert ClusterCache(tmp_path, "key", boot_id="boot-2").take(into, "") is None
    assert list(before.folder.glob("entry-*")) == [] and list(into.iterdir()) == []


def test_the_boot_id_is_part_of_retirement() -> None:
    entries = [("before", meta()), ("now", EntryMeta(password="pw", boot_id="b", returned=NOW - 9))]
    assert choose(entries, "/repo", NOW, "b") == ("now", ["before"])
    assert choose(entries, "/repo", NOW, "") == ("before", ["now"])


def test_removed_entries_are_deleted_after_the_lock_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ClusterCache(tmp_path, "key")
    write_entry(cache.folder / "entry-broken", "{")
    (cache.folder / ".trash-left-by-a-kill").mkdir()
    deleted, real_rmtree = [], shutil.rmtree

    def rmtree(path: Path, ignore_errors: bool = False) -> None:
        with open(cache.folder / ".lock", "a") as handle:  # raises BlockingIOError if held
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
        deleted.append(Path(path).name)
        real_rmtree(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    into = tmp_path / "into"
    into.mkdir()
    assert cache.take(into, "/repo") is None
    assert len(deleted) == 2 and all(name.startswith(".trash-") for name in deleted)
    assert sorted(path.name for path in cache.folder.iterdir()) == [".lock"]
