"""`prisma-tasks prisma.init`: set prisma-tasks up in an existing Prisma monorepo.

Writes what is missing (tasks.py, noxfile.py, the [tool.prisma-tasks] table, .gitignore lines)
and never overwrites a file a person wrote; says what it did and what is left to do by hand
(the npm packages wasm mode needs, the generator's preview feature, a leftover schema.prisma).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.fsutil import write_atomically
from prisma_tasks.prisma_cli.workspaces import (
    PackageManager,
    package_manager,
    prisma_package,
    read_package_json,
)

Say = Callable[[str], None]

TASKS_PY = '''"""invoke tasks from prisma-tasks: prisma.*, db.*, tenant.*, doctor."""

from prisma_tasks.tasks import ns

__all__ = ["ns"]
'''

NOXFILE = '''"""nox sessions: the test suites on throwaway, migrated databases."""

import nox

from prisma_tasks.testing import nox_support

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True


@nox.session
def gate(session: nox.Session) -> None:
    """The pull-request gate: collection, format, drift, migration lock, destructive lint."""
    nox_support.install(session)
    session.run("invoke", "prisma.check")


{integration}@nox.session
def js(session: nox.Session) -> None:
    """The package.json test script ({js_test}) on a throwaway database."""
    nox_support.install(session)
    nox_support.run_on_database(session, {js_argv}, *session.posargs)
'''

TOOL_TABLE = """
[tool.prisma-tasks]
# Module schemas, collected into prisma/schemas for Prisma's multi-file schema.
module_schemas = ["{modules}"]
base_schema = "{base}"
collected_dir = "{collected}"
"""

PYTEST_SESSION = """@nox.session
def integration(session: nox.Session) -> None:
    \"\"\"pytest, with the prisma-tasks plugin's database fixtures.\"\"\"
    nox_support.install(session, "pytest")
    nox_support.run_on_database(session, "pytest", *session.posargs)


"""

GITIGNORE = ["prisma/schemas/", ".prisma-tasks/", ".nox/"]
WASM_PACKAGES = {
    "postgresql": ["@prisma/adapter-pg", "pg"],
    "sqlite": ["@prisma/adapter-libsql", "@libsql/client"],
}


@dataclass
class InitReport:
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def init(root: Path, modules_glob: str, say: Say) -> InitReport:
    report = InitReport()
    package = _prisma_package(root, report)
    # Prisma 6.7's generate finds @prisma/client from the schema's folder: in a workspace the
    # schema lives in the package that depends on prisma (packages/db/prisma, as Turborepo does)
    prisma_folder = (package / "prisma").relative_to(root).as_posix()
    base = root / prisma_folder / "base.prisma"
    _write_new(root / "tasks.py", TASKS_PY, report, root)
    manager = _package_manager(root)
    js_argv = [manager.name, "test"]
    has_pytest = _has_python_tests(root)
    noxfile = (
        NOXFILE.replace("{js_test}", " ".join(js_argv))
        .replace("{js_argv}", ", ".join(json.dumps(word) for word in js_argv))
        .replace("{integration}", PYTEST_SESSION if has_pytest else "")
    )
    _write_new(root / "noxfile.py", noxfile, report, root)
    _tool_table(root, modules_glob, prisma_folder, report)
    _gitignore(root, prisma_folder, report)
    _check_schema(root, base, report)
    _check_packages(root, package, base, manager, report)
    for path in report.written:
        say(f"wrote {path}")
    for path in report.kept:
        say(f"kept {path} (exists; not changed)")
    for item in report.todo:
        say(f"to do: {item}")
    if not report.todo:
        say("ready: run `invoke prisma.migrate`, then `nox`")
    return report


def _has_python_tests(root: Path) -> bool:
    skipped = {"node_modules", ".git", ".venv", ".nox", "generated"}
    for _folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in skipped]
        if any(name == "conftest.py" or fnmatch(name, "test_*.py") for name in files):
            return True
    return False


def _package_manager(root: Path) -> PackageManager:
    try:
        return package_manager(root)
    except PrismaTasksError:
        return PackageManager("npm")


def _prisma_package(root: Path, report: InitReport) -> Path:
    """The package that depends on prisma; the root when that cannot be said yet."""
    try:
        return prisma_package(root, None, None)
    except PrismaTasksError as error:
        report.todo.append(str(error))
        return root


def _write_new(path: Path, text: str, report: InitReport, root: Path) -> None:
    relative = str(path.relative_to(root))
    if path.exists():
        report.kept.append(relative)
        return
    write_atomically(path, text)
    report.written.append(relative)


def _tool_table(root: Path, modules_glob: str, prisma_folder: str, report: InitReport) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    if "[tool.prisma-tasks]" in text:
        report.kept.append("pyproject.toml [tool.prisma-tasks]")
        return
    table = TOOL_TABLE.format(
        modules=json.dumps(modules_glob)[1:-1],
        base=f"{prisma_folder}/base.prisma",
        collected=f"{prisma_folder}/schemas",
    )
    if not text:
        text = f'[project]\nname = "{root.name}-build"\nversion = "0"\nrequires-python = ">=3.10"\n'
    write_atomically(pyproject, text.rstrip("\n") + "\n" + table)
    report.written.append("pyproject.toml [tool.prisma-tasks]")


def _gitignore(root: Path, prisma_folder: str, report: InitReport) -> None:
    path = root / ".gitignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    wanted = [f"{prisma_folder}/schemas/", *GITIGNORE[1:]]
    missing = [line for line in wanted if line not in lines]
    if not missing:
        report.kept.append(".gitignore")
        return
    block = ["# prisma-tasks: collected schemas and its own state", *missing]
    write_atomically(path, "\n".join([*lines, *block]) + "\n")
    report.written.append(".gitignore (" + ", ".join(missing) + ")")


def _check_schema(root: Path, base: Path, report: InitReport) -> None:
    if not base.exists():
        report.todo.append(
            "create prisma/base.prisma with the datasource and generator blocks only; "
            "the models go to modules/<name>/schema/*.prisma"
        )
    if (root / "prisma" / "schema.prisma").exists():
        report.todo.append(
            "move the models of prisma/schema.prisma into module schema files and delete it "
            "(Prisma would merge it with the modules; collect refuses it)"
        )


def _check_packages(
    root: Path, owner: Path, base: Path, manager: PackageManager, report: InitReport
) -> None:
    from prisma_tasks.prisma_cli.datasource import read_datasource
    from prisma_tasks.prisma_cli.generators import wasm_client_notices

    try:
        scripts = (read_package_json(root) or {}).get("scripts")
        package = read_package_json(owner)
    except PrismaTasksError:
        scripts = package = None
    if package is None:
        report.todo.append("add a package.json that pins prisma and @prisma/client (6.7.0)")
        return
    if not (scripts or {}).get("test"):
        report.todo.append(
            'add a "test" script to package.json (the noxfile\'s js session runs it), or '
            "delete that session"
        )
    declared = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    needed = ["prisma", "@prisma/client"]
    provider = None
    if base.exists():
        try:
            provider = read_datasource(base).provider
        except Exception:
            provider = None
        report.todo.extend(wasm_client_notices(base))
    needed += WASM_PACKAGES.get(provider or "", [])
    missing = [name for name in needed if name not in declared]
    if missing:
        report.todo.append(
            f"`{manager.add_command(owner, root, missing)}` (wasm mode, with no native Prisma "
            "engines, runs the CLI and the client through these driver adapters)"
        )
