CREATE TABLE "retired_webhook_secrets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"secret" text NOT NULL,
	"retired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "retired_webhook_secrets" ADD CONSTRAINT "retired_webhook_secrets_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "retired_webhook_secrets_tenant_idx" ON "retired_webhook_secrets" USING btree ("tenant_id","expires_at");--> statement-breakpoint
-- Each tenant's previous secret keeps signing for what is left of its grace period. The grace
-- was a setting (WEBHOOK_SECRET_GRACE_MS) read at signing time; the default, 24 hours, fixes it here.
INSERT INTO "retired_webhook_secrets" ("id", "tenant_id", "secret", "retired_at", "expires_at")
SELECT gen_random_uuid(), "id", "previous_webhook_secret", "secret_rotated_at",
       "secret_rotated_at" + interval '24 hours'
  FROM "tenants"
 WHERE "previous_webhook_secret" IS NOT NULL
   AND "secret_rotated_at" IS NOT NULL
   AND "previous_webhook_secret" <> "webhook_secret";--> statement-breakpoint
ALTER TABLE "tenants" DROP COLUMN "previous_webhook_secret";--> statement-breakpoint
-- Every event fans out to each subscribed endpoint: the fan-out per tenant is bounded here, where
-- concurrent inserts cannot both pass a count made before either committed. The tenant row is
-- locked (NO KEY UPDATE, so inserts elsewhere that reference the tenant are not blocked) to
-- make concurrent endpoint inserts of one tenant take turns.
CREATE FUNCTION "webhook_endpoints_enforce_cap"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cap CONSTANT integer := 50;
  live integer;
BEGIN
  PERFORM 1 FROM "tenants" WHERE "id" = NEW."tenant_id" FOR NO KEY UPDATE;
  SELECT count(*) INTO live FROM "webhook_endpoints"
   WHERE "tenant_id" = NEW."tenant_id" AND "deleted_at" IS NULL;
  IF live >= cap THEN
    RAISE EXCEPTION 'a tenant has at most % webhook endpoints; delete one first', cap
      USING ERRCODE = 'check_violation', CONSTRAINT = 'webhook_endpoints_per_tenant_cap',
            TABLE = 'webhook_endpoints';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "webhook_endpoints_per_tenant_cap" BEFORE INSERT ON "webhook_endpoints"
  FOR EACH ROW EXECUTE FUNCTION "webhook_endpoints_enforce_cap"();
