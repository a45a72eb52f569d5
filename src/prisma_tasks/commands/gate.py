"""`invoke prisma.check`: the pull-request gate. Every check runs; one exit code at the end.

1. the collection is current and the schema files are formatted;
2. no drift: the migration history produces exactly the collected schema (applied to a
   throwaway database as `prisma.deploy` applies it, so it works in wasm mode, needs no
   DATABASE_URL, and a history that cannot be deployed fails here, naming the migration);
3. migration integrity against prisma/migrations/migrations.lock;
4. destructive-change lint on the migrations that are not yet on the default branch.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.errors import CheckFailed
from prisma_tasks.prisma_cli import destructive_lint, history_lock, migrations
from prisma_tasks.prisma_cli.runner import Prisma, PrismaFailed
from prisma_tasks.schema.collect import collect

Say = Callable[[str], None]


@dataclass
class GateReport:
    failures: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, check: str, lines: list[str]) -> None:
        self.failures.setdefault(check, []).extend(lines)


def new_migrations(settings: Settings, default_branch: str) -> tuple[list[Path], str]:
    """Migration folders not on the default branch, and how that was decided."""
    folder = settings.migrations_path
    all_folders = (
        sorted(
            p
            for p in folder.iterdir()
            if not p.name.startswith(".") and (p / "migration.sql").is_file()
        )
        if folder.is_dir()
        else []
    )
    on_branch, how = migrations_on_default_branch(settings, default_branch)
    if on_branch is None:
        return all_folders, f"{how}: linting every migration"
    return [p for p in all_folders if p.name not in on_branch], how


def migrations_on_default_branch(
    settings: Settings, default_branch: str
) -> tuple[set[str] | None, str]:
    """Names of the migrations at the merge base with the default branch, and how that was
    decided.

    An empty set when the repository has no default branch yet (no commit at all, or no
    `default_branch`, main or master, and no remote that may have one): nothing is merged
    anywhere, so every migration is new (and may be re-locked). None when it cannot be told: no
    git repository, history unrelated to the default branch, another branch that may be the
    default, or a remote that may have it.
    """
    root = settings.root
    base = _merge_base(root, default_branch)
    if base is None:
        return _without_merge_base(root, default_branch)
    relative = settings.migrations_path.relative_to(root).as_posix()
    listed = (_git(root, "ls-tree", "-r", "--name-only", base, "--", relative) or "").splitlines()
    on_branch = {Path(name).parent.name for name in listed if name.endswith("/migration.sql")}
    return on_branch, f"compared with {default_branch} at {base[:10]}"


def _without_merge_base(root: Path, branch: str) -> tuple[set[str] | None, str]:
    """Why HEAD has no merge base with `branch`: see migrations_on_default_branch."""
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None, f"not in a git repository (or no git), so no '{branch}' to compare with"
    if _git(root, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        return set(), "no commit yet: every migration is new"
    refs = set((_git(root, "for-each-ref", "--format=%(refname)") or "").split())
    if {f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"} & refs:
        return None, f"HEAD shares no history with '{branch}'"
    candidates = {
        f"refs/{kind}/{name}" for kind in ("heads", "remotes/origin") for name in ("main", "master")
    }
    origin_head = _git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
    if origin_head:
        candidates.add(origin_head)
    others = sorted(
        ref.removeprefix("refs/heads/").removeprefix("refs/remotes/") for ref in candidates & refs
    )
    if others:
        return None, (
            f"no '{branch}' branch, but {', '.join(others)} exists: set default_branch in "
            "[tool.prisma-tasks] to the branch merged migrations are on"
        )
    remotes = (_git(root, "remote") or "").split()
    if remotes:  # e.g. a single-branch clone: the default branch is there, not here
        return None, (
            f"no '{branch}' branch here, but remote {remotes[0]} may have it: "
            f"`git fetch {remotes[0]} {branch}`, or set default_branch in [tool.prisma-tasks]"
        )
    return set(), f"no '{branch}' branch yet: every migration is new"


def _git(root: Path, *args: str) -> str | None:
    """git's output (stripped), or None when it fails or git is not installed."""
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def non_linear(settings: Settings, default_branch: str) -> list[history_lock.Finding]:
    """New migrations that sort before one the default branch already has.

    The lock shows this only while the merge conflict in it is left as it was; once the lock
    is regenerated (`invoke prisma.lock` writes name order) only the default branch does.
    """
    on_branch, _ = migrations_on_default_branch(settings, default_branch)
    if not on_branch:
        return []
    last = max(on_branch)
    folders, _ = new_migrations(settings, default_branch)
    return [
        history_lock.Finding(
            folder.name,
            f"is not on {default_branch} but sorts before {last}, which is: two branches each "
            "added a migration (non-linear history); databases that applied "
            f"{last} would apply it out of order. Fix: delete this migration's folder and its "
            f"line in {history_lock.LOCK_NAME}, and run `invoke prisma.migrate --name <name>` "
            f"again so it is recreated after {last}",
        )
        for folder in folders
        if folder.name < last
    ]


def _merge_base(root: Path, branch: str) -> str | None:
    for ref in (f"origin/{branch}", branch):
        base = _git(root, "merge-base", "HEAD", ref)
        if base:
            return base
    return None


def run_gate(settings: Settings, say: Say) -> None:
    report = GateReport()
    # 1. collection and formatting. A missing folder is collected (it is git-ignored, so a
    # fresh clone has none); an existing one that differs is a failure.
    if settings.collected_path.exists():
        try:
            collect(settings, check=True)
            say("ok   collection is current")
        except CheckFailed as failure:
            report.fail("collection", [str(failure)])
    result = collect(settings)
    prisma = Prisma.for_settings(settings)
    prisma.collected = result
    say(prisma.describe())
    if prisma.engine.mode == "wasm":
        _format_and_drift_in_one_start(prisma, report, say)
    else:
        _check_format(prisma, report, say)
        _check_drift(prisma, report, say, lambda url: migrations.pending_change(prisma, url))
    # tenancy: tenant-scoped models keep their tenant column and an index led by it
    if settings.tenancy == "row":
        from prisma_tasks.tenancy.schema_check import tenancy_problems

        problems = tenancy_problems(settings, result)
        if problems:
            report.fail("tenancy", [str(problem) for problem in problems])
        else:
            say("ok   every tenant-scoped model has its tenant column and an index led by it")
    # 3. integrity
    try:
        findings = history_lock.check(settings.migrations_path)
    except history_lock.MalformedLock as exc:
        findings = [history_lock.Finding(history_lock.LOCK_NAME, str(exc))]
    reported = {finding.migration for finding in findings}
    findings += [
        finding
        for finding in non_linear(settings, settings.default_branch)
        if finding.migration not in reported
    ]
    if findings:
        report.fail("integrity", [str(finding) for finding in findings])
    else:
        say("ok   migration history matches migrations.lock")
    # 4. destructive-change lint
    folders, how = new_migrations(settings, settings.default_branch)
    lint = [
        str(f) for folder in folders for f in destructive_lint.lint_migration(folder, settings.root)
    ]
    if lint:
        report.fail("destructive", lint)
    else:
        say(f"ok   no unacknowledged destructive change in {len(folders)} new migration(s) ({how})")
    if report.failures:
        lines = []
        for check, messages in report.failures.items():
            lines.append(f"FAIL {check}")
            lines += [f"     {line}" for message in messages for line in message.splitlines()]
        raise CheckFailed("\n".join(lines))


def _check_format(prisma: Prisma, report: GateReport, say: Say) -> None:
    if prisma.run("format", "--check", check=False, echo=False).returncode != 0:
        report.fail("format", ["schema files are not formatted: run `invoke prisma.format`"])
    else:
        say("ok   schema files are formatted")


def _format_and_drift_in_one_start(prisma: Prisma, report: GateReport, say: Say) -> None:
    """Wasm mode: one Node process does both, started before its throwaway database exists."""
    from prisma_tasks.databases.provisioner import terminate_as_interrupt
    from prisma_tasks.prisma_cli.gate_diff import DriftAndFormat

    with terminate_as_interrupt():
        both = DriftAndFormat(prisma)
        try:
            # Reported after the format check, in the gate's order.
            drift, said = GateReport(), []
            _check_drift(prisma, drift, said.append, both.finish)
            unformatted = both.unformatted()
        finally:
            both.close()
    if unformatted is None:  # the formatter did not run in that process: ask Prisma itself
        _check_format(prisma, report, say)
    elif unformatted:
        report.fail(
            "format",
            [f"not formatted: {path}" for path in unformatted]
            + ["schema files are not formatted: run `invoke prisma.format`"],
        )
    else:
        say("ok   schema files are formatted")
    for line in said:
        say(line)
    for check, messages in drift.failures.items():
        report.fail(check, messages)


def _check_drift(
    prisma: Prisma, report: GateReport, say: Say, diff: Callable[[str], migrations.PendingChange]
) -> None:
    """Drift, on a throwaway database of the schema's provider."""
    from prisma_tasks.databases.provisioner import provisioned

    backend = "sqlite" if prisma.provider == "sqlite" else "postgres"
    try:
        with provisioned(backend, prisma.settings) as databases:
            change = diff(databases.clone())
    except PrismaFailed as failure:
        # The history is replayed the way `prisma.deploy` applies it: a migration that cannot
        # be deployed fails here, named, with the database's error.
        report.fail("drift", ["the migration history cannot be applied:", str(failure)])
        return
    if change.empty:
        say("ok   no drift: the migration history produces the collected schema")
    else:
        report.fail(
            "drift",
            [
                "the schema differs from the migration history; missing SQL:",
                change.sql.strip(),
                "run `invoke prisma.migrate --name <what-changed>`",
            ],
        )
