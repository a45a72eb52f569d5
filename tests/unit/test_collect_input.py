"""Collect refuses input it cannot fully read: folders it cannot list, paths that are not
regular files. Each is an error naming the path (exit 2), and nothing is written."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prisma_tasks.config import load_settings
from prisma_tasks.errors import EXIT_USAGE, SchemaError
from prisma_tasks.fsutil import NotARegularFile, read_regular_file
from prisma_tasks.schema.collect import collect

USER = "model User {\n  id Int @id\n}\n"
SRC = str(Path(__import__("prisma_tasks").__file__).resolve().parents[1])


def run(tree):
    return collect(load_settings(tree.root, environ={}), check=False)


def problems_of(tree) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        run(tree)
    assert caught.value.exit_code == EXIT_USAGE
    return [str(p) for p in caught.value.problems]


def test_a_schema_folder_that_cannot_be_listed_is_an_error_not_a_missing_module(
    tree, monkeypatch
) -> None:
    tree.module("a", "models.prisma", USER)
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    refused = str(tree.root / "modules/b/schema")
    real_scandir = os.scandir

    def scandir(path="."):  # tests run as root, which file modes do not stop
        if os.fspath(path) == refused:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    (problem,) = problems_of(tree)
    assert problem.startswith("modules/b/schema: cannot list this folder (Permission denied)")
    assert not (tree.root / "prisma/schemas").exists()


def test_a_module_folder_whose_entries_cannot_be_looked_up_is_an_error(tree, monkeypatch) -> None:
    tree.module("a", "models.prisma", USER)
    refused = str(tree.root / "modules/a/schema")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if os.fspath(path) == refused:
            raise PermissionError(13, "Permission denied", path)
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    (problem,) = problems_of(tree)
    assert problem.startswith("modules/a/schema: cannot look this path up (Permission denied)")


def test_a_module_without_a_schema_folder_is_no_error(tree) -> None:
    tree.module("a", "models.prisma", USER)
    (tree.root / "modules/docs-only").mkdir()
    assert [s.relative for s in run(tree).sources] == ["modules/a/schema/models.prisma"]


def test_a_fifo_matched_by_module_schemas_is_named_and_never_opened(tree) -> None:
    tree.module("a", "models.prisma", USER)
    os.mkfifo(tree.root / "modules/a/schema/x.prisma")
    os.mkfifo(tree.root / "modules/a/pipe")
    os.symlink("../pipe", tree.root / "modules/a/schema/y.prisma")
    script = (
        "import sys; from pathlib import Path; from prisma_tasks.schema.collect import collect; "
        "from prisma_tasks.config import load_settings; from prisma_tasks.errors import "
        "SchemaError\ntry:\n    collect(load_settings(Path(sys.argv[1]), environ={}))\n"
        "except SchemaError as error:\n    print(error); sys.exit(error.exit_code)\n"
    )
    # A subprocess, so that a collect blocked in open() fails this test instead of hanging it.
    done = subprocess.run(
        [sys.executable, "-c", script, str(tree.root)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "modules/a/schema/x.prisma: is a FIFO, not a regular file" in done.stdout
    assert "modules/a/schema/y.prisma: is a FIFO, not a regular file" in done.stdout
    assert not (tree.root / "prisma/schemas").exists()


def test_a_socket_matched_by_module_schemas_is_named(tree) -> None:
    tree.module("a", "models.prisma", USER)
    path = tree.root / "modules/a/schema/s.prisma"
    if len(str(path)) > 100:
        pytest.skip("socket paths are limited to about 100 bytes")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        (problem,) = problems_of(tree)
    assert problem.startswith("modules/a/schema/s.prisma: is a socket, not a regular file")


def test_read_regular_file_refuses_a_fifo_without_opening_it(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotARegularFile, match="is a FIFO"):
        read_regular_file(tmp_path / "pipe")
    with pytest.raises(NotARegularFile, match="is a folder"):
        read_regular_file(tmp_path)
    (tmp_path / "file").write_bytes(b"x")
    assert read_regular_file(tmp_path / "file") == b"x"


def test_invalid_utf8_is_named_with_its_line(tree) -> None:
    tree.module("a", "models.prisma", USER)
    (tree.root / "modules/a/schema/bad.prisma").write_bytes(b"model A {\n  id Int @\xff\n}\n")
    (problem,) = problems_of(tree)
    assert problem.startswith("modules/a/schema/bad.prisma:2: cannot read: not UTF-8 text")


FUZZ_PIECES = st.sampled_from(
    [
        *(b"model A {", b"enum E {", b"{", b"}", b"\n", b'"', b"//", b"/*", b"*/"),
        *(b"\xff", b"\xc3", b"\x00", b"  id Int @id\n", b"@@index([id])"),
        b'datasource d {\n  provider = "x"\n}\n',
    ]
)


@settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.lists(FUZZ_PIECES, max_size=30).map(b"".join))
def test_a_fuzzed_schema_file_is_accepted_or_named_with_its_line(tree, content) -> None:
    shutil.rmtree(tree.root / ".prisma-tasks", ignore_errors=True)  # no parse cache between runs
    tree.module("a", "models.prisma", USER)
    fuzzed = tree.root / "modules/b/schema/fuzz.prisma"
    fuzzed.parent.mkdir(parents=True, exist_ok=True)
    fuzzed.write_bytes(content)
    try:
        run(tree)
    except SchemaError as error:
        for problem in error.problems:
            assert problem.path in (
                "modules/b/schema/fuzz.prisma",
                "modules/a/schema/models.prisma",
            )
            assert problem.line is not None and problem.line >= 1, problem
