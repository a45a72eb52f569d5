"""Which package of a JavaScript monorepo holds the Prisma CLI, and which package manager runs it.

Pure reading of files (package.json, pnpm-workspace.yaml, lockfiles, .yarnrc.yml): no Node, no
package manager is started here, so every rule is unit-tested. The package that depends on
`prisma` is found among the workspace packages npm, yarn and pnpm would install; one config key
(`prisma_package`) settles it when several do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from prisma_tasks.errors import ConfigError

CONFIG_KEY = "prisma_package"
_DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies")


@dataclass(frozen=True)
class PackageManager:
    name: str  # "npm" | "pnpm" | "yarn"
    berry: bool = False  # yarn 2 or later
    lockfile: str | None = None  # the lockfile found at the root, if any
    why: str = "no lockfile: the default"  # what said so

    @property
    def label(self) -> str:
        if self.name != "yarn":
            return self.name
        return "yarn berry (2+)" if self.berry else "yarn classic (1.x)"

    def install_command(self) -> tuple[str, ...]:
        """The install that honours the lockfile (and fails when it is out of date)."""
        if self.name == "npm":
            verb = "ci" if self.lockfile else "install"
            return ("npm", verb, "--no-audit", "--no-fund")
        if self.name == "pnpm":
            return ("pnpm", "install", *(("--frozen-lockfile",) if self.lockfile else ()))
        if not self.lockfile:
            return ("yarn", "install")
        # berry deprecated --frozen-lockfile (it warns, and may drop it) for --immutable
        return ("yarn", "install", "--immutable" if self.berry else "--frozen-lockfile")

    def describe(self, command: tuple[str, ...]) -> str:
        """What ran, for the install's closing line: `pnpm (pnpm-lock.yaml): `pnpm install ...``."""
        return f"{self.label} ({self.why}): `{' '.join(command)}`"

    def add_command(self, package_dir: Path, root: Path, packages: list[str]) -> str:
        """How a person adds packages to the package that depends on Prisma (for messages)."""
        relative = package_dir.relative_to(root).as_posix()
        if relative == ".":
            verb = {"npm": "npm install", "pnpm": "pnpm add", "yarn": "yarn add"}[self.name]
            return f"{verb} {' '.join(packages)}"
        name = (read_package_json(package_dir) or {}).get("name") or relative
        target = {
            "npm": f"npm install --workspace {relative}",
            "pnpm": f"pnpm add --filter ./{relative}",
            "yarn": f"yarn workspace {name} add",
        }[self.name]
        return f"{target} {' '.join(packages)}"


def read_package_json(folder: Path) -> dict[str, Any] | None:
    """The folder's package.json as a dict; None when there is none. Unreadable is an error."""
    path = folder / "package.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return data


def depends_on(package: dict[str, Any], name: str) -> bool:
    return any(isinstance(package.get(f), dict) and name in package[f] for f in _DEPENDENCY_FIELDS)


def workspace_patterns(root: Path) -> tuple[str, list[str]]:
    """(where they are declared, the workspace globs): pnpm-workspace.yaml's `packages`, else
    package.json's `workspaces` (npm, yarn: a list, or yarn classic's {packages: [...]})."""
    pnpm = root / "pnpm-workspace.yaml"
    if pnpm.is_file():
        return "pnpm-workspace.yaml", pnpm_workspace_packages(pnpm.read_text(encoding="utf-8"))
    package = read_package_json(root) or {}
    workspaces = package.get("workspaces")
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages")
    if workspaces is None:
        return "package.json", []
    if not isinstance(workspaces, list) or not all(isinstance(w, str) for w in workspaces):
        raise ConfigError(f"{root / 'package.json'}: workspaces must be a list of globs")
    return "package.json workspaces", list(workspaces)


_YAML_ITEM = re.compile(r"^\s*-\s*(?P<value>.*?)\s*$")


def pnpm_workspace_packages(text: str) -> list[str]:
    """The `packages:` list of a pnpm-workspace.yaml (block or flow style, quoted or not).
    Only that key is read; pnpm's other settings (catalogs, overrides) are not ours."""
    lines = [_strip_comment(line) for line in text.splitlines()]
    for number, line in enumerate(lines):
        match = re.match(r"^packages\s*:\s*(?P<rest>.*)$", line)
        if match is None:
            continue
        rest = match["rest"].strip()
        if rest.startswith("["):
            inner = rest.strip("[]")
            return [_unquote(item) for item in inner.split(",") if item.strip()]
        items = []
        for following in lines[number + 1 :]:
            if not following.strip():
                continue
            if not following[:1].isspace() and not following.startswith("-"):
                break  # the next top-level key
            item = _YAML_ITEM.match(following)
            if item is not None:
                items.append(_unquote(item["value"]))
        return items
    return []


def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def workspace_packages(root: Path, patterns: list[str]) -> list[Path]:
    """The folders the globs name that hold a package.json, never inside node_modules; a `!glob`
    removes what it matches (pnpm's and yarn's exclusions)."""
    found: set[Path] = set()
    excluded = [p[1:].strip("/") for p in patterns if p.startswith("!")]
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        pattern = pattern.strip().rstrip("/").removeprefix("./")
        matches = [root / pattern] if not any(c in pattern for c in "*?[") else root.glob(pattern)
        for folder in matches:
            relative = folder.relative_to(root).as_posix()
            if (
                "node_modules" in folder.relative_to(root).parts
                or not (folder / "package.json").is_file()
                or any(_glob_match(relative, exclusion) for exclusion in excluded)
            ):
                continue
            found.add(folder)
    return sorted(found)


def _glob_match(relative: str, pattern: str) -> bool:
    # fnmatch's `*` crosses `/`, close enough for exclusions; `**/x` also matches a top-level x
    return fnmatch(relative, pattern) or fnmatch(relative, pattern.replace("**/", ""))


def prisma_package(root: Path, configured: str | None, source: Path | None) -> Path:
    """The folder whose package.json depends on `prisma`: the configured one, else the only
    candidate among the root and its workspace packages, else the root."""
    where = source or root / "pyproject.toml"
    if configured:
        folder = (root / configured).resolve()
        if not folder.is_relative_to(root.resolve()) or read_package_json(folder) is None:
            raise ConfigError(
                f"{where}: [tool.prisma-tasks] {CONFIG_KEY} = {configured!r} is not a folder with "
                f"a package.json inside the repository ({root})"
            )
        return folder
    candidates = candidates_depending_on_prisma(root)
    if len(candidates) > 1:
        names = ", ".join(_shown(root, folder) for folder in candidates)
        raise ConfigError(
            f"several packages depend on prisma ({names}); say which one runs the Prisma CLI "
            f"with {CONFIG_KEY} = {json.dumps(_shown(root, candidates[-1]))} in "
            f"[tool.prisma-tasks] of {where}"
        )
    return candidates[0] if candidates else root


def candidates_depending_on_prisma(root: Path) -> list[Path]:
    _, patterns = workspace_patterns(root)
    folders = [root, *(p for p in workspace_packages(root, patterns) if p != root)]
    return [folder for folder in folders if depends_on(read_package_json(folder) or {}, "prisma")]


def _shown(root: Path, folder: Path) -> str:
    return folder.relative_to(root).as_posix()


def package_manager(root: Path) -> PackageManager:
    """npm, pnpm or yarn (classic or berry), from package.json's `packageManager` field, else
    the lockfile, else pnpm-workspace.yaml / .yarnrc.yml; npm when nothing says."""
    lockfile = next(
        (n for n in ("pnpm-lock.yaml", "yarn.lock", "package-lock.json") if (root / n).is_file()),
        None,
    )
    declared = (read_package_json(root) or {}).get("packageManager")
    if isinstance(declared, str) and "@" in declared:
        name, _, version = declared.partition("@")
        if name in ("npm", "pnpm", "yarn"):
            berry = name == "yarn" and _major(version) >= 2
            return PackageManager(name, berry, lockfile, f'packageManager "{declared}"')
    if (root / ".yarnrc.yml").is_file():  # berry's settings file; classic reads .yarnrc
        return PackageManager("yarn", True, lockfile, ".yarnrc.yml")
    if lockfile == "yarn.lock":
        if _berry_lockfile(root / "yarn.lock"):
            return PackageManager("yarn", True, lockfile, "yarn.lock (berry's format)")
        return PackageManager("yarn", False, lockfile, lockfile)
    if lockfile == "pnpm-lock.yaml" or (root / "pnpm-workspace.yaml").is_file():
        return PackageManager("pnpm", False, lockfile, lockfile or "pnpm-workspace.yaml")
    if lockfile:
        return PackageManager("npm", False, lockfile, lockfile)
    return PackageManager("npm")


def yarn_is_berry(version_output: str) -> bool:
    """`yarn --version` says 1.x for classic, 2+ for berry."""
    return _major(version_output.strip()) >= 2


def _major(version: str) -> int:
    match = re.match(r"\s*v?(\d+)", version)
    return int(match.group(1)) if match else 0


def _berry_lockfile(path: Path) -> bool:
    # berry's yarn.lock is YAML with a __metadata block; classic's starts with a comment header
    try:
        with path.open(encoding="utf-8") as handle:
            return "__metadata:" in handle.read(4096)
    except OSError:
        return False
