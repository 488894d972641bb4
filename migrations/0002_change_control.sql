CREATE TABLE `api_consumers` (
	`provider` text NOT NULL,
	`api` text NOT NULL,
	`consumer` text NOT NULL,
	PRIMARY KEY(`provider`, `api`, `consumer`)
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`role` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`outcome` text NOT NULL,
	`detail` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `change_acks` (
	`id` text PRIMARY KEY NOT NULL,
	`change_id` text NOT NULL,
	`partner` text NOT NULL,
	`diff_hash` text NOT NULL,
	`comment` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `change_acks_change` ON `change_acks` (`change_id`);--> statement-breakpoint
CREATE TABLE `change_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`content_sha256` text NOT NULL,
	`base_version` text,
	`diff` text NOT NULL,
	`diff_hash` text NOT NULL,
	`breaking` integer NOT NULL,
	`summary` text NOT NULL,
	`flows` text NOT NULL,
	`required_approvals` integer NOT NULL,
	`required_acks` text NOT NULL,
	`required_evidence` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`created_by_token` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `change_requests_version` ON `change_requests` (`partner`,`api`,`version`,`created_at`);--> statement-breakpoint
CREATE TABLE `change_reviews` (
	`id` text PRIMARY KEY NOT NULL,
	`change_id` text NOT NULL,
	`decision` text NOT NULL,
	`comment` text NOT NULL,
	`diff_hash` text NOT NULL,
	`reviewer` text NOT NULL,
	`reviewer_token` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `change_reviews_change` ON `change_reviews` (`change_id`);--> statement-breakpoint
CREATE TABLE `deprecations` (
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`deprecated_at` text NOT NULL,
	`sunset` text NOT NULL,
	`successor` text,
	`reason` text NOT NULL,
	`sunset_notice_at` text,
	`created_by` text NOT NULL,
	PRIMARY KEY(`partner`, `api`, `version`)
);
--> statement-breakpoint
CREATE TABLE `evidence` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`kind` text NOT NULL,
	`result` text NOT NULL,
	`sha256` text NOT NULL,
	`uri` text NOT NULL,
	`environment` text NOT NULL,
	`commit` text NOT NULL,
	`produced_at` text NOT NULL,
	`expires_at` text,
	`report` text,
	`report_sha256` text,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `evidence_version_kind` ON `evidence` (`partner`,`api`,`version`,`kind`,`created_at`);--> statement-breakpoint
CREATE TABLE `gate_decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`environment` text NOT NULL,
	`content_sha256` text NOT NULL,
	`verdict` text NOT NULL,
	`answer` text NOT NULL,
	`inputs` text NOT NULL,
	`inputs_hash` text NOT NULL,
	`break_glass_reason` text,
	`created_at` text NOT NULL,
	`requested_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `gate_decisions_version` ON `gate_decisions` (`partner`,`api`,`version`,`environment`,`created_at`);--> statement-breakpoint
CREATE TABLE `notices` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`audience` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notices_created` ON `notices` (`created_at`);--> statement-breakpoint
CREATE TABLE `release_freezes` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`reason` text NOT NULL,
	`source` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`lifted_at` text
);
--> statement-breakpoint
CREATE INDEX `release_freezes_partner` ON `release_freezes` (`partner`,`lifted_at`);--> statement-breakpoint
CREATE TABLE `releases` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`environment` text NOT NULL,
	`content_sha256` text NOT NULL,
	`decision_id` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `releases_api_env` ON `releases` (`partner`,`api`,`environment`,`created_at`);--> statement-breakpoint
CREATE TABLE `review_items` (
	`id` text PRIMARY KEY NOT NULL,
	`decision_id` text NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`reason` text NOT NULL,
	`status` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_status` integer,
	`last_error` text,
	`created_at` text NOT NULL,
	`delivered_at` text
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_hook` ON `webhook_deliveries` (`webhook_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`events` text NOT NULL,
	`partner` text,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`deleted_at` text
);
