"""Invoices; the order they bill is made by the orders module's factory."""

import factory

from modules.billing.tables import INVOICE
from modules.orders.factories import OrderFactory
from prisma_tasks.testing.factories import RowFactory


class InvoiceFactory(RowFactory):
    class Meta:
        model = INVOICE

    class Params:
        order = factory.SubFactory(OrderFactory, tenantId=factory.SelfAttribute("..tenantId"))

    tenantId = "acme"
    orderId = factory.LazyAttribute(lambda o: o.order["id"])
    totalCents = 0
    status = "OPEN"
