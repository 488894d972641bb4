CREATE TABLE `contract_versions` (
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`version_key` text NOT NULL,
	`state` text NOT NULL,
	`sha256` text NOT NULL,
	`commit` text NOT NULL,
	`tag` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`partner`, `api`, `version`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contract_versions_tag_unique` ON `contract_versions` (`tag`);--> statement-breakpoint
CREATE INDEX `contract_versions_order` ON `contract_versions` (`partner`,`api`,`version_key`);--> statement-breakpoint
CREATE INDEX `contract_versions_state` ON `contract_versions` (`state`);--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`partner` text,
	`secret_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tokens_secret_hash_unique` ON `tokens` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `tokens_role` ON `tokens` (`role`);