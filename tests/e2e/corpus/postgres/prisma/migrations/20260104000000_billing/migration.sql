-- CreateEnum
CREATE TYPE "billing"."InvoiceState" AS ENUM ('DRAFT', 'ISSUED', 'PAID');

-- CreateTable
CREATE TABLE "billing"."Invoice" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "amountCents" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL DEFAULT 'EUR',
    "state" "billing"."InvoiceState" NOT NULL DEFAULT 'DRAFT',
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Invoice_userId_idx" ON "billing"."Invoice"("userId");

-- AddForeignKey
ALTER TABLE "billing"."Invoice" ADD CONSTRAINT "Invoice_userId_fkey" FOREIGN KEY ("userId") REFERENCES "public"."User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: rules the schema language cannot say.
ALTER TABLE "billing"."Invoice" ADD CONSTRAINT "Invoice_amount_nonnegative" CHECK ("amountCents" >= 0);
ALTER TABLE "billing"."Invoice" ADD CONSTRAINT "Invoice_currency_iso" CHECK ("currency" ~ '^[A-Z]{3}$');
CREATE TRIGGER "Invoice_touch" BEFORE UPDATE ON "billing"."Invoice"
FOR EACH ROW EXECUTE FUNCTION "public"."touch_updated_at"();
