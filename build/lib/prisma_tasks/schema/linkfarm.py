"""Write the collected folder: incremental, atomic as far as Prisma can tell, and only ever
touching what collect itself wrote.

Prisma's `--schema prisma` reads every `*.prisma` file below `prisma/`, recursively,
following symlinks and including hidden folders. So:

- A missing folder is built in the state folder (`.prisma-tasks/collect-staging/`, outside
  what Prisma reads) and renamed into place in one step. A run killed before the rename
  leaves its staging folder where Prisma never looks; the next run removes it. Where the
  state folder cannot be used (inside the schema folder, or on another filesystem, where a
  rename cannot move a folder), the folder is created and filled in place under the marker.
- An existing folder is updated entry by entry, each entry written under a name that does not
  end in `.prisma` and renamed over its final name, and while that happens a marker file that
  Prisma cannot parse sits in the folder: a crash midway leaves a folder Prisma refuses (with
  the marker's message), never a half-collected one it accepts.
- Entries that are already right are not touched; a run with nothing to change writes nothing.
- A manifest in the state folder records which names collect wrote. Only those are replaced or
  removed; any other entry Prisma would read is reported as foreign, never deleted. It is
  written (atomically) before the folder changes, listing what is there and what is about to
  be, so that a run killed midway still knows everything it may have written.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from prisma_tasks.fsutil import NotARegularFile, fault_point, read_regular_file, write_atomically

INCOMPLETE_MARKER = "__collect_in_progress__.prisma"
_MARKER_TEXT = (
    "// prisma-tasks was interrupted while collecting module schemas into this folder.\n"
    "// Run `invoke prisma.collect` to finish; this file is removed when it succeeds.\n"
    "collection_incomplete_run_invoke_prisma_collect\n"
)
_SYMLINK_REFUSED = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EACCES}
MANIFEST = "collect-manifest.json"
_MANIFEST_FORMAT = 1
STAGING = "collect-staging"
# `.<name>.tmp-<pid>`: where an entry is written before it is renamed over its final name.
_ENTRY_STAGING = re.compile(r"\.(?P<name>.+\.prisma)\.tmp-\d+")


class Entry(NamedTuple):
    name: str
    source: str  # absolute path of the module file
    link_target: str  # relative to the collected folder


class Foreign(NamedTuple):
    """Something in the collected folder that Prisma reads and collect did not write."""

    name: str
    what: str  # why it is not collect's to replace or remove


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    incomplete_marker: bool = False
    # Staging folders an older prisma-tasks left beside the collected folder, where Prisma
    # reads them (it built the folder there, then renamed it).
    old_staging: list[str] = field(default_factory=list)
    foreign: list[Foreign] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # entry staging files of a killed run

    @property
    def any(self) -> bool:
        changed = self.added or self.replaced or self.removed or self.old_staging
        return bool(changed or self.incomplete_marker)


class Manifest:
    """The names collect wrote into one collected folder, kept in the state folder."""

    def __init__(self, state_folder: Path, folder: Path) -> None:
        self.path = state_folder / MANIFEST
        # Relative to the state folder: moving the repository moves both.
        self.folder = os.path.relpath(folder, state_folder)
        self.names = self._load()

    def _load(self) -> frozenset[str]:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            names = record["names"]
            if (
                record["format"] == _MANIFEST_FORMAT
                and record["folder"] == self.folder
                and isinstance(names, list)
            ):
                return frozenset(name for name in names if isinstance(name, str))
        except (OSError, ValueError, TypeError, KeyError):
            pass  # no record (first run, or state folder removed): own only what is provably ours
        return frozenset()

    def save(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        record = {"format": _MANIFEST_FORMAT, "folder": self.folder, "names": sorted(self.names)}
        write_atomically(self.path, json.dumps(record, indent=1) + "\n")


def _entry_is_right(path: str, entry: Entry, mode: str) -> bool:
    try:
        if mode == "symlink":
            return os.readlink(path) == entry.link_target
        return not os.path.islink(path) and read_regular_file(Path(path)) == read_regular_file(
            Path(entry.source)
        )
    except (OSError, NotARegularFile):  # not a link (EINVAL), missing, a FIFO: not right
        return False


def _is_marker(path: str) -> bool:
    try:
        return not os.path.islink(path) and read_regular_file(Path(path)) == _MARKER_TEXT.encode()
    except (OSError, NotARegularFile):
        return False


def _written_kind(path: str) -> bool:
    """Whether the entry is a symlink or a regular file: the only kinds collect writes."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISLNK(mode) or stat.S_ISREG(mode)


def _holds_prisma_files(path: str) -> bool:
    """Whether Prisma would read a .prisma file below `path` (nothing, for a file)."""
    return any(name.endswith(".prisma") for _, _, files in os.walk(path) for name in files)


def plan_changes(
    folder: Path, entries: list[Entry], mode: str, owned: frozenset[str] = frozenset()
) -> Changes:
    """What must change in `folder`; `owned` are the names the manifest says collect wrote.

    An entry is collect's when it is owned, or when it is exactly what collect would write
    (a folder collected before the manifest existed, or a state folder that was removed).
    """
    changes = Changes(old_staging=old_staging_folders(folder))
    wanted = {entry.name: entry for entry in entries}
    listing = sorted(os.listdir(folder)) if folder.is_dir() else []
    present = {name for name in listing if name.endswith(".prisma")}
    changes.leftovers = _entry_staging_leftovers(listing, owned | wanted.keys())
    _plan_wanted(changes, folder, wanted, present, owned, mode)
    _plan_unwanted(changes, folder, present - wanted.keys() - {INCOMPLETE_MARKER}, owned)
    _plan_marker(changes, folder, present, owned)
    changes.foreign += [
        Foreign(name, "is a folder holding .prisma files, which Prisma reads too")
        for name in listing
        if name not in present and _holds_prisma_files(os.path.join(folder, name))
    ]
    changes.removed.sort()
    changes.foreign.sort()
    return changes


def _entry_staging_leftovers(listing: list[str], ours: Iterable[str]) -> list[str]:
    names = set(ours)
    found = (_ENTRY_STAGING.fullmatch(name) for name in listing)
    return [match.string for match in found if match and match["name"] in names]


def _plan_wanted(
    changes: Changes,
    folder: Path,
    wanted: dict[str, Entry],
    present: set[str],
    owned: frozenset[str],
    mode: str,
) -> None:
    for name, entry in sorted(wanted.items()):
        path = os.path.join(folder, name)
        if name not in present:
            changes.added.append(name)
        elif _entry_is_right(path, entry, mode):
            changes.unchanged.append(name)
        elif name in owned and _written_kind(path):
            changes.replaced.append(name)
        else:
            changes.foreign.append(Foreign(name, _not_ours(name in owned)))


def _plan_unwanted(
    changes: Changes, folder: Path, unwanted: set[str], owned: frozenset[str]
) -> None:
    for name in unwanted:
        if name in owned and _written_kind(os.path.join(folder, name)):
            changes.removed.append(name)
        else:
            changes.foreign.append(Foreign(name, _not_ours(name in owned)))


def _plan_marker(changes: Changes, folder: Path, present: set[str], owned: frozenset[str]) -> None:
    if INCOMPLETE_MARKER not in present:
        return
    marker = os.path.join(folder, INCOMPLETE_MARKER)
    if _is_marker(marker) or (INCOMPLETE_MARKER in owned and _written_kind(marker)):
        changes.incomplete_marker = True
    else:
        changes.foreign.append(Foreign(INCOMPLETE_MARKER, _not_ours(False)))


def _not_ours(owned: bool) -> str:
    """Why an entry is foreign; `owned`: recorded as collect's, but no longer what it writes."""
    if owned:
        return "was written by collect but is no longer a file or symlink; remove it"
    return (
        "was not written by `invoke prisma.collect` (it is not in its manifest), and Prisma "
        "reads it; collect never removes or replaces such a file: move it into a module's "
        "schema folder, or delete it"
    )


def old_staging_folders(folder: Path) -> list[str]:
    """Hidden `.<folder>.tmp-XXXXXXXX` folders beside the collected folder, holding nothing but
    .prisma entries: what older versions built there and left when killed before the rename.
    """
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.tmp-[a-z0-9_]{{8}}")
    try:
        names = os.listdir(folder.parent)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        path = os.path.join(folder.parent, name)
        if pattern.fullmatch(name) and not os.path.islink(path) and _only_entries(path):
            found.append(name)
    return found


def _only_entries(path: str) -> bool:
    """Whether `path` is a folder of nothing but .prisma symlinks and files."""
    try:
        inside = os.listdir(path)
    except OSError:  # not a folder, or not ours to look into
        return False
    return all(n.endswith(".prisma") and _written_kind(os.path.join(path, n)) for n in inside)


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


def staging_folder_for(state_folder: Path, folder: Path, schema_folder: Path) -> Path | None:
    """Where a missing collected folder may be built before it is renamed into place: in the
    state folder, unless Prisma reads that (it is inside the schema folder) or a rename cannot
    move a folder from there (another filesystem). None: build in place, under the marker.
    """
    staging = state_folder / STAGING
    if staging.resolve().is_relative_to(schema_folder.resolve()):
        return None
    staging.mkdir(parents=True, exist_ok=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    if os.stat(staging).st_dev != os.stat(folder.parent).st_dev:
        return None
    return staging


def remove_staging_leftovers(staging_root: Path) -> None:
    """Staging folders of runs killed before their rename (call under the writer lock)."""
    for leftover in staging_root.iterdir():
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)


def _write_entry(folder: Path, entry: Entry, mode: str) -> None:
    final = folder / entry.name
    # Not ending in .prisma: Prisma does not read it if the run dies before the rename.
    staging = folder / f".{entry.name}.tmp-{os.getpid()}"
    staging.unlink(missing_ok=True)  # left by an interrupted run with the same pid
    _place(entry, mode, staging)
    os.replace(staging, final)


def _place(entry: Entry, mode: str, path: Path) -> None:
    if mode == "symlink":
        # Relative to the final folder; a folder built elsewhere is renamed there as it is.
        os.symlink(entry.link_target, path)
    else:
        shutil.copyfile(entry.source, path)


def apply_changes(
    folder: Path,
    entries: list[Entry],
    mode: str,
    changes: Changes,
    manifest: Manifest,
    staging_root: Path | None = None,
) -> None:
    """Make `folder` hold exactly `entries`; refuses if anything in it is foreign."""
    if changes.foreign:  # the caller reports them; writing anything now would be wrong
        raise ValueError(f"{folder} holds entries collect did not write: {changes.foreign}")
    wanted = {entry.name for entry in entries}
    if not changes.any:
        if manifest.names != wanted:
            manifest.save(wanted)  # entries found right but not yet recorded
        return
    manifest.save(manifest.names | wanted | {INCOMPLETE_MARKER})
    for name in changes.old_staging:
        shutil.rmtree(folder.parent / name)
    if not folder.exists():
        _build_fresh(folder, entries, mode, staging_root)
    else:
        _update_in_place(folder, entries, mode, changes)
    fault_point("collect:before-manifest")
    manifest.save(wanted)


def _update_in_place(folder: Path, entries: list[Entry], mode: str, changes: Changes) -> None:
    by_name = {entry.name: entry for entry in entries}
    marker = folder / INCOMPLETE_MARKER
    write_atomically(marker, _MARKER_TEXT)
    fault_point("collect:after-marker")
    for leftover in changes.leftovers:
        (folder / leftover).unlink(missing_ok=True)
    for name in (*changes.added, *changes.replaced):
        _write_entry(folder, by_name[name], mode)
        fault_point("collect:after-entry")
    for name in changes.removed:
        (folder / name).unlink()
    marker.unlink(missing_ok=True)


def _build_fresh(folder: Path, entries: list[Entry], mode: str, staging_root: Path | None) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    if staging_root is None:
        folder.mkdir()
        _update_in_place(folder, entries, mode, Changes(added=[e.name for e in entries]))
        return
    remove_staging_leftovers(staging_root)
    staging = Path(tempfile.mkdtemp(prefix=f"{folder.name}-", dir=staging_root))
    try:
        staging.chmod(0o755)  # mkdtemp makes it 0700; the folder is an ordinary project folder
        for entry in entries:
            _place(entry, mode, staging / entry.name)
        fault_point("collect:after-stage")
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
