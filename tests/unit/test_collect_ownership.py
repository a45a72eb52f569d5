"""Collect replaces and removes only what it wrote (its manifest says which names), and only
in a real folder inside the repository. Anything else in the collected folder that Prisma
would read is an error naming it (exit 2); it is never deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.errors import EXIT_USAGE, ConfigError, SchemaError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.linkfarm import MANIFEST

USER = "model User {\n  id Int @id\n}\n"
OTHER = "model Other {\n  id Int @id\n}\n"


def run(tree, **kwargs):
    return collect(load_settings(tree.root, environ={}), **kwargs)


def problems_of(tree, **kwargs) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        run(tree, **kwargs)
    assert caught.value.exit_code == EXIT_USAGE
    return [str(p) for p in caught.value.problems]


def configure(tree, collected_dir: str) -> None:
    tree.write("pyproject.toml", f'[tool.prisma-tasks]\ncollected_dir = "{collected_dir}"\n')


def test_a_file_collect_did_not_write_is_named_and_kept(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)
    notes = tree.write("prisma/schemas/notes.prisma", OTHER)
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    (problem,) = problems_of(tree)
    assert problem.startswith("prisma/schemas/notes.prisma: was not written by")
    assert notes.read_text() == OTHER
    assert not (tree.root / "prisma/schemas/b__models.prisma").exists()  # nothing written
    (problem,) = problems_of(tree, check=True)  # --check says so too, with exit 2
    assert "notes.prisma" in problem


def test_collected_dir_pointing_at_a_folder_of_other_files_deletes_none_of_them(tree) -> None:
    configure(tree, "docs/examples")
    example = tree.write("docs/examples/example.prisma", OTHER)
    tree.module("a", "models.prisma", USER)
    (problem,) = problems_of(tree)
    assert problem.startswith("docs/examples/example.prisma: was not written by")
    assert example.read_text() == OTHER


def test_a_name_collect_wants_that_holds_a_foreign_file_is_not_overwritten(tree) -> None:
    tree.module("a", "models.prisma", USER)
    taken = tree.write("prisma/schemas/a__models.prisma", OTHER)
    (problem,) = problems_of(tree)
    assert problem.startswith("prisma/schemas/a__models.prisma: was not written by")
    assert not taken.is_symlink() and taken.read_text() == OTHER


def test_a_folder_of_prisma_files_inside_the_collected_folder_is_named(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)
    tree.write("prisma/schemas/.old/copy.prisma", USER)
    (problem,) = problems_of(tree)
    assert problem.startswith("prisma/schemas/.old: is a folder holding .prisma files")


def test_files_that_are_not_prisma_schemas_are_left_alone(tree) -> None:
    tree.module("a", "models.prisma", USER)
    readme = tree.write("prisma/schemas/README.md", "generated, do not edit")
    run(tree)
    (tree.root / "modules/a/schema/models.prisma").rename(tree.root / "modules/a/schema/u.prisma")
    run(tree)
    assert readme.exists()


def test_entries_collect_wrote_are_recorded_and_stale_ones_removed(tree) -> None:
    tree.module("a", "models.prisma", USER)
    tree.module("b", "models.prisma", OTHER)
    run(tree)
    manifest = json.loads((tree.root / ".prisma-tasks" / MANIFEST).read_text())
    assert manifest["names"] == ["a__models.prisma", "b__models.prisma"]
    (tree.root / "modules/b/schema/models.prisma").unlink()
    assert run(tree).changes.removed == ["b__models.prisma"]
    assert sorted(p.name for p in (tree.root / "prisma/schemas").iterdir()) == ["a__models.prisma"]


def test_entries_exactly_as_collect_would_write_them_are_adopted_without_a_manifest(
    tree,
) -> None:
    """A folder collected before manifests existed, or after the state folder was removed."""
    tree.module("a", "models.prisma", USER)
    run(tree)
    (tree.root / ".prisma-tasks" / MANIFEST).unlink()
    result = run(tree)
    assert result.changes.unchanged == ["a__models.prisma"] and not result.changes.any
    assert "a__models.prisma" in (tree.root / ".prisma-tasks" / MANIFEST).read_text()


def test_a_manifest_for_another_folder_owns_nothing_here(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)
    manifest = tree.root / ".prisma-tasks" / MANIFEST
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**record, "names": [*record["names"], "notes.prisma"]}))
    configure(tree, "prisma/collected")
    tree.write("prisma/collected/notes.prisma", OTHER)
    (problem,) = problems_of(tree)
    assert problem.startswith("prisma/collected/notes.prisma: was not written by")


@pytest.mark.parametrize(
    ("collected_dir", "reason"),
    [
        ("../elsewhere", "is outside the repository"),
        ("{outside}", "is outside the repository"),
        ("prisma/linked", "is a symlink (to "),
        ("generated/schemas", "passes through generated, which is a symlink"),
        ("prisma/file", "is not a folder"),
    ],
)
def test_a_collected_dir_outside_the_repository_or_through_a_symlink_is_a_config_error(
    tree, tmp_path: Path, collected_dir: str, reason: str
) -> None:
    outside = tmp_path / "outside"
    kept = outside / "precious.prisma"
    kept.parent.mkdir()
    kept.write_text(OTHER)
    os.symlink(outside, tree.root / "prisma/linked")
    os.symlink(outside, tree.root / "generated")
    tree.write("prisma/file", "not a folder")
    configure(tree, collected_dir.format(outside=outside))
    tree.module("a", "models.prisma", USER)
    with pytest.raises(ConfigError) as caught:
        run(tree)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE
    assert "pyproject.toml" in message and "collected_dir = " in message and reason in message
    assert kept.read_text() == OTHER and sorted(os.listdir(outside)) == ["precious.prisma"]
