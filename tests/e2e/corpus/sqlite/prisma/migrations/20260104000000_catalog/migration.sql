-- CreateTable
CREATE TABLE "Product" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "price" REAL NOT NULL,
    CONSTRAINT "Product_price_positive" CHECK ("price" > 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "Product_sku_key" ON "Product"("sku");

-- Reference data; the strings hold ; on purpose.
INSERT INTO "Product" ("sku", "name", "price") VALUES ('SKU;1', 'Widget; large', 9.99), ('SKU-2', 'It''s a gadget;', 19.5);
