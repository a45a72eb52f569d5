-- Keep "updatedAt" current for every writer; the body's statements end with ; inside BEGIN ... END.
CREATE TRIGGER "User_touch" AFTER UPDATE OF "email", "nickname" ON "User"
FOR EACH ROW WHEN NEW."updatedAt" = OLD."updatedAt"
BEGIN
  UPDATE "User" SET "updatedAt" = CURRENT_TIMESTAMP WHERE "id" = NEW."id";
  SELECT CASE WHEN NEW."email" NOT LIKE '%@%' THEN RAISE(ABORT, 'email needs an @; got none') END;
END;
