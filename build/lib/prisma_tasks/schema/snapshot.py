"""What a successful collect depended on, so an unchanged repository is confirmed by stat calls.

Saved after a collect that left the collected folder right: the folders whose listings
discovery read (their mtime changes when an entry is added, removed or renamed), the stat of
every schema file and of base.prisma, and the collected folder's own mtime (a symlink cannot
be re-pointed without replacing it, which changes that mtime; in copy mode each copy's stat
is kept too). If all of them are unchanged, so is the outcome: no listing, reading, parsing
or validation is needed. Anything unusual (a symlink on a source's path) is not snapshotted.

Timestamps have a coarse tick (milliseconds), so a file changed twice within one tick keeps
its mtime. As git does with "racily clean" entries, nothing modified within RACY_NS of the
snapshot is trusted: such a snapshot is not written, and the next run takes a full look.
"""

from __future__ import annotations

import marshal
import os
import time
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.fsutil import write_atomically
from prisma_tasks.schema.discovery import SchemaSource
from prisma_tasks.schema.parse_cache import StatKey, stat_key

_FORMAT = 2  # 2: a full run also removes staging folders older versions left behind
RACY_NS = 1_000_000_000


@dataclass
class Snapshot:
    key: tuple
    folders: list[tuple[str, int]]
    files: list[tuple[str, StatKey | None]]
    collected: list[tuple[str, StatKey | None]]
    sources: list[tuple]


def settings_key(settings: Settings, mode: str) -> tuple:
    return (
        _FORMAT,
        str(settings.root),
        settings.module_schemas,
        settings.base_schema,
        settings.collected_dir,
        mode,
    )


def _path(settings: Settings) -> Path:
    return settings.state_path / "collect-snapshot.marshal"


def _folder_mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


def take(
    settings: Settings, mode: str, folders: set[str], sources: list[SchemaSource]
) -> Snapshot | None:
    if any(source.via_symlink for source in sources):
        return None
    collected = str(settings.collected_path)
    racy_after = time.time_ns() - RACY_NS
    watched = [(collected, None)]
    if mode == "copy":
        watched += [
            (f"{collected}/{s.link_name}", stat_key(f"{collected}/{s.link_name}")) for s in sources
        ]
    snapshot = Snapshot(
        key=settings_key(settings, mode),
        folders=[(folder, _folder_mtime(folder)) for folder in sorted(folders)],
        files=[(str(settings.base_path), stat_key(str(settings.base_path)))]
        + [(source.full, stat_key(source.full)) for source in sources],
        collected=[
            (path, key if key is not None else (_folder_mtime(path), 0, 0, 0))
            for path, key in watched
        ],
        sources=[tuple(source) for source in sources],
    )
    mtimes = [mtime for _, mtime in snapshot.folders]
    mtimes += [key[0] for _, key in (*snapshot.files, *snapshot.collected) if key is not None]
    if any(mtime < 0 or mtime > racy_after for mtime in mtimes):
        return None
    return snapshot


def save(settings: Settings, snapshot: Snapshot | None) -> None:
    path = _path(settings)
    try:
        if snapshot is None:
            path.unlink(missing_ok=True)
            return
        data = marshal.dumps(
            (snapshot.key, snapshot.folders, snapshot.files, snapshot.collected, snapshot.sources)
        )
        write_atomically(path, data)
    except OSError:
        pass  # only costs time


def unchanged_sources(settings: Settings, mode: str) -> list[SchemaSource] | None:
    """The sources of the last collect when nothing it depended on changed, else None."""
    try:
        key, folders, files, collected, sources = marshal.loads(_path(settings).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if key != settings_key(settings, mode):
        return None
    for folder, mtime in folders:
        if _folder_mtime(folder) != mtime:
            return None
    for path, recorded in files:
        if stat_key(path) != recorded:
            return None
    for index, (path, recorded) in enumerate(collected):
        current = (_folder_mtime(path), 0, 0, 0) if index == 0 else stat_key(path)
        if current != recorded:
            return None
    return [SchemaSource(*source) for source in sources]
