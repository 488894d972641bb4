CREATE TABLE `partner_stats` (
	`partner` text NOT NULL,
	`minute` text NOT NULL,
	`requests` integer NOT NULL,
	`accepted` integer NOT NULL,
	`errors` integer NOT NULL,
	`errors_coded` integer NOT NULL,
	`duplicates` integer NOT NULL,
	`duplicates_replayed` integer NOT NULL,
	`with_correlation` integer NOT NULL,
	`with_traceparent` integer NOT NULL,
	`with_both` integer NOT NULL,
	PRIMARY KEY(`partner`, `minute`)
);
--> statement-breakpoint
CREATE TABLE `sla_interventions` (
	`id` text PRIMARY KEY NOT NULL,
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`rule` integer NOT NULL,
	`metric` text NOT NULL,
	`actions` text NOT NULL,
	`value` text NOT NULL,
	`threshold` text NOT NULL,
	`freeze_id` text,
	`started_at` text NOT NULL,
	`lifted_at` text
);
--> statement-breakpoint
CREATE INDEX `sla_interventions_active` ON `sla_interventions` (`lifted_at`);