ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_rowid_unique";--> statement-breakpoint
ALTER TABLE "idempotency_keys" DROP COLUMN "rowid";