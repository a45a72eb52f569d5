"""The identity module's user directory: every query is scoped to the current tenant.

with tenant_context("acme"):
    directory = UserDirectory(db)
    directory.admins()            # acme's admins only
"""

from __future__ import annotations

from typing import Any

from modules.identity.tables import USER
from prisma_tasks.db.connection import Connection
from prisma_tasks.tenancy import TenantRepository


class UserDirectory:
    def __init__(self, db: Connection) -> None:
        self.users = TenantRepository(USER, db)

    def register(self, email: str, name: str, role: str = "MEMBER") -> dict[str, Any]:
        return self.users.insert(email=email, name=name, role=role)

    def by_email(self, email: str) -> dict[str, Any] | None:
        found = self.users.find(email=email)
        return found[0] if found else None

    def admins(self) -> list[dict[str, Any]]:
        return self.users.find(role="ADMIN")

    def promote(self, email: str) -> bool:
        return bool(self.users.update({"email": email}, {"role": "ADMIN"}))

    def remove(self, email: str) -> bool:
        return self.users.delete({"email": email}) > 0
