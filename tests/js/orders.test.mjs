// The reference modules through the Prisma Client, as a team's JS tests would use it. Run by
// `nox -s js` as `invoke db.run -- node --test tests/js/`: a throwaway database, migrated and
// seeded from the module seeds; in wasm mode the client queries through the WebAssembly engine.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { PrismaClient } from "../../generated/client/index.js";

const prisma = new PrismaClient();
after(() => prisma.$disconnect());

// Row tenancy: every query names its tenant (the repositories' rule, here in the query itself).
const acme = { tenantId: "acme" };

test("the module seeds ran: each tenant has its admin and member", async () => {
  const users = await prisma.user.findMany({ where: acme, orderBy: { email: "asc" } });
  assert.deepEqual(
    users.map((user) => [user.email, user.role]),
    [
      ["admin@acme.test", "ADMIN"],
      ["member@acme.test", "MEMBER"],
    ],
  );
});

test("an order and its lines are written in one transaction, or not at all", async () => {
  const customer = await prisma.user.findFirstOrThrow({ where: { ...acme, role: "MEMBER" } });
  const widget = await prisma.product.findFirstOrThrow({ where: { ...acme, sku: "WIDGET" } });
  await assert.rejects(
    prisma.$transaction(async (tx) => {
      await tx.order.create({
        data: { ...acme, number: "JS-1", customerId: customer.id, lines: { create: [{ ...acme, productId: widget.id, quantity: 1 }] } },
      });
      throw new Error("stock check failed");
    }),
    /stock check failed/,
  );
  assert.equal(await prisma.order.count({ where: { ...acme, number: "JS-1" } }), 0);

  const order = await prisma.order.create({
    data: { ...acme, number: "JS-1", customerId: customer.id, lines: { create: [{ ...acme, productId: widget.id, quantity: 2 }] } },
    include: { lines: true },
  });
  assert.equal(order.status, "PENDING");
  assert.deepEqual(order.lines.map((line) => line.quantity), [2]);

  await prisma.order.delete({ where: { id: order.id } });
  assert.equal(await prisma.orderLine.count({ where: { orderId: order.id } }), 0); // cascade
});

test("order numbers are unique per tenant, not across tenants", async () => {
  const [acmeCustomer, globexCustomer] = await Promise.all(
    ["acme", "globex"].map((tenantId) => prisma.user.findFirstOrThrow({ where: { tenantId } })),
  );
  await prisma.order.create({ data: { ...acme, number: "JS-2", customerId: acmeCustomer.id } });
  await prisma.order.create({ data: { tenantId: "globex", number: "JS-2", customerId: globexCustomer.id } });
  await assert.rejects(
    prisma.order.create({ data: { ...acme, number: "JS-2", customerId: acmeCustomer.id } }),
    (error) => error.code === "P2002",
  );
});
