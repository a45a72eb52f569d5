"""`.env` files: read as Prisma reads them (root and schema folder; set variables win)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prisma_tasks.envfiles import load_env_files
from prisma_tasks.errors import ConfigError


def folders(tmp_path: Path) -> tuple[Path, Path]:
    schema = tmp_path / "prisma"
    schema.mkdir()
    return tmp_path, schema


def test_both_files_are_read_and_set_variables_win(tmp_path: Path) -> None:
    root, schema = folders(tmp_path)
    (root / ".env").write_text(
        '# the dev database\nexport DATABASE_URL="postgresql://u:p%40ss@localhost/app"\n'
        "KEEP=from-file\n"
    )
    (schema / ".env").write_text("DIRECT_URL='postgresql://u@localhost/direct' # comment\n")
    environ = {"KEEP": "from-shell", "EMPTY": ""}
    names = load_env_files(root, schema, environ)
    assert sorted(names) == ["DATABASE_URL", "DIRECT_URL"]
    assert environ == {
        "KEEP": "from-shell",
        "EMPTY": "",
        "DATABASE_URL": "postgresql://u:p%40ss@localhost/app",
        "DIRECT_URL": "postgresql://u@localhost/direct",
    }


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    root, schema = folders(tmp_path)
    (root / ".env").write_text("DATABASE_URL=file:./dev.db\n")
    environ = {"DATABASE_URL": ""}
    assert load_env_files(root, schema, environ) == ["DATABASE_URL"]
    assert environ["DATABASE_URL"] == "file:./dev.db"


def test_the_same_variable_with_two_values_is_an_error_naming_both_files(tmp_path: Path) -> None:
    root, schema = folders(tmp_path)
    (root / ".env").write_text("DATABASE_URL=file:./a.db\n")
    (schema / ".env").write_text("DATABASE_URL=file:./b.db\n")
    with pytest.raises(
        ConfigError, match=r"DATABASE_URL is set in both .*\.env and .*prisma/\.env"
    ):
        load_env_files(root, schema, {})


def test_no_files_nothing_loaded(tmp_path: Path) -> None:
    root, schema = folders(tmp_path)
    environ: dict[str, str] = {}
    assert load_env_files(root, schema, environ) == [] and environ == {}
