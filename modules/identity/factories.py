"""Users with valid defaults; override any column."""

import factory

from modules.identity.tables import USER
from prisma_tasks.testing.factories import RowFactory


class UserFactory(RowFactory):
    class Meta:
        model = USER

    tenantId = "acme"
    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Faker("name")
    role = "MEMBER"
