"""Seed order from the collected schema, explicit dependencies, cycles; SQL splitting; URLs."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from prisma_tasks.config import load_settings
from prisma_tasks.db.connection import split_statements
from prisma_tasks.db.urls import libpq_url
from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.dependencies import (
    DependencyCycle,
    SeedDependencies,
    module_dependencies,
    seed_order,
)
from prisma_tasks.seeding.runner import plan_seeds

USER = """model User {
  id     Int     @id @default(autoincrement())
  email  String  @unique
  /// back-relation: a list field carries no column
  orders Order[]
}
"""
PRODUCT = """model Product {
  id    Int         @id @default(autoincrement())
  sku   String      @unique
  lines OrderLine[]
}
"""
ORDER = """model Order {
  id         Int         @id @default(autoincrement())
  customerId Int
  customer   User        @relation(fields: [customerId], references: [id])
  lines      OrderLine[]
  invoice    Invoice?
}

model OrderLine {
  id        Int     @id @default(autoincrement())
  orderId   Int
  order     Order   @relation(fields: [orderId], references: [id])
  productId Int
  product   Product @relation(fields: [productId], references: [id])
}
"""
INVOICE = """model Invoice {
  id      Int   @id @default(autoincrement())
  orderId Int   @unique
  order   Order @relation(fields: [orderId], references: [id])
}
"""


def graph_of(tree) -> dict[str, set[str]]:
    settings = load_settings(tree.root, environ={})
    return module_dependencies(collect(settings), settings.seed_dependencies)


def shop(tree) -> None:
    """identity <- orders -> catalog; billing -> orders."""
    tree.module("identity", "models.prisma", USER)
    tree.module("catalog", "models.prisma", PRODUCT)
    tree.module("orders", "models.prisma", ORDER)
    tree.module("billing", "models.prisma", INVOICE)


def with_seed_dependencies(tree, table: str) -> None:
    tree.write(
        "pyproject.toml",
        f"[project]\nname = 'demo'\n\n[tool.prisma-tasks.seed_dependencies]\n{table}",
    )


# -- the graph from relations ----------------------------------------------------------------
def test_the_foreign_key_side_depends_on_the_referenced_module(tree) -> None:
    shop(tree)
    assert graph_of(tree) == {
        "billing": {"orders"},
        "catalog": set(),
        "identity": set(),
        "orders": {"catalog", "identity"},
    }


def test_back_relation_fields_add_no_edge(tree) -> None:
    # identity and catalog only hold back-relation lists (and Order an optional 1:1 back
    # relation to Invoice): none of them may depend on the module that owns the other side.
    shop(tree)
    graph = graph_of(tree)
    assert graph["identity"] == set()
    assert graph["catalog"] == set()
    assert "billing" not in graph["orders"]


def test_a_named_relation_with_fields_counts(tree) -> None:
    tree.module("identity", "models.prisma", USER.replace("Order[]", 'Order[] @relation("Buys")'))
    tree.module(
        "orders",
        "models.prisma",
        "model Order {\n  id Int @id\n  customerId Int\n"
        '  customer User @relation("Buys", fields: [customerId], references: [id])\n}\n',
    )
    assert graph_of(tree) == {"identity": set(), "orders": {"identity"}}


def test_relations_inside_one_module_and_enum_fields_add_no_edge(tree) -> None:
    tree.module(
        "identity",
        "models.prisma",
        "model User {\n  id Int @id\n  managerId Int?\n"
        '  manager User? @relation("Reports", fields: [managerId], references: [id])\n'
        '  reports User[] @relation("Reports")\n}\n\nenum Role {\n  ADMIN\n  MEMBER\n}\n',
    )
    tree.module("orders", "models.prisma", "model Order {\n  id Int @id\n  role Role\n}\n")
    graph = graph_of(tree)
    assert graph == {"identity": set(), "orders": set()}
    assert seed_order(graph) == ["identity", "orders"]


# -- order -----------------------------------------------------------------------------------
def test_dependencies_come_first_whatever_their_names(tree) -> None:
    shop(tree)
    order = seed_order(graph_of(tree))
    assert order == ["catalog", "identity", "orders", "billing"]


def test_ties_are_broken_by_name_whatever_the_insertion_order() -> None:
    forwards = {"c": set(), "a": set(), "b": set()}
    backwards = {"b": set(), "a": set(), "c": set()}
    assert seed_order(forwards) == seed_order(backwards) == ["a", "b", "c"]
    # Two independent dependencies of one module: also by name.
    graph = {"top": {"zed", "alpha"}, "zed": set(), "alpha": set()}
    assert seed_order(graph) == ["alpha", "zed", "top"]


def test_selected_module_brings_its_dependencies_first_and_nothing_else(tree) -> None:
    shop(tree)
    graph = graph_of(tree)
    assert seed_order(graph, selected=["orders"]) == ["catalog", "identity", "orders"]
    assert seed_order(graph, selected=["identity"]) == ["identity"]
    assert seed_order(graph, selected=["billing"]) == ["catalog", "identity", "orders", "billing"]


def test_selecting_an_unknown_module_is_an_error(tree) -> None:
    shop(tree)
    with pytest.raises(PrismaTasksError, match="unknown module 'shipping'"):
        seed_order(graph_of(tree), selected=["shipping"])


# -- explicit dependencies ---------------------------------------------------------------------
def test_explicit_dependencies_from_config_add_edges(tree) -> None:
    tree.module("identity", "models.prisma", USER.replace("  orders Order[]\n", ""))
    tree.module("catalog", "models.prisma", PRODUCT.replace("  lines OrderLine[]\n", ""))
    assert seed_order(graph_of(tree)) == ["catalog", "identity"]

    with_seed_dependencies(tree, 'catalog = ["identity"]\n')
    assert load_settings(tree.root, environ={}).seed_dependencies == {"catalog": ("identity",)}
    graph = graph_of(tree)
    assert graph == {"catalog": {"identity"}, "identity": set()}
    assert seed_order(graph) == ["identity", "catalog"]
    assert seed_order(graph, selected=["catalog"]) == ["identity", "catalog"]


@pytest.mark.parametrize("table", ['catalog = ["shipping"]\n', 'shipping = ["catalog"]\n'])
def test_an_unknown_module_in_explicit_dependencies_is_an_error(tree, table: str) -> None:
    shop(tree)
    with_seed_dependencies(tree, table)
    with pytest.raises(PrismaTasksError, match=r"unknown module.*shipping") as caught:
        graph_of(tree)
    assert not isinstance(caught.value, DependencyCycle)
    assert "billing, catalog, identity, orders" in str(caught.value)


# -- cycles ------------------------------------------------------------------------------------
def test_two_modules_holding_each_others_foreign_keys_are_a_cycle(tree) -> None:
    tree.module(
        "a",
        "models.prisma",
        "model A {\n  id Int @id\n  bId Int\n"
        '  b B @relation("AtoB", fields: [bId], references: [id])\n'
        '  pointers B[] @relation("BtoA")\n}\n',
    )
    tree.module(
        "b",
        "models.prisma",
        "model B {\n  id Int @id\n  aId Int\n"
        '  a A @relation("BtoA", fields: [aId], references: [id])\n'
        '  pointers A[] @relation("AtoB")\n}\n',
    )
    graph = graph_of(tree)
    assert graph == {"a": {"b"}, "b": {"a"}}
    with pytest.raises(DependencyCycle) as caught:
        seed_order(graph)
    assert caught.value.cycle == ["a", "b", "a"]
    assert "a -> b -> a" in str(caught.value)
    with pytest.raises(DependencyCycle, match="a -> b -> a"):
        seed_order(graph, selected=["b"])


def test_explicit_dependencies_can_close_a_cycle(tree) -> None:
    # y holds a foreign key to x; config adds x -> z and z -> y.
    tree.module("x", "models.prisma", "model X {\n  id Int @id\n  ys Y[]\n}\n")
    tree.module(
        "y",
        "models.prisma",
        "model Y {\n  id Int @id\n  xId Int\n  x X @relation(fields: [xId], references: [id])\n}\n",
    )
    tree.module("z", "models.prisma", "model Z {\n  id Int @id\n}\n")
    assert seed_order(graph_of(tree)) == ["x", "y", "z"]

    with_seed_dependencies(tree, 'x = ["z"]\nz = ["y"]\n')
    with pytest.raises(DependencyCycle) as caught:
        seed_order(graph_of(tree))
    assert "x -> z -> y -> x" in str(caught.value)
    assert "seed_dependencies" in str(caught.value)


def test_a_module_depending_on_itself_is_a_cycle(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    with_seed_dependencies(tree, 'a = ["a"]\n')
    with pytest.raises(DependencyCycle, match="a -> a"):
        seed_order(graph_of(tree))


# -- only modules with seeds are ordered; optional relations give way in a cycle ---------------
def users_and_integrations(tree, user_side: str = "Integration?", owner_side: str = "User") -> None:
    """users.User.integration -> Integration and integrations.Integration.owner -> User."""
    optional = "?" if user_side.endswith("?") else ""
    tree.module(
        "users",
        "models.prisma",
        "model User {\n  id            Int     @id\n"
        f"  integrationId Int{optional}\n"
        f'  integration   {user_side} @relation("Uses", fields: [integrationId], '
        "references: [id])\n"
        '  owns          Integration[] @relation("Owns")\n}\n',
    )
    optional = "?" if owner_side.endswith("?") else ""
    tree.module(
        "integrations",
        "models.prisma",
        "model Integration {\n  id      Int  @id\n"
        f"  ownerId Int{optional}\n"
        f'  owner   {owner_side} @relation("Owns", fields: [ownerId], references: [id])\n'
        '  users   User[] @relation("Uses")\n}\n',
    )


def dependencies_of(tree) -> SeedDependencies:
    settings = load_settings(tree.root, environ={})
    return SeedDependencies.from_collect(collect(settings), settings.seed_dependencies)


def test_a_cycle_between_modules_without_seeds_is_no_error(tree) -> None:
    users_and_integrations(tree, "Integration", "User")  # both required: no order could seed both
    dependencies = dependencies_of(tree)
    assert dependencies.order(seeded=[]) == []
    assert dependencies.order(seeded=["users"]) == ["users"]
    assert dependencies.order(["integrations"], seeded=["users"]) == ["users"]
    with pytest.raises(DependencyCycle):
        dependencies.order()  # every module seeded: the cycle counts


def test_modules_without_seeds_are_planned_out_and_never_make_a_cycle(tree) -> None:
    users_and_integrations(tree, "Integration", "User")
    settings = load_settings(tree.root, environ={})
    assert plan_seeds(settings) == []
    assert plan_seeds(settings, ["users"]) == []
    tree.write("modules/users/seeds/users.sql", "SELECT 1;\n")
    tree.write("modules/users/seeds/_helper.py", "")  # a leading underscore: not a seed
    (plan,) = plan_seeds(settings)
    assert (plan.module, [path.name for path in plan.files]) == ("users", ["users.sql"])


def test_in_a_cycle_the_optional_relation_gives_way_to_the_required_one(tree) -> None:
    # users may leave integrationId empty, integrations need their owner: users first, although
    # "integrations" sorts first.
    users_and_integrations(tree, "Integration?", "User")
    dependencies = dependencies_of(tree)
    assert dependencies.graph == {"integrations": {"users"}, "users": {"integrations"}}
    assert dependencies.optional == {("users", "integrations")}
    assert dependencies.order() == ["users", "integrations"]
    users_and_integrations(tree, "Integration", "User?")
    assert dependencies_of(tree).order() == ["integrations", "users"]


def test_of_two_optional_relations_in_a_cycle_one_is_followed_unless_configured(tree) -> None:
    # Followed in name order of the module holding it, so the same schema gives the same order.
    users_and_integrations(tree, "Integration?", "User?")
    assert dependencies_of(tree).order() == ["users", "integrations"]
    with_seed_dependencies(tree, 'users = ["integrations"]\n')
    dependencies = dependencies_of(tree)
    assert ("users", "integrations") not in dependencies.optional  # configured: binding
    assert dependencies.order() == ["integrations", "users"]


def test_an_optional_relation_orders_where_it_closes_no_cycle() -> None:
    graph = {"alpha": {"zeta"}, "zeta": set()}
    assert seed_order(graph, optional=[("alpha", "zeta")]) == ["zeta", "alpha"]


def test_a_cycle_of_required_relations_between_seeded_modules_says_why_and_how_out(tree) -> None:
    users_and_integrations(tree, "Integration", "User")
    with pytest.raises(DependencyCycle) as caught:
        dependencies_of(tree).order(seeded=["integrations", "users"])
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert caught.value.cycle == ["integrations", "users", "integrations"]
    assert (
        "module dependency cycle: integrations -> users -> integrations "
        "(integrations -> users via Integration.owner -> User; "
        "users -> integrations via User.integration -> Integration)"
    ) in message
    assert "make one of these relations optional" in message
    assert "keep seeds in only one of these modules" in message
    assert "seed_dependencies" in message


def test_a_configured_dependency_closing_a_cycle_is_named_as_such(tree) -> None:
    users_and_integrations(tree, "Integration?", "User")
    with_seed_dependencies(tree, 'users = ["integrations"]\n')
    with pytest.raises(
        DependencyCycle, match=r"via User\.integration -> Integration, seed_dependencies"
    ):
        dependencies_of(tree).order()


def test_a_path_through_modules_without_seeds_orders_but_gives_way_in_a_cycle(tree) -> None:
    shop(tree)
    dependencies = dependencies_of(tree)
    # billing -> orders (no seeds) -> identity: identity first, although "billing" sorts first.
    assert dependencies.order(seeded=["billing", "identity"]) == ["identity", "billing"]
    assert dependencies.order(["billing"], seeded=["billing", "identity"]) == [
        "identity",
        "billing",
    ]
    assert dependencies.order(["orders"], seeded=["billing"]) == []
    # x -> b -> y and y -> d -> x, b and d without seeds: no cycle between x and y.
    graph = {"x": {"b"}, "b": {"y"}, "y": {"d"}, "d": {"x"}}
    assert seed_order(graph, seeded=["x", "y"]) == ["y", "x"]
    # ... but a direct required relation wins over a path through a module without seeds.
    graph = {"x": {"b"}, "b": {"y"}, "y": {"x"}}
    assert seed_order(graph, seeded=["x", "y"]) == ["x", "y"]


def test_the_order_is_the_same_whatever_the_insertion_order_with_optional_cycles() -> None:
    forwards = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    backwards = {"c": {"a"}, "b": {"c"}, "a": {"b"}}
    soft = [("a", "b"), ("b", "c"), ("c", "a")]
    assert seed_order(forwards, optional=soft) == seed_order(backwards, optional=soft[::-1])


# -- split_statements ----------------------------------------------------------------------------
def test_split_statements_on_semicolons_at_line_ends() -> None:
    script = (
        "-- a header comment\n"
        "INSERT INTO \"T\" (a) VALUES ('x;y');\n"
        "\n"
        "INSERT INTO \"T\" (a)\n  VALUES ('z');   \n"
        "-- a trailing comment only\n"
        "UPDATE \"T\" SET a = 'w'"
    )
    assert split_statements(script) == [
        "-- a header comment\nINSERT INTO \"T\" (a) VALUES ('x;y')",
        "INSERT INTO \"T\" (a)\n  VALUES ('z')",
        "-- a trailing comment only\nUPDATE \"T\" SET a = 'w'",
    ]


def test_split_statements_drops_empty_and_comment_only_parts() -> None:
    assert split_statements("") == []
    assert split_statements("  \n-- nothing here;\n\n;\n") == []
    assert split_statements("SELECT 1;\r\nSELECT 2;\r\n") == ["SELECT 1", "SELECT 2"]


def test_split_statements_allows_a_comment_after_the_semicolon() -> None:
    # Fine for PostgreSQL (the whole file runs at once); SQLite runs one statement at a time.
    script = "INSERT INTO t VALUES (1); -- the first\nINSERT INTO t VALUES (2);  -- the second\n"
    assert split_statements(script) == ["INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"]


# -- libpq_url -------------------------------------------------------------------------------
def test_libpq_url_strips_and_returns_prismas_schema_parameter() -> None:
    url, schema = libpq_url("postgresql://app:pw@db.local:5432/shop?schema=tenant_a")
    assert (url, schema) == ("postgresql://app:pw@db.local:5432/shop", "tenant_a")


def test_libpq_url_without_a_schema() -> None:
    assert libpq_url("postgresql://app@localhost/shop") == ("postgresql://app@localhost/shop", None)
    assert libpq_url("postgresql://app@localhost/shop?sslmode=require") == (
        "postgresql://app@localhost/shop?sslmode=require",
        None,
    )


def test_libpq_url_drops_every_prisma_only_parameter_and_keeps_libpq_ones() -> None:
    url, schema = libpq_url(
        "postgresql://app:p%40ss@localhost:5432/shop?connection_limit=5&schema=s1"
        "&sslmode=disable&pool_timeout=10&pgbouncer=true&application_name=seeds"
    )
    assert schema == "s1"
    assert conninfo_to_dict(url) == {
        "user": "app",
        "password": "p@ss",
        "host": "localhost",
        "port": "5432",
        "dbname": "shop",
        "sslmode": "disable",
        "application_name": "seeds",
    }


@pytest.mark.parametrize(
    "url",
    [
        "postgresql:////db.internal",  # a Unix socket and the database "/db.internal"
        "postgresql:///shop",
        "postgresql://app@[::1]:5432,[::1]:5433/shop",
    ],
)
def test_libpq_url_leaves_everything_before_the_query_as_written(url: str) -> None:
    # urlunsplit made the first postgresql://db.internal: a host the reset / drop guard never saw
    assert libpq_url(url) == (url, None)
    assert libpq_url(url + "?schema=s1&sslmode=disable") == (url + "?sslmode=disable", "s1")


def test_libpq_url_keeps_values_with_spaces_readable_by_libpq() -> None:
    # libpq decodes %XX only; a '+' stays a plus sign.
    url, schema = libpq_url(
        "postgresql://app@localhost/shop?schema=s1&options=-c%20statement_timeout%3D5000"
    )
    assert schema == "s1"
    assert conninfo_to_dict(url)["options"] == "-c statement_timeout=5000"
