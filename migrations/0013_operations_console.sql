CREATE TABLE `compensation_approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`transaction_id` text NOT NULL,
	`step_id` text NOT NULL,
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`status` text NOT NULL,
	`cause` text NOT NULL,
	`caused_by` text,
	`caused_by_token` text,
	`requested_at` text NOT NULL,
	`decided_by` text,
	`decided_by_token` text,
	`decided_at` text,
	`reason` text
);
--> statement-breakpoint
CREATE INDEX `compensation_approvals_status` ON `compensation_approvals` (`status`,`requested_at`);--> statement-breakpoint
CREATE INDEX `compensation_approvals_tx` ON `compensation_approvals` (`transaction_id`);--> statement-breakpoint
CREATE TABLE `ops_rollups` (
	`tier` text NOT NULL,
	`bucket` text NOT NULL,
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`counts` text NOT NULL,
	`histograms` text NOT NULL,
	`in_flight` integer NOT NULL,
	PRIMARY KEY(`tier`, `bucket`, `flow`, `partner`)
);
--> statement-breakpoint
CREATE INDEX `ops_rollups_partner` ON `ops_rollups` (`tier`,`partner`,`bucket`);--> statement-breakpoint
CREATE TABLE `incident_action_items` (
	`id` text PRIMARY KEY NOT NULL,
	`incident_id` text NOT NULL,
	`title` text NOT NULL,
	`area` text NOT NULL,
	`link_kind` text,
	`link_ref` text,
	`owner` text,
	`status` text NOT NULL,
	`created_at` text NOT NULL,
	`done_at` text
);
--> statement-breakpoint
CREATE INDEX `incident_action_items_incident` ON `incident_action_items` (`incident_id`);--> statement-breakpoint
CREATE TABLE `incident_interventions` (
	`incident_id` text NOT NULL,
	`intervention_id` text NOT NULL,
	PRIMARY KEY(`incident_id`, `intervention_id`)
);
--> statement-breakpoint
CREATE INDEX `incident_interventions_intervention` ON `incident_interventions` (`intervention_id`);--> statement-breakpoint
CREATE TABLE `incident_postmortems` (
	`incident_id` text PRIMARY KEY NOT NULL,
	`root_cause` text NOT NULL,
	`time_to_detect` text,
	`detected_by` text NOT NULL,
	`compensation_effectiveness` text NOT NULL,
	`partner_communication` text NOT NULL,
	`governance_gaps` text NOT NULL,
	`updated_by` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` text PRIMARY KEY NOT NULL,
	`number` integer NOT NULL,
	`title` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`flow` text,
	`partner` text,
	`api` text,
	`source` text NOT NULL,
	`opened_by` text NOT NULL,
	`opened_at` text NOT NULL,
	`started_at` text NOT NULL,
	`closed_by` text,
	`closed_at` text,
	`summary` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `incidents_number_unique` ON `incidents` (`number`);--> statement-breakpoint
CREATE INDEX `incidents_status` ON `incidents` (`status`,`opened_at`);--> statement-breakpoint
CREATE INDEX `incidents_scope` ON `incidents` (`partner`,`flow`,`status`);--> statement-breakpoint
ALTER TABLE `transactions` ADD `business_key` text;--> statement-breakpoint
ALTER TABLE `transactions` ADD `matrix_version` integer;--> statement-breakpoint
ALTER TABLE `transactions` ADD `matrix_sha256` text;--> statement-breakpoint
CREATE INDEX `transactions_business_key` ON `transactions` (`business_key`);