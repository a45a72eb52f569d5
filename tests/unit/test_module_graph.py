from prisma_tasks.config import load_settings
from prisma_tasks.schema.collect import collect
from prisma_tasks.schema.graph import ModuleGraph

USER = "model User {\n  id Int @id\n  orders Order[]\n}\n"
ORDER = (
    "model Order {\n  id Int @id\n  userId Int\n"
    "  user User @relation(fields: [userId], references: [id])\n}\n"
)


def graph_of(tree) -> ModuleGraph:
    settings = load_settings(tree.root, environ={})
    return ModuleGraph.from_collect(collect(settings), settings.seed_dependencies)


def test_text_names_owners_and_the_relation_behind_each_edge(tree) -> None:
    tree.module("identity", "models.prisma", USER)
    tree.module("orders", "models.prisma", ORDER)
    assert graph_of(tree).as_text() == (
        "identity: User\norders: Order\n  depends on identity via Order.user -> User"
    )


def test_mermaid_has_nodes_and_edges(tree) -> None:
    tree.module("identity", "models.prisma", USER)
    tree.module("orders", "models.prisma", ORDER)
    mermaid = graph_of(tree).as_mermaid()
    assert mermaid.startswith("graph LR")
    assert "orders --> identity" in mermaid and "linkStyle" not in mermaid


def test_cycles_are_marked_in_text_mermaid_and_dot(tree) -> None:
    tree.module(
        "a",
        "models.prisma",
        "model A {\n  id Int @id\n  bId Int\n  b B @relation(fields: [bId], references: [id])\n"
        '  bs B[] @relation("back")\n}\n',
    )
    tree.module(
        "b",
        "models.prisma",
        "model B {\n  id Int @id\n  aId Int\n"
        '  a A @relation("back", fields: [aId], references: [id])\n  as A[]\n}\n',
    )
    graph = graph_of(tree)
    assert graph.cycle_edges() == {("a", "b"), ("b", "a")}
    assert "[CYCLE]" in graph.as_text() and "cycle: a -> b, b -> a" in graph.as_text()
    assert "linkStyle 0,1 stroke:#d00" in graph.as_mermaid()
    assert "color=red" in graph.as_dot()


def test_reference_monorepo_graph() -> None:
    from pathlib import Path

    settings = load_settings(Path(__file__).resolve().parents[2], environ={})
    text = ModuleGraph.from_collect(collect(settings, check=False)).as_text()
    assert "billing: Invoice\n  depends on orders via Invoice.order -> Order" in text
    assert "depends on catalog via OrderLine.product -> Product" in text
    assert "depends on identity via Order.customer -> User" in text
    assert "CYCLE" not in text


def test_render_writes_mermaid_and_dot_and_explains_a_missing_graphviz(tree, tmp_path, monkeypatch):
    import shutil

    import pytest

    from prisma_tasks.errors import PrismaTasksError
    from prisma_tasks.schema.graph import render

    tree.module("identity", "models.prisma", USER)
    tree.module("orders", "models.prisma", ORDER)
    graph = graph_of(tree)
    assert render(graph, tmp_path / "g.mmd").read_text().startswith("graph LR")
    assert '"orders" -> "identity";' in render(graph, tmp_path / "g.dot").read_text()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(PrismaTasksError, match="Graphviz `dot` is not installed"):
        render(graph, tmp_path / "g.svg")
    with pytest.raises(PrismaTasksError, match=r"use \.svg, \.png, \.mmd or \.dot"):
        render(graph, tmp_path / "g.gif")
