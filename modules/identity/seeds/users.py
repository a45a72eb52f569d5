"""Two tenants, each with an admin and a member."""

from modules.identity.tables import USER

TENANTS = ("acme", "globex")


def seed(db) -> None:
    for tenant in TENANTS:
        db.upsert(
            USER,
            {"tenantId": tenant, "email": f"admin@{tenant}.test", "name": "Admin", "role": "ADMIN"},
        )
        db.upsert(
            USER,
            {
                "tenantId": tenant,
                "email": f"member@{tenant}.test",
                "name": "Member",
                "role": "MEMBER",
            },
        )
