"""Which schema engine Prisma will use: native binaries, or the bundled WebAssembly one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.errors import ConfigError

_ENGINE_VARIABLES = ("PRISMA_QUERY_ENGINE_LIBRARY", "PRISMA_SCHEMA_ENGINE_BINARY")


@dataclass(frozen=True)
class EngineChoice:
    mode: str  # "native" | "wasm"
    reason: str


def native_engines_present(package_root: Path | None, environ: dict[str, str]) -> str | None:
    """Why native engines are usable, or None. Checks what Prisma itself would load."""
    configured = [environ.get(name, "") for name in _ENGINE_VARIABLES]
    if all(configured) and all(
        Path(path).is_file() and os.path.getsize(path) > 0 for path in configured
    ):
        return "PRISMA_QUERY_ENGINE_LIBRARY and PRISMA_SCHEMA_ENGINE_BINARY point at engine files"
    if package_root is None:
        return None
    # resolved: pnpm links node_modules/prisma into its store, beside prisma's own dependencies
    modules = package_root.resolve().parent
    engines = modules / "@prisma" / "engines"
    found_library = any(engines.glob("libquery_engine-*.so.node")) or any(
        (modules / ".prisma" / "client").glob("libquery_engine-*")
    )
    found_schema_engine = any(engines.glob("schema-engine-*"))
    if found_library and found_schema_engine:
        return f"engines downloaded into {engines}"
    return None


def choose(setting: str, package_root: Path | None, environ: dict[str, str]) -> EngineChoice:
    native_reason = native_engines_present(package_root, environ)
    if setting == "native":
        if native_reason is None:
            raise ConfigError(
                "engine = 'native' but no Prisma engines are installed (Prisma could not download "
                "them, and PRISMA_QUERY_ENGINE_LIBRARY / PRISMA_SCHEMA_ENGINE_BINARY are unset); "
                "use engine = 'auto' or 'wasm' on an air-gapped machine"
            )
        return EngineChoice("native", native_reason)
    if setting == "wasm":
        return EngineChoice("wasm", "engine = 'wasm' in the configuration")
    if native_reason is not None:
        return EngineChoice("native", native_reason)
    return EngineChoice("wasm", "no native engines installed; none can be downloaded here")
