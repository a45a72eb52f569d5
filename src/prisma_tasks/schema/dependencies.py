"""The module dependency graph, derived from the collected schema, and the order seeds run in.

Module M depends on module N when a model of M holds the foreign key (`@relation(fields: ...)`)
of a relation to a model of N. Back-relation list fields do not count: they carry no column.
A module may add explicit dependencies in config (`seed_dependencies`).

Seeds are ordered among the modules that have seeds; a module without seeds writes no rows, so
it never needs a place in the order and never makes a cycle. What orders two seeded modules:

- a required relation between them, or a configured dependency: binding;
- an optional one (`Target?`, the foreign key may stay empty), or a path through modules
  without seeds: followed unless it would close a cycle, where it gives way (the module holding
  the optional relation runs first and its seeds leave that foreign key empty).

Only a cycle of binding dependencies cannot be seeded; it is reported with its modules, the
relations behind it and the ways out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.schema.collect import CollectResult

Edge = tuple[str, str]


@dataclass(frozen=True)
class Relation:
    """A model of `module` holds the foreign key of a relation to a model of `target_module`."""

    module: str
    model: str
    field: str
    target_module: str
    target_model: str
    optional: bool  # `field Target?`: the foreign key may stay empty

    def __str__(self) -> str:
        return f"{self.model}.{self.field} -> {self.target_model}"


class DependencyCycle(PrismaTasksError):
    def __init__(self, cycle: list[str], describe: Callable[[str, str], str] | None = None) -> None:
        self.cycle = cycle
        reasons = (
            " (" + "; ".join(describe(a, b) for a, b in pairwise(cycle)) + ")" if describe else ""
        )
        super().__init__(
            "module dependency cycle: " + " -> ".join(cycle) + reasons + "; the seeds of these "
            "modules cannot run one after another: make one of these relations optional "
            "(`Model?`: its module is then seeded first and leaves that foreign key empty), "
            "keep seeds in only one of these modules, or drop a dependency added in "
            "[tool.prisma-tasks] seed_dependencies"
        )


def cross_module_relations(result: CollectResult) -> list[Relation]:
    """Every relation whose foreign key is held by a model of another module than its target's."""
    relations = []
    for definition in sorted(result.definitions.values(), key=lambda d: (d.module, d.name)):
        if definition.kind != "model":
            continue
        for field in definition.block.fields:
            target = result.definitions.get(field.type)
            if field.holds_foreign_key and target and target.module != definition.module:
                relations.append(
                    Relation(
                        definition.module,
                        definition.name,
                        field.name,
                        target.module,
                        target.name,
                        field.optional,
                    )
                )
    return relations


def module_dependencies(
    result: CollectResult,
    explicit: Mapping[str, Iterable[str]] | None = None,
    relations: Iterable[Relation] | None = None,
) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in result.modules}
    for relation in cross_module_relations(result) if relations is None else relations:
        graph[relation.module].add(relation.target_module)
    for module, dependencies in (explicit or {}).items():
        unknown = [name for name in (module, *dependencies) if name not in graph]
        if unknown:
            raise PrismaTasksError(
                f"seed_dependencies names unknown module(s): {', '.join(unknown)}; "
                f"modules are {', '.join(sorted(graph))}"
            )
        graph[module].update(dependencies)
    return graph


@dataclass(frozen=True)
class SeedDependencies:
    """The graph seed_order needs: edges, which of them are optional, and why each exists."""

    graph: dict[str, set[str]]
    optional: frozenset[Edge]
    relations: tuple[Relation, ...]
    configured: frozenset[Edge]

    @classmethod
    def from_collect(
        cls, result: CollectResult, explicit: Mapping[str, Iterable[str]] | None = None
    ) -> SeedDependencies:
        relations = cross_module_relations(result)
        graph = module_dependencies(result, explicit, relations)
        configured = frozenset(
            (module, target) for module, targets in (explicit or {}).items() for target in targets
        )
        required = {(r.module, r.target_module) for r in relations if not r.optional}
        optional = frozenset(
            (module, target)
            for module, targets in graph.items()
            for target in targets
            if (module, target) not in required and (module, target) not in configured
        )
        return cls(graph, optional, tuple(relations), configured)

    def describe(self, module: str, target: str) -> str:
        why = [str(r) for r in self.relations if r.module == module and r.target_module == target]
        if (module, target) in self.configured:
            why.append("seed_dependencies")
        return f"{module} -> {target} via {', '.join(why)}"

    def order(
        self, selected: Iterable[str] | None = None, seeded: Iterable[str] | None = None
    ) -> list[str]:
        return seed_order(
            self.graph, selected, seeded=seeded, optional=self.optional, describe=self.describe
        )


def seed_order(
    graph: Mapping[str, set[str]],
    selected: Iterable[str] | None = None,
    *,
    seeded: Iterable[str] | None = None,
    optional: Iterable[Edge] = (),
    describe: Callable[[str, str], str] | None = None,
) -> list[str]:
    """Dependencies first; ties broken by name so the order is stable.

    `selected` adds the modules they depend on (directly or through others); `seeded` limits
    the order to the modules that have seeds (default: all). Raises DependencyCycle on a cycle
    of binding dependencies (see the module docstring).
    """
    wanted = set(graph) if selected is None else _with_dependencies(graph, selected)
    if seeded is not None:
        wanted &= set(seeded)
    soft = set(optional)
    edges = {
        module: {target for target in graph.get(module, ()) if target in wanted}
        for module in wanted
    }
    binding = {
        module: {t for t in targets if (module, t) not in soft} for module, targets in edges.items()
    }
    _depth_first(binding, describe)  # raises on a cycle of binding dependencies
    # Then what gives way where it would close a cycle: optional relations first, then paths
    # through modules without seeds. Sorted, so the same schema always gives the same order.
    giving_way = sorted((m, t) for m, targets in edges.items() for t in targets if (m, t) in soft)
    giving_way += sorted(
        (module, target)
        for module in wanted
        for target in reachable(graph, [module], stop_at=wanted) & wanted
        if target != module and target not in edges[module]
    )
    for module, target in giving_way:
        if module not in reachable(binding, [target]):
            binding[module].add(target)
    return _depth_first(binding, describe)


def reachable(
    graph: Mapping[str, Iterable[str]], starts: Iterable[str], stop_at: Iterable[str] = ()
) -> set[str]:
    """The modules reachable from `starts` along one or more edges, not going on past `stop_at`."""
    stop = set(stop_at)
    seen: set[str] = set()
    stack = [target for start in starts for target in graph.get(start, ())]
    while stack:
        module = stack.pop()
        if module not in seen:
            seen.add(module)
            if module not in stop:
                stack.extend(graph.get(module, ()))
    return seen


def _depth_first(
    graph: Mapping[str, set[str]], describe: Callable[[str, str], str] | None
) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        if state.get(module) == "active":
            start = path.index(module)
            raise DependencyCycle([*path[start:], module], describe)
        state[module] = "active"
        for dependency in sorted(graph.get(module, ())):
            visit(dependency, [*path, module])
        state[module] = "done"
        order.append(module)

    for module in sorted(graph):
        visit(module, [])
    return order


def _with_dependencies(graph: Mapping[str, set[str]], selected: Iterable[str]) -> set[str]:
    selected = list(selected)
    for module in selected:
        if module not in graph:
            raise PrismaTasksError(
                f"unknown module {module!r}; modules are {', '.join(sorted(graph))}"
            )
    return set(selected) | reachable(graph, selected)
