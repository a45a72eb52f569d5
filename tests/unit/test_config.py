from pathlib import Path

import pytest

from prisma_tasks.config import find_root, load_settings
from prisma_tasks.errors import ConfigError


def write_pyproject(root: Path, table: str) -> None:
    (root / "pyproject.toml").write_text(f"[project]\nname='x'\n\n[tool.prisma-tasks]\n{table}\n")


def test_defaults_without_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    settings = load_settings(tmp_path, environ={})
    assert settings.module_schemas == ("modules/*/schema/**/*.prisma",)
    assert settings.base_path == tmp_path.resolve() / "prisma/base.prisma"
    assert settings.collected_path == tmp_path.resolve() / "prisma/schemas"
    assert settings.link_mode == "symlink" and settings.engine == "auto"


def test_defaults_without_any_pyproject(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.source is None and settings.link_mode == "symlink"


def test_string_glob_becomes_a_list(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'module_schemas = "packages/*/prisma/*.prisma"')
    assert load_settings(tmp_path, environ={}).module_schemas == ("packages/*/prisma/*.prisma",)


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'link_mdoe = "copy"')
    with pytest.raises(ConfigError, match=r"pyproject.toml: unknown key 'link_mdoe'"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("link_mode = 3", r"link_mode must be a string, got int"),
        ('link_mode = "hardlink"', r"link_mode = 'hardlink' is not one of symlink, copy"),
        ("module_schemas = []", r"module_schemas must be a non-empty list"),
        ("module_schemas = [1]", r"module_schemas must be a non-empty list of strings"),
        ('keep_failed = "yes"', r"keep_failed must be true or false, got str"),
        ("base_schema = true", r"base_schema must be a path string, got bool"),
    ],
)
def test_wrong_types_name_key_and_file(tmp_path: Path, line: str, expected: str) -> None:
    write_pyproject(tmp_path, line)
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.prisma-tasks\] " + expected):
        load_settings(tmp_path, environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.prisma-tasks\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: not valid TOML"):
        load_settings(tmp_path, environ={})


def test_environment_overrides_engine(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'engine = "native"')
    assert load_settings(tmp_path, environ={"PRISMA_TASKS_ENGINE": "wasm"}).engine == "wasm"
    with pytest.raises(ConfigError, match="PRISMA_TASKS_ENGINE='gpu'"):
        load_settings(tmp_path, environ={"PRISMA_TASKS_ENGINE": "gpu"})


def test_root_is_the_nearest_pyproject_upwards(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    deep = tmp_path / "modules" / "a"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
