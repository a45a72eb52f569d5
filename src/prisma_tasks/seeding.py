"""Per-module seeds (issue 5 builds the ordering, idempotency checks and factories)."""

from __future__ import annotations

from collections.abc import Callable

from .config import Settings


def seed_all(settings: Settings, url: str, say: Callable[[str], None]) -> None:
    say("no module seeds are defined yet")
