CREATE TABLE "certification_runs" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"partner" text COLLATE "C" NOT NULL,
	"api" text COLLATE "C" NOT NULL,
	"version" text COLLATE "C" NOT NULL,
	"environment" text COLLATE "C" NOT NULL,
	"target" text COLLATE "C" NOT NULL,
	"content_sha256" text COLLATE "C" NOT NULL,
	"seed" bigint NOT NULL,
	"status" text COLLATE "C" NOT NULL,
	"total" bigint NOT NULL,
	"done" bigint NOT NULL,
	"failures" bigint NOT NULL,
	"report" text COLLATE "C" NOT NULL,
	"error" text COLLATE "C",
	"trigger" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"created_by" text COLLATE "C" NOT NULL,
	"heartbeat_at" text COLLATE "C" NOT NULL,
	"finished_at" text COLLATE "C"
);
--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "produced_by" text COLLATE "C" DEFAULT 'caller' NOT NULL;--> statement-breakpoint
ALTER TABLE "partner_endpoints" ADD COLUMN "certify_every" text COLLATE "C";--> statement-breakpoint
CREATE INDEX "certification_runs_target" ON "certification_runs" USING btree ("partner","environment","api","created_at");