CREATE TYPE "public"."task_kind" AS ENUM('voice_clone', 'speech');--> statement-breakpoint
CREATE TYPE "public"."voice_status" AS ENUM('cloning', 'ready', 'failed');--> statement-breakpoint
CREATE TABLE "voice_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"voice_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"from_status" "voice_status",
	"to_status" "voice_status",
	"detail" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "voice_references" (
	"voice_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"file_name" text NOT NULL,
	"content_type" text NOT NULL,
	"sha256" text NOT NULL,
	"size" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "voices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text,
	"status" "voice_status" DEFAULT 'cloning' NOT NULL,
	"audio_url" text,
	"settings" jsonb NOT NULL,
	"preview_text" text NOT NULL,
	"settings_hash" text NOT NULL,
	"upstream_voice_id" text,
	"clone_job_id" uuid,
	"clones" integer DEFAULT 0 NOT NULL,
	"keep_alive" boolean DEFAULT false NOT NULL,
	"keep_alive_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"ready_at" timestamp with time zone,
	"error_code" text,
	"error_message" text,
	"created_by_batch_id" uuid,
	"metadata" jsonb,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "voice_id" uuid;--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "max_cost" numeric(14, 6);--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "kind" "task_kind" DEFAULT 'voice_clone' NOT NULL;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "voice_id" uuid;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "estimated_cost" numeric(14, 6) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "actual_cost" numeric(14, 6);--> statement-breakpoint
ALTER TABLE "voice_events" ADD CONSTRAINT "voice_events_voice_id_voices_id_fk" FOREIGN KEY ("voice_id") REFERENCES "public"."voices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_references" ADD CONSTRAINT "voice_references_voice_id_voices_id_fk" FOREIGN KEY ("voice_id") REFERENCES "public"."voices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voice_references" ADD CONSTRAINT "voice_references_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voices" ADD CONSTRAINT "voices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "voice_events_voice_idx" ON "voice_events" USING btree ("voice_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "voices_tenant_idempotency_key_uq" ON "voices" USING btree ("tenant_id","idempotency_key") WHERE "voices"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "voices_tenant_id_idx" ON "voices" USING btree ("tenant_id","id") WHERE "voices"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "voices_tenant_settings_idx" ON "voices" USING btree ("tenant_id","settings_hash") WHERE "voices"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "voices_keep_alive_idx" ON "voices" USING btree ("expires_at") WHERE "voices"."keep_alive" and "voices"."deleted_at" is null;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD CONSTRAINT "clone_jobs_voice_id_voices_id_fk" FOREIGN KEY ("voice_id") REFERENCES "public"."voices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "clone_jobs_voice_active_idx" ON "clone_jobs" USING btree ("voice_id") WHERE "clone_jobs"."voice_id" is not null and "clone_jobs"."status" in ('queued', 'submitting', 'running');--> statement-breakpoint
-- Every line before voices was a voice-clone call, priced per call on the list of 2026-04-29;
-- what upstream reported it cost is in its stored usage, when it reported a readable number.
UPDATE "clone_jobs" SET "estimated_cost" = 3.12;--> statement-breakpoint
UPDATE "clone_jobs" AS c SET "actual_cost" = (a."usage"->>'consumeMoney')::numeric
  FROM "audio_results" AS a
 WHERE a."clone_job_id" = c."id"
   AND a."usage"->>'consumeMoney' ~ '^[0-9]+(\.[0-9]+)?$';
