"""Write the collected folder: incremental, atomic as far as Prisma can tell.

- A missing folder is built beside it and renamed into place in one step.
- An existing folder is updated entry by entry, each entry replaced atomically, and while that
  happens a marker file that Prisma cannot parse sits in the folder: a crash midway leaves a
  folder Prisma refuses (with the marker's message), never a half-collected one it accepts.
- Entries that are already right are not touched; a run with nothing to change writes nothing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .fsutil import NotARegularFile, read_regular_file

INCOMPLETE_MARKER = "__collect_in_progress__.prisma"
_MARKER_TEXT = (
    "// prisma-tasks was interrupted while collecting module schemas into this folder.\n"
    "// Run `invoke prisma.collect` to finish; this file is removed when it succeeds.\n"
    "collection_incomplete_run_invoke_prisma_collect\n"
)
_SYMLINK_REFUSED = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EACCES}


class Entry(NamedTuple):
    name: str
    source: str  # absolute path of the module file
    link_target: str  # relative to the collected folder


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    incomplete_marker: bool = False

    @property
    def any(self) -> bool:
        return bool(self.added or self.replaced or self.removed or self.incomplete_marker)


def _entry_is_right(path: str, entry: Entry, mode: str) -> bool:
    try:
        if mode == "symlink":
            return os.readlink(path) == entry.link_target
        return not os.path.islink(path) and read_regular_file(Path(path)) == read_regular_file(
            Path(entry.source)
        )
    except (OSError, NotARegularFile):  # not a link (EINVAL), missing, a FIFO: not right
        return False


def plan_changes(folder: Path, entries: list[Entry], mode: str) -> Changes:
    changes = Changes()
    wanted = {entry.name: entry for entry in entries}
    existing = set()
    if folder.is_dir():
        existing = {p.name for p in folder.iterdir() if p.name.endswith(".prisma")}
    changes.incomplete_marker = INCOMPLETE_MARKER in existing
    existing.discard(INCOMPLETE_MARKER)
    for name, entry in sorted(wanted.items()):
        if name not in existing:
            changes.added.append(name)
        elif _entry_is_right(os.path.join(folder, name), entry, mode):
            changes.unchanged.append(name)
        else:
            changes.replaced.append(name)
    changes.removed = sorted(existing - wanted.keys())
    return changes


@contextmanager
def writer_lock(state_folder: Path) -> Iterator[None]:
    """An exclusive lock for the write phase of a collect (released when the process dies)."""
    state_folder.mkdir(parents=True, exist_ok=True)
    with open(state_folder / "collect.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def symlinks_supported(folder: Path) -> bool:
    # Probe beside the folder, not in it: its mtime is part of the collect snapshot.
    probe_dir = folder.parent
    probe_dir.mkdir(parents=True, exist_ok=True)
    probe = probe_dir / f".symlink-probe-{os.getpid()}"
    try:
        os.symlink("target", probe)
    except OSError as exc:
        if exc.errno in _SYMLINK_REFUSED:
            return False
        raise
    probe.unlink()
    return True


def _write_entry(folder: Path, entry: Entry, mode: str) -> None:
    final = folder / entry.name
    staging = folder / f".{entry.name}.tmp-{os.getpid()}"
    staging.unlink(missing_ok=True)  # left by an interrupted run with the same pid
    if mode == "symlink":
        os.symlink(entry.link_target, staging)
    else:
        shutil.copyfile(entry.source, staging)
    os.replace(staging, final)


def apply_changes(folder: Path, entries: list[Entry], mode: str, changes: Changes) -> None:
    if not changes.any:
        return
    by_name = {entry.name: entry for entry in entries}
    if not folder.exists():
        _build_fresh(folder, entries, mode)
        return
    marker = folder / INCOMPLETE_MARKER
    marker.write_text(_MARKER_TEXT, encoding="utf-8")
    for name in (*changes.added, *changes.replaced):
        _write_entry(folder, by_name[name], mode)
    for name in changes.removed:
        (folder / name).unlink()
    for leftover in folder.glob(f".*.tmp-{os.getpid()}"):
        leftover.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)


def _build_fresh(folder: Path, entries: list[Entry], mode: str) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it 0700; the folder is an ordinary project folder
        for entry in entries:
            target = staging / entry.name
            if mode == "symlink":
                # Relative to the final folder, which sits at the same depth as the staging one.
                os.symlink(entry.link_target, target)
            else:
                shutil.copyfile(entry.source, target)
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
