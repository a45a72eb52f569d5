"""pytest plugin (entry point `pytest11`): a migrated template per run, a clone per consumer.

Fixtures:
- `database_url`: one clone per test session; under pytest-xdist each worker is its own
  session and process, so workers never share a database.
- `fresh_database_url`: a new clone for one test, dropped afterwards (kept, with its URL
  printed, when the test failed and --keep-failed or keep_failed = true is set).
- `rollback_db` / `rollback_factories`: a connection (and the factories on it) inside a
  transaction rolled back after the test; nested transactions become savepoints.
- `prisma_tasks_provisioner`: the run's Provisioner (started on first use only, so tests
  without databases start nothing).

Override `prisma_tasks_prepare` to change how the template is built: it returns
(extra hash input, prepare(url) callable or None).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from prisma_tasks.config import Settings, load_settings
from prisma_tasks.databases.provisioner import Provisioner, sigterm_as_interrupt
from prisma_tasks.db.urls import mask

if TYPE_CHECKING:
    from prisma_tasks.db.connection import Connection


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prisma-tasks")
    group.addoption(
        "--db-backend",
        choices=("postgres", "sqlite"),
        default=None,
        help="database backend for database fixtures (default: $PRISMA_TASKS_BACKEND, "
        "else the datasource provider of prisma/base.prisma)",
    )
    group.addoption(
        "--shard",
        default=None,
        metavar="I/N",
        help="run only shard I of N (1-based): tests sorted by id, dealt round-robin, so "
        "shards are even, deterministic and together run every test exactly once",
    )
    group.addoption(
        "--keep-failed",
        action="store_true",
        default=False,
        help="keep the databases of failing tests and print their URLs",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backend(name): run only on this database backend")
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so fixtures tear down and clean up.
    sigterm_as_interrupt()


def selected_backend(config: pytest.Config, settings: Settings) -> str:
    chosen = config.getoption("--db-backend") or os.environ.get("PRISMA_TASKS_BACKEND")
    if chosen:
        return chosen
    try:
        from prisma_tasks.prisma_cli.runner import datasource_provider

        return "sqlite" if datasource_provider(settings.base_path) == "sqlite" else "postgres"
    except Exception:
        return "postgres"


def parse_shard(value: str) -> tuple[int, int]:
    try:
        index, total = (int(part) for part in value.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard {value!r}: expected I/N, e.g. --shard 2/4") from None
    if not 1 <= index <= total:
        raise pytest.UsageError(f"--shard {value!r}: I must be between 1 and N")
    return index, total


def shard_of(node_ids: list[str], index: int, total: int) -> set[str]:
    return {
        node_id
        for position, node_id in enumerate(sorted(node_ids))
        if position % total == index - 1
    }


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = config.getoption("--shard")
    if shard:
        index, total = parse_shard(shard)
        keep = shard_of([item.nodeid for item in items], index, total)
        deselected = [item for item in items if item.nodeid not in keep]
        items[:] = [item for item in items if item.nodeid in keep]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
    backend = None
    for item in items:
        marker = item.get_closest_marker("backend")
        if marker is None:
            continue
        backend = backend or selected_backend(config, load_settings())
        if backend not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"needs backend {', '.join(marker.args)}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def prisma_tasks_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def prisma_tasks_backend(request: pytest.FixtureRequest, prisma_tasks_settings: Settings) -> str:
    return selected_backend(request.config, prisma_tasks_settings)


@pytest.fixture(scope="session")
def prisma_tasks_provisioner(
    request: pytest.FixtureRequest, prisma_tasks_settings: Settings, prisma_tasks_backend: str
) -> Iterator[Provisioner]:
    provisioner = Provisioner(prisma_tasks_backend, prisma_tasks_settings, log=_log)
    provisioner.open()
    _log(f"databases: {provisioner.provider}")
    try:
        yield provisioner
    finally:
        for url in provisioner.close():
            _log(f"kept database: {url}")


@pytest.fixture(scope="session")
def prisma_tasks_prepare(
    prisma_tasks_settings: Settings, prisma_tasks_backend: str
) -> tuple[str, Callable[[str], None] | None]:
    """Default: apply the repository's Prisma migrations and seeds when the backend fits."""
    from prisma_tasks.commands.template import template_recipe

    return template_recipe(prisma_tasks_settings, prisma_tasks_backend)


@pytest.fixture(scope="session")
def prisma_tasks_template(
    prisma_tasks_provisioner: Provisioner,
    prisma_tasks_settings: Settings,
    prisma_tasks_prepare: tuple[str, Callable[[str], None] | None],
) -> str:
    from prisma_tasks.commands.template import template_hash

    label, prepare = prisma_tasks_prepare
    digest = template_hash(prisma_tasks_settings, label, prisma_tasks_provisioner.backend)
    return prisma_tasks_provisioner.template(digest, prepare)


@pytest.fixture(scope="session")
def database_url(prisma_tasks_provisioner: Provisioner, prisma_tasks_template: str) -> str:
    return prisma_tasks_provisioner.clone(prisma_tasks_template)


@pytest.fixture
def fresh_database_url(
    request: pytest.FixtureRequest,
    prisma_tasks_provisioner: Provisioner,
    prisma_tasks_template: str,
    prisma_tasks_settings: Settings,
) -> Iterator[str]:
    url = prisma_tasks_provisioner.clone(prisma_tasks_template)
    yield url
    keep = request.config.getoption("--keep-failed") or prisma_tasks_settings.keep_failed
    if keep and request.node.stash.get(_FAILED, False):
        prisma_tasks_provisioner.keep(url)
        _log(f"keeping the database of failed {request.node.nodeid}: {mask(url)}")
    else:
        prisma_tasks_provisioner.drop(url)


@pytest.fixture
def factories(fresh_database_url: str, prisma_tasks_settings: Settings) -> Iterator[object]:
    """The modules' row factories, bound to this test's own database.

    Example: `order = factories.Order(status="CONFIRMED")` creates its customer too.
    """
    from prisma_tasks.db.connection import Connection
    from prisma_tasks.testing.factories import bound_to, discover_factories

    connection = Connection.open(fresh_database_url, prisma_tasks_settings.root)
    try:
        with bound_to(connection):
            namespace = discover_factories(prisma_tasks_settings)
            namespace.db = connection
            yield namespace
    finally:
        connection.close()


@pytest.fixture(scope="session")
def prisma_tasks_rollback_connection(
    prisma_tasks_provisioner: Provisioner,
    prisma_tasks_template: str,
    prisma_tasks_settings: Settings,
) -> Iterator[Connection]:
    """One connection for the session, to a clone of its own that only rollback tests use."""
    from prisma_tasks.db.connection import Connection

    url = prisma_tasks_provisioner.clone(prisma_tasks_template)
    connection = Connection.open(url, prisma_tasks_settings.root)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def rollback_db(prisma_tasks_rollback_connection: Connection) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test: the cheapest
    isolation (no database per test). The code under test must use this connection;
    transactions it opens (`unit_of_work`, `transaction()`) become savepoints."""
    with prisma_tasks_rollback_connection.rolled_back() as connection:
        yield connection


@pytest.fixture
def rollback_factories(
    rollback_db: Connection, prisma_tasks_settings: Settings
) -> Iterator[object]:
    """The modules' row factories, writing through `rollback_db` (rolled back after the test)."""
    from prisma_tasks.testing.factories import bound_to, discover_factories

    with bound_to(rollback_db):
        namespace = discover_factories(prisma_tasks_settings)
        namespace.db = rollback_db
        yield namespace


def _log(message: str) -> None:
    print(f"[prisma-tasks] {message}", file=sys.stderr, flush=True)
