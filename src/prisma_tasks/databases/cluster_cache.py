"""Local clusters kept between runs, so a run whose schema did not change skips initdb and the
template build (issue "Speed to the floor": a first database in under a second).

A run that started a local cluster and leaves it as it found it (no database of its own left,
no shadow database, no role added, no lasting setting or object: backends/cluster.py) stops it
cleanly and moves its folder here instead of removing it; a later run on the same binaries moves
it back out and starts it. The templates the cluster holds (`pt_tpl_<content hash>`) come with
it, so the provisioner finds its template current and clones at once. An entry is a folder this
process's user owns (0700), holding the stopped cluster folder and, beside it, the meta:

    <state_root>/cluster-cache/<key>/<entry>/cluster/     the stopped cluster folder (data/ ...)
    <state_root>/cluster-cache/<key>/<entry>/cache.json   password, uses, project, templates

The meta is not inside the cluster folder: as root that folder belongs to the user the server
runs as, who could plant a symlink there to redirect a write of ours. An entry without both
is removed when next seen (a give back a kill interrupted).

`key` names everything an entry must match to be reused: the binaries (path, version file,
size and mtime of `postgres`), the initdb options (pg_local.INITDB_OPTIONS), the user that runs
the server and this format. Why moving folders and not the alternatives: a copy of the data
directory (cp -a of ~40 MB per take) costs about what initdb does; a running cluster shared by
runs needs a daemon to own it and a way to stop it when nobody uses it. A rename is atomic and
free, and an entry is owned by one run at a time:

- take: under the cache's lock, the chosen entry's cluster folder is renamed onto the empty
  folder the run recorded in its owner record before (backends/cluster.py): from that instant it
  is that run's cluster, reaped like any other if the run is killed;
- give back: the run stops the cluster (`pg_ctl stop -m fast`: a clean shutdown, no recovery
  at the next start), then, under the lock, writes the meta into a new entry folder and renames
  the cluster folder in; a run killed before that rename left an ordinary reapable folder
  behind, one killed after it left a complete entry.

Each take rotates the superuser's password, so a URL a previous run printed or exported no
longer opens the cluster. Bounds: MAX_ENTRIES in all per key, MAX_PER_PROJECT per project;
an entry is retired after MAX_USES takes or MAX_AGE_SECONDS, and after a reboot (the boot id
it was given back under is not the current one): the clusters run with fsync off, so one a
crash or reboot interrupted may have lost writes it had reported done. `invoke db.down` clears
the cache; `cluster_cache = false` (or PRISMA_TASKS_CLUSTER_CACHE=0) turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from prisma_tasks.db.urls import mask

FORMAT = 2  # bump when an entry's layout or meaning changes: old entries are then never taken
FOLDER = "cluster-cache"
META = "cache.json"
CLUSTER = "cluster"
MAX_ENTRIES = 4
MAX_PER_PROJECT = 2
MAX_USES = 50
MAX_AGE_SECONDS = 7 * 24 * 3600
MAX_TEMPLATES = 3  # per cluster, the most recently used (backends/cluster.py prunes)
_ENTRY_PREFIX = "entry-"


@dataclass
class EntryMeta:
    password: str
    project: str = ""
    templates: list[str] = field(default_factory=list)
    uses: int = 0
    created: float = field(default_factory=time.time)
    returned: float = field(default_factory=time.time)
    boot_id: str = ""  # the kernel's boot id when given back ("" where there is none)

    def retired(self, now: float, boot_id: str) -> bool:
        return (
            self.boot_id != boot_id
            or self.uses >= MAX_USES
            or now - self.created >= MAX_AGE_SECONDS
        )


def current_boot_id() -> str:
    """Linux's id of this boot; "" where it cannot be read (then every entry has "")."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return ""


def cache_key(bindir: Path, run_as: str | None, initdb_options: tuple[str, ...]) -> str:
    """What an entry must match to be reused: binaries, initdb options, server user, format."""
    postgres = bindir / "postgres"
    try:
        status = postgres.stat()
        identity = f"{postgres.resolve()}\0{status.st_size}\0{status.st_mtime_ns}"
    except OSError:
        identity = str(bindir)
    parts = (str(FORMAT), identity, run_as or "", str(os.getuid()), *initdb_options)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def choose(
    entries: list[tuple[str, EntryMeta]], project: str, now: float, boot_id: str
) -> tuple[str | None, list[str]]:
    """(the entry to take, the retired entries to remove): the newest live entry of this
    project, else the newest live entry (its templates are rebuilt if the schema differs)."""
    retired = [name for name, meta in entries if meta.retired(now, boot_id)]
    live = [(name, meta) for name, meta in entries if not meta.retired(now, boot_id)]
    live.sort(key=lambda item: (item[1].project == project, item[1].returned), reverse=True)
    return (live[0][0] if live else None), retired


def evictions(entries: list[tuple[str, EntryMeta]], project: str) -> list[str]:
    """The entries to remove so that one more entry of `project` fits the bounds: the oldest
    of the project beyond MAX_PER_PROJECT - 1, then the oldest of all beyond MAX_ENTRIES - 1."""
    by_age = sorted(entries, key=lambda item: item[1].returned)
    mine = [name for name, meta in by_age if meta.project == project]
    evicted = mine[: max(0, len(mine) - (MAX_PER_PROJECT - 1))]
    rest = [name for name, _ in by_age if name not in evicted]
    evicted += rest[: max(0, len(rest) - (MAX_ENTRIES - 1))]
    return evicted


class ClusterCache:
    """The entries of one key under `root` (the owner records' state root); `boot_id` is
    current_boot_id() unless a test gives another; `log` hears why a take failed."""

    def __init__(
        self,
        root: Path,
        key: str,
        boot_id: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = root / FOLDER / key
        self.boot_id = current_boot_id() if boot_id is None else boot_id
        self.log = log or (lambda message: None)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[Path]]:
        """Hold the cache's lock; yields the trash: folders hidden under the lock (_hide) and
        deleted once it is released, so a slow delete never holds up another run."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        trash: list[Path] = []
        try:
            with open(self.folder / ".lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield trash
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            for folder in trash:
                shutil.rmtree(folder, ignore_errors=True)

    def _entries(self, trash: list[Path]) -> list[tuple[str, EntryMeta]]:
        trash += self.folder.glob(".trash-*")  # removals a kill interrupted
        found = []
        for path in sorted(self.folder.glob(f"{_ENTRY_PREFIX}*")):
            meta = read_meta(path)
            if meta is None or not (path / CLUSTER).is_dir():  # not an entry anyone can use
                _hide(path, trash)
                continue
            found.append((path.name, meta))
        return found

    def take(self, into: Path, project: str) -> EntryMeta | None:
        """Move the best entry onto the empty folder `into`; its meta, or None on a miss. A
        broken entry or cache folder is a miss too: the cache never costs a run."""
        try:
            return self._take(into, project)
        except (OSError, ValueError, TypeError) as exc:
            self.log(f"cluster cache: not used ({describe(exc)})")
            return None

    def _take(self, into: Path, project: str) -> EntryMeta | None:
        if not self.folder.is_dir():
            return None
        with self._locked() as trash:
            entries = self._entries(trash)
            name, retired = choose(entries, project, time.time(), self.boot_id)
            for old in retired:
                _hide(self.folder / old, trash)
            if name is None:
                return None
            entry = self.folder / name
            try:
                os.rename(entry / CLUSTER, into)  # replaces the empty folder in one step
            finally:  # taken, or broken: either way no other run may find it
                _hide(entry, trash)
        return dict(entries)[name]

    def give_back(self, directory: Path, meta: EntryMeta) -> bool:
        """Move a stopped cluster folder in as a new entry; False (nothing moved) if retired."""
        meta.returned, meta.boot_id = time.time(), self.boot_id
        if meta.retired(meta.returned, self.boot_id):
            return False
        with self._locked() as trash:
            for old in evictions(self._entries(trash), meta.project):
                _hide(self.folder / old, trash)
            entry = self.folder / f"{_ENTRY_PREFIX}{secrets.token_hex(6)}"
            entry.mkdir(mode=0o700)
            try:
                _write_new(entry / META, json.dumps(asdict(meta)))
                os.rename(directory, entry / CLUSTER)
            except BaseException:
                _hide(entry, trash)
                raise
        return True


def clear(root: Path) -> int:
    """Remove every entry of every key (`invoke db.down`); how many there were."""
    top = root / FOLDER
    count = 0
    for key_folder in sorted(top.glob("*")) if top.is_dir() else []:
        with ClusterCache(root, key_folder.name)._locked() as trash:
            for entry in key_folder.glob(f"{_ENTRY_PREFIX}*"):
                _hide(entry, trash)
                count += 1
    return count


def clear_everywhere() -> int:
    """`clear` the runtime folder runs use, and the folder of older versions when it is still
    there and our own (runtime_root.legacy_root, owned_by_me, as the reaper's retire() reads
    it): what `invoke db.down` empties."""
    from prisma_tasks.databases import owners, runtime_root

    legacy = runtime_root.legacy_root()
    cleared = clear(owners.state_root())
    ours = legacy is not None and runtime_root.owned_by_me(legacy)
    return cleared + (clear(legacy) if ours else 0)


def read_meta(entry: Path) -> EntryMeta | None:
    """The entry's meta; None when it is missing, unreadable or any field has the wrong type."""
    try:
        data = json.loads((entry / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta_from(data)


def meta_from(data: Any) -> EntryMeta | None:
    """An EntryMeta from parsed JSON, or None unless it is an object of EntryMeta's fields
    only, each of its type, the password among them."""
    if not isinstance(data, dict) or "password" not in data or set(data) - set(_CHECKS):
        return None
    if not all(_CHECKS[name](value) for name, value in data.items()):
        return None
    return EntryMeta(**data)


def _is_number(value: Any) -> bool:
    # bool is an int to isinstance; NaN and infinity would never retire an entry
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_KINDS: dict[str, Callable[[Any], bool]] = {  # annotations are strings (__future__)
    "str": lambda value: isinstance(value, str),
    "int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "float": _is_number,
    "list[str]": lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
}
# Built at import: a field of a type _KINDS lacks fails at once, not in some later take.
_CHECKS = {item.name: _KINDS[str(item.type)] for item in fields(EntryMeta)}


def describe(exc: BaseException) -> str:
    """One short line for a log: the exception's kind and first line, passwords masked."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {mask(lines[0])}" if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _write_new(path: Path, text: str) -> None:
    """Create `path` (never through a symlink, never over a file) readable by us alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _hide(path: Path, trash: list[Path]) -> None:
    """Out of sight (a rename, under the lock) and onto `trash`, deleted after the lock is
    released: a half-deleted entry is never taken."""
    hidden = path.with_name(f".trash-{secrets.token_hex(6)}")
    try:
        os.rename(path, hidden)
    except OSError:
        return
    trash.append(hidden)
