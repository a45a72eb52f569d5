"""NODE_OPTIONS for Node processes that use the Prisma Client with no native engine.

`node --import <register.mjs>` installs the hook in node/client.cjs before application code
runs; NODE_OPTIONS carries it into every Node process below (npx, test runners, workers).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def register_script() -> Path:
    """The file `node --import` takes (a file inside the installed package)."""
    return Path(str(resources.files(__package__).joinpath("node", "register.mjs")))


def import_flag() -> str:
    # A file URL: `--import` resolves its argument like an ESM specifier, so a bare absolute
    # path would break on Windows drive letters and on characters URLs must escape.
    return f"--import={register_script().as_uri()}"


def with_client_hook(node_options: str | None) -> str:
    """NODE_OPTIONS with the hook added once; what is there is kept byte for byte (Node's own
    parser, not a shell's, reads it: re-quoting would break its double-quoted paths)."""
    flag = import_flag()
    existing = (node_options or "").strip()
    if flag in existing.split():
        return node_options or flag
    return f"{existing} {flag}" if existing else flag


def client_environment(engine_mode: str, environ: dict[str, str]) -> dict[str, str]:
    """The variables to add for a Node child process; none when native engines are in use."""
    if engine_mode != "wasm":
        return {}
    return {"NODE_OPTIONS": with_client_hook(environ.get("NODE_OPTIONS"))}
