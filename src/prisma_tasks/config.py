"""`[tool.prisma-tasks]` in pyproject.toml: every key optional, wrong keys and types rejected.

The repository root is the nearest folder, from the working directory upwards, that holds a
pyproject.toml; without one the working directory is the root and the defaults apply, so a
copied tasks.py works in any monorepo with the standard layout.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

from prisma_tasks.errors import ConfigError

TABLE = "tool.prisma-tasks"

LINK_MODES = ("symlink", "copy")
ENGINES = ("auto", "native", "wasm")
PG_PROVIDERS = ("auto", "server", "local")
TENANCY_MODES = ("none", "row", "schema")


@dataclass(frozen=True)
class Settings:
    root: Path
    source: Path | None = None
    module_schemas: tuple[str, ...] = ("modules/*/schema/**/*.prisma",)
    base_schema: str = "prisma/base.prisma"
    collected_dir: str = "prisma/schemas"
    link_mode: str = "symlink"
    engine: str = "auto"
    prisma_command: tuple[str, ...] = ()
    prisma_package: str = ""  # the workspace package that depends on prisma; found when unset
    postgres_provider: str = "auto"
    admin_url_env: str = "PRISMA_TASKS_ADMIN_URL"
    postgres_bindir: str = ""
    postgres_search_path: tuple[str, ...] = ()
    keep_failed: bool = False
    cluster_cache: bool = True
    state_dir: str = ".prisma-tasks"
    default_branch: str = "main"
    tenancy: str = "none"
    tenant_field: str = "tenantId"
    tenant_exempt_models: tuple[str, ...] = ()
    tenant_schema_prefix: str = "tenant_"
    seed_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def base_path(self) -> Path:
        return self.root / self.base_schema

    @property
    def collected_path(self) -> Path:
        return self.root / self.collected_dir

    @property
    def schema_folder(self) -> Path:
        """The folder handed to `prisma --schema`: the one that holds base.prisma."""
        return self.base_path.parent

    @property
    def migrations_path(self) -> Path:
        return self.schema_folder / "migrations"

    @property
    def state_path(self) -> Path:
        return self.root / self.state_dir


# key -> (accepted python types, human description, allowed values or None)
_SPEC: dict[str, tuple[tuple[type, ...], str, tuple[str, ...] | None]] = {
    "module_schemas": ((str, list), "a glob string or a list of glob strings", None),
    "base_schema": ((str,), "a path string", None),
    "collected_dir": ((str,), "a path string", None),
    "link_mode": ((str,), "a string", LINK_MODES),
    "engine": ((str,), "a string", ENGINES),
    "prisma_command": ((str, list), "a command string or a list of strings", None),
    "prisma_package": ((str,), 'a folder path string (e.g. "packages/db")', None),
    "postgres_provider": ((str,), "a string", PG_PROVIDERS),
    "admin_url_env": ((str,), "an environment variable name", None),
    "postgres_bindir": ((str,), "a folder path string", None),
    "postgres_search_path": ((list,), "a list of folders (globs allowed)", None),
    "keep_failed": ((bool,), "true or false", None),
    "cluster_cache": ((bool,), "true or false", None),
    "state_dir": ((str,), "a path string", None),
    "default_branch": ((str,), "a git branch name", None),
    "tenancy": ((str,), "a string", TENANCY_MODES),
    "tenant_field": ((str,), "a field name", None),
    "tenant_exempt_models": ((list,), "a list of model names", None),
    "tenant_schema_prefix": ((str,), "an identifier prefix", None),
    "seed_dependencies": ((dict,), "a table of module = [modules it depends on]", None),
}

# Environment overrides, for CI jobs that must not edit pyproject.toml.
_ENV = {
    "engine": "PRISMA_TASKS_ENGINE",
    "postgres_provider": "PRISMA_TASKS_PG_PROVIDER",
    "keep_failed": "PRISMA_TASKS_KEEP_FAILED",
    "cluster_cache": "PRISMA_TASKS_CLUSTER_CACHE",
    "postgres_bindir": "PRISMA_TASKS_PG_BINDIR",
    "postgres_search_path": "PRISMA_TASKS_PG_SEARCH_PATH",
}


def find_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return here


def load_settings(root: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    root = find_root() if root is None else root.resolve()
    environ = dict(os.environ) if environ is None else environ
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    source: Path | None = None
    if pyproject.is_file():
        try:
            document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from exc
        table = document.get("tool", {}).get("prisma-tasks", {})
        source = pyproject
        if not isinstance(table, dict):
            raise ConfigError(f"{pyproject}: [{TABLE}] must be a table")
    values = _validated(table, pyproject)
    for key, variable in _ENV.items():
        if variable in environ and environ[variable] != "":
            values[key] = _from_env(key, variable, environ[variable])
    return Settings(root=root, source=source, **values)


def _validated(table: dict[str, Any], pyproject: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    known = {f.name for f in fields(Settings)} & set(_SPEC)
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{pyproject}: unknown key '{key}' in [{TABLE}]; "
                f"known keys: {', '.join(sorted(known))}"
            )
        types, description, allowed = _SPEC[key]
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            raise ConfigError(
                f"{pyproject}: [{TABLE}] {key} must be {description}, got {type(value).__name__}"
            )
        if isinstance(value, dict):
            value = _dependency_table(key, value, pyproject)
        elif isinstance(value, list):
            may_be_empty = key == "tenant_exempt_models"
            if (not value and not may_be_empty) or not all(
                isinstance(item, str) and item for item in value
            ):
                raise ConfigError(
                    f"{pyproject}: [{TABLE}] {key} must be a non-empty list of strings"
                )
            value = tuple(value)
        elif isinstance(value, str) and key in ("module_schemas", "prisma_command"):
            value = (value,) if key == "module_schemas" else tuple(value.split())
        if allowed is not None and value not in allowed:
            raise ConfigError(
                f"{pyproject}: [{TABLE}] {key} = {value!r} is not one of {', '.join(allowed)}"
            )
        values[key] = value
    return values


def _dependency_table(
    key: str, table: dict[str, Any], pyproject: Path
) -> dict[str, tuple[str, ...]]:
    result = {}
    for module, dependencies in table.items():
        if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
            raise ConfigError(
                f"{pyproject}: [{TABLE}.{key}] {module} must be a list of module names"
            )
        result[module] = tuple(dependencies)
    return result


def _from_env(key: str, variable: str, raw: str) -> Any:
    if bool in _SPEC[key][0]:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"environment {variable}={raw!r} must be true or false")
    if key == "postgres_search_path":
        return tuple(part for part in raw.split(os.pathsep) if part)
    allowed = _SPEC[key][2]
    if allowed is not None and raw not in allowed:
        raise ConfigError(f"environment {variable}={raw!r} is not one of {', '.join(allowed)}")
    return raw


def check_collected_dir(settings: Settings) -> None:
    """ConfigError unless collected_dir is a real folder (or not there yet) inside the
    repository, with no symlink on the way: collect owns that folder and writes into it.
    """
    root = Path(os.path.normpath(settings.root))
    folder = Path(os.path.normpath(settings.collected_path))
    reason = None
    if not folder.is_relative_to(root):
        reason = f"is outside the repository ({root})"
    else:
        reason = _symlink_on_the_way(root, folder)
        if reason is None and folder.exists() and not folder.is_dir():
            reason = "is not a folder"
    if reason is not None:
        where = settings.source or settings.root / "pyproject.toml"
        raise ConfigError(
            f"{where}: [{TABLE}] collected_dir = {settings.collected_dir!r} {reason}; collect "
            "writes and removes files there, so it must be a real folder inside the repository "
            "(default prisma/schemas)"
        )


def _symlink_on_the_way(root: Path, folder: Path) -> str | None:
    path = root
    for part in folder.relative_to(root).parts:
        path = path / part
        if path.is_symlink():
            what = "is" if path == folder else f"passes through {path.relative_to(root)}, which is"
            return f"{what} a symlink (to {os.readlink(path)})"
        if not path.exists():
            return None
    return None
