ALTER TABLE "audio_results" ADD COLUMN "storage_key" text;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "sha256" text;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "bytes" bigint;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "format" text;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "content_type" text;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "sample_rate" integer;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "channels" integer;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "archived_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "audio_results" ADD COLUMN "purged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "canonical_hash" text;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "reused_from" uuid;--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "saved_cost" numeric(14, 6);--> statement-breakpoint
ALTER TABLE "clone_jobs" ADD COLUMN "callback_token_hash" text;--> statement-breakpoint
CREATE INDEX "clone_jobs_tenant_canonical_idx" ON "clone_jobs" USING btree ("tenant_id","canonical_hash") WHERE "clone_jobs"."canonical_hash" is not null and "clone_jobs"."status" = 'succeeded';--> statement-breakpoint
CREATE UNIQUE INDEX "clone_jobs_callback_token_uq" ON "clone_jobs" USING btree ("callback_token_hash") WHERE "clone_jobs"."callback_token_hash" is not null;