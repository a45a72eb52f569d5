"""An interrupted Prisma run: the child gets SIGTERM and time to clean up before we go on.

Real child processes stand in for Prisma; the interrupt is a real SIGINT to this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prisma_tasks.prisma_cli.runner import Started, run_to_the_end

# Stands in for Prisma holding a shadow database: on SIGTERM it takes a moment to drop it.
CLEANS_UP = """
import signal, sys, time
from pathlib import Path

def cleanup(signum, frame):
    time.sleep(0.5)
    Path(sys.argv[1]).write_text("dropped")
    sys.exit(128 + signum)

signal.signal(signal.SIGTERM, cleanup)
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("started", flush=True)
Path(sys.argv[2]).write_text("ready")
time.sleep(60)
"""
IGNORES_TERM = CLEANS_UP.replace(
    "signal.signal(signal.SIGTERM, cleanup)", "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
)


@pytest.fixture(autouse=True)
def interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here even when the suite runs in the background, where
    the shell starts it with SIGINT ignored (and Python then keeps it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupt_when(path: Path) -> threading.Thread:
    def wait_then_interrupt() -> None:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=wait_then_interrupt, daemon=True)
    thread.start()
    return thread


def test_an_interrupt_waits_for_the_childs_cleanup(tmp_path: Path) -> None:
    marker, ready = tmp_path / "dropped", tmp_path / "ready"
    interrupt_when(ready)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_to_the_end(
            [sys.executable, "-c", CLEANS_UP, str(marker), str(ready)], tmp_path, dict(os.environ)
        )
    assert marker.read_text() == "dropped"  # it finished cleaning before the interrupt went on
    assert time.monotonic() - started < 20


def test_a_child_that_will_not_stop_is_killed_after_the_grace(tmp_path: Path) -> None:
    marker, ready = tmp_path / "dropped", tmp_path / "ready"
    interrupt_when(ready)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_to_the_end(
            [sys.executable, "-c", IGNORES_TERM, str(marker), str(ready)],
            tmp_path,
            dict(os.environ),
            grace=1.0,
        )
    assert not marker.exists()
    assert time.monotonic() - started < 20


def test_an_uninterrupted_run_returns_its_output(tmp_path: Path) -> None:
    result = run_to_the_end(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        tmp_path,
        dict(os.environ),
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")


def started_child(tmp_path: Path, script: str) -> tuple[Started, Path, Path]:
    marker, ready = tmp_path / "dropped", tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(marker), str(ready)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # No Prisma is needed until the command has ended: finish() reports through it only then.
    return Started(None, ("migrate", "diff"), process, ""), marker, ready  # type: ignore[arg-type]


def test_an_interrupt_while_a_started_command_runs_waits_for_its_cleanup(tmp_path: Path) -> None:
    started, marker, ready = started_child(tmp_path, CLEANS_UP)
    interrupt_when(ready)
    with pytest.raises(KeyboardInterrupt):
        started.finish()
    assert marker.read_text() == "dropped"
    assert started.process.returncode is not None


def test_a_started_command_that_is_stopped_gets_its_cleanup_and_stop_is_idempotent(
    tmp_path: Path,
) -> None:
    started, marker, ready = started_child(tmp_path, CLEANS_UP)
    while not ready.exists():
        time.sleep(0.02)
    started.stop()
    assert marker.read_text() == "dropped"
    started.stop()  # already gone: nothing to do
    started.send("go")  # its stdin is closed: ignored, not an error
