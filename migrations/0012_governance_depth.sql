CREATE TABLE `matrix_reviews` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`sha256` text NOT NULL,
	`decision` text NOT NULL,
	`comment` text NOT NULL,
	`reviewer` text NOT NULL,
	`reviewer_token` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `matrix_reviews_version` ON `matrix_reviews` (`name`,`version`);--> statement-breakpoint
CREATE TABLE `consumer_usage` (
	`provider` text NOT NULL,
	`api` text NOT NULL,
	`consumer` text NOT NULL,
	`operations` text NOT NULL,
	`declared_at` text NOT NULL,
	`declared_by` text NOT NULL,
	PRIMARY KEY(`provider`, `api`, `consumer`)
);
--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `created_by_token` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `status` text DEFAULT 'approved' NOT NULL;--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `base_version` integer;--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `decided_at` text;--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `decided_by` text;--> statement-breakpoint
ALTER TABLE `matrix_versions` ADD `break_glass` text;--> statement-breakpoint
ALTER TABLE `change_requests` ADD `impact` text;--> statement-breakpoint
CREATE INDEX `transactions_provider_created` ON `transactions` (`partner`,`api`,`created_at`);