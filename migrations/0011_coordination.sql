CREATE TABLE `rate_counters` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`window_start` integer NOT NULL,
	`replica` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`scope`, `key`, `window_start`, `replica`)
);
--> statement-breakpoint
CREATE INDEX `rate_counters_window` ON `rate_counters` (`window_start`);--> statement-breakpoint
CREATE TABLE `sla_breaches` (
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`rule` integer NOT NULL,
	`since` integer NOT NULL,
	PRIMARY KEY(`flow`, `partner`, `rule`)
);
--> statement-breakpoint
CREATE TABLE `sla_rollups` (
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`metric` text NOT NULL,
	`minute` integer NOT NULL,
	`replica` text NOT NULL,
	`count` integer NOT NULL,
	`sum` real NOT NULL,
	`min` real NOT NULL,
	`max` real NOT NULL,
	`histogram` text NOT NULL,
	PRIMARY KEY(`flow`, `partner`, `metric`, `minute`, `replica`)
);
--> statement-breakpoint
CREATE INDEX `sla_rollups_minute` ON `sla_rollups` (`minute`);--> statement-breakpoint
ALTER TABLE `transactions` ADD `lease_owner` text;--> statement-breakpoint
ALTER TABLE `transactions` ADD `lease_until` integer;