"""The module dependency graph, derived from the collected schema.

Module M depends on module N when a model of M holds the foreign key (`@relation(fields: ...)`)
of a relation to a model of N. Back-relation list fields do not count: they carry no column.
A module may add explicit dependencies in config (`seed_dependencies`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.schema.collect import CollectResult


class DependencyCycle(PrismaTasksError):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "module dependency cycle: " + " -> ".join(cycle) + "; break it or drop an explicit "
            "dependency in [tool.prisma-tasks] seed_dependencies"
        )


def module_dependencies(
    result: CollectResult, explicit: Mapping[str, Iterable[str]] | None = None
) -> dict[str, set[str]]:
    owners = {name: definition.module for name, definition in result.definitions.items()}
    graph: dict[str, set[str]] = {module: set() for module in result.modules}
    for definition in result.definitions.values():
        if definition.kind != "model":
            continue
        for field in definition.block.fields:
            target = owners.get(field.type)
            if field.holds_foreign_key and target and target != definition.module:
                graph[definition.module].add(target)
    for module, dependencies in (explicit or {}).items():
        unknown = [name for name in (module, *dependencies) if name not in graph]
        if unknown:
            raise PrismaTasksError(
                f"seed_dependencies names unknown module(s): {', '.join(unknown)}; "
                f"modules are {', '.join(sorted(graph))}"
            )
        graph[module].update(dependencies)
    return graph


def seed_order(graph: Mapping[str, set[str]], selected: Iterable[str] | None = None) -> list[str]:
    """Dependencies first; ties broken by name so the order is stable. Raises on a cycle."""
    wanted = set(graph) if selected is None else _with_dependencies(graph, selected)
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        if state.get(module) == "active":
            start = path.index(module)
            raise DependencyCycle([*path[start:], module])
        state[module] = "active"
        for dependency in sorted(graph.get(module, ())):
            visit(dependency, [*path, module])
        state[module] = "done"
        order.append(module)

    for module in sorted(wanted):
        visit(module, [])
    return [module for module in order if module in wanted]


def _with_dependencies(graph: Mapping[str, set[str]], selected: Iterable[str]) -> set[str]:
    result: set[str] = set()
    stack = list(selected)
    for module in stack:
        if module not in graph:
            raise PrismaTasksError(
                f"unknown module {module!r}; modules are {', '.join(sorted(graph))}"
            )
    while stack:
        module = stack.pop()
        if module in result:
            continue
        result.add(module)
        stack.extend(graph.get(module, ()))
    return result
