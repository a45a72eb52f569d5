"""Per-module seeds: ordered by the modules' relations, each in its own transaction, idempotent."""

from .runner import SeedFailed, seed_all, verify_seeds

__all__ = ["SeedFailed", "seed_all", "verify_seeds"]
