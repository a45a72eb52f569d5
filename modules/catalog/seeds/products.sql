-- Plain SQL seeds work too; ON CONFLICT keeps them idempotent (PostgreSQL and SQLite).
INSERT INTO "Product" ("tenantId", "sku", "name", "priceCents", "stock")
VALUES ('acme', 'WIDGET', 'Widget', 1999, 100)
ON CONFLICT ("tenantId", "sku") DO UPDATE SET "name" = excluded."name", "priceCents" = excluded."priceCents";

INSERT INTO "Product" ("tenantId", "sku", "name", "priceCents", "stock")
VALUES ('acme', 'GADGET', 'Gadget', 4999, 20)
ON CONFLICT ("tenantId", "sku") DO UPDATE SET "name" = excluded."name", "priceCents" = excluded."priceCents";
