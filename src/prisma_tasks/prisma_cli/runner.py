"""Build and run Prisma CLI commands for the chosen engine mode.

`command()` is pure (argv + environment), so what native and wasm mode run is unit-tested;
`run()` executes it, masks secrets and, in copy mode, points errors back at module files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..collector import CollectResult
from ..config import Settings
from ..databases.urls import mask
from ..errors import PrismaTasksError
from . import config_file
from .engines import EngineChoice, choose
from .locate import PrismaInstall, locate

_PROVIDER = re.compile(r'datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*"([^"]+)"', re.S)
# Commands that read the schema and accept --schema in native mode.
_SCHEMA_COMMANDS = {
    ("validate",),
    ("format",),
    ("generate",),
    ("migrate", "deploy"),
    ("migrate", "status"),
    ("migrate", "reset"),
    ("migrate", "dev"),
    ("migrate", "resolve"),
    ("db", "push"),
    ("db", "pull"),
}
# Printed by every wasm-mode command; the url is still required by 6.7's validator (P1012).
_ADAPTER_URL_WARNING = re.compile(
    r"WARNING: Your schema specifies the following datasource properties.*?"
    r"only using driver adapters\.\n?",
    re.S,
)
_QUIET = {"CHECKPOINT_DISABLE": "1", "PRISMA_HIDE_UPDATE_MESSAGE": "1"}


class PrismaFailed(PrismaTasksError):
    """The Prisma CLI exited non-zero; its (masked) output is the message."""


def datasource_provider(base: Path) -> str:
    match = _PROVIDER.search(base.read_text(encoding="utf-8"))
    if match is None:
        raise PrismaTasksError(f"{base}: no datasource provider found")
    return {"postgres": "postgresql"}.get(match.group(1), match.group(1))


def placeholder_url(provider: str) -> str:
    """A syntactically valid URL for commands that need DATABASE_URL set but never connect."""
    if provider == "sqlite":
        return "file:./placeholder.db"
    return "postgresql://placeholder:placeholder@127.0.0.1:5432/placeholder"


@dataclass
class Prisma:
    settings: Settings
    install: PrismaInstall
    engine: EngineChoice
    provider: str
    environ: dict[str, str]
    collected: CollectResult | None = None

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        environ: dict[str, str] | None = None,
        install: PrismaInstall | None = None,
    ) -> Prisma:
        environ = dict(os.environ) if environ is None else environ
        install = install or locate(settings)
        engine = choose(settings.engine, install.package_root, environ)
        return cls(settings, install, engine, datasource_provider(settings.base_path), environ)

    def describe(self) -> str:
        version = self.install.version or "unknown version"
        return f"prisma {version}, {self.engine.mode} engine ({self.engine.reason})"

    def command(
        self, *args: str, database_url: str | None = None
    ) -> tuple[list[str], dict[str, str]]:
        argv = [*self.install.command, *args]
        env = {**self.environ, **_QUIET}
        env["DATABASE_URL"] = (
            database_url or self.environ.get("DATABASE_URL") or placeholder_url(self.provider)
        )
        head = tuple(a for a in args[:2] if not a.startswith("-"))
        if self.engine.mode == "wasm":
            env.update(config_file.placeholder_engines(self.settings))
            env["PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING"] = "1"
            argv += ["--config", str(config_file.ensure(self.settings, self.provider))]
        elif head in _SCHEMA_COMMANDS or head[:1] in _SCHEMA_COMMANDS:
            argv += ["--schema", str(self.settings.schema_folder)]
        return argv, env

    def run(
        self, *args: str, database_url: str | None = None, check: bool = True, echo: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv, env = self.command(*args, database_url=database_url)
        result = subprocess.run(
            argv,
            cwd=self.settings.root,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        result.stdout = self.clean(result.stdout)
        result.stderr = self.clean(result.stderr)
        if echo:
            if result.stdout.strip():
                print(result.stdout.rstrip(), flush=True)
            if result.stderr.strip():
                print(result.stderr.rstrip(), file=sys.stderr, flush=True)
        if check and result.returncode != 0:
            raise PrismaFailed(
                f"`prisma {' '.join(args)}` failed with exit code {result.returncode}"
                + ("" if echo else f":\n{(result.stdout + result.stderr).strip()}")
            )
        return result

    def clean(self, text: str) -> str:
        """Mask secrets, drop wasm-mode chatter, and map copies back to module files."""
        lines = [
            line
            for line in text.splitlines()
            if not line.startswith("Loaded Prisma config from")
            and "Prisma config detected, skipping environment variable loading" not in line
            and "is not used when a driver adapter" not in line
        ]
        text = _ADAPTER_URL_WARNING.sub("", "\n".join(lines))
        text = mask(text)
        return self.map_copies(text)

    def map_copies(self, text: str) -> str:
        if self.collected is None or self.collected.mode != "copy":
            return text
        folder = self.settings.collected_dir.rstrip("/")

        def back(match: re.Match[str]) -> str:
            source = self.collected.source_for(match.group("name")) if self.collected else None
            return f"{source.relative}{match.group('rest')}" if source else match.group(0)

        pattern = re.compile(
            rf"(?:[\w./-]*/)?{re.escape(folder)}/(?P<name>[\w.-]+\.prisma)(?P<rest>:\d+)?"
        )
        return pattern.sub(back, text)
