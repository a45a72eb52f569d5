"""What wasm mode needs of the client generator, and the NODE_OPTIONS that carry the hook."""

from __future__ import annotations

from pathlib import Path

from prisma_tasks.prisma_cli.generators import read_generators, wasm_client_notices
from prisma_tasks.prisma_client.preload import (
    client_environment,
    import_flag,
    register_script,
    with_client_hook,
)

DATASOURCE = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'


def base(tmp_path: Path, generators: str) -> Path:
    path = tmp_path / "base.prisma"
    path.write_text(DATASOURCE + generators)
    return path


def test_generators_are_read_with_comments_and_strings_understood(tmp_path: Path) -> None:
    path = base(
        tmp_path,
        '// generator fake { provider = "x" }\n'
        "generator client {\n"
        '  provider = "prisma-client-js" // previewFeatures = ["driverAdapters"]\n'
        '  output   = "../generated/client"\n'
        "}\n"
        "generator erd {\n"
        '  provider        = "prisma-erd-generator"\n'
        '  previewFeatures = ["a", "b"]\n'
        "}\n",
    )
    client, erd = read_generators(path)
    assert (client.name, client.provider, client.output) == (
        "client",
        "prisma-client-js",
        "../generated/client",
    )
    assert client.preview_features == ()  # the one in the comment does not count
    assert client.line == 6
    assert (erd.output, erd.preview_features) == (None, ("a", "b"))


def test_a_client_without_driver_adapters_gets_the_line_to_add(tmp_path: Path) -> None:
    path = base(tmp_path, 'generator client {\n  provider = "prisma-client-js"\n}\n')
    (notice,) = wasm_client_notices(path)
    assert notice.startswith(f"{path}:5 (generator client)")
    assert '`previewFeatures = ["driverAdapters"]`' in notice


def test_driver_adapters_or_other_generators_need_nothing(tmp_path: Path) -> None:
    path = base(
        tmp_path,
        'generator client {\n  provider = "prisma-client-js"\n'
        '  previewFeatures = ["views", "driverAdapters"]\n}\n'
        'generator docs {\n  provider = "prisma-docs-generator"\n}\n',
    )
    assert wasm_client_notices(path) == []


def test_a_preview_feature_list_over_several_lines_is_read(tmp_path: Path) -> None:
    path = base(
        tmp_path,
        'generator client {\n  provider = "prisma-client-js"\n'
        '  previewFeatures = [\n    "views",\n    "driverAdapters", // the wasm engine\n  ]\n}\n',
    )
    (client,) = read_generators(path)
    assert client.preview_features == ("views", "driverAdapters")
    assert wasm_client_notices(path) == []


def test_query_compiler_is_warned_about(tmp_path: Path) -> None:
    path = base(
        tmp_path,
        'generator client {\n  provider = "prisma-client-js"\n'
        '  previewFeatures = ["queryCompiler", "driverAdapters"]\n}\n',
    )
    (notice,) = wasm_client_notices(path)
    assert "queryCompiler" in notice and "wrong results" in notice


def test_the_hook_is_a_file_url_of_the_shipped_script() -> None:
    script = register_script()
    assert script.is_file() and (script.parent / "client.cjs").is_file()
    assert import_flag() == f"--import={script.as_uri()}"


def test_node_options_keep_what_is_there_and_add_the_hook_once() -> None:
    flag = import_flag()
    assert with_client_hook(None) == flag
    existing = '--max-old-space-size=4096 --require "/a b/x.js" --inspect=C:\\x'
    combined = with_client_hook(existing)
    assert combined == f"{existing} {flag}"  # Node's quoting and backslashes untouched
    assert with_client_hook(combined) == combined


def test_native_engines_get_no_hook() -> None:
    assert client_environment("native", {"NODE_OPTIONS": "--inspect"}) == {}
    assert client_environment("wasm", {})["NODE_OPTIONS"] == import_flag()
