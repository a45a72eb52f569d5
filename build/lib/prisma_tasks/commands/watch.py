"""`invoke prisma.watch`: re-collect, validate and regenerate on every module schema change.

Prisma 6.7's own `generate --watch` does not notice schema changes. watchfiles (Rust
`notify` underneath, maintained by the pydantic team) gives real filesystem events with
debouncing; an error is printed and watching goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.errors import PrismaTasksError

Say = Callable[[str], None]


def watched_roots(settings: Settings) -> list[Path]:
    """The fixed folders the module globs start from (e.g. modules/), plus base.prisma's folder."""
    roots = {settings.base_path.parent}
    for pattern in settings.module_schemas:
        fixed = []
        for part in Path(pattern).parts:
            if any(char in part for char in "*?["):
                break
            fixed.append(part)
        roots.add(settings.root.joinpath(*fixed))
    return sorted(root for root in roots if root.exists())


def relevant(changes: Iterable[tuple[object, str]], settings: Settings) -> list[str]:
    """The schema files behind a batch of events, leaving out the suite's own writes.

    Ignored: the collected folder, the state folder, migrations, and hidden paths (collect's
    staging folders such as prisma/.schemas.tmp-*). A new folder counts through the schema
    files in it: a file written right after its folder may be reported only as the folder,
    before the recursive watch has reached it.
    """
    ignored = (str(settings.collected_path), str(settings.state_path))
    found: set[str] = set()
    for _, path in changes:
        relative = (
            Path(path).relative_to(settings.root).parts
            if path.startswith(str(settings.root))
            else ()
        )
        if (
            path.startswith(ignored)
            or "migrations" in relative
            or any(p.startswith(".") for p in relative)
        ):
            continue
        if path.endswith(".prisma"):
            found.add(path)
        elif Path(path).is_dir():
            found.update(str(file) for file in Path(path).rglob("*.prisma"))
    return sorted(found)


def rebuild(settings: Settings, say: Say, generate: bool = True) -> bool:
    """One round: collect, validate, generate. Returns False (after saying why) on an error."""
    from prisma_tasks.commands.workflow import prepare
    from prisma_tasks.prisma_cli import migrations

    started = time.perf_counter()
    try:
        prisma = prepare(settings, say)
        prisma.run("validate", echo=False)
        if generate:
            migrations.generate(prisma)
    except PrismaTasksError as error:
        say(f"error: {error}")
        say("still watching: fix the file and save again")
        return False
    steps = "collected, validated, generated" if generate else "collected, validated"
    say(f"ok: {steps} in {time.perf_counter() - started:.1f}s")
    return True


def watch(
    settings: Settings,
    say: Say,
    generate: bool = True,
    stop_event: object | None = None,
    rounds: int | None = None,
) -> int:
    """Watch until interrupted (or `rounds` rebuilds happened, for tests); returns rebuilds."""
    from watchfiles import watch as watch_files

    roots = watched_roots(settings)
    names = ", ".join(str(root.relative_to(settings.root)) for root in roots)
    done = 0
    started = False
    # yield_on_timeout: the first (empty) yield comes once the watcher is running, so the
    # initial build happens with events already being recorded; none is missed.
    for changes in watch_files(
        *roots, stop_event=stop_event, debounce=200, rust_timeout=300, yield_on_timeout=True
    ):
        if not started:
            started = True
            rebuild(settings, say, generate)
            say(f"watching {names} (Ctrl-C stops)")
            continue
        paths = relevant(changes, settings)
        if not paths:
            continue
        say("changed: " + ", ".join(str(Path(p).relative_to(settings.root)) for p in paths))
        rebuild(settings, say, generate)
        done += 1
        if rounds is not None and done >= rounds:
            break
    return done
