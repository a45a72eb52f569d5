"""Module seeds in JavaScript or TypeScript, run on the repository's generated Prisma Client.

All of a module's JS/TS seed files run in one Node process, in one interactive `$transaction`
of the client: each file exports `seed(prisma)` and is handed the transaction client (so
`prisma.user.upsert(...)` inside a seed is part of the module's one transaction, and a throw
rolls back the whole module). TypeScript runs through a loader installed in the repository
(tsx); in wasm mode the client queries through the WebAssembly engine (prisma_client hook).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.errors import ConfigError, PrismaTasksError
from prisma_tasks.prisma_cli.generators import CLIENT_PROVIDERS, read_generators
from prisma_tasks.prisma_cli.locate import find_package, package_dir
from prisma_tasks.prisma_cli.runner import Prisma
from prisma_tasks.prisma_client.preload import client_environment

NODE_SEED_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
TYPESCRIPT_SUFFIXES = (".ts", ".mts", ".cts")
_FAILURE = "prisma-tasks-seed-failure: "


class NodeSeedFailed(PrismaTasksError):
    def __init__(self, file: str | None, error: str) -> None:
        super().__init__(error)
        self.file = file
        self.error = error


def is_node_seed(path: Path) -> bool:
    return path.suffix in NODE_SEED_SUFFIXES


def client_entry(settings: Settings) -> str:
    """What the seed runner imports: the client generator's output, or `@prisma/client` as
    `prisma generate` found it (from the schema's folder: in a workspace package's
    node_modules, which the root cannot resolve)."""
    for generator in read_generators(settings.base_path):
        if generator.provider in CLIENT_PROVIDERS:
            if generator.output:
                return str((settings.schema_folder / generator.output).resolve() / "index.js")
            client = find_package("@prisma/client", settings.schema_folder, settings.root)
            return str(client / "index.js") if client else "@prisma/client"
    raise ConfigError(
        f"{settings.base_path}: JS/TS seeds use the Prisma Client, but no prisma-client-js "
        "generator is declared"
    )


def ensure_client(prisma: Prisma) -> None:
    """The seeds import the generated client: generate it unless it is current (a template
    build on a fresh clone has not generated yet)."""
    from prisma_tasks.prisma_cli.migrations import generate

    generate(prisma)


def typescript_loader(root: Path, package_dir: Path | None = None) -> list[str]:
    """Node options that make `import("x.ts")` work: tsx from the repository's node_modules,
    or from the workspace package that depends on prisma (by file URL: `--import tsx` resolves
    from the working directory, the root)."""
    if (root / "node_modules" / "tsx").is_dir():
        return ["--import", "tsx"]
    tsx = find_package("tsx", package_dir, root) if package_dir else None
    entry = _esm_entry(tsx) if tsx else None
    if entry is not None:
        return ["--import", entry.as_uri()]
    raise ConfigError(
        "TypeScript seeds need a loader in the repository: install tsx with its package "
        "manager (`npm install --save-dev tsx`, `pnpm add -D tsx`, `yarn add -D tsx`)"
    )


def _esm_entry(package: Path) -> Path | None:
    """The file `import "<package>"` loads: its package.json `exports["."]` (a path, or the
    import/default condition), else `main`."""
    try:
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    exports = manifest.get("exports")
    target = exports.get(".", exports) if isinstance(exports, dict) else exports
    if isinstance(target, dict):
        target = target.get("import") or target.get("default")
    if isinstance(target, dict):
        target = target.get("default")
    if not isinstance(target, str):
        target = manifest.get("main")
    return (package / target).resolve() if isinstance(target, str) else None


def run_node_seeds(settings: Settings, url: str, files: list[Path]) -> None:
    """Run one module's JS/TS seeds against `url`; NodeSeedFailed names the failing file."""
    prisma = Prisma.for_settings(settings)
    ensure_client(prisma)
    script = Path(
        str(resources.files("prisma_tasks.prisma_client").joinpath("node", "run-seeds.mjs"))
    )
    options = (
        typescript_loader(settings.root, prisma.install.package_dir)
        if any(path.suffix in TYPESCRIPT_SUFFIXES for path in files)
        else []
    )
    env = prisma.application_environment(url)
    argv = ["node", *options, str(script), client_entry(settings), *map(str, files)]
    try:
        result = subprocess.run(
            argv,
            cwd=settings.root,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ConfigError("JS/TS seeds need Node.js: `node` is not on PATH") from None
    if result.stdout.strip():
        print(result.stdout.rstrip(), flush=True)
    if result.returncode == 0:
        return
    for line in reversed(result.stderr.splitlines()):
        if line.startswith(_FAILURE):
            failure = json.loads(line[len(_FAILURE) :])
            raise NodeSeedFailed(failure.get("file"), failure.get("error", "failed"))
    raise NodeSeedFailed(None, f"node exited with {result.returncode}: {result.stderr.strip()}")


@dataclass(frozen=True)
class PrismaSeed:
    """package.json's `prisma.seed`: the command `prisma db seed` runs, and the folder of that
    package.json (Prisma reads the nearest package.json up from its working directory and runs
    the command there)."""

    folder: Path
    command: str


def _seed_command(folder: Path) -> str | None:
    try:
        package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    prisma = package.get("prisma") if isinstance(package, dict) else None
    command = prisma.get("seed") if isinstance(prisma, dict) else None
    return command if isinstance(command, str) and command.strip() else None


def prisma_seed(settings: Settings) -> PrismaSeed | None:
    """The `prisma.seed` of the package that runs the Prisma CLI (a workspace package such as
    packages/db, where the Turborepo layout keeps it), else of the repository root."""
    for folder in dict.fromkeys((package_dir(settings), settings.root)):
        command = _seed_command(folder)
        if command is not None:
            return PrismaSeed(folder, command)
    return None


def run_prisma_seed(settings: Settings, url: str) -> str | None:
    """`prisma db seed` on `url` when a package.json configures it: that package.json (relative
    to the root) when it ran, else None."""
    seed = prisma_seed(settings)
    if seed is None:
        return None
    prisma = Prisma.for_settings(settings)
    hook = client_environment(prisma.engine.mode, prisma.environ)
    result = prisma.run(
        "db", "seed", database_url=url, check=False, extra_env=hook, cwd=seed.folder
    )
    shown = (seed.folder / "package.json").relative_to(settings.root).as_posix()
    if result.returncode != 0:
        raise NodeSeedFailed(f"{shown} prisma.seed", f"`prisma db seed` exited {result.returncode}")
    return shown
