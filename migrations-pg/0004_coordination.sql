CREATE TABLE "rate_counters" (
	"scope" text COLLATE "C" NOT NULL,
	"key" text COLLATE "C" NOT NULL,
	"window_start" bigint NOT NULL,
	"replica" text COLLATE "C" NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "rate_counters_scope_key_window_start_replica_pk" PRIMARY KEY("scope","key","window_start","replica")
);
--> statement-breakpoint
CREATE TABLE "sla_breaches" (
	"flow" text COLLATE "C" NOT NULL,
	"partner" text COLLATE "C" NOT NULL,
	"rule" bigint NOT NULL,
	"since" bigint NOT NULL,
	CONSTRAINT "sla_breaches_flow_partner_rule_pk" PRIMARY KEY("flow","partner","rule")
);
--> statement-breakpoint
CREATE TABLE "sla_rollups" (
	"flow" text COLLATE "C" NOT NULL,
	"partner" text COLLATE "C" NOT NULL,
	"metric" text COLLATE "C" NOT NULL,
	"minute" bigint NOT NULL,
	"replica" text COLLATE "C" NOT NULL,
	"count" bigint NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"histogram" text COLLATE "C" NOT NULL,
	CONSTRAINT "sla_rollups_flow_partner_metric_minute_replica_pk" PRIMARY KEY("flow","partner","metric","minute","replica")
);
--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "lease_owner" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "lease_until" bigint;--> statement-breakpoint
CREATE INDEX "rate_counters_window" ON "rate_counters" USING btree ("window_start");--> statement-breakpoint
CREATE INDEX "sla_rollups_minute" ON "sla_rollups" USING btree ("minute");