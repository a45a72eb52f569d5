"""Count Prisma CLI starts: a `node` first on PATH that logs each start of the CLI's script.

The CLI is `node_modules/.bin/prisma`, whose `#!/usr/bin/env node` finds this wrapper; the
wrapper logs the command (its first argument is the CLI script) and runs the real node.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

WRAPPER = """#!/bin/sh
case "$1" in
  */.bin/prisma|*/prisma/build/index.js)
    shift_args="$*"
    printf '%s\\n' "$shift_args" >> "{log}" ;;
esac
exec "{node}" "$@"
"""


@dataclass(frozen=True)
class PrismaStarts:
    log: Path
    env: dict[str, str]  # PATH with the wrapper first

    def commands(self) -> list[str]:
        """One line per Prisma CLI start so far: the CLI's arguments (after the script)."""
        if not self.log.exists():
            return []
        return [
            line.split(" ", 1)[1] if " " in line else ""
            for line in self.log.read_text().splitlines()
        ]

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)


def counting_node(folder: Path) -> PrismaStarts:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("no node on PATH")
    bin_dir = folder / "counting-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = folder / "prisma-starts.log"
    wrapper = bin_dir / "node"
    wrapper.write_text(WRAPPER.replace("{log}", str(log)).replace("{node}", node))
    wrapper.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    return PrismaStarts(log, {"PATH": path})
