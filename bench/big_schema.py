"""A temp monorepo with a 78-model PostgreSQL schema across 8 modules (for bench/gate_bench.py).

    python bench/big_schema.py DEST     # writes the monorepo at DEST (for a look by hand)

Each module holds 9-10 models in two files: scalar columns of several types, an enum per
module, a unique and a composite index per model, a relation to the previous model of the
module and one to a model of the previous module (so relations cross files and modules, with
the back-relation fields on the other side). The repository is laid out as the e2e suite's
(tasks.py, pyproject.toml, this repo's package.json and node_modules linked).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = ["accounts", "billing", "catalog", "crm", "inventory", "logistics", "orders", "support"]
MODELS = 78
BASE = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["driverAdapters"]
  output          = "../generated/client"
}
"""


def _name(module: str, index: int) -> str:
    return f"{module.capitalize()}Item{index}"


def model_names() -> dict[str, list[str]]:
    """module -> its model names, 78 in all."""
    names: dict[str, list[str]] = {}
    for position, module in enumerate(MODULES):
        count = MODELS // len(MODULES) + (1 if position < MODELS % len(MODULES) else 0)
        names[module] = [_name(module, index) for index in range(count)]
    return names


def _model(name: str, enum: str, parent: str | None, cross: str | None, children: list[str]) -> str:
    lines = [
        f"model {name} {{",
        "  id        Int      @id @default(autoincrement())",
        "  code      String   @unique",
        "  title     String",
        "  notes     String?",
        "  amount    Decimal  @default(0) @db.Decimal(12, 2)",
        "  quantity  Int      @default(0)",
        "  active    Boolean  @default(true)",
        f"  status    {enum:<8} @default(DRAFT)",
        "  createdAt DateTime @default(now())",
        "  updatedAt DateTime @updatedAt",
    ]
    if parent:
        lines += [
            "  parentId  Int?",
            f'  parent    {parent}? @relation("{name}Parent", fields: [parentId], '
            "references: [id])",
        ]
    if cross:
        lines += [
            "  ownerId   Int?",
            f'  owner     {cross}? @relation("{name}Owner", fields: [ownerId], references: [id])',
        ]
    for child, relation in children:
        field = f"{child[0].lower()}{child[1:]}{relation}s"
        lines.append(f'  {field} {child}[] @relation("{child}{relation}")')
    lines += ["", "  @@index([status, createdAt])"]
    if parent:
        lines.append("  @@index([parentId])")
    lines += ["}", ""]
    return "\n".join(lines)


def module_files() -> dict[str, str]:
    """relative path -> text of every module schema file (not formatted by Prisma: the bench
    runs `invoke prisma.format` once before it measures)."""
    names = model_names()
    children: dict[str, list[tuple[str, str]]] = {n: [] for ms in names.values() for n in ms}
    plan: dict[str, tuple[str | None, str | None]] = {}
    previous: list[str] = []
    for models in names.values():
        for index, name in enumerate(models):
            parent = models[index - 1] if index else None
            cross = previous[index % len(previous)] if previous else None
            plan[name] = (parent, cross)
            if parent:
                children[parent].append((name, "Parent"))
            if cross:
                children[cross].append((name, "Owner"))
        previous = models
    files = {}
    for module, models in names.items():
        enum = f"{module.capitalize()}Status"
        half = len(models) // 2
        for part, chunk in (("core", models[:half]), ("more", models[half:])):
            text = "".join(_model(n, enum, *plan[n], children[n]) for n in chunk)
            if part == "core":
                text += f"enum {enum} {{\n  DRAFT\n  ACTIVE\n  ARCHIVED\n}}\n"
            files[f"modules/{module}/schema/{part}.prisma"] = text
    return files


def write_monorepo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'bench'\nversion = '0'\n\n[tool.prisma-tasks]\nengine = 'wasm'\n"
    )
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    for name in ("package.json", "package-lock.json"):
        (root / name).write_text((REPO / name).read_text())
    if not (root / "node_modules").exists():
        os.symlink(REPO / "node_modules", root / "node_modules")
    (root / "prisma").mkdir(exist_ok=True)
    (root / "prisma" / "base.prisma").write_text(BASE)
    (root / ".gitignore").write_text("node_modules\n.prisma-tasks/\ngenerated/\nprisma/schemas/\n")
    for relative, text in module_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(write_monorepo(Path(sys.argv[1])))
