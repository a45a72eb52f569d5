"""Which workspace package holds the Prisma CLI, and which package manager installs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.errors import EXIT_USAGE, ConfigError
from prisma_tasks.prisma_cli.engines import EngineChoice
from prisma_tasks.prisma_cli.locate import PrismaInstall, PrismaMissing, install, locate
from prisma_tasks.prisma_cli.migrations import check_client_resolves, generator_outputs
from prisma_tasks.prisma_cli.runner import Prisma
from prisma_tasks.prisma_cli.workspaces import (
    PackageManager,
    package_manager,
    pnpm_workspace_packages,
    prisma_package,
    workspace_packages,
    yarn_is_berry,
)
from prisma_tasks.seeding.node_seeds import typescript_loader

PRISMA = {"dependencies": {"prisma": "6.7.0", "@prisma/client": "6.7.0"}}


def package(folder: Path, data: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": folder.name, **(data or {})}))
    return folder


def installed(modules: Path, name: str, version: str = "6.7.0") -> Path:
    """node_modules/<name> with its package.json, and the .bin shim for the CLI."""
    folder = package(modules / name, {"version": version})
    if name == "prisma":
        (modules / ".bin").mkdir(exist_ok=True)
        (modules / ".bin" / "prisma").write_text("#!/bin/sh\n")
    return folder


def monorepo(root: Path, workspaces: object = ("packages/*",)) -> Path:
    package(root, {"private": True, "workspaces": list(workspaces)})  # type: ignore[call-overload]
    package(root / "packages" / "db", PRISMA)
    package(root / "packages" / "web", {"dependencies": {"react": "19"}})
    return root


def test_the_package_that_depends_on_prisma_is_found_from_package_json_workspaces(
    tmp_path: Path,
) -> None:
    root = monorepo(tmp_path)
    assert prisma_package(root, None, None) == root / "packages" / "db"


def test_yarn_classic_workspaces_table_is_read(tmp_path: Path) -> None:
    package(tmp_path, {"private": True, "workspaces": {"packages": ["packages/*"]}})
    package(tmp_path / "packages" / "db", PRISMA)
    assert prisma_package(tmp_path, None, None) == tmp_path / "packages" / "db"


def test_pnpm_workspace_yaml_in_block_and_flow_style_with_comments_and_exclusions() -> None:
    block = """# the workspace
packages:
  - 'packages/*'   # libraries
  - "apps/**"
  - tools/cli
  - '!**/fixtures/**'
catalog:
  react: ^19
"""
    assert pnpm_workspace_packages(block) == [
        "packages/*",
        "apps/**",
        "tools/cli",
        "!**/fixtures/**",
    ]
    assert pnpm_workspace_packages('packages: ["packages/*", "apps/*"]\n') == [
        "packages/*",
        "apps/*",
    ]
    assert pnpm_workspace_packages("onlyBuiltDependencies:\n  - esbuild\n") == []


def test_pnpm_workspace_wins_over_package_json_and_exclusions_apply(tmp_path: Path) -> None:
    package(tmp_path, {"private": True})
    (tmp_path / "pnpm-workspace.yaml").write_text(
        "packages:\n  - 'packages/**'\n  - '!**/fixtures/**'\n"
    )
    package(tmp_path / "packages" / "db", PRISMA)
    package(tmp_path / "packages" / "db" / "fixtures" / "old", PRISMA)
    package(tmp_path / "packages" / "db" / "node_modules" / "prisma", {"version": "6.7.0"})
    found = workspace_packages(tmp_path, ["packages/**", "!**/fixtures/**"])
    assert found == [tmp_path / "packages" / "db"]
    assert prisma_package(tmp_path, None, None) == tmp_path / "packages" / "db"


def test_several_candidates_and_none_configured_is_an_error_naming_them_and_the_key(
    tmp_path: Path,
) -> None:
    root = monorepo(tmp_path)
    package(root / "packages" / "legacy-db", PRISMA)
    with pytest.raises(ConfigError) as raised:
        prisma_package(root, None, root / "pyproject.toml")
    message = str(raised.value)
    assert "packages/db" in message and "packages/legacy-db" in message
    assert 'prisma_package = "packages/' in message and "pyproject.toml" in message
    assert raised.value.exit_code == EXIT_USAGE
    assert prisma_package(root, "packages/legacy-db", None) == root / "packages" / "legacy-db"


def test_a_configured_package_that_is_not_one_is_an_error_naming_the_key(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    for wrong in ("packages/nothing", "../elsewhere"):
        with pytest.raises(ConfigError, match=r"prisma_package = .* is not a folder with"):
            prisma_package(root, wrong, root / "pyproject.toml")


def test_no_workspaces_and_no_dependency_means_the_root(tmp_path: Path) -> None:
    package(tmp_path)
    assert prisma_package(tmp_path, None, None) == tmp_path


def test_locate_finds_the_cli_linked_into_the_workspace_package(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    installed(root / "packages" / "db" / "node_modules", "prisma")  # pnpm links it there
    install = locate(load_settings(root, environ={}))
    assert install.command == (str(root / "packages/db/node_modules/.bin/prisma"),)
    assert install.version == "6.7.0" and install.package_dir == root / "packages" / "db"


def test_locate_finds_the_cli_hoisted_to_the_root(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    installed(root / "node_modules", "prisma")  # npm and yarn classic hoist it
    install = locate(load_settings(root, environ={}))
    assert install.command == (str(root / "node_modules/.bin/prisma"),)
    assert install.package_dir == root / "packages" / "db"


def test_locate_configured_package_and_command(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    (root / "pyproject.toml").write_text(
        '[tool.prisma-tasks]\nprisma_package = "packages/web"\nprisma_command = "npx prisma"\n'
    )
    install = locate(load_settings(root, environ={}))
    assert install.command == ("npx", "prisma") and install.package_dir == root / "packages/web"


def test_missing_cli_names_the_package_and_the_manager(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    (root / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    with pytest.raises(PrismaMissing) as raised:
        locate(load_settings(root, environ={}))
    assert "packages/db/node_modules" in str(raised.value)
    assert "`pnpm install --frozen-lockfile` with pnpm" in str(raised.value)


def test_yarn_plug_n_play_says_it_cannot_run_and_what_to_do(tmp_path: Path) -> None:
    root = monorepo(tmp_path)
    (root / ".pnp.cjs").write_text("// pnp\n")
    (root / ".yarnrc.yml").write_text("nodeLinker: pnp\n")
    with pytest.raises(PrismaMissing, match=r"Plug'n'Play .*nodeLinker: node-modules"):
        locate(load_settings(root, environ={}))
    # with prisma_command set (`yarn workspace @acme/db prisma`), generate says it too
    with pytest.raises(ConfigError, match=r"Plug'n'Play .*nodeLinker: node-modules"):
        check_client_resolves(prisma_in(root, "packages/db/prisma/base.prisma"))


@pytest.mark.parametrize(
    ("files", "declared", "expected"),
    [
        ({"package-lock.json": "{}"}, None, ("npm", "ci", "--no-audit", "--no-fund")),
        ({}, None, ("npm", "install", "--no-audit", "--no-fund")),
        ({"pnpm-lock.yaml": ""}, None, ("pnpm", "install", "--frozen-lockfile")),
        ({"pnpm-workspace.yaml": "packages: []\n"}, None, ("pnpm", "install")),
        ({"yarn.lock": "# yarn lockfile v1\n"}, None, ("yarn", "install", "--frozen-lockfile")),
        ({"yarn.lock": "__metadata:\n  version: 8\n"}, None, ("yarn", "install", "--immutable")),
        (
            {"yarn.lock": "", ".yarnrc.yml": "nodeLinker: node-modules\n"},
            None,
            ("yarn", "install", "--immutable"),
        ),
        ({"yarn.lock": "# yarn lockfile v1\n"}, "yarn@4.5.0", ("yarn", "install", "--immutable")),
        ({"yarn.lock": ""}, "yarn@1.22.22", ("yarn", "install", "--frozen-lockfile")),
        (
            {"pnpm-lock.yaml": ""},
            "pnpm@10.34.9+sha512.abc",
            ("pnpm", "install", "--frozen-lockfile"),
        ),
    ],
)
def test_package_manager_and_its_install_command(
    tmp_path: Path, files: dict[str, str], declared: str | None, expected: tuple[str, ...]
) -> None:
    package(tmp_path, {"packageManager": declared} if declared else {})
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert package_manager(tmp_path).install_command() == expected


def test_berry_versus_classic_from_yarn_version() -> None:
    assert not yarn_is_berry("1.22.22\n")
    assert yarn_is_berry("4.18.1\n") and yarn_is_berry("2.4.3")
    assert PackageManager("yarn", berry=True).label == "yarn berry (2+)"


def test_add_command_targets_the_workspace_package(tmp_path: Path) -> None:
    db = tmp_path / "packages" / "db"
    assert (
        PackageManager("pnpm").add_command(db, tmp_path, ["pg"])
        == "pnpm add --filter ./packages/db pg"
    )
    assert PackageManager("npm").add_command(db, tmp_path, ["pg"]) == (
        "npm install --workspace packages/db pg"
    )
    assert PackageManager("yarn").add_command(tmp_path, tmp_path, ["pg"]) == "yarn add pg"
    package(db, {"name": "@acme/db"})
    assert (
        PackageManager("yarn").add_command(db, tmp_path, ["pg"]) == "yarn workspace @acme/db add pg"
    )


def prisma_in(root: Path, base_schema: str) -> Prisma:
    (root / "pyproject.toml").write_text(f'[tool.prisma-tasks]\nbase_schema = "{base_schema}"\n')
    base = root / base_schema
    base.parent.mkdir(parents=True, exist_ok=True)
    base.write_text(
        'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'
        'generator client {\n  provider = "prisma-client-js"\n}\n'
    )
    settings = load_settings(root, environ={})
    install = PrismaInstall(("prisma",), "6.7.0", None, root / "packages" / "db")
    return Prisma(settings, install, EngineChoice("wasm", "test"), "postgresql", {})


def test_generate_refuses_a_schema_from_which_prisma_cannot_find_the_client(
    tmp_path: Path,
) -> None:
    root = monorepo(tmp_path)
    installed(root / "packages" / "db" / "node_modules", "@prisma/client")
    with pytest.raises(ConfigError) as raised:
        check_client_resolves(prisma_in(root, "prisma/base.prisma"))
    assert 'base_schema = "packages/db/prisma/base.prisma"' in str(raised.value)
    inside = prisma_in(root, "packages/db/prisma/base.prisma")
    check_client_resolves(inside)
    assert generator_outputs(inside) == [
        (root / "packages/db/node_modules/@prisma/client").resolve().parent.parent
        / ".prisma"
        / "client"
    ]


@pytest.mark.parametrize(
    ("version", "flag", "label"),
    [("1.22.22", "--frozen-lockfile", "yarn classic (1.x)"), ("4.18.1", "--immutable", "berry")],
)
def test_install_asks_yarn_its_version_when_the_repository_does_not_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, flag: str, label: str
) -> None:
    """A yarn.lock alone says neither (an old lockfile berry has not rewritten yet): the yarn
    that will run decides. A stand-in `yarn` on PATH answers --version and records installs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    yarn = bin_dir / "yarn"
    yarn.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo {version}; exit 0; fi\n'
        f'echo "$@" > {tmp_path / "ran"}\n'
    )
    yarn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    root = package(tmp_path / "repo")
    (root / "yarn.lock").write_text("# yarn lockfile v1\n")
    manager, command = install(load_settings(root, environ={}))
    assert command == ("yarn", "install", flag) and label in manager.label
    assert (tmp_path / "ran").read_text().split() == ["install", flag]


@pytest.mark.parametrize(
    ("manifest", "entry"),
    [
        ({"exports": {".": "./dist/loader.mjs"}}, "dist/loader.mjs"),  # tsx 4
        ({"exports": {".": {"import": {"default": "./esm/x.mjs"}}}}, "esm/x.mjs"),
        ({"exports": {"import": "./i.mjs", "require": "./r.cjs"}}, "i.mjs"),
        ({"main": "./main.js"}, "main.js"),
    ],
)
def test_tsx_of_the_workspace_package_is_imported_by_file_url(
    tmp_path: Path, manifest: dict, entry: str
) -> None:
    root = monorepo(tmp_path)
    package(root / "packages" / "db" / "node_modules" / "tsx", manifest)
    flags = typescript_loader(root, root / "packages" / "db")
    assert flags == ["--import", (root / "packages/db/node_modules/tsx" / entry).as_uri()]
    package(root / "node_modules" / "tsx")  # at the root it resolves by name, as before
    assert typescript_loader(root, root / "packages" / "db") == ["--import", "tsx"]
