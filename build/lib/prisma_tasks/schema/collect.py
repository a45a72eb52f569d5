"""`collect`: validate module schemas and link them into the collected folder.

Everything is read and checked before anything is written; a problem anywhere means the
collected folder is left exactly as it was. The result says which module defines which model,
which later tasks (seed order, module graph) build on.
"""

from __future__ import annotations

import functools
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from prisma_tasks.config import Settings, check_collected_dir
from prisma_tasks.errors import CheckFailed, SchemaError, SchemaProblem
from prisma_tasks.fsutil import NotARegularFile, read_regular_file
from prisma_tasks.schema import linkfarm
from prisma_tasks.schema import snapshot as collect_snapshot
from prisma_tasks.schema.discovery import SchemaSource, discover
from prisma_tasks.schema.parse_cache import ParseCache, stat_key
from prisma_tasks.schema.reader import DEFINITION_KINDS, Block, ParsedSchema, parse_schema


@dataclass(frozen=True)
class Definition:
    kind: str
    name: str
    module: str
    path: str
    line: int
    block: Block


@dataclass
class CollectResult:
    sources: list[SchemaSource]
    load_parsed: Callable[[], dict[str, ParsedSchema]]
    mode: str
    changes: linkfarm.Changes
    checked_only: bool = False
    elapsed: float = 0.0
    notices: list[str] = field(default_factory=list)

    @functools.cached_property
    def parsed(self) -> dict[str, ParsedSchema]:
        """Repository-relative path -> what the file declares (read on first use)."""
        return self.load_parsed()

    @functools.cached_property
    def definitions(self) -> dict[str, Definition]:
        """Model, enum, type and view name -> where it is defined."""
        return _definitions(self.sources, self.parsed)

    @property
    def modules(self) -> list[str]:
        return sorted({source.module for source in self.sources})

    def owner_of(self, name: str) -> str:
        """The module that defines a model, enum, type or view."""
        return self.definitions[name].module

    def source_for(self, link_name: str) -> SchemaSource | None:
        return next((s for s in self.sources if s.link_name == link_name), None)

    @property
    def differences(self) -> list[str]:
        lines = []
        by_name = {source.link_name: source for source in self.sources}
        lines += [f"missing  {n} (from {by_name[n].relative})" for n in self.changes.added]
        lines += [f"outdated {n} (from {by_name[n].relative})" for n in self.changes.replaced]
        lines += [f"stale    {n} (no module file produces it)" for n in self.changes.removed]
        lines += [
            f"leftover ../{name}/ (a killed collect's staging folder, which Prisma reads)"
            for name in self.changes.old_staging
        ]
        if self.changes.incomplete_marker:
            lines.append(
                f"marker   {linkfarm.INCOMPLETE_MARKER} (an earlier collect was interrupted)"
            )
        return lines

    def summary(self) -> str:
        c = self.changes
        verb = "checked" if self.checked_only else "collected"
        counts = (
            f"{len(c.added)} missing, {len(c.replaced)} outdated, {len(c.removed)} stale"
            if self.checked_only
            else f"{len(c.added)} added, {len(c.replaced)} replaced, {len(c.removed)} removed"
        )
        return (
            f"{verb} {len(self.sources)} files from {len(self.modules)} modules ({self.mode}): "
            f"{counts}, {len(c.unchanged)} unchanged in {self.elapsed:.2f}s"
        )


def collect(settings: Settings, *, check: bool = False, mode: str | None = None) -> CollectResult:
    """Validate and collect; with check=True write nothing and raise CheckFailed when stale."""
    started = time.perf_counter()
    mode = mode or settings.link_mode
    check_collected_dir(settings)
    unchanged = collect_snapshot.unchanged_sources(settings, mode)
    if unchanged is not None and (stray := _stray_schema_problems(settings, unchanged)):
        raise SchemaError(stray)
    if unchanged is not None:
        result = CollectResult(
            sources=unchanged,
            load_parsed=lambda: _cached_parse(settings, unchanged),
            mode=mode,
            changes=linkfarm.Changes(unchanged=[source.link_name for source in unchanged]),
            checked_only=check,
        )
        result.elapsed = time.perf_counter() - started
        return result
    folders_read: set[str] = set()
    sources = discover(settings.root, settings.module_schemas, folders_read)
    parsed, problems = _read_and_validate(settings, sources)
    problems += _collected_dir_problems(settings, sources)
    problems += _stray_schema_problems(settings, sources)
    if problems:
        raise SchemaError(problems)
    folder = settings.collected_path
    # Links are relative: one relpath for the folder, then each source's repository path.
    up = os.path.relpath(settings.root, folder)
    entries = [
        linkfarm.Entry(source.link_name, source.full, f"{up}/{source.relative}")
        for source in sources
    ]
    notices: list[str] = []
    # One writer at a time (prisma.watch beside prisma.migrate, xdist workers building
    # templates): plan and apply under a lock, so each sees what the other wrote.
    with linkfarm.writer_lock(settings.state_path):
        manifest = linkfarm.Manifest(settings.state_path, folder)
        changes = _planned_changes(settings, entries, mode, manifest)
        if changes.any and mode == "symlink" and not linkfarm.symlinks_supported(folder):
            if not check:
                notices.append(f"{folder}: the filesystem refuses symlinks, writing copies")
            mode = "copy"  # what collect writes here, so also what --check compares with
            changes = _planned_changes(settings, entries, mode, manifest)
        if not check:
            staging = None
            if changes.any and not folder.exists():
                staging = linkfarm.staging_folder_for(
                    settings.state_path, folder, settings.schema_folder
                )
            linkfarm.apply_changes(folder, entries, mode, changes, manifest, staging)
        if not changes.any or not check:
            snapshot = collect_snapshot.take(settings, mode, folders_read, sources)
            collect_snapshot.save(settings, snapshot)
    result = CollectResult(
        sources=sources,
        load_parsed=lambda: parsed,
        mode=mode,
        changes=changes,
        checked_only=check,
        notices=notices,
    )
    result.elapsed = time.perf_counter() - started
    if check and changes.any:
        listing = "\n".join(f"  {line}" for line in result.differences)
        raise CheckFailed(
            f"{settings.collected_dir} is not what `invoke prisma.collect` would produce:\n"
            f"{listing}\nrun `invoke prisma.collect` to update it"
        )
    return result


def _planned_changes(
    settings: Settings, entries: list[linkfarm.Entry], mode: str, manifest: linkfarm.Manifest
) -> linkfarm.Changes:
    """What collect would change; SchemaError if the folder holds what it did not write.

    A foreign file is an error rather than left alone: Prisma would merge it into the schema
    while collect reported success, and it is never collect's to delete.
    """
    folder = PurePosixPath(settings.collected_dir)
    try:
        changes = linkfarm.plan_changes(settings.collected_path, entries, mode, manifest.names)
    except OSError as exc:
        raise SchemaError(
            [SchemaProblem(str(folder), None, f"cannot read it: {exc.strerror or exc}")]
        ) from exc
    if changes.foreign:
        raise SchemaError(
            [SchemaProblem(str(folder / f.name), None, f.what) for f in changes.foreign]
        )
    return changes


def _collected_dir_problems(settings: Settings, sources: list[SchemaSource]) -> list[SchemaProblem]:
    """The collected folder is owned by collect (it replaces and removes the entries it wrote
    there), so it must be a folder of its own: not the schema folder or above it, holding no
    file people own.
    """
    folder = settings.collected_path.resolve()
    schema_folder = settings.schema_folder.resolve()
    where = str(settings.source.relative_to(settings.root)) if settings.source else "pyproject.toml"
    owned = [settings.base_path] + [Path(source.full) for source in sources]
    if schema_folder.is_relative_to(folder):
        reason = f"is {settings.base_schema}'s folder or above it"
    elif any(path.is_relative_to(settings.collected_path) for path in owned):
        reason = "holds base.prisma or module schema files"
    else:
        return []
    return [
        SchemaProblem(
            where,
            None,
            f"collected_dir = {settings.collected_dir!r} {reason}: collect owns the folder it "
            "collects into; use a folder of its own (default prisma/schemas)",
        )
    ]


def _stray_schema_problems(settings: Settings, sources: list[SchemaSource]) -> list[SchemaProblem]:
    """`.prisma` files in the schema folder that neither base.prisma nor a module owns.

    Prisma merges every `.prisma` file below the folder it is given, so a leftover (the
    pre-module `prisma/schema.prisma`, a generated client's copy) would silently join the
    collected schema. The collected folder and the migrations hold none of the user's files.
    """
    real = os.path.realpath  # never raises (Path.resolve does on symlink loops)
    owned = {real(settings.base_path), *(real(source.full) for source in sources)}
    collected = settings.collected_path
    skipped = {real(collected), real(settings.migrations_path)}
    # an older version's staging, which collect itself names and removes
    skipped.update(
        real(collected.parent / name) for name in linkfarm.old_staging_folders(collected)
    )
    problems = []
    for folder, subfolders, files in os.walk(settings.schema_folder):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if real(here / d) not in skipped)
        for name in sorted(files):
            path = here / name
            if name.endswith(".prisma") and real(path) not in owned:
                problems.append(
                    SchemaProblem(
                        str(path.relative_to(settings.root)),
                        None,
                        f"a schema file no module owns, in the folder Prisma merges "
                        f"({settings.schema_folder.relative_to(settings.root)}/): Prisma would "
                        "merge it with the modules. Move its models into a module's schema "
                        "folder (modules/<name>/schema/) or delete it",
                    )
                )
    return problems


def _cached_parse(settings: Settings, sources: list[SchemaSource]) -> dict[str, ParsedSchema]:
    """What each file declares, for an unchanged repository: from the parse cache, else read."""
    cache = ParseCache(settings.state_path / "collect-cache.marshal")
    parsed = {}
    for relative, full in [
        (settings.base_schema, str(settings.base_path)),
        *[(source.relative, source.full) for source in sources],
    ]:
        blocks = cache.get(relative, stat_key(full))
        if blocks is None:
            problems: list[SchemaProblem] = []
            text = _decode(Path(full), relative, problems)
            if text is None:
                raise SchemaError(problems)
            blocks = parse_schema(text, relative).blocks
        parsed[relative] = ParsedSchema(relative, blocks)
    return parsed


def _read_and_validate(
    settings: Settings, sources: list[SchemaSource]
) -> tuple[dict[str, ParsedSchema], list[SchemaProblem]]:
    problems: list[SchemaProblem] = []
    root = settings.root.resolve()
    parsed: dict[str, ParsedSchema] = {}

    cache = ParseCache(settings.state_path / "collect-cache.marshal")
    base_rel = settings.base_schema
    base_text = _read(settings.base_path, base_rel, root, problems, via_symlink=True)
    if base_text is not None:
        base = parse_schema(base_text, base_rel)
        problems += base.problems
        parsed[base_rel] = base
        problems += _base_rules(base)

    if not sources:
        problems.append(
            SchemaProblem(
                str(settings.source or "pyproject.toml"),
                None,
                "no module schema found by module_schemas = " + ", ".join(settings.module_schemas),
            )
        )
    seen_names: dict[str, SchemaSource] = {}
    for source in sources:
        clash = seen_names.get(source.link_name)
        if clash is not None:
            problems.append(
                SchemaProblem(
                    source.relative,
                    None,
                    f"collects to the same name '{source.link_name}' as {clash.relative}; "
                    "rename one",
                )
            )
            continue
        if source.link_name == linkfarm.INCOMPLETE_MARKER:
            problems.append(
                SchemaProblem(source.relative, None, "name is reserved by prisma-tasks")
            )
            continue
        seen_names[source.link_name] = source
        key = None if source.via_symlink else stat_key(source.full)
        cached = cache.get(source.relative, key)
        if cached is not None:
            schema = ParsedSchema(source.relative, cached)
        else:
            text = _read(source.path, source.relative, root, problems, source.via_symlink)
            if text is None:
                continue
            schema = parse_schema(text, source.relative)
            problems += schema.problems
            if not schema.problems:
                cache.put(source.relative, key, schema.blocks)
        parsed[source.relative] = schema
        for block in schema.blocks:
            if block.kind not in ("datasource", "generator"):
                continue
            problems.append(
                SchemaProblem(
                    source.relative,
                    block.line,
                    f"module schemas must not declare a {block.kind} ('{block.name}'); "
                    f"it belongs in {base_rel} only",
                )
            )
    problems += _duplicate_definitions(parsed)
    cache.save(keep=set(parsed))
    return parsed, problems


def _read(
    path: Path, relative: str, root: Path, problems: list[SchemaProblem], via_symlink: bool
) -> str | None:
    if not via_symlink:
        return _decode(path, relative, problems)
    try:
        resolved = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        problems.append(SchemaProblem(relative, None, "symlink loop"))
        return None
    except FileNotFoundError:
        what = "broken symlink" if path.is_symlink() else "file not found"
        problems.append(SchemaProblem(relative, None, what))
        return None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP, how newer Pythons report the loop
            problems.append(SchemaProblem(relative, None, "symlink loop"))
        else:
            problems.append(SchemaProblem(relative, None, f"cannot read: {exc.strerror}"))
        return None
    if not resolved.is_relative_to(root):
        problems.append(
            SchemaProblem(relative, None, f"resolves outside the repository, to {resolved}")
        )
        return None
    return _decode(resolved, relative, problems)


def _decode(path: Path, relative: str, problems: list[SchemaProblem]) -> str | None:
    try:
        data = read_regular_file(path)
    except NotARegularFile as exc:
        problems.append(
            SchemaProblem(
                relative,
                None,
                f"is {exc.kind}, not a regular file: collect never opens one; remove it or "
                "rename it so that module_schemas does not match it",
            )
        )
        return None
    except OSError as exc:
        problems.append(SchemaProblem(relative, None, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            SchemaProblem(
                relative,
                data.count(b"\n", 0, exc.start) + 1,
                f"cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})",
            )
        )
        return None


def _base_rules(base: ParsedSchema) -> list[SchemaProblem]:
    problems = []
    if base.problems:
        return problems
    if not base.of_kind("datasource"):
        problems.append(SchemaProblem(base.path, None, "must declare the datasource"))
    if len(base.of_kind("datasource")) > 1:
        problems.append(
            SchemaProblem(
                base.path, base.of_kind("datasource")[1].line, "declares a second datasource"
            )
        )
    if not base.of_kind("generator"):
        problems.append(SchemaProblem(base.path, None, "must declare at least one generator"))
    for block in base.of_kind(*DEFINITION_KINDS):
        problems.append(
            SchemaProblem(
                base.path,
                block.line,
                f"holds {block.kind} '{block.name}'; base.prisma holds only the datasource and "
                "generators, move it into a module's schema folder",
            )
        )
    return problems


def _duplicate_definitions(parsed: dict[str, ParsedSchema]) -> list[SchemaProblem]:
    where: dict[str, list[tuple[str, Block]]] = defaultdict(list)
    for path, schema in parsed.items():
        for block in schema.blocks:
            if block.kind in DEFINITION_KINDS:
                where[block.name].append((path, block))
    problems = []
    for name, places in sorted(where.items()):
        if len(places) > 1:
            listing = " and ".join(f"{path}:{block.line}" for path, block in places)
            first_path, first_block = places[0]
            problems.append(
                SchemaProblem(
                    first_path, first_block.line, f"'{name}' is defined more than once: {listing}"
                )
            )
    return problems


def _definitions(
    sources: list[SchemaSource], parsed: dict[str, ParsedSchema]
) -> dict[str, Definition]:
    definitions = {}
    for source in sources:
        schema = parsed.get(source.relative)
        if schema is None:
            continue
        for block in schema.of_kind(*DEFINITION_KINDS):
            definitions[block.name] = Definition(
                block.kind, block.name, source.module, source.relative, block.line, block
            )
    return definitions
