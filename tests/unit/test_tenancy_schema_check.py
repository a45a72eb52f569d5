"""The row-tenancy schema rules, on small monorepo trees (no database, no Prisma CLI)."""

from __future__ import annotations

import dataclasses

import pytest

from prisma_tasks.commands.workflow import prepare
from prisma_tasks.config import load_settings
from prisma_tasks.errors import EXIT_USAGE, SchemaError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.reader import Index, parse_schema
from prisma_tasks.tenancy.errors import TenancySchemaError
from prisma_tasks.tenancy.schema_check import tenancy_problems
from tests.conftest import reference_settings_in

ROW = '[tool.prisma-tasks]\ntenancy = "row"\n'


def configure(tree, extra: str = "") -> None:
    tree.write("pyproject.toml", f"[project]\nname = 'demo'\n\n{ROW}{extra}")


def problems(tree) -> list[str]:
    settings = load_settings(tree.root, environ={})
    return [str(p) for p in tenancy_problems(settings, collect(settings))]


def test_reader_records_indexes_with_their_fields_and_lines() -> None:
    text = (
        "model A {\n"
        "  id Int @id @default(autoincrement())\n"
        "  tenantId String @db.Uuid\n"
        '  email String @unique(map: "a_email")\n'
        '  note String @default("@@index([fake])")\n'
        "  // @@index([commented])\n"
        '  @@index([tenantId, createdAt(sort: Desc)], name: "by_time")\n'
        '  @@unique(fields: [tenantId, email(length: 10, ops: raw("x"))])\n'
        "  @@id([\n    tenantId,\n    id\n  ])\n"
        "}\n"
    )
    (block,) = parse_schema(text, "a.prisma").blocks
    assert block.indexes == (
        Index("id", ("id",), 2),
        Index("unique", ("email",), 4),
        Index("index", ("tenantId", "createdAt"), 7),
        Index("unique", ("tenantId", "email"), 8),
        Index("id", ("tenantId", "id"), 9),
    )


def test_a_model_without_the_tenant_field_is_reported_at_its_line(tree) -> None:
    configure(tree)
    tree.module("blog", "models.prisma", "// posts\n\nmodel Post {\n  id Int @id\n}\n")
    assert problems(tree) == [
        "modules/blog/schema/models.prisma:3: model Post is tenant-scoped but has no tenantId "
        "field; add `tenantId String` and `@@index([tenantId])`, or list 'Post' in "
        "tenant_exempt_models if it is shared"
    ]


def test_a_tenant_field_without_an_index_is_reported_at_the_field(tree) -> None:
    configure(tree)
    tree.module(
        "blog",
        "models.prisma",
        "model Post {\n  id Int @id\n  tenantId String\n  title String\n}\n",
    )
    assert problems(tree) == [
        "modules/blog/schema/models.prisma:3: model Post has no index that starts with tenantId; "
        "add `@@index([tenantId])` or lead a @@unique/@@id with it"
    ]


def test_an_index_where_the_tenant_field_is_not_first_does_not_count(tree) -> None:
    configure(tree)
    tree.module(
        "blog",
        "models.prisma",
        "model Post {\n  id Int @id\n  tenantId String\n  slug String\n\n"
        "  @@unique([slug, tenantId])\n  @@index([slug])\n}\n",
    )
    (problem,) = problems(tree)
    assert problem.startswith("modules/blog/schema/models.prisma:3: model Post has no index")
    assert "(@@unique([slug, tenantId]) on line 6 has it, but not first)" in problem


@pytest.mark.parametrize(
    "body",
    [
        "  id Int @id\n  tenantId String\n  @@index([tenantId])\n",
        "  id Int @id\n  tenantId String\n  @@index(fields: [tenantId, id])\n",
        '  id Int @id\n  tenantId String\n  @@unique(name: "t", fields: [tenantId, id])\n',
        "  id Int @id\n  tenantId String\n  slug String\n  @@unique([tenantId, slug])\n",
        "  id Int\n  tenantId String\n  @@id([tenantId, id])\n",
        "  tenantId String @id\n  plan String\n",
        "  id Int @id\n  tenantId String @unique\n",
        '  id Int @id\n  tenantId String\n  @@index([tenantId(sort: Desc), id], map: "x")\n',
    ],
)
def test_any_index_unique_or_id_led_by_the_tenant_field_satisfies_the_rule(tree, body) -> None:
    configure(tree)
    tree.module("blog", "models.prisma", f"model Post {{\n{body}}}\n")
    assert problems(tree) == []


def test_an_optional_or_list_tenant_field_is_reported(tree) -> None:
    configure(tree)
    tree.module(
        "blog",
        "models.prisma",
        "model Post {\n  id Int @id\n  tenantId String?\n  @@index([tenantId])\n}\n"
        "model Tag {\n  id Int @id\n  tenantId String[]\n  @@index([tenantId])\n}\n",
    )
    assert problems(tree) == [
        "modules/blog/schema/models.prisma:3: Post.tenantId must be required and single-valued "
        "(a row without a tenant belongs to nobody); declare it `tenantId String`",
        "modules/blog/schema/models.prisma:8: Tag.tenantId must be required and single-valued "
        "(a row without a tenant belongs to nobody); declare it `tenantId String`",
    ]


def test_exempt_models_enums_and_other_modes_are_not_checked(tree) -> None:
    configure(tree, 'tenant_exempt_models = ["Country"]\n')
    tree.module(
        "geo",
        "models.prisma",
        "model Country {\n  code String @id\n}\nenum Continent {\n  EUROPE\n}\n",
    )
    assert problems(tree) == []
    settings = load_settings(tree.root, environ={})
    result = collect(settings)
    settings_without_exemption = dataclasses.replace(settings, tenant_exempt_models=())
    assert len(tenancy_problems(settings_without_exemption, result)) == 1
    for mode in ("none", "schema"):
        assert tenancy_problems(dataclasses.replace(settings, tenancy=mode), result) == []


def test_a_custom_tenant_field_name_is_used(tree) -> None:
    configure(tree, 'tenant_field = "orgId"\n')
    tree.module(
        "blog",
        "models.prisma",
        "model Post {\n  id Int @id\n  orgId String\n  @@index([orgId])\n}\n"
        "model Tag {\n  id Int @id\n  tenantId String\n  @@index([tenantId])\n}\n",
    )
    (problem,) = problems(tree)
    assert problem.startswith("modules/blog/schema/models.prisma:6: model Tag is tenant-scoped")
    assert "no orgId field" in problem


def test_an_exempt_model_that_does_not_exist_is_reported(tree) -> None:
    configure(tree, 'tenant_exempt_models = ["Countyr"]\n')
    tree.module("geo", "models.prisma", "model Country {\n  code String @id\n}\n")
    found = problems(tree)
    assert "pyproject.toml: tenant_exempt_models names 'Countyr'" in found[-1]


def test_problems_in_several_files_keep_file_and_line_order(tree) -> None:
    configure(tree)
    tree.module("b", "models.prisma", "model B {\n  id Int @id\n}\n")
    tree.module("a", "models.prisma", "\nmodel A {\n  id Int @id\n}\n")
    assert [p.split(": ")[0] for p in problems(tree)] == [
        "modules/a/schema/models.prisma:2",
        "modules/b/schema/models.prisma:1",
    ]


def test_the_rules_hold_when_blocks_come_from_the_parse_cache(tree) -> None:
    configure(tree)
    tree.module(
        "blog", "models.prisma", "model Post {\n  id Int @id\n  tenantId String\n  x Int\n}\n"
    )
    first = problems(tree)
    tree.module(
        "blog",
        "models.prisma",
        "model Post {\n  id Int @id\n  tenantId String\n  x Int\n  @@index([tenantId])\n}\n",
    )
    assert len(first) == 1 and problems(tree) == []
    assert problems(tree) == []  # the second read is served from the cache, indexes included


def test_prepare_stops_with_exit_2_before_prisma_runs(tree) -> None:
    configure(tree)
    tree.module("blog", "models.prisma", "model Post {\n  id Int @id\n  tenantId String\n}\n")
    said: list[str] = []
    with pytest.raises(TenancySchemaError) as caught:
        prepare(load_settings(tree.root, environ={}), said.append, environ={})
    assert isinstance(caught.value, SchemaError) and caught.value.exit_code == EXIT_USAGE
    assert "1 tenancy problem(s) (tenancy = 'row'" in str(caught.value)
    assert "modules/blog/schema/models.prisma:3: model Post has no index" in str(caught.value)
    assert said and said[0].startswith("collected 1 files")  # collected, then stopped


def test_the_reference_modules_follow_the_rules(tmp_path) -> None:
    settings = reference_settings_in(tmp_path)
    assert settings.tenancy == "row"
    result = collect(settings)
    assert tenancy_problems(settings, result) == []
