CREATE TABLE `certification_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`environment` text NOT NULL,
	`target` text NOT NULL,
	`content_sha256` text NOT NULL,
	`seed` integer NOT NULL,
	`status` text NOT NULL,
	`total` integer NOT NULL,
	`done` integer NOT NULL,
	`failures` integer NOT NULL,
	`report` text NOT NULL,
	`error` text,
	`trigger` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`heartbeat_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `certification_runs_target` ON `certification_runs` (`partner`,`environment`,`api`,`created_at`);--> statement-breakpoint
ALTER TABLE `evidence` ADD `produced_by` text DEFAULT 'caller' NOT NULL;--> statement-breakpoint
ALTER TABLE `partner_endpoints` ADD `certify_every` text;