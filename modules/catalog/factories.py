"""Products with valid defaults; override any column."""

import factory

from modules.catalog.tables import PRODUCT
from prisma_tasks.testing.factories import RowFactory


class ProductFactory(RowFactory):
    class Meta:
        model = PRODUCT

    tenantId = "acme"
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("word")
    priceCents = factory.Faker("random_int", min=100, max=10_000)
    stock = 10
