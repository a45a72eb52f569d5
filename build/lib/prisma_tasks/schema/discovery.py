"""Find module schema files and give each a unique, readable name in the collected folder.

A glob such as `modules/*/schema/**/*.prisma` says where modules live: the path segment matched
by its first single-segment wildcard is the module's name, the literal segments after it lead
into the module's schema folder, and the rest of the path names the file inside that folder.
`modules/billing/schema/sub/models.prisma` becomes `billing__sub__models.prisma`.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from prisma_tasks.errors import ConfigError, SchemaError, SchemaProblem

SEPARATOR = "__"


class SchemaSource(NamedTuple):
    """A module schema file. A NamedTuple: thousands are made on every collect."""

    module: str
    full: str  # absolute, as found (not resolved: links are made to this path)
    relative: str  # repository-relative, posix
    link_name: str
    via_symlink: bool = False  # the file or a folder on its path is a symlink
    module_dir: str = ""  # repository-relative folder of the module (seeds, factories live here)

    @property
    def path(self) -> Path:
        return Path(self.full)


@dataclass(frozen=True)
class _GlobShape:
    pattern: str
    module_index: int
    inside_index: int


def glob_shape(pattern: str, setting: str = "module_schemas") -> _GlobShape:
    parts = PurePosixPath(pattern).parts
    if PurePosixPath(pattern).is_absolute() or ".." in parts:
        raise ConfigError(f"{setting}: glob {pattern!r} must be relative to the repository root")
    if not pattern.endswith(".prisma"):
        raise ConfigError(f"{setting}: glob {pattern!r} must end with '.prisma'")
    for index, part in enumerate(parts[:-1]):
        if part == "**":
            break
        if any(char in part for char in "*?["):
            inside = index + 1
            while inside < len(parts) - 1 and not any(c in parts[inside] for c in "*?["):
                inside += 1
            return _GlobShape(pattern, index, inside)
    raise ConfigError(
        f"{setting}: glob {pattern!r} needs a '*' folder segment before any '**' to name the "
        "module, as in 'modules/*/schema/**/*.prisma'"
    )


def discover(
    root: Path, patterns: tuple[str, ...], folders_read: set[str] | None = None
) -> list[SchemaSource]:
    """Every file the globs match, in a stable order; duplicates across globs are kept once.

    Like pathlib's glob, `**` does not descend into symlinked folders (no loops), and like the
    shell, wildcards do not match names that start with a dot (editor lock and swap files).
    Unlike either, a folder that cannot be listed is an error (SchemaError naming it), not an
    empty folder: its module would silently drop out of the schema.
    `folders_read` collects every folder whose listing the outcome depends on.
    """
    found: dict[str, SchemaSource] = {}
    walk = _Walk(str(root), set() if folders_read is None else folders_read, [])
    for pattern in patterns:
        shape = glob_shape(pattern)
        segments = PurePosixPath(pattern).parts
        for relative, via_symlink in _match(walk, str(root), "", segments, False):
            if relative in found:
                continue
            parts = relative.split("/")
            module = parts[shape.module_index]
            link_name = SEPARATOR.join((module, *parts[shape.inside_index :]))
            found[relative] = SchemaSource(
                module,
                f"{root}/{relative}",
                relative,
                link_name,
                via_symlink,
                "/".join(parts[: shape.module_index + 1]),
            )
    if walk.unreadable:
        raise SchemaError(walk.unreadable)
    return sorted(found.values(), key=lambda source: source.relative)


@dataclass
class _Walk:
    root: str
    seen: set[str]  # folders whose listing (or one entry's existence) was looked at
    unreadable: list[SchemaProblem]

    def refused(self, path: str, error: OSError, what: str = "list this folder") -> None:
        """Record a folder or entry the system would not show; "not there" is no error."""
        if isinstance(error, (FileNotFoundError, NotADirectoryError)):
            return
        relative = os.path.relpath(path, self.root)
        self.unreadable.append(
            SchemaProblem(
                relative,
                None,
                f"cannot {what} ({error.strerror or error}): module_schemas matches below it, "
                "and its schema files must not silently drop out",
            )
        )


def _match(
    walk: _Walk,
    folder: str,
    prefix: str,
    segments: tuple[str, ...],
    via_symlink: bool,
    entries: list[os.DirEntry[str]] | None = None,
) -> Iterator[tuple[str, bool]]:
    """Yield (relative path, whether a symlink lies on the way) for paths matching segments.

    Each folder is listed at most once and DirEntry's cached type is used where it can be:
    a no-op collect of thousands of files is dominated by these system calls.
    """
    segment, rest = segments[0], segments[1:]
    if segment == "**":
        entries = _entries(walk, folder)
        yield from _match(walk, folder, prefix, rest, via_symlink, entries)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                yield from _match(
                    walk, entry.path, prefix + entry.name + "/", segments, via_symlink
                )
        return
    for name, full, is_link, is_dir in _candidates(walk, folder, segment, entries):
        path = prefix + name
        if rest:
            if is_dir:
                yield from _match(walk, full, path + "/", rest, via_symlink or is_link)
        elif not is_dir:
            yield path, via_symlink or is_link


def _candidates(
    walk: _Walk, folder: str, segment: str, entries: list[os.DirEntry[str]] | None
) -> Iterator[tuple[str, str, bool, bool]]:
    if entries is None and not any(char in segment for char in "*?["):
        walk.seen.add(folder)  # whether `segment` exists is part of this folder's listing
        full = os.path.join(folder, segment)
        try:
            mode = os.lstat(full).st_mode
        except OSError as error:
            walk.refused(full, error, "look this path up")
            return
        is_link = stat.S_ISLNK(mode)
        yield segment, full, is_link, stat.S_ISDIR(mode) or (is_link and os.path.isdir(full))
        return
    hidden_ok = segment.startswith(".")
    for entry in _entries(walk, folder) if entries is None else entries:
        if (hidden_ok or not entry.name.startswith(".")) and fnmatch.fnmatchcase(
            entry.name, segment
        ):
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False  # read as a file, where the error is reported with its path
            yield entry.name, entry.path, entry.is_symlink(), is_dir


def _entries(walk: _Walk, folder: str) -> list[os.DirEntry[str]]:
    walk.seen.add(folder)
    try:
        with os.scandir(folder) as iterator:
            return list(iterator)
    except OSError as error:
        walk.refused(folder, error)
        return []
