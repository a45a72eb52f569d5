"""Orders and lines; the customer and product they need are made by their own modules."""

import factory

from modules.catalog.factories import ProductFactory
from modules.identity.factories import UserFactory
from modules.orders.tables import ORDER, ORDER_LINE
from prisma_tasks.testing.factories import RowFactory


class OrderFactory(RowFactory):
    class Meta:
        model = ORDER

    class Params:
        customer = factory.SubFactory(UserFactory, tenantId=factory.SelfAttribute("..tenantId"))

    tenantId = "acme"
    number = factory.Sequence(lambda n: f"T-{n:05d}")
    customerId = factory.LazyAttribute(lambda o: o.customer["id"])
    status = "PENDING"


class OrderLineFactory(RowFactory):
    class Meta:
        model = ORDER_LINE

    class Params:
        order = factory.SubFactory(OrderFactory, tenantId=factory.SelfAttribute("..tenantId"))
        product = factory.SubFactory(ProductFactory, tenantId=factory.SelfAttribute("..tenantId"))

    tenantId = "acme"
    orderId = factory.LazyAttribute(lambda o: o.order["id"])
    productId = factory.LazyAttribute(lambda o: o.product["id"])
    quantity = 1
