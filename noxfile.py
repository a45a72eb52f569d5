"""nox sessions; thin on purpose: what they run lives in the prisma_tasks package and tests/."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "unit"]


@nox.session(tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "bench", "tasks.py", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "bench", "tasks.py", "noxfile.py")


@nox.session(tags=["ci"])
def unit(session: nox.Session) -> None:
    """Unit tests: pure logic, no database, no Prisma CLI."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/unit", "--junitxml=reports/unit.xml", *session.posargs)
