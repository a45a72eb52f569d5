"""seed_all / verify_seeds on a real database of the session's backend (postgres or sqlite).

The temp monorepo (tests/e2e/seeding_repo.py) is migrated once per backend by the real
`invoke prisma.migrate`; every test gets its own copy on a fresh database (`invoke
prisma.deploy`) and calls the seeding API in-process.
"""

from __future__ import annotations

import importlib
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.db.connection import Connection
from prisma_tasks.errors import CheckFailed
from prisma_tasks.seeding import SeedFailed, seed_all, verify_seeds
from prisma_tasks.seeding.snapshot import snapshot
from tests.e2e.seeding_repo import INVOICES_SEED, base_repo, copy_of

pytestmark = pytest.mark.integration

SEEDED = re.compile(r"^\[(\d+)/(\d+)\] seeded (\w+) ")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, prisma_tasks_provisioner, prisma_tasks_backend):
    root = tmp_path_factory.mktemp(f"seeding-{prisma_tasks_backend}") / "repo"
    url = prisma_tasks_provisioner.clone()
    try:
        yield base_repo(root, prisma_tasks_backend, url)
    finally:
        prisma_tasks_provisioner.drop(url)


@pytest.fixture(autouse=True)
def _own_imports() -> Iterator[None]:
    """Seeds import `modules.<name>...` of their repository; keep every test's copy apart.

    seed_all puts the repository root on sys.path; this repository's own `modules` package
    (the factories tests import it) must neither shadow the copy's nor be replaced by it.
    """
    path = list(sys.path)
    ours = [name for name in sys.modules if name == "modules" or name.startswith("modules.")]
    saved = {name: sys.modules.pop(name) for name in ours}
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n == "modules" or n.startswith("modules.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = path


class Seeded:
    """A test's repository copy, its database and what seeding said."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.settings = load_settings(root, environ={})
        self.said: list[str] = []

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink()

    def seed(self, modules: list[str] | None = None) -> list[str]:
        return seed_all(self.settings, self.url, self.said.append, modules)

    def verify(self) -> None:
        verify_seeds(self.settings, self.url, self.said.append)

    def printed_order(self) -> list[str]:
        found = [SEEDED.match(line) for line in self.said]
        return [match.group(3) for match in found if match]

    def rows(self, statement: str, params: tuple = ()) -> list[tuple]:
        connection = Connection.open(self.url, self.root)
        try:
            return connection.execute(statement, params)
        finally:
            connection.close()

    def count(self, table: str) -> int:
        return self.rows(f'SELECT count(*) FROM "{table}"')[0][0]

    def snapshot(self):
        connection = Connection.open(self.url, self.root)
        try:
            return snapshot(connection)
        finally:
            connection.close()


@pytest.fixture
def repo(migrated, tmp_path, prisma_tasks_provisioner) -> Iterator[Seeded]:
    url = prisma_tasks_provisioner.clone()
    try:
        copy = copy_of(migrated, tmp_path / "repo", url)
        yield Seeded(copy.root, url)
    finally:
        prisma_tasks_provisioner.drop(url)


NOTES_SEED = """INSERT INTO "Note" ("body") VALUES ('seeded');\n"""
LOGINS_SEED = """def seed(db):
    db.execute('UPDATE "User" SET "logins" = "logins" + 1 WHERE "email" = ?', ["ada@example.test"])
"""
FAILING_INVOICES_SEED = """from prisma_tasks.db.connection import Table


def seed(db):
    db.upsert(Table("Invoice", key=("orderId",)), {
        "orderId": db.id_of("Order", number="A-1"), "totalCents": 1,
    })
    raise RuntimeError("boom after one invoice")
"""


def test_the_base_repository_was_migrated_by_the_cli(migrated, prisma_tasks_backend) -> None:
    (name,) = migrated.migrations()
    sql = (migrated.root / "prisma/migrations" / name / "migration.sql").read_text()
    for table in ("User", "Order", "Note", "Invoice"):
        assert f'CREATE TABLE "{table}"' in sql
    provider = "postgresql" if prisma_tasks_backend == "postgres" else "sqlite"
    assert f'provider = "{provider}"' in (migrated.root / "prisma/base.prisma").read_text()


def test_seeds_run_in_dependency_order_not_name_order(repo: Seeded) -> None:
    assert repo.seed() == ["identity", "orders", "billing"]
    assert repo.printed_order() == ["identity", "orders", "billing"]
    assert [SEEDED.match(line).group(1, 2) for line in repo.said] == [
        ("1", "3"),
        ("2", "3"),
        ("3", "3"),
    ]
    assert repo.rows(
        'SELECT o."number", u."email", i."totalCents" FROM "Invoice" i '
        'JOIN "Order" o ON o."id" = i."orderId" JOIN "User" u ON u."id" = o."customerId" '
        'ORDER BY o."number"'
    ) == [("A-1", "ada@example.test", 1999), ("A-2", "grace@example.test", 4999)]


def test_seeding_twice_leaves_every_table_identical(repo: Seeded) -> None:
    repo.seed()
    first = repo.snapshot()
    assert {table: state.rows for table, state in first.items()} == {
        "Invoice": 2,
        "Note": 0,
        "Order": 2,
        "User": 2,
    }
    repo.seed()
    assert repo.snapshot() == first


def test_verify_passes_for_idempotent_seeds(repo: Seeded) -> None:
    repo.verify()
    assert repo.said[-1] == "verified: seeding 3 module(s) a second time changed no table"
    assert repo.count("Invoice") == 2


@pytest.mark.parametrize(
    ("relative", "text", "module", "change"),
    [
        pytest.param(
            "modules/orders/seeds/notes.sql",
            NOTES_SEED,
            "orders",
            "table Note: 1 rows became 2",
            id="plain-insert",
        ),
        pytest.param(
            "modules/identity/seeds/logins.py",
            LOGINS_SEED,
            "identity",
            "table User: same 2 rows, different content",
            id="counter",
        ),
    ],
)
def test_verify_names_the_module_and_table_of_a_non_idempotent_seed(
    repo: Seeded, relative: str, text: str, module: str, change: str
) -> None:
    repo.write(relative, text)
    with pytest.raises(CheckFailed) as caught:
        repo.verify()
    message = str(caught.value)
    assert caught.value.exit_code == 1
    assert f"module '{module}' is not idempotent: {change}" in message
    # Only the culprit is blamed.
    assert message.count("is not idempotent") == 1, message
    assert not any(line.startswith("verified") for line in repo.said)


def test_a_failing_seed_names_module_and_file_and_rolls_back_only_its_module(
    repo: Seeded,
) -> None:
    repo.write("modules/billing/seeds/invoices.py", FAILING_INVOICES_SEED)
    with pytest.raises(SeedFailed) as caught:
        repo.seed()
    message = str(caught.value)
    assert "module 'billing'" in message
    assert "modules/billing/seeds/invoices.py" in message
    assert "RuntimeError: boom after one invoice" in message
    assert isinstance(caught.value.__cause__, RuntimeError)
    # The invoice it wrote before raising is gone; the modules before it stay seeded.
    assert repo.count("Invoice") == 0
    assert repo.count("User") == 2 and repo.count("Order") == 2
    assert repo.printed_order() == ["identity", "orders"]


def test_a_module_is_one_transaction_across_its_seed_files(repo: Seeded) -> None:
    # The first file of billing succeeds, the second fails half way: nothing of billing stays.
    repo.remove("modules/billing/seeds/invoices.py")
    repo.write("modules/billing/seeds/a_totals.py", INVOICES_SEED)
    repo.write(
        "modules/billing/seeds/b_broken.sql",
        'UPDATE "Invoice" SET "totalCents" = 0;\nINSERT INTO "NoSuchTable" ("x") VALUES (1);\n',
    )
    with pytest.raises(SeedFailed) as caught:
        repo.seed()
    assert "module 'billing'" in str(caught.value)
    assert "modules/billing/seeds/b_broken.sql" in str(caught.value)
    assert repo.count("Invoice") == 0
    assert repo.count("Order") == 2


def test_selecting_a_module_seeds_its_dependencies_first(repo: Seeded) -> None:
    assert repo.seed(modules=["orders"]) == ["identity", "orders"]
    assert repo.printed_order() == ["identity", "orders"]
    assert repo.count("User") == 2 and repo.count("Order") == 2
    assert repo.count("Invoice") == 0


def test_selecting_the_first_module_seeds_only_it(repo: Seeded) -> None:
    assert repo.seed(modules=["identity"]) == ["identity"]
    assert repo.count("User") == 2 and repo.count("Order") == 0


# -- a seed cannot end its module's transaction ----------------------------------------------
ORDER_A1 = (
    'INSERT INTO "Order" ("number", "customerId") '
    'SELECT \'A-1\', "id" FROM "User" WHERE "email" = \'ada@example.test\';\n'
)
ORDER_A2 = ORDER_A1.replace("A-1", "A-2").replace("ada@", "grace@")


def python_seed(*action: str) -> str:
    """An orders seed: one order, then `action` (lines of seed(db)'s body), then another."""
    return (
        'INSERT = \'INSERT INTO "Order" ("number", "customerId") '
        'SELECT ?, "id" FROM "User" WHERE "email" = ?\'\n\n\n'
        "def seed(db):\n"
        "    db.execute(INSERT, ['A-1', 'ada@example.test'])\n"
        + "".join(f"    {line}\n" for line in action)
        + "    db.execute(INSERT, ['A-2', 'grace@example.test'])\n"
    )


ENDING_SEEDS = {
    # id: (file under modules/orders/seeds/, its text, what the message names)
    "sql-commit": ("orders.sql", ORDER_A1 + "COMMIT;\n" + ORDER_A2, "it runs COMMIT"),
    "sql-end": ("orders.sql", ORDER_A1 + "END;\n" + ORDER_A2, "it runs COMMIT"),
    "sql-begin-commit": (
        "orders.sql",
        "BEGIN;\n" + ORDER_A1 + ORDER_A2 + "COMMIT;\n",
        "it runs BEGIN",
    ),
    "sql-rollback-then-write": (
        "orders.sql",
        ORDER_A1 + "ROLLBACK;\n" + ORDER_A2,
        "ROLLBACK",
    ),
    "db-commit": ("orders.py", python_seed("db.commit()"), "it runs commit()"),
    "db-execute-commit": ("orders.py", python_seed("db.execute('COMMIT')"), "it runs COMMIT"),
    "db-execute-begin": ("orders.py", python_seed("db.execute('BEGIN')"), "it runs BEGIN"),
    "db-rollback-caught": (
        "orders.py",
        python_seed("try:", "    db.rollback()", "except Exception:", "    pass"),
        "it runs rollback()",
    ),
    "db-execute-commit-caught": (
        "orders.py",
        python_seed("try:", "    db.execute('COMMIT')", "except Exception:", "    pass"),
        "COMMIT",
    ),
    "db-close": ("orders.py", python_seed("db.close()"), "it runs close()"),
    "raw-rollback-then-write": (
        "orders.py",
        python_seed("db.raw.execute('ROLLBACK')"),
        "ROLLBACK",
    ),
    "raw-executescript-or-commit": (
        "orders.py",
        python_seed(
            "if db.dialect == 'sqlite':",
            "    db.raw.executescript('SELECT 1;')  # sqlite3 sends COMMIT first",
            "else:",
            "    db.raw.execute('COMMIT')",
        ),
        "it runs COMMIT",
    ),
}


@pytest.mark.parametrize(("name", "text", "named"), ENDING_SEEDS.values(), ids=ENDING_SEEDS)
def test_a_seed_ending_its_transaction_is_refused_and_leaves_nothing_of_its_module(
    repo: Seeded, name: str, text: str, named: str
) -> None:
    repo.remove("modules/orders/seeds/orders.sql")
    repo.write(f"modules/orders/seeds/{name}", text)
    with pytest.raises(SeedFailed) as caught:
        repo.seed()
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert f"seed of module 'orders' failed in modules/orders/seeds/{name}: " in message, message
    assert named in message, message
    assert "cannot end or restart it" in message, message
    assert "nothing of module 'orders' was written" in message, message
    # Nothing of orders remains, the module before it stays seeded, the one after never ran.
    assert repo.count("Order") == 0
    assert repo.count("User") == 2
    assert repo.count("Invoice") == 0
    assert repo.printed_order() == ["identity"]


def test_a_later_file_ending_the_transaction_takes_the_earlier_files_with_it(
    repo: Seeded,
) -> None:
    repo.write("modules/orders/seeds/zz_commit.sql", "COMMIT;\n")
    with pytest.raises(SeedFailed, match=r"modules/orders/seeds/zz_commit\.sql: it runs COMMIT"):
        repo.seed()
    assert repo.count("Order") == 0 and repo.count("User") == 2


def test_savepoints_and_units_of_work_stay_allowed_in_seeds(repo: Seeded) -> None:
    repo.write(
        "modules/orders/seeds/notes.py",
        "from prisma_tasks.data.unit_of_work import unit_of_work\n\n\n"
        "def seed(db):\n"
        "    db.execute('SAVEPOINT before_notes')\n"
        "    db.execute('DELETE FROM \"Note\"')\n"
        "    db.execute('RELEASE SAVEPOINT before_notes')\n"
        "    try:\n"
        "        with unit_of_work(db):\n"
        "            db.execute('INSERT INTO \"Note\" VALUES (?, ?)', [2, 'undone'])\n"
        "            raise ValueError('undo this part only')\n"
        "    except ValueError:\n"
        "        pass\n"
        "    with unit_of_work(db):\n"
        "        db.execute('INSERT INTO \"Note\" VALUES (?, ?)', [1, 'kept'])\n",
    )
    assert repo.seed() == ["identity", "orders", "billing"]
    assert repo.rows('SELECT "body" FROM "Note"') == [("kept",)]
    repo.verify()  # and the guard holds across a second round on one connection


POSTGRES_ONLY = {
    "rollback-and-chain": (ORDER_A1 + "ROLLBACK AND CHAIN;\n" + ORDER_A2, "ROLLBACK AND CHAIN"),
    "commit-and-chain": (ORDER_A1 + "COMMIT AND CHAIN;\n" + ORDER_A2, "it runs COMMIT"),
    "abort": (ORDER_A1 + "ABORT;\n" + ORDER_A2, "ROLLBACK"),
    "start-transaction": (ORDER_A1 + "START TRANSACTION;\n" + ORDER_A2, "it runs BEGIN"),
    "prepare-transaction": (ORDER_A1 + "PREPARE TRANSACTION 'seed';\n", "it runs COMMIT"),
    "set-constraints-all-immediate": (
        ORDER_A1 + "SET CONSTRAINTS ALL IMMEDIATE;\n",
        "name the constraints instead",
    ),
}


@pytest.mark.backend("postgres")
@pytest.mark.parametrize(("text", "named"), POSTGRES_ONLY.values(), ids=POSTGRES_ONLY)
def test_postgres_refuses_every_way_to_end_the_transaction(
    repo: Seeded, text: str, named: str
) -> None:
    repo.write("modules/orders/seeds/orders.sql", text)
    with pytest.raises(SeedFailed) as caught:
        repo.seed()
    message = str(caught.value)
    assert "failed in modules/orders/seeds/orders.sql: " in message
    assert named in message, message
    assert repo.count("Order") == 0 and repo.count("User") == 2


@pytest.mark.backend("postgres")
def test_postgres_blocks_with_their_own_begin_and_end_run_as_usual(repo: Seeded) -> None:
    # BEGIN ... END inside a DO block is PL/pgSQL, not transaction control; a COMMIT inside one
    # is refused by PostgreSQL itself.
    repo.write(
        "modules/orders/seeds/orders.sql",
        ORDERS_SEED_DO_BLOCK,
    )
    assert repo.seed() == ["identity", "orders", "billing"]
    assert repo.count("Order") == 2
    repo.write(
        "modules/orders/seeds/orders.sql",
        'DO $$\nBEGIN\n  DELETE FROM "Invoice";\n  COMMIT;\nEND\n$$;\n',
    )
    with pytest.raises(SeedFailed, match="invalid transaction termination"):
        repo.seed()
    assert repo.count("Invoice") == 2


ORDERS_SEED_DO_BLOCK = """DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "Order" WHERE "number" = 'A-1') THEN
    INSERT INTO "Order" ("number", "customerId")
    SELECT 'A-1', "id" FROM "User" WHERE "email" = 'ada@example.test';
  END IF;
END
$$;
INSERT INTO "Order" ("number", "customerId")
SELECT 'A-2', "id" FROM "User" WHERE "email" = 'grace@example.test'
ON CONFLICT ("number") DO NOTHING;
"""


@pytest.fixture
def without_temporary_privilege(repo: Seeded) -> Iterator[str]:
    """repo's database through a role that may write its tables but not create temp tables."""
    import psycopg
    from psycopg import sql

    role = f"seeder_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(repo.url, autocommit=True) as admin:
        database = sql.Identifier(admin.info.dbname)
        try:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'seeder-pw'").format(sql.Identifier(role))
            )
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the test server's user may not create roles")
        for statement in (
            "REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC",
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA public TO {role}",
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}",
        ):
            admin.execute(sql.SQL(statement).format(db=database, role=sql.Identifier(role)))
    try:
        # a URL, as DATABASE_URL is (a key=value conninfo is not one Prisma or the suite reads)
        server = urlsplit(repo.url)
        yield urlunsplit(
            server._replace(netloc=f"{role}:seeder-pw@{server.hostname}:{server.port}")
        )
    finally:
        with psycopg.connect(repo.url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.backend("postgres")
def test_without_the_temporary_privilege_seeds_run_and_a_commit_is_named_honestly(
    repo: Seeded, without_temporary_privilege: str
) -> None:
    limited = Seeded(repo.root, without_temporary_privilege)
    assert limited.seed() == ["identity", "orders", "billing"]
    repo.write("modules/orders/seeds/orders.sql", ORDER_A1 + "COMMIT;\n" + ORDER_A2)
    repo.rows('DELETE FROM "Invoice"')
    repo.rows('DELETE FROM "Order"')
    with pytest.raises(SeedFailed) as caught:
        limited.seed()
    message = str(caught.value)
    assert "modules/orders/seeds/orders.sql: it runs COMMIT or ROLLBACK" in message, message
    assert "without the TEMPORARY privilege" in message and "may remain" in message
    assert "nothing of module" not in message
    # What came before the COMMIT stayed; the session's read-only default refused the rest.
    assert repo.rows('SELECT "number" FROM "Order"') == [("A-1",)]
