-- Keep "updatedAt" current for every writer, not only the Prisma Client (@updatedAt is client-side).
CREATE OR REPLACE FUNCTION "public"."touch_updated_at"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."updatedAt" := now(); -- a ; in a comment inside the body
  RETURN NEW;
END;
$$;

CREATE TRIGGER "User_touch" BEFORE UPDATE ON "public"."User"
FOR EACH ROW EXECUTE FUNCTION "public"."touch_updated_at"();
