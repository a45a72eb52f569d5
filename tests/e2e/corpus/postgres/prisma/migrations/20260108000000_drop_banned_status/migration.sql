/*
  Warnings:

  - The values [BANNED] on the enum `Status` will be removed. If these variants are still used in the database, this will fail.

*/
UPDATE "public"."User" SET "status" = 'SUSPENDED' WHERE "status" = 'BANNED';

-- AlterEnum
BEGIN;
CREATE TYPE "public"."Status_new" AS ENUM ('ACTIVE', 'SUSPENDED');
ALTER TABLE "public"."User" ALTER COLUMN "status" DROP DEFAULT;
-- prisma-tasks: allow-destructive BANNED users were moved to SUSPENDED just above
ALTER TABLE "public"."User" ALTER COLUMN "status" TYPE "public"."Status_new" USING ("status"::text::"public"."Status_new");
ALTER TYPE "public"."Status" RENAME TO "Status_old";
ALTER TYPE "public"."Status_new" RENAME TO "Status";
DROP TYPE "public"."Status_old";
ALTER TABLE "public"."User" ALTER COLUMN "status" SET DEFAULT 'ACTIVE';
COMMIT;
