-- nickname: optional; shown in the UI. The display name column really is called "display;name".
ALTER TABLE "User" ADD COLUMN "display;name" TEXT;
ALTER TABLE "User" ADD COLUMN "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP;
/* Backfill; a block comment holds a ; too, and so does the string below. */
UPDATE "User" SET "display;name" = 'n/a; unknown' WHERE "display;name" IS NULL;
