"""Where runs keep their throwaway clusters, the cluster cache, owner records and SQLite copies.

PRISMA_TASKS_RUNTIME_DIR when it is set; otherwise a folder in RAM (`/dev/shm`, a tmpfs on
Linux) when that has room; otherwise the temp folder. Why RAM: the clusters run with fsync off,
so a disk gives them no durability they use, only slower file creation. On the project's
2-core VM (ext4 on virtio) a clone of the bench's template (CREATE DATABASE ... TEMPLATE) took
120-330 ms on disk and 13-17 ms on tmpfs, and a cold cluster 1.2 s against 0.66 s
(bench/database_bench.py, 2026-12-04).

The choice sticks: once the RAM folder exists (the first run that found room made it), every
run uses it until a reboot clears it, so runs started one after another agree on one folder
whatever the free space does in between.

What RAM loses is lost cheaply: a reboot empties it (cached clusters are retired on a new boot
anyway), and systemd-logind's RemoveIPC deletes a non-system user's files there when their last
session ends; a cached cluster missing files then fails to start, which the cache counts as a
miss (a new cluster, as without the cache). Live clusters of that user end with the session.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

RAM_FOLDER = Path("/dev/shm")
#: Below this much free space the RAM folder is not chosen (Docker gives containers 64 MB).
#: A cached cluster with its templates takes 40-60 MB; a run's clones add to that.
MIN_FREE_BYTES = 2 * 1024**3
RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


def runtime_root() -> Path:
    override = os.environ.get("PRISMA_TASKS_RUNTIME_DIR")
    return Path(override) if override else default_root()


@functools.cache
def default_root() -> Path:
    return choose_default(RAM_FOLDER, Path(tempfile.gettempdir()), os.getuid(), free_bytes)


def legacy_root() -> Path | None:
    """The folder runs used before the RAM default, `<tmp>/prisma-tasks-<uid>`, when runs now
    use another one: what killed runs of an older version left there is reaped from here
    (provisioner.retire). None when PRISMA_TASKS_RUNTIME_DIR is set: then the user chose the
    folders, and the temp one may be another checkout's, in use."""
    return legacy_of(
        os.environ.get("PRISMA_TASKS_RUNTIME_DIR"),
        default_root(),
        Path(tempfile.gettempdir()),
        os.getuid(),
    )


def legacy_of(override: str | None, default: Path, temp: Path, uid: int) -> Path | None:
    if override:
        return None
    old = temp / f"prisma-tasks-{uid}"
    return None if old.resolve() == default.resolve() else old


def owned_by_me(path: Path) -> bool:
    """A real folder (not a symlink) of this user that other users cannot write into. /dev/shm
    and /tmp are shared: anyone could make `prisma-tasks-<uid>` there first, and the records in
    it name the pg_ctl a reaper runs and the folders it deletes."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o002


def choose_default(ram: Path, temp: Path, uid: int, free: Callable[[Path], int | None]) -> Path:
    """`<ram>/prisma-tasks-<uid>` when it exists, or when `ram` is a writable folder with at
    least MIN_FREE_BYTES free; `<temp>/prisma-tasks-<uid>` otherwise."""
    name = f"prisma-tasks-{uid}"
    if os.path.lexists(ram / name):  # ours sticks; one someone else made is never used
        return ram / name if owned_by_me(ram / name) else temp / name
    room = free(ram) if ram.is_dir() and os.access(ram, os.W_OK | os.X_OK) else None
    if room is not None and room >= MIN_FREE_BYTES:
        return ram / name
    return temp / name


def free_bytes(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def in_ram(path: Path, mounts: str | None = None) -> bool:
    """True when `path` lies on a RAM filesystem, read from /proc/self/mounts (the longest
    mount point that contains it); False when that cannot be told."""
    if mounts is None:
        try:
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    target = os.path.realpath(path)
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fields[2]
    return best_type in RAM_FILESYSTEMS


def _unescape(field: str) -> str:
    """Mount points in /proc/self/mounts write space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
