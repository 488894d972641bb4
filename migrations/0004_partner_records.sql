CREATE TABLE `partner_records` (
	`partner` text NOT NULL,
	`kind` text NOT NULL,
	`id` text NOT NULL,
	`data` text NOT NULL,
	`status` text NOT NULL,
	`polls` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`partner`, `kind`, `id`)
);
