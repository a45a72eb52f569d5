"""The module dependency graph as people read it: text, Mermaid, and a picture via Graphviz.

Edges come from the collected schema (seeding.graph.module_dependencies): module A -> B when
a model of A holds the foreign key of a relation to a model of B. Cycles are highlighted.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.errors import PrismaTasksError
from prisma_tasks.schema.collect import CollectResult
from prisma_tasks.schema.dependencies import (
    Relation,
    cross_module_relations,
    module_dependencies,
    reachable,
)


@dataclass
class ModuleGraph:
    owners: dict[str, list[str]]  # module -> models it owns
    edges: dict[str, set[str]]  # module -> modules it depends on
    relations: list[Relation]  # the cross-module relations behind the edges

    @classmethod
    def from_collect(
        cls, result: CollectResult, explicit: dict[str, tuple[str, ...]] | None = None
    ) -> ModuleGraph:
        owners: dict[str, list[str]] = {module: [] for module in result.modules}
        for definition in sorted(result.definitions.values(), key=lambda d: (d.module, d.name)):
            if definition.kind == "model":
                owners[definition.module].append(definition.name)
        relations = cross_module_relations(result)
        return cls(owners, module_dependencies(result, explicit, relations), relations)

    def cycle_edges(self) -> set[tuple[str, str]]:
        """Edges that lie on a cycle (both ends reach each other)."""
        reach = {module: reachable(self.edges, [module]) for module in self.edges}
        return {
            (a, b) for a, targets in self.edges.items() for b in targets if a in reach.get(b, set())
        }

    def as_text(self) -> str:
        cycles = self.cycle_edges()
        lines = []
        for module in sorted(self.owners):
            models = ", ".join(self.owners[module]) or "(no models)"
            lines.append(f"{module}: {models}")
            for target in sorted(self.edges.get(module, ())):
                via = [
                    f"{r.model}.{r.field} -> {r.target_model}"
                    for r in self.relations
                    if r.module == module and r.target_module == target
                ]
                mark = "  [CYCLE]" if (module, target) in cycles else ""
                lines.append(
                    f"  depends on {target}"
                    + (f" via {', '.join(via)}" if via else " (configured)")
                    + mark
                )
        if cycles:
            lines.append("cycle: " + ", ".join(f"{a} -> {b}" for a, b in sorted(cycles)))
        return "\n".join(lines)

    def as_mermaid(self) -> str:
        cycles = self.cycle_edges()
        lines = ["graph LR"]
        for module in sorted(self.owners):
            models = "<br/>".join(self.owners[module])
            lines.append(f'  {module}["<b>{module}</b><br/>{models}"]')
        index = 0
        cycle_links = []
        for module in sorted(self.edges):
            for target in sorted(self.edges[module]):
                lines.append(f"  {module} --> {target}")
                if (module, target) in cycles:
                    cycle_links.append(str(index))
                index += 1
        if cycle_links:
            lines.append(f"  linkStyle {','.join(cycle_links)} stroke:#d00,stroke-width:3px")
        return "\n".join(lines)

    def as_dot(self) -> str:
        cycles = self.cycle_edges()
        lines = ["digraph modules {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
        for module in sorted(self.owners):
            label = "\\n".join([module, *self.owners[module]])
            lines.append(f'  "{module}" [label="{label}"];')
        for module in sorted(self.edges):
            for target in sorted(self.edges[module]):
                style = (
                    ' [color=red, penwidth=2, label="cycle"]' if (module, target) in cycles else ""
                )
                lines.append(f'  "{module}" -> "{target}"{style};')
        lines.append("}")
        return "\n".join(lines)


def render(graph: ModuleGraph, output: Path) -> Path:
    """Write an .svg or .png with Graphviz, or a .mmd/.dot source file."""
    suffix = output.suffix.lower()
    if suffix in (".mmd", ".mermaid"):
        output.write_text(graph.as_mermaid() + "\n")
        return output
    if suffix == ".dot":
        output.write_text(graph.as_dot() + "\n")
        return output
    if suffix not in (".svg", ".png"):
        raise PrismaTasksError(f"--output {output}: use .svg, .png, .mmd or .dot")
    dot = shutil.which("dot")
    if dot is None:
        raise PrismaTasksError(
            f"cannot render {output}: Graphviz `dot` is not installed (Debian: apt-get install "
            "graphviz; macOS: brew install graphviz); `--output graph.mmd` writes Mermaid instead"
        )
    result = subprocess.run(
        [dot, f"-T{suffix[1:]}", "-o", str(output)],
        input=graph.as_dot(),
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        raise PrismaTasksError(f"dot failed: {result.stderr.strip()}")
    return output
