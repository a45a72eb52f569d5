"""Find module schema files and give each a unique, readable name in the collected folder.

A glob such as `modules/*/schema/**/*.prisma` says where modules live: the path segment matched
by its first single-segment wildcard is the module's name, the literal segments after it lead
into the module's schema folder, and the rest of the path names the file inside that folder.
`modules/billing/schema/sub/models.prisma` becomes `billing__sub__models.prisma`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ConfigError

SEPARATOR = "__"


@dataclass(frozen=True)
class SchemaSource:
    module: str
    path: Path  # absolute, as found (not resolved: links are made to this path)
    relative: str  # repository-relative, posix
    link_name: str


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


def discover(root: Path, patterns: tuple[str, ...]) -> list[SchemaSource]:
    """Every file the globs match, in a stable order; duplicates across globs are kept once."""
    found: dict[str, SchemaSource] = {}
    for pattern in patterns:
        shape = glob_shape(pattern)
        for path in root.glob(pattern):
            relative = path.relative_to(root).as_posix()
            if relative in found:
                continue
            parts = PurePosixPath(relative).parts
            module = parts[shape.module_index]
            inside = parts[shape.inside_index :]
            link_name = SEPARATOR.join((module, *inside))
            found[relative] = SchemaSource(module, path, relative, link_name)
    return sorted(found.values(), key=lambda source: source.relative)
