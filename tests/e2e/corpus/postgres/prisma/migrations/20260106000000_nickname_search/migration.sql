-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateIndex
CREATE INDEX "User_nickname_idx" ON "public"."User" USING GIN ("nickname" gin_trgm_ops);
