-- CreateTable
CREATE TABLE "public"."Product" (
    "id" SERIAL NOT NULL,
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "price" DECIMAL(10,2) NOT NULL,
    "search" tsvector GENERATED ALWAYS AS (to_tsvector('simple', "name" || ' ' || "sku")) STORED,

    CONSTRAINT "Product_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Product_price_positive" CHECK ("price" > 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "Product_sku_key" ON "public"."Product"("sku");

-- Reference data; the strings hold ; on purpose.
INSERT INTO "public"."Product" ("sku", "name", "price") VALUES ('SKU;1', 'Widget; large', 9.99), ('SKU-2', 'It''s a gadget;', 19.50);
