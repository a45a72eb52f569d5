"""nox sessions; thin on purpose: what they run lives in prisma_tasks.nox_support and tests/."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "unit"]

LINTED = ["src", "tests", "bench", "tasks.py", "noxfile.py"]


@nox.session(tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(tags=["ci"])
def unit(session: nox.Session) -> None:
    """Unit tests: pure logic, no database, no Prisma CLI."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/unit", "--junitxml=reports/unit.xml", *session.posargs)


@nox.session(tags=["ci"])
@nox.parametrize("backend", ["postgres", "sqlite"])
def integration(session: nox.Session, backend: str) -> None:
    """Integration tests on a throwaway database of the backend (real PostgreSQL / SQLite)."""
    from prisma_tasks import nox_support

    nox_support.install_project(session)
    nox_support.run_tests_on_database(session, backend, "tests/integration", "integration")


@nox.session(tags=["ci"])
@nox.parametrize("backend", ["postgres", "sqlite"])
def e2e(session: nox.Session, backend: str) -> None:
    """End-to-end tests: the real Prisma CLI against a throwaway database of the backend."""
    from prisma_tasks import nox_support

    nox_support.install_project(session)
    nox_support.ensure_prisma(session)
    nox_support.run_tests_on_database(session, backend, "tests/e2e", "e2e")
