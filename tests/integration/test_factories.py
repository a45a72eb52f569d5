"""The `factories` fixture on this repository's reference modules (migrated and seeded template).

PostgreSQL only: prisma/base.prisma of this repository is a postgresql datasource.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.backend("postgres")]

TABLES = ("User", "Product", "Order", "OrderLine", "Invoice")


def counts(db) -> dict[str, int]:
    return {table: db.one(f'SELECT count(*) FROM "{table}"')[0] for table in TABLES}


def row(db, table: str, id_: int) -> dict:
    cursor = db.raw.execute(f'SELECT * FROM "{table}" WHERE id = %s', (id_,))
    names = [column.name for column in cursor.description]
    found = cursor.fetchone()
    assert found is not None, f"no {table} row with id {id_}"
    return dict(zip(names, found, strict=True))


def test_the_template_seeds_are_in_the_fresh_database(factories) -> None:
    db = factories.db
    assert counts(db) == {"User": 4, "Product": 2, "Order": 1, "OrderLine": 2, "Invoice": 1}
    assert sorted(db.execute('SELECT "tenantId", email, role::text FROM "User"')) == [
        ("acme", "admin@acme.test", "ADMIN"),
        ("acme", "member@acme.test", "MEMBER"),
        ("globex", "admin@globex.test", "ADMIN"),
        ("globex", "member@globex.test", "MEMBER"),
    ]
    (order, status, customer) = db.one(
        'SELECT o.id, o.status::text, u.email FROM "Order" o '
        'JOIN "User" u ON u.id = o."customerId" '
        "WHERE o.\"tenantId\" = 'acme' AND o.number = 'A-1001'"
    )
    assert (status, customer) == ("CONFIRMED", "admin@acme.test")
    invoice = db.one(
        'SELECT "totalCents", status::text FROM "Invoice" WHERE "orderId" = ?', [order]
    )
    assert invoice == (2 * 1999 + 4999, "OPEN")


def test_an_order_line_creates_its_order_the_customer_and_a_product(factories) -> None:
    db = factories.db
    before = counts(db)
    line = factories.OrderLine()
    after = counts(db)
    assert {table: after[table] - before[table] for table in TABLES} == {
        "User": 1,
        "Product": 1,
        "Order": 1,
        "OrderLine": 1,
        "Invoice": 0,
    }
    stored = row(db, "OrderLine", line["id"])
    assert stored == line and stored["quantity"] == 1
    order = row(db, "Order", line["orderId"])
    customer = row(db, "User", order["customerId"])
    product = row(db, "Product", line["productId"])
    assert order["status"] == "PENDING"
    assert {line["tenantId"], order["tenantId"], customer["tenantId"], product["tenantId"]} == {
        "acme"
    }
    # Made by the factories, not picked from the seeds.
    assert customer["email"].endswith("@example.test")
    assert product["sku"].startswith("SKU-")


def test_overrides_win_over_defaults(factories) -> None:
    db = factories.db
    user = factories.User(name="Zed", role="ADMIN", email="zed@example.test")
    assert row(db, "User", user["id"])["name"] == "Zed"
    assert (user["role"], user["email"]) == ("ADMIN", "zed@example.test")

    order = factories.Order(status="CONFIRMED", number="X-1", customer=user)
    stored = row(db, "Order", order["id"])
    assert (stored["status"], stored["number"], stored["customerId"]) == (
        "CONFIRMED",
        "X-1",
        user["id"],
    )

    widget = db.one("SELECT id FROM \"Product\" WHERE \"tenantId\" = 'acme' AND sku = 'WIDGET'")[0]
    before = counts(db)
    line = factories.OrderLine(order=order, productId=widget, quantity=7)
    after = counts(db)
    assert (line["orderId"], line["productId"], line["quantity"]) == (order["id"], widget, 7)
    # The given order and product were used: only the line is new.
    assert after["OrderLine"] - before["OrderLine"] == 1
    assert after["Order"] == before["Order"] and after["User"] == before["User"]


def test_the_tenant_propagates_to_every_related_row(factories) -> None:
    db = factories.db
    invoice = factories.Invoice(tenantId="globex", totalCents=500)
    order = row(db, "Order", invoice["orderId"])
    customer = row(db, "User", order["customerId"])
    assert (invoice["tenantId"], order["tenantId"], customer["tenantId"]) == (
        "globex",
        "globex",
        "globex",
    )
    assert row(db, "Invoice", invoice["id"])["totalCents"] == 500

    line = factories.OrderLine(tenantId="globex")
    assert row(db, "Product", line["productId"])["tenantId"] == "globex"
    assert row(db, "Order", line["orderId"])["tenantId"] == "globex"


def test_a_row_with_the_key_of_an_existing_row_is_refused(factories) -> None:
    # Factories insert; they never overwrite a seeded row with their defaults.
    db = factories.db
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        factories.User(tenantId="acme", email="admin@acme.test")
    assert counts(db)["User"] == 4


# Two tests, each must not see the other's row: whichever runs second fails if they share.
def test_fresh_database_is_independent_a(factories) -> None:
    factories.User(email="only-in-a@example.test")
    emails = {email for (email,) in factories.db.execute('SELECT email FROM "User"')}
    assert "only-in-a@example.test" in emails
    assert "only-in-b@example.test" not in emails
    assert len(emails) == 5


def test_fresh_database_is_independent_b(factories) -> None:
    factories.User(email="only-in-b@example.test")
    emails = {email for (email,) in factories.db.execute('SELECT email FROM "User"')}
    assert "only-in-b@example.test" in emails
    assert "only-in-a@example.test" not in emails
    assert len(emails) == 5
