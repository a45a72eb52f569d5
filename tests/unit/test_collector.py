import os
from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.errors import CheckFailed, ConfigError, SchemaError
from prisma_tasks.schema import linkfarm
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.linkfarm import (
    INCOMPLETE_MARKER,
    Entry,
    Manifest,
    apply_changes,
    plan_changes,
)

USER = "model User {\n  id Int @id\n}\n"
ORDER = (
    "model Order {\n  id Int @id\n  userId Int\n"
    "  user User @relation(fields: [userId], references: [id])\n}\n"
)


def run(tree, **kwargs):
    return collect(load_settings(tree.root, environ={}), **kwargs)


def problems_of(tree, **kwargs) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        run(tree, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_links_every_module_file_with_relative_symlinks(tree) -> None:
    tree.module("identity", "models.prisma", USER)
    tree.module("orders", "models.prisma", ORDER)
    result = run(tree)
    links = tree.root / "prisma/schemas"
    assert sorted(p.name for p in links.iterdir()) == [
        "identity__models.prisma",
        "orders__models.prisma",
    ]
    link = links / "orders__models.prisma"
    assert os.readlink(link) == "../../modules/orders/schema/models.prisma"
    assert link.read_text() == ORDER
    assert result.owner_of("Order") == "orders" and result.owner_of("User") == "identity"
    assert result.modules == ["identity", "orders"]


def test_same_basename_in_two_modules_both_collected(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    run(tree)
    texts = sorted(p.read_text() for p in (tree.root / "prisma/schemas").iterdir())
    assert len(texts) == 2 and "model A" in texts[0] and "model B" in texts[1]


def test_nested_schema_folders_are_collected_recursively(tree) -> None:
    tree.module("a", "sub/deep/x.prisma", "model X {\n  id Int @id\n}\n")
    run(tree)
    assert (tree.root / "prisma/schemas/a__sub__deep__x.prisma").is_symlink()


def test_second_run_writes_nothing(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)
    before = tree.snapshot("prisma/schemas")
    folder_mtime = (tree.root / "prisma/schemas").stat().st_mtime_ns
    result = run(tree)
    assert tree.snapshot("prisma/schemas") == before
    assert (tree.root / "prisma/schemas").stat().st_mtime_ns == folder_mtime
    assert (len(result.changes.unchanged), result.changes.any) == (1, False)


def test_incremental_adds_new_removes_stale_and_keeps_the_rest(tree) -> None:
    tree.module("a", "models.prisma", USER)
    tree.module("b", "old.prisma", "model Old {\n  id Int @id\n}\n")
    run(tree)
    kept = tree.snapshot("prisma/schemas")["a__models.prisma"]
    (tree.root / "modules/b/schema/old.prisma").unlink()
    tree.module("c", "new.prisma", "model New {\n  id Int @id\n}\n")
    result = run(tree)
    after = tree.snapshot("prisma/schemas")
    assert sorted(after) == ["a__models.prisma", "c__new.prisma"]
    assert after["a__models.prisma"] == kept
    assert (result.changes.added, result.changes.removed) == (["c__new.prisma"], ["b__old.prisma"])


def test_copy_mode_writes_copies_and_updates_changed_content(tree) -> None:
    source = tree.module("a", "models.prisma", USER)
    run(tree, mode="copy")
    copy = tree.root / "prisma/schemas/a__models.prisma"
    assert not copy.is_symlink() and copy.read_text() == USER
    source.write_text(USER + "\nenum E {\n  X\n}\n")
    result = run(tree, mode="copy")
    assert result.changes.replaced == ["a__models.prisma"] and "enum E" in copy.read_text()


def test_switching_from_copy_to_symlink_replaces_entries(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree, mode="copy")
    run(tree)
    assert (tree.root / "prisma/schemas/a__models.prisma").is_symlink()


def test_check_passes_on_a_current_folder_and_fails_listing_differences(tree) -> None:
    tree.module("a", "models.prisma", USER)
    with pytest.raises(CheckFailed, match=r"missing  a__models.prisma \(from modules/a/schema"):
        run(tree, check=True)
    assert not (tree.root / "prisma/schemas").exists()
    run(tree)
    assert run(tree, check=True).changes.any is False
    tree.module("b", "old.prisma", "model Old {\n  id Int @id\n}\n")
    run(tree)
    (tree.root / "modules/b/schema/old.prisma").unlink()
    with pytest.raises(CheckFailed, match=r"stale    b__old.prisma"):
        run(tree, check=True)
    assert (tree.root / "prisma/schemas/b__old.prisma").is_symlink()


def test_check_exit_code_is_one(tree) -> None:
    tree.module("a", "models.prisma", USER)
    with pytest.raises(CheckFailed) as caught:
        run(tree, check=True)
    assert caught.value.exit_code == 1


def test_base_must_hold_datasource_and_generator(tree) -> None:
    tree.write("prisma/base.prisma", 'generator client {\n  provider = "prisma-client-js"\n}\n')
    tree.module("a", "models.prisma", USER)
    assert problems_of(tree) == ["prisma/base.prisma: must declare the datasource"]
    tree.write(
        "prisma/base.prisma", 'datasource db {\n  provider = "sqlite"\n  url = "file:x"\n}\n'
    )
    assert problems_of(tree) == ["prisma/base.prisma: must declare at least one generator"]


def test_base_must_hold_nothing_else(tree) -> None:
    from tests.conftest import BASE

    tree.write("prisma/base.prisma", BASE + "\nmodel Stray {\n  id Int @id\n}\n")
    tree.module("a", "models.prisma", USER)
    (problem,) = problems_of(tree)
    assert problem.startswith("prisma/base.prisma:11: holds model 'Stray'")


def test_module_must_not_declare_datasource_or_generator(tree) -> None:
    tree.module("a", "models.prisma", USER + 'generator extra {\n  provider = "x"\n}\n')
    (problem,) = problems_of(tree)
    assert problem.startswith(
        "modules/a/schema/models.prisma:4: module schemas must not declare a generator"
    )


def test_duplicate_definition_names_both_files(tree) -> None:
    tree.module("a", "models.prisma", USER)
    tree.module("b", "models.prisma", "enum Other {\n  X\n}\n\n" + USER)
    (problem,) = problems_of(tree)
    assert "'User' is defined more than once" in problem
    assert "modules/a/schema/models.prisma:1 and modules/b/schema/models.prisma:5" in problem


def test_no_module_schema_found(tree) -> None:
    (problem,) = problems_of(tree)
    assert "no module schema found by module_schemas = modules/*/schema/**/*.prisma" in problem


def test_unreadable_file_is_named(tree) -> None:
    tree.module("a", "models.prisma", USER)
    (tree.root / "modules/a/schema/bad.prisma").write_bytes(b"model \xff {\n}\n")
    (problem,) = problems_of(tree)
    assert problem.startswith("modules/a/schema/bad.prisma:1: cannot read: not UTF-8")


def test_broken_symlink_is_named(tree) -> None:
    tree.module("a", "models.prisma", USER)
    os.symlink("nowhere.prisma", tree.root / "modules/a/schema/gone.prisma")
    assert problems_of(tree) == ["modules/a/schema/gone.prisma: broken symlink"]


def test_symlink_loop_is_named(tree) -> None:
    tree.module("a", "models.prisma", USER)
    folder = tree.root / "modules/a/schema"
    os.symlink("loop2.prisma", folder / "loop1.prisma")
    os.symlink("loop1.prisma", folder / "loop2.prisma")
    assert problems_of(tree) == [
        "modules/a/schema/loop1.prisma: symlink loop",
        "modules/a/schema/loop2.prisma: symlink loop",
    ]


def test_file_resolving_outside_the_repository_is_refused(tree, tmp_path: Path) -> None:
    tree.module("a", "models.prisma", USER)
    outside = tmp_path / "elsewhere.prisma"
    outside.write_text("model Far {\n  id Int @id\n}\n")
    os.symlink(outside, tree.root / "modules/a/schema/far.prisma")
    (problem,) = problems_of(tree)
    assert problem.startswith("modules/a/schema/far.prisma: resolves outside the repository")


def test_syntax_problem_in_a_module_names_file_and_line(tree) -> None:
    tree.module("a", "models.prisma", USER + "\n/* never closed\n")
    assert problems_of(tree) == ["modules/a/schema/models.prisma:5: unterminated block comment"]


def test_failed_validation_leaves_the_folder_exactly_as_it_was(tree) -> None:
    tree.module("a", "models.prisma", USER)
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    run(tree)
    before = tree.snapshot("prisma/schemas")
    tree.module("c", "models.prisma", USER)  # duplicate User
    (tree.root / "modules/b/schema/models.prisma").unlink()
    problems_of(tree)
    assert tree.snapshot("prisma/schemas") == before


def test_failed_first_collect_creates_no_folder(tree) -> None:
    tree.module("a", "models.prisma", 'datasource x {\n  provider = "sqlite"\n}\n')
    problems_of(tree)
    assert not (tree.root / "prisma/schemas").exists()
    assert [p.name for p in (tree.root / "prisma").iterdir()] == ["base.prisma"]


def test_interrupted_update_leaves_a_marker_prisma_refuses(tree, monkeypatch) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    tree.module("c", "models.prisma", "model C {\n  id Int @id\n}\n")
    folder = tree.root / "prisma/schemas"
    entries = [
        Entry(
            f"{m}__models.prisma",
            tree.root / f"modules/{m}/schema/models.prisma",
            f"../../modules/{m}/schema/models.prisma",
        )
        for m in "abc"
    ]
    manifest = Manifest(tree.root / ".prisma-tasks", folder)
    changes = plan_changes(folder, entries, "symlink", manifest.names)

    def interrupt_after_an_entry(name: str) -> None:
        if name == "collect:after-entry":
            raise KeyboardInterrupt

    monkeypatch.setattr(linkfarm, "fault_point", interrupt_after_an_entry)
    with pytest.raises(KeyboardInterrupt):
        apply_changes(folder, entries, "symlink", changes, manifest)
    monkeypatch.undo()
    marker = folder / INCOMPLETE_MARKER
    assert marker.exists() and "invoke prisma.collect" in marker.read_text()
    with pytest.raises(CheckFailed, match="an earlier collect was interrupted"):
        run(tree, check=True)
    run(tree)
    assert not marker.exists()
    assert sorted(p.name for p in folder.glob("*.prisma")) == [e.name for e in entries]


def test_symlinks_refused_falls_back_to_copies_with_a_notice(tree, monkeypatch) -> None:
    import errno

    tree.module("a", "models.prisma", USER)

    def refuse(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    result = run(tree)
    assert result.mode == "copy" and "refuses symlinks" in result.notices[0]
    assert (tree.root / "prisma/schemas/a__models.prisma").read_text() == USER


def test_two_sources_collecting_to_one_name_are_refused(tree) -> None:
    globs = '["modules/*/schema/**/*.prisma", "libs/*/schema/*.prisma"]'
    tree.write("pyproject.toml", f"[tool.prisma-tasks]\nmodule_schemas = {globs}\n")
    tree.module("core", "models.prisma", USER)
    tree.write("libs/core/schema/models.prisma", "model L {\n  id Int @id\n}\n")
    (problem,) = problems_of(tree)
    assert "collects to the same name 'core__models.prisma' as" in problem


def test_custom_glob_names_modules_from_its_first_wildcard(tree) -> None:
    tree.write(
        "pyproject.toml", '[tool.prisma-tasks]\nmodule_schemas = "services/*/db/schema/*.prisma"\n'
    )
    tree.write("services/shop/db/schema/models.prisma", USER)
    result = run(tree)
    assert (
        result.sources[0].module == "shop" and result.sources[0].link_name == "shop__models.prisma"
    )


def test_glob_without_a_module_wildcard_is_a_config_error(tree) -> None:
    tree.write("pyproject.toml", '[tool.prisma-tasks]\nmodule_schemas = "schema/**/*.prisma"\n')
    with pytest.raises(ConfigError, match="needs a '\\*' folder segment"):
        run(tree)


@pytest.mark.parametrize("collected_dir", ["prisma", ".", "modules/a/schema"])
def test_a_collected_dir_that_holds_files_people_own_is_refused(tree, collected_dir) -> None:
    tree.write("pyproject.toml", f'[tool.prisma-tasks]\ncollected_dir = "{collected_dir}"\n')
    tree.module("a", "models.prisma", USER)
    (problem,) = problems_of(tree)
    assert f"collected_dir = '{collected_dir}'" in problem and "folder of its own" in problem
    assert (tree.root / "prisma/base.prisma").exists()
    assert (tree.root / "modules/a/schema/models.prisma").exists()


def test_collects_running_at_once_do_not_trip_over_each_other(tree) -> None:
    import subprocess
    import sys

    for m in range(30):
        tree.module(f"m{m:02d}", "models.prisma", f"model M{m:02d} {{\n  id Int @id\n}}\n")
    script = (
        "from pathlib import Path; from prisma_tasks.schema.collect import collect; "
        "from prisma_tasks.config import load_settings; "
        f"collect(load_settings(Path({str(tree.root)!r}), environ={{}}))"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(4)
    ]
    errors = [run.communicate()[1].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
    folder = tree.root / "prisma/schemas"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"m{m:02d}__models.prisma" for m in range(30)
    ]


def test_a_schema_file_no_module_owns_in_the_schema_folder_is_an_error(tree) -> None:
    tree.module("a", "models.prisma", USER)
    run(tree)  # collected once: the fast path must see the newcomer too
    tree.write("prisma/schema.prisma", ORDER)  # the pre-module schema, left behind
    tree.write("prisma/legacy/enums.prisma", "enum E {\n  A\n}\n")
    tree.write("prisma/migrations/20260101000000_x/migration.sql", "SELECT 1;\n")
    assert [p.split(":")[0] for p in problems_of(tree)] == [
        "prisma/schema.prisma",
        "prisma/legacy/enums.prisma",
    ]
    assert "no module owns" in problems_of(tree)[0]
    (tree.root / "prisma/schema.prisma").unlink()
    (tree.root / "prisma/legacy/enums.prisma").unlink()
    assert run(tree).sources  # base.prisma, collected links and migrations are never strays
