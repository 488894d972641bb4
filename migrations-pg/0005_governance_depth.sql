CREATE TABLE "consumer_usage" (
	"provider" text COLLATE "C" NOT NULL,
	"api" text COLLATE "C" NOT NULL,
	"consumer" text COLLATE "C" NOT NULL,
	"operations" text COLLATE "C" NOT NULL,
	"declared_at" text COLLATE "C" NOT NULL,
	"declared_by" text COLLATE "C" NOT NULL,
	CONSTRAINT "consumer_usage_provider_api_consumer_pk" PRIMARY KEY("provider","api","consumer")
);
--> statement-breakpoint
CREATE TABLE "matrix_reviews" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"name" text COLLATE "C" NOT NULL,
	"version" bigint NOT NULL,
	"sha256" text COLLATE "C" NOT NULL,
	"decision" text COLLATE "C" NOT NULL,
	"comment" text COLLATE "C" NOT NULL,
	"reviewer" text COLLATE "C" NOT NULL,
	"reviewer_token" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "change_requests" ADD COLUMN "impact" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "created_by_token" text COLLATE "C" DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "status" text COLLATE "C" DEFAULT 'approved' NOT NULL;--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "base_version" bigint;--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "decided_at" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "decided_by" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "matrix_versions" ADD COLUMN "break_glass" text COLLATE "C";--> statement-breakpoint
CREATE INDEX "matrix_reviews_version" ON "matrix_reviews" USING btree ("name","version");--> statement-breakpoint
CREATE INDEX "transactions_provider_created" ON "transactions" USING btree ("partner","api","created_at");