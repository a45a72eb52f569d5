// TypeScript seeds get the Prisma Client of the module's one seeding transaction: upserts keep
// them idempotent (`invoke db.seed --verify`), and a throw rolls back the whole module.
import type { Prisma } from "../../../generated/client";

const products = [
  { tenantId: "acme", sku: "WIDGET", name: "Widget", priceCents: 1999, stock: 100 },
  { tenantId: "acme", sku: "GADGET", name: "Gadget", priceCents: 4999, stock: 20 },
];

export async function seed(prisma: Prisma.TransactionClient): Promise<void> {
  for (const { tenantId, sku, name, priceCents, stock } of products) {
    await prisma.product.upsert({
      where: { tenantId_sku: { tenantId, sku } },
      create: { tenantId, sku, name, priceCents, stock },
      // stock is the saga's state once seeded: a re-seed renames and reprices only
      update: { name, priceCents },
    });
  }
}
