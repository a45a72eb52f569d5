from __future__ import annotations

from pathlib import Path

import pytest

from prisma_tasks.databases import runtime_root
from prisma_tasks.databases.runtime_root import (
    MIN_FREE_BYTES,
    choose_default,
    in_ram,
    legacy_of,
    owned_by_me,
)

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime,size=24683792k 0 0
tmpfs /run tmpfs rw 0 0
/dev/vdb /run/data ext4 rw 0 0
/dev/vdc /mnt/with\\040space xfs rw 0 0
tmpfs /mnt/with\\040space/ram tmpfs rw 0 0
"""


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    ram, temp = tmp_path / "shm", tmp_path / "tmp"
    ram.mkdir()
    temp.mkdir()
    return ram, temp


def test_ram_with_room_is_chosen(folders: tuple[Path, Path]) -> None:
    ram, temp = folders
    assert choose_default(ram, temp, 7, lambda _: MIN_FREE_BYTES) == ram / "prisma-tasks-7"


def test_ram_without_room_falls_back_to_temp(folders: tuple[Path, Path]) -> None:
    ram, temp = folders
    docker_default = 64 * 1024**2
    assert choose_default(ram, temp, 7, lambda _: docker_default) == temp / "prisma-tasks-7"
    assert choose_default(ram, temp, 7, lambda _: None) == temp / "prisma-tasks-7"


def test_missing_ram_folder_falls_back_to_temp(folders: tuple[Path, Path]) -> None:
    ram, temp = folders
    gone = ram / "absent"
    assert choose_default(gone, temp, 7, lambda _: MIN_FREE_BYTES) == temp / "prisma-tasks-7"


def test_existing_ram_folder_sticks_when_room_shrinks(folders: tuple[Path, Path]) -> None:
    ram, temp = folders
    (ram / "prisma-tasks-7").mkdir()
    assert choose_default(ram, temp, 7, lambda _: 0) == ram / "prisma-tasks-7"
    assert choose_default(ram, temp, 8, lambda _: 0) == temp / "prisma-tasks-8"


def test_environment_overrides_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(tmp_path / "mine"))
    assert runtime_root.runtime_root() == tmp_path / "mine"
    monkeypatch.delenv("PRISMA_TASKS_RUNTIME_DIR")
    assert runtime_root.runtime_root() == runtime_root.default_root()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dev/shm/prisma-tasks-0/pg-1", True),
        ("/dev/shm", True),
        ("/dev/shmem/x", False),  # a prefix of the name, not a folder inside the mount
        ("/run/data/pg", False),  # the longer, disk mount wins over the tmpfs on /run
        ("/run/user/0", True),
        ("/mnt/with space/ram/x", True),  # octal escapes in mount points are read
        ("/mnt/with space/x", False),
        ("/home/dev", False),
    ],
)
def test_in_ram_reads_the_innermost_mount(path: str, expected: bool) -> None:
    assert in_ram(Path(path), MOUNTS) is expected


def test_in_ram_without_a_mount_table_is_false() -> None:
    assert in_ram(Path("/dev/shm/x"), "") is False


# -- the folder of older versions, reaped once runs use another -------------------------------
def test_legacy_root_is_the_temp_folder_when_runs_use_ram() -> None:
    old = legacy_of(None, Path("/dev/shm/prisma-tasks-7"), Path("/tmp"), 7)
    assert old == Path("/tmp/prisma-tasks-7")


def test_no_legacy_root_when_runs_still_use_the_temp_folder() -> None:
    assert legacy_of(None, Path("/tmp/prisma-tasks-7"), Path("/tmp"), 7) is None


def test_no_legacy_root_when_the_user_chose_the_folder() -> None:
    # the temp folder may then be another checkout's runtime folder, in use
    assert legacy_of("/srv/runs", Path("/dev/shm/prisma-tasks-7"), Path("/tmp"), 7) is None


def test_legacy_root_is_per_user() -> None:
    assert legacy_of(None, Path("/dev/shm/prisma-tasks-7"), Path("/tmp"), 8) == Path(
        "/tmp/prisma-tasks-8"
    )


# -- a folder someone else made in the shared /dev/shm or /tmp is never used ------------------
def test_owned_by_me_wants_a_private_real_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    (tmp_path / "link").symlink_to(mine)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (tmp_path / "file").write_text("")
    assert owned_by_me(mine)
    assert not owned_by_me(tmp_path / "link")
    assert not owned_by_me(shared)
    assert not owned_by_me(tmp_path / "file")
    assert not owned_by_me(tmp_path / "missing")


def test_a_ram_folder_planted_by_someone_else_is_not_used(folders: tuple[Path, Path]) -> None:
    ram, temp = folders
    elsewhere = ram.parent / "elsewhere"
    elsewhere.mkdir()
    (ram / "prisma-tasks-7").symlink_to(elsewhere)
    assert choose_default(ram, temp, 7, lambda _: MIN_FREE_BYTES) == temp / "prisma-tasks-7"
    (ram / "prisma-tasks-7").unlink()
    (ram / "prisma-tasks-7").mkdir()
    (ram / "prisma-tasks-7").chmod(0o777)
    assert choose_default(ram, temp, 7, lambda _: MIN_FREE_BYTES) == temp / "prisma-tasks-7"
