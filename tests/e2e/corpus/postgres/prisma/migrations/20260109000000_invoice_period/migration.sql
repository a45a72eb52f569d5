-- AlterEnum
ALTER TYPE "billing"."InvoiceState" ADD VALUE 'VOID';

-- AlterTable
ALTER TABLE "billing"."Invoice" ADD COLUMN     "period" tstzrange;

-- Two invoices never cover overlapping periods.
ALTER TABLE "billing"."Invoice" ADD CONSTRAINT "Invoice_no_overlap" EXCLUDE USING gist ("period" WITH &&);
