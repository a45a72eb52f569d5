"""Per-module seeds: ordered by the modules' relations, each module in one transaction."""

from importlib import import_module
from typing import Any

__all__ = ["SeedFailed", "plan_seeds", "run_seeds", "seed_all", "verify_seeds"]


def __getattr__(name: str) -> Any:
    # Lazy: `seeding.connection` is used by tasks that must start fast (prisma.migrate).
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(".runner", __name__), name)
