"""Run any command (a JS test runner, pytest, a script) against throwaway databases.

Each database is a clone of the migrated, seeded template, the same template (same content
hash) the pytest plugin uses. The command gets the URL under every variable the datasource
reads (DATABASE_URL, the variable `url = env(...)` names, `directUrl`'s), the Prisma Client
hook in wasm mode, and its exit code is passed through. Everything is removed afterwards,
unless kept.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prisma_tasks.commands.template import template_hash, template_recipe
from prisma_tasks.config import Settings
from prisma_tasks.databases.provisioner import provisioned, terminate_as_interrupt
from prisma_tasks.db.urls import mask
from prisma_tasks.errors import ConfigError
from prisma_tasks.prisma_cli.runner import Prisma, stop_child

Say = Callable[[str], None]
BACKEND_OF_PROVIDER = {"postgresql": "postgres", "sqlite": "sqlite"}


@dataclass(frozen=True)
class RunOptions:
    backend: str | None = None
    workers: int = 1
    seed: bool = True
    keep: bool = False


def backend_for(prisma: Prisma, chosen: str | None) -> str:
    implied = BACKEND_OF_PROVIDER.get(prisma.provider)
    if implied is None:
        raise ConfigError(
            f"{prisma.settings.base_path}: provider {prisma.provider!r} has no throwaway "
            "databases here (postgresql and sqlite do)"
        )
    if chosen is not None and chosen != implied:
        raise ConfigError(
            f"--backend {chosen} does not fit the datasource's provider {prisma.provider!r} "
            f"({prisma.settings.base_path}); use --backend {implied}"
        )
    return implied


def command_environment(prisma: Prisma, urls: Sequence[str]) -> dict[str, str]:
    """What the command gets: the first URL under every datasource variable (with the run's
    owner tokens and the Prisma Client hook: Prisma.application_environment); with several,
    each also as `<variable>_<k>` (k = 1..n: the client hook picks the one of VITEST_POOL_ID
    or JEST_WORKER_ID)."""
    env = prisma.application_environment(urls[0])
    if len(urls) > 1:
        env["PRISMA_TASKS_WORKERS"] = str(len(urls))
        for name in prisma.database_variables(urls[0]):
            if name == "PRISMA_TASKS_DIRECT_URL":
                continue
            for number, url in enumerate(urls, 1):
                env[f"{name}_{number}"] = url
    return env


def run_with_databases(
    settings: Settings, command: Sequence[str], options: RunOptions, say: Say
) -> int:
    """Provision, run `command`, clean up; returns the command's exit code."""
    if not command:
        raise ConfigError("no command to run: put it after `--`, e.g. invoke db.run -- npm test")
    if options.workers < 1:
        raise ConfigError(f"--workers must be 1 or more, not {options.workers}")
    prisma = Prisma.for_settings(settings)
    backend = backend_for(prisma, options.backend)
    with provisioned(backend, settings, log=say) as databases:
        label, prepare = template_recipe(settings, backend, seed=options.seed)
        # What building the template prints (generate, seeds) goes to stderr: the command's
        # stdout stays its own (`db.run -- node x.js > out.json`).
        with contextlib.redirect_stdout(sys.stderr):
            template = databases.template(template_hash(settings, label, backend), prepare)
        databases.warm_clones = 0  # it knows how many it needs: none made ahead in vain
        urls = [databases.clone(template) for _ in range(options.workers)]
        if options.keep:
            for url in urls:
                databases.keep(url)
        say(
            f"running `{' '.join(command)}` on {len(urls)} throwaway {backend} database(s) "
            f"({databases.provider})"
        )
        for url in urls:
            say(f"  {mask(url)}")
        try:
            # it carries this run's owner token: its cluster is never reaped while the command
            # (or anything it starts) still runs
            env = command_environment(prisma, urls)
            if databases.server is not None:
                # a pytest run inside (the plugin) clones from this server, not a cluster of its own
                env[settings.admin_url_env] = databases.server.admin_url
            code = _run_until_it_ends(list(command), env)
        except FileNotFoundError:
            raise ConfigError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise ConfigError(f"command cannot be run (not executable): {command[0]}") from None
        # killed by a signal: the shell's convention, 128 + the signal's number
        return 128 - code if code < 0 else code


def _run_until_it_ends(argv: list[str], env: dict[str, str]) -> int:
    """The command's exit code. Interrupted (Ctrl-C, or SIGTERM to this process), the command
    gets SIGTERM and time to stop before its databases are dropped under it."""
    with terminate_as_interrupt():
        process = subprocess.Popen(argv, cwd=os.getcwd(), env=env)
        try:
            return process.wait()
        except BaseException:
            stop_child(process)
            raise
