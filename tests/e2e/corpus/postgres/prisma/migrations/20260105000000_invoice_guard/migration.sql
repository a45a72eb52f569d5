-- A paid invoice's amount never changes; the message itself has a ; in it.
CREATE FUNCTION "billing"."refuse_paid_edit"() RETURNS trigger
LANGUAGE plpgsql AS $guard$
DECLARE
  message text := 'invoice is paid; its amount cannot change';
BEGIN
  IF OLD."state" = 'PAID' AND NEW."amountCents" <> OLD."amountCents" THEN
    RAISE EXCEPTION '%', message USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$guard$;

CREATE TRIGGER "Invoice_paid_guard" BEFORE UPDATE ON "billing"."Invoice"
FOR EACH ROW EXECUTE FUNCTION "billing"."refuse_paid_edit"();

DO $$
DECLARE
  tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['Invoice'] LOOP
    EXECUTE format('COMMENT ON TABLE billing.%I IS %L', tbl, 'owned by the billing module; edit through its service');
  END LOOP;
END
$$;
