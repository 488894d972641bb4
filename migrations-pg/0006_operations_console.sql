CREATE TABLE "incident_action_items" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"incident_id" text COLLATE "C" NOT NULL,
	"title" text COLLATE "C" NOT NULL,
	"area" text COLLATE "C" NOT NULL,
	"link_kind" text COLLATE "C",
	"link_ref" text COLLATE "C",
	"owner" text COLLATE "C",
	"status" text COLLATE "C" NOT NULL,
	"created_at" text COLLATE "C" NOT NULL,
	"done_at" text COLLATE "C"
);
--> statement-breakpoint
CREATE TABLE "incident_interventions" (
	"incident_id" text COLLATE "C" NOT NULL,
	"intervention_id" text COLLATE "C" NOT NULL,
	CONSTRAINT "incident_interventions_incident_id_intervention_id_pk" PRIMARY KEY("incident_id","intervention_id")
);
--> statement-breakpoint
CREATE TABLE "incident_postmortems" (
	"incident_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"root_cause" text COLLATE "C" NOT NULL,
	"time_to_detect" text COLLATE "C",
	"detected_by" text COLLATE "C" NOT NULL,
	"compensation_effectiveness" text COLLATE "C" NOT NULL,
	"partner_communication" text COLLATE "C" NOT NULL,
	"governance_gaps" text COLLATE "C" NOT NULL,
	"updated_by" text COLLATE "C" NOT NULL,
	"updated_at" text COLLATE "C" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"number" bigint NOT NULL,
	"title" text COLLATE "C" NOT NULL,
	"severity" text COLLATE "C" NOT NULL,
	"status" text COLLATE "C" NOT NULL,
	"flow" text COLLATE "C",
	"partner" text COLLATE "C",
	"api" text COLLATE "C",
	"source" text COLLATE "C" NOT NULL,
	"opened_by" text COLLATE "C" NOT NULL,
	"opened_at" text COLLATE "C" NOT NULL,
	"started_at" text COLLATE "C" NOT NULL,
	"closed_by" text COLLATE "C",
	"closed_at" text COLLATE "C",
	"summary" text COLLATE "C",
	CONSTRAINT "incidents_number_unique" UNIQUE("number")
);
--> statement-breakpoint
CREATE TABLE "compensation_approvals" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"transaction_id" text COLLATE "C" NOT NULL,
	"step_id" text COLLATE "C" NOT NULL,
	"flow" text COLLATE "C" NOT NULL,
	"partner" text COLLATE "C" NOT NULL,
	"status" text COLLATE "C" NOT NULL,
	"cause" text COLLATE "C" NOT NULL,
	"caused_by" text COLLATE "C",
	"caused_by_token" text COLLATE "C",
	"requested_at" text COLLATE "C" NOT NULL,
	"decided_by" text COLLATE "C",
	"decided_by_token" text COLLATE "C",
	"decided_at" text COLLATE "C",
	"reason" text COLLATE "C"
);
--> statement-breakpoint
CREATE TABLE "ops_rollups" (
	"tier" text COLLATE "C" NOT NULL,
	"bucket" text COLLATE "C" NOT NULL,
	"flow" text COLLATE "C" NOT NULL,
	"partner" text COLLATE "C" NOT NULL,
	"counts" text COLLATE "C" NOT NULL,
	"histograms" text COLLATE "C" NOT NULL,
	"in_flight" bigint NOT NULL,
	CONSTRAINT "ops_rollups_tier_bucket_flow_partner_pk" PRIMARY KEY("tier","bucket","flow","partner")
);
--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "business_key" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "matrix_version" bigint;--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "matrix_sha256" text COLLATE "C";--> statement-breakpoint
CREATE INDEX "incident_action_items_incident" ON "incident_action_items" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "incident_interventions_intervention" ON "incident_interventions" USING btree ("intervention_id");--> statement-breakpoint
CREATE INDEX "incidents_status" ON "incidents" USING btree ("status","opened_at");--> statement-breakpoint
CREATE INDEX "incidents_scope" ON "incidents" USING btree ("partner","flow","status");--> statement-breakpoint
CREATE INDEX "compensation_approvals_status" ON "compensation_approvals" USING btree ("status","requested_at");--> statement-breakpoint
CREATE INDEX "compensation_approvals_tx" ON "compensation_approvals" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "ops_rollups_partner" ON "ops_rollups" USING btree ("tier","partner","bucket");--> statement-breakpoint
CREATE INDEX "transactions_business_key" ON "transactions" USING btree ("business_key");