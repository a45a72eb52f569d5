-- nickname: optional; shown in the UI. The display name column really is called "display;name".
ALTER TABLE "public"."User" ADD COLUMN     "display;name" TEXT,
ADD COLUMN     "tags" TEXT[],
ADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

/* Backfill; a block comment holds a ; too, and so does the string below. */
UPDATE "public"."User" SET "display;name" = 'n/a; unknown' WHERE "display;name" IS NULL AND "email" LIKE '%;%';
