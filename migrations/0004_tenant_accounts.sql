CREATE TABLE "upstream_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"api_key_sealed" text NOT NULL,
	"max_in_flight" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "upstream_account" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "weight" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "requests_per_minute" integer;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "max_pending_lines" integer;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "upstream_account_id" text;--> statement-breakpoint
ALTER TABLE "voices" ADD COLUMN "account" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
ALTER TABLE "upstream_accounts" ADD CONSTRAINT "upstream_accounts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "upstream_accounts_tenant_idx" ON "upstream_accounts" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "clone_jobs_tenant_active_idx" ON "clone_jobs" USING btree ("tenant_id") WHERE "clone_jobs"."status" in ('queued', 'submitting', 'running');--> statement-breakpoint
-- A URL registered twice by one tenant got every event twice: the newer registrations are
-- deleted (as DELETE /v1/webhook-endpoints does), keeping the oldest, before the index forbids it.
UPDATE "webhook_endpoints" AS e SET "deleted_at" = now()
 WHERE e."deleted_at" IS NULL
   AND EXISTS (SELECT 1 FROM "webhook_endpoints" AS o
                WHERE o."tenant_id" = e."tenant_id" AND o."url" = e."url"
                  AND o."deleted_at" IS NULL AND o."id" < e."id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_endpoints_tenant_url_uq" ON "webhook_endpoints" USING btree ("tenant_id","url") WHERE "webhook_endpoints"."deleted_at" is null;