"""`.env` files, read the way the Prisma CLI reads them when it runs without a config file.

Prisma loads `.env` from the project root and from the schema's folder into the environment,
without overriding variables already set. In wasm mode Prisma runs with a config file and
skips that step ("Prisma config detected, skipping environment variable loading"), and the
suite itself reads DATABASE_URL (and the variables the datasource names) before Prisma starts:
so the suite loads them, once per process, for every mode. Parsing is python-dotenv's (quotes,
`export`, comments, `${VAR}` expansion), not a hand-written one.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from dotenv import dotenv_values

from prisma_tasks.errors import ConfigError


def env_files(root: Path, schema_folder: Path) -> list[Path]:
    candidates = [root / ".env", schema_folder / ".env"]
    unique = list(dict.fromkeys(path.resolve() for path in candidates))
    return [path for path in unique if path.is_file()]


def load_env_files(
    root: Path, schema_folder: Path, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Set the variables of the `.env` files that are not set (or set empty: CI systems and
    the suite's own sessions export an empty DATABASE_URL for "none"); returns their names.

    Two files setting the same variable to different values is an error, as in Prisma.
    """
    target = os.environ if environ is None else environ
    loaded: dict[str, tuple[str, Path]] = {}
    for path in env_files(root, schema_folder):
        try:
            values = dotenv_values(path, interpolate=True)
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: cannot be read: {error}") from None
        for name, value in values.items():
            if value is None:
                continue
            if name in loaded and loaded[name][0] != value:
                raise ConfigError(
                    f"{name} is set in both {loaded[name][1]} and {path} with different values; "
                    "keep it in one of them"
                )
            loaded.setdefault(name, (value, path))
    names = []
    for name, (value, _) in loaded.items():
        if target.get(name, "") == "":
            target[name] = value
            names.append(name)
    return names
