CREATE TABLE `matrix_versions` (
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`kind` text NOT NULL,
	`sha256` text NOT NULL,
	`commit` text NOT NULL,
	`tag` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`name`, `version`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `matrix_versions_tag_unique` ON `matrix_versions` (`tag`);--> statement-breakpoint
CREATE INDEX `matrix_versions_kind` ON `matrix_versions` (`kind`);