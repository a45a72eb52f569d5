"""Build and run Prisma CLI commands for the chosen engine mode.

`command()` is pure (argv + environment), so what native and wasm mode run is unit-tested;
`run()` executes it, masks secrets and, in copy mode, points errors back at module files.
Interrupted (Ctrl-C, or SIGTERM to this process), `run()` passes SIGTERM on to Prisma and waits
for it to clean up (drop its shadow database) before the interrupt goes on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prisma_tasks.config import Settings
from prisma_tasks.databases import owners, shadows
from prisma_tasks.db.urls import absolute_sqlite_url, mask
from prisma_tasks.errors import ConfigError, DatabaseUnreachable, PrismaTasksError
from prisma_tasks.prisma_cli import config_file
from prisma_tasks.prisma_cli.datasource import Datasource, read_datasource
from prisma_tasks.prisma_cli.engines import EngineChoice, choose
from prisma_tasks.prisma_cli.locate import PrismaInstall, locate
from prisma_tasks.prisma_client.preload import client_environment
from prisma_tasks.schema.collect import CollectResult

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
# PRISMA_GENERATE_SKIP_AUTOINSTALL: when `generate` cannot resolve @prisma/client from the
# schema's folder (a workspace package holds it), Prisma 6.7 would `add` it to the root
# package.json and lockfile; `generate` checks this first and says what to do instead.
_QUIET = {
    "CHECKPOINT_DISABLE": "1",
    "PRISMA_HIDE_UPDATE_MESSAGE": "1",
    "PRISMA_GENERATE_SKIP_AUTOINSTALL": "1",
}
# How long an interrupted Prisma gets to drop its shadow database and exit before SIGKILL.
CLEANUP_SECONDS = 15.0


# How a failing migration is reported: wasm mode names it in the engine's span trace, native
# Prisma in its P3018 text (deploy) or P3006 text (a shadow replay).
_FAILED_MIGRATION = re.compile(
    r'migration_name="(?P<a>[^"]+)"|Migration name: (?P<b>\S+)|Migration `(?P<c>[^`]+)` failed'
)
_DATABASE_ERROR = re.compile(
    r"(?:Error querying the database|Database error|SQLITE_ERROR): *\n?(?P<error>[^\n]+)"
)


# Prisma's connection errors: native mode prints them with their code ("P1001: Can't reach
# database server at ..."), wasm mode the same text without it. P1000 credentials refused,
# P1001 not reachable, P1002 timed out, P1003 no such database, P1010 access denied, P1011 TLS,
# P1017 connection closed by the server; and a SQLite file that cannot be opened as a database.
_CONNECTION_ERROR = re.compile(
    r"(?:\bP10(?:00|01|02|03|10|11|17)\b:?\s*"
    r"|Authentication failed against database server|Can't reach database server"
    r"|The database server at .* was reached but timed out|Database `[^`]*` does not exist"
    r"|User `[^`]*` was denied access|Error opening a TLS connection"
    r"|Server has closed the connection|SQLITE_(?:CANTOPEN|NOTADB)\b).*"
)
# A driver adapter's error the wasm engine cannot map: a refused connection, an unknown host, a
# SQLite file that cannot be opened. The suite's own driver then says what it was.
_OPAQUE_ERROR = re.compile(r"External error id#\d+")


class PrismaFailed(PrismaTasksError):
    """The Prisma CLI exited non-zero; its (masked) output is the message."""


def datasource_provider(base: Path) -> str:
    return read_datasource(base).provider


def failed_migration(output: str) -> str | None:
    """'migration NAME failed: <database error>' when Prisma's output reports one."""
    name = _FAILED_MIGRATION.search(output)
    if name is None:
        return None
    error = _DATABASE_ERROR.search(output)
    reason = error["error"].strip() if error else "see the output above"
    return f"migration {name['a'] or name['b'] or name['c']} failed to apply: {reason}"


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
    datasource: Datasource | None = None

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
        datasource = read_datasource(settings.base_path)
        if engine.mode == "wasm":
            problem = config_file.wasm_provider_problem(datasource.provider, settings.base_path)
            if problem:
                raise ConfigError(problem)
        return cls(settings, install, engine, datasource.provider, environ, datasource=datasource)

    def describe(self) -> str:
        version = self.install.version or "unknown version"
        text = f"prisma {version}, {self.engine.mode} engine ({self.engine.reason})"
        if self.engine.mode == "wasm" and self.datasource and self.datasource.shadow_database_url:
            text += (
                "\nshadowDatabaseUrl is not used in wasm mode: Prisma 6.7's driver adapter takes"
                " no shadow URL, so the history is replayed on a scratch database created (and"
                " dropped) beside the target"
            )
        return text

    def command(
        self, *args: str, database_url: str | None = None, extra_env: dict[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        argv = [*self.install.command, *args]
        # The owner tokens of the runs this process works for now (the environment was copied
        # before a provisioner may have opened): Prisma uses their databases too.
        env = owners.with_users({**self.environ, **_QUIET, **(extra_env or {})})
        env.update(self.database_variables(database_url))
        head = tuple(a for a in args[:2] if not a.startswith("-"))
        if self.engine.mode == "wasm":
            env.update(config_file.placeholder_engines(self.settings))
            env["PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING"] = "1"
            env[shadows.PREFIX_VARIABLE] = shadows.prefix()
            config = config_file.ensure(self.settings, self.provider, self.install.package_dir)
            argv += ["--config", str(config)]
        elif head in _SCHEMA_COMMANDS or head[:1] in _SCHEMA_COMMANDS:
            argv += ["--schema", str(self.settings.schema_folder)]
        return argv, env

    def database_variables(self, database_url: str | None) -> dict[str, str]:
        """The URL variables Prisma reads, all pointing at the database this command is for.

        When that is the user's own database (DATABASE_URL, or the variable `url` names), a
        `directUrl` they set is honoured as Prisma honours it (wasm mode passes it to the
        adapter). When the suite chose another database (a throwaway, the dev database),
        `directUrl` is pointed at it too: a migrate command never reaches past it.
        """
        url_variable = self.datasource.url_variable if self.datasource else "DATABASE_URL"
        users_own = self.environ.get(url_variable) or self.environ.get("DATABASE_URL")
        if users_own:
            users_own = absolute_sqlite_url(users_own, self.settings.schema_folder)
        chosen = database_url or users_own or placeholder_url(self.provider)
        variables = {"DATABASE_URL": chosen, url_variable: chosen}
        direct = self.datasource.direct_url if self.datasource else None
        if direct is not None and direct.env:
            direct_value = direct.value(self.environ) if chosen == users_own else None
            if direct_value:
                direct_value = absolute_sqlite_url(direct_value, self.settings.schema_folder)
            variables[direct.env] = direct_value or chosen
            if self.engine.mode == "wasm" and direct_value:
                variables["PRISMA_TASKS_DIRECT_URL"] = direct_value
        return variables

    def application_environment(self, database_url: str) -> dict[str, str]:
        """The environment of a program of the user's on `database_url` (a test runner, a
        JS/TS seed): every datasource variable pointing at it, the owner tokens of the runs
        this process works for, and the Prisma Client hook in wasm mode. Not the variables
        only the suite's own Prisma config reads."""
        variables = self.database_variables(database_url)
        variables.pop("PRISMA_TASKS_DIRECT_URL", None)
        env = owners.with_users({**self.environ, **variables})
        env.update(client_environment(self.engine.mode, env))
        return env

    def adapter_url(self, database_url: str | None = None) -> str:
        """The URL wasm mode's adapter connects with for migrate commands (and beside which it
        creates its shadow databases): the `directUrl` it was given, else the chosen URL."""
        variables = self.database_variables(database_url)
        return variables.get("PRISMA_TASKS_DIRECT_URL") or variables["DATABASE_URL"]

    def run(
        self,
        *args: str,
        database_url: str | None = None,
        check: bool = True,
        echo: bool = True,
        extra_env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a Prisma command to its end, at the repository root unless `cwd` says where
        (`db seed` reads the nearest package.json up from there)."""
        argv, env = self.command(*args, database_url=database_url, extra_env=extra_env)
        result = run_to_the_end(argv, cwd=cwd or self.settings.root, env=env)
        return self.finished(args, result, self._connected_url(env), check=check, echo=echo)

    def start(
        self,
        *args: str,
        database_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        connects_to: str | None = None,
    ) -> Started:
        """Start a command that waits for a line on its stdin (see templates/common.cjs:
        PRISMA_TASKS_URL_FROM_STDIN, PRISMA_TASKS_HOLD), so Node's start overlaps other work.
        `connects_to`: the URL it will be handed, for reporting a connection failure."""
        argv, env = self.command(*args, database_url=database_url, extra_env=extra_env)
        process = subprocess.Popen(
            argv,
            cwd=self.settings.root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return Started(self, args, process, connects_to or self._connected_url(env))

    def finished(
        self,
        args: tuple[str, ...],
        result: subprocess.CompletedProcess[str],
        connected_url: str,
        *,
        check: bool,
        echo: bool,
    ) -> subprocess.CompletedProcess[str]:
        result.stdout = self.clean(result.stdout)
        result.stderr = self.clean(result.stderr)
        if echo:
            if result.stdout.strip():
                print(result.stdout.rstrip(), flush=True)
            if result.stderr.strip():
                print(result.stderr.rstrip(), file=sys.stderr, flush=True)
        if result.returncode != 0:
            # Even with check=False: no caller can read a result from a database never reached.
            unreachable = self.unreachable(result.stdout + result.stderr, connected_url)
            if unreachable is not None:
                raise unreachable
            if check:
                raise PrismaFailed(self.failure(args, result, echo))
        return result

    def unreachable(self, output: str, url: str) -> DatabaseUnreachable | None:
        """The connection failure a failed command's output reports, if that is why it failed."""
        if failed_migration(output) is not None:
            return None
        reported = _CONNECTION_ERROR.search(output)
        if reported is not None:
            return DatabaseUnreachable(mask(url), reported.group(0).strip())
        if _OPAQUE_ERROR.search(output) and url != placeholder_url(self.provider):
            from prisma_tasks.db.connection import connection_problem

            return connection_problem(url, self.settings.root)
        return None

    def _connected_url(self, env: dict[str, str]) -> str:
        """The URL a migrate command connects through: `directUrl` when set, else `url`."""
        direct = self.datasource.direct_url if self.datasource else None
        if direct is not None and direct.env and env.get(direct.env):
            return env[direct.env]
        return env["DATABASE_URL"]

    @staticmethod
    def failure(
        args: tuple[str, ...], result: subprocess.CompletedProcess[str], echoed: bool
    ) -> str:
        output = (result.stdout + result.stderr).strip()
        message = f"`prisma {' '.join(args)}` failed with exit code {result.returncode}"
        if not echoed:
            message += f":\n{output}"
        migration = failed_migration(output)
        return f"{migration}\n{message}" if migration else message

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


@dataclass
class Started:
    """A Prisma command started ahead, waiting for a line on stdin. Whoever starts one ends it:
    `finish()` (waits, then reports as `Prisma.run`) or `stop()`."""

    prisma: Prisma
    args: tuple[str, ...]
    process: subprocess.Popen[str]
    connected_url: str

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # it ended already: finish() tells why
            pass

    def finish(self, *, check: bool = True, echo: bool = True) -> subprocess.CompletedProcess[str]:
        from prisma_tasks.databases.provisioner import terminate_as_interrupt

        with terminate_as_interrupt():
            try:
                stdout, stderr = self.process.communicate()
            except BaseException:
                stop_child(self.process)
                raise
        code = self.process.returncode
        result = subprocess.CompletedProcess(self.process.args, code, stdout, stderr)
        return self.prisma.finished(self.args, result, self.connected_url, check=check, echo=echo)

    def stop(self) -> None:
        """End it (SIGTERM, time to clean up, then SIGKILL) and discard its output."""
        if self.process.returncode is None:
            stop_child(self.process)


def run_to_the_end(
    argv: list[str], cwd: Path, env: dict[str, str], grace: float = CLEANUP_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run with captured output. Interrupted (KeyboardInterrupt; SIGTERM to this process counts
    as one while the child runs), the child gets SIGTERM and up to `grace` seconds to clean up,
    then SIGKILL; the interrupt is raised only once it is gone, so no `finally` of the caller
    runs while the child still works on its databases."""
    from prisma_tasks.databases.provisioner import terminate_as_interrupt

    with terminate_as_interrupt():
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            stop_child(process, grace)
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def stop_child(process: subprocess.Popen[Any], grace: float = CLEANUP_SECONDS) -> None:
    """SIGTERM, wait up to `grace` seconds (a second interrupt ends the wait), then SIGKILL."""
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=grace)
    except BaseException:  # out of time, or interrupted again: no more waiting
        process.kill()
        process.wait()
