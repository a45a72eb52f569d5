"""nox sessions; thin on purpose: what they run lives in prisma_tasks.testing and tests/.

`nox -t ci` runs lint, unit, gate, integration, e2e and js in that order and stops at the first
failure; nox's closing lines list each stage with its outcome and time. Arguments after `--`
go to pytest, e.g. `nox -s "integration(backend='postgres')" -- --shard 1/4`.
"""

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.stop_on_first_error = True
nox.options.sessions = ["lint", "unit"]

LINTED = ["src", "tests", "bench", "modules", "tasks.py", "noxfile.py"]


@nox.session(tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff (code), import-linter (the package layers) and check-jsonschema (the workflow)."""
    session.install("ruff", "import-linter", "check-jsonschema")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    # grimp reads the source; the package need not be installed in this session.
    session.run("lint-imports", env={"PYTHONPATH": "src"})
    session.run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        ".github/workflows/ci.yml",
        "docs/adopt/github-actions.yml",
    )


@nox.session(tags=["ci"])
def unit(session: nox.Session) -> None:
    """Unit tests: pure logic, no database, no Prisma CLI."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/unit", "--junitxml=reports/unit.xml", *session.posargs)


@nox.session(tags=["ci"])
def gate(session: nox.Session) -> None:
    """invoke prisma.check: collection, format, drift, migration lock, destructive lint."""
    from prisma_tasks.testing import nox_support

    nox_support.install_project(session)
    nox_support.ensure_prisma(session)
    session.run("invoke", "prisma.check")


@nox.session(tags=["ci"])
@nox.parametrize("backend", ["postgres", "sqlite"])
def integration(session: nox.Session, backend: str) -> None:
    """Integration tests on a throwaway database of the backend (real PostgreSQL / SQLite)."""
    from prisma_tasks.testing import nox_support

    nox_support.install_project(session)
    nox_support.ensure_prisma(session)
    nox_support.run_tests_on_database(session, backend, "tests/integration", "integration")


@nox.session(tags=["ci"])
@nox.parametrize("backend", ["postgres", "sqlite"])
def e2e(session: nox.Session, backend: str) -> None:
    """End-to-end tests: the real Prisma CLI against a throwaway database of the backend."""
    from prisma_tasks.testing import nox_support

    nox_support.install_project(session)
    nox_support.ensure_prisma(session)
    nox_support.run_tests_on_database(session, backend, "tests/e2e", "e2e")


@nox.session(tags=["ci"])
def js(session: nox.Session) -> None:
    """The reference modules' JavaScript tests (node:test, the Prisma Client), run through
    `invoke db.run` on a throwaway, migrated and seeded PostgreSQL database."""
    from prisma_tasks.testing import nox_support

    nox_support.install_project(session)
    nox_support.ensure_prisma(session)
    session.run("invoke", "prisma.generate")
    session.run("invoke", "db.run", "--", "node", "--test", "tests/js/")
