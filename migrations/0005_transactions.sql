CREATE TABLE `fault_injections` (
	`id` text PRIMARY KEY NOT NULL,
	`partner` text NOT NULL,
	`step` text NOT NULL,
	`flow` text,
	`transaction_id` text,
	`kind` text NOT NULL,
	`status` integer,
	`delay_ms` integer,
	`remaining` integer,
	`source` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `outbox_cursors` (
	`name` text PRIMARY KEY NOT NULL,
	`position` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `transaction_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`transaction_id` text NOT NULL,
	`type` text NOT NULL,
	`from_state` text,
	`to_state` text,
	`step_id` text,
	`correlation_id` text NOT NULL,
	`data` text NOT NULL,
	`created_at` text NOT NULL,
	`published_at` text
);
--> statement-breakpoint
CREATE INDEX `transaction_events_tx` ON `transaction_events` (`transaction_id`);--> statement-breakpoint
CREATE INDEX `transaction_events_unpublished` ON `transaction_events` (`published_at`);--> statement-breakpoint
CREATE TABLE `transaction_steps` (
	`transaction_id` text NOT NULL,
	`kind` text NOT NULL,
	`step_id` text NOT NULL,
	`position` integer NOT NULL,
	`operation` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`round_attempts` integer NOT NULL,
	`started_at` text,
	`ended_at` text,
	`latency_ms` integer,
	`outcome` text,
	`attempt_log` text NOT NULL,
	`correlation_id` text NOT NULL,
	PRIMARY KEY(`transaction_id`, `kind`, `step_id`)
);
--> statement-breakpoint
CREATE TABLE `transactions` (
	`id` text PRIMARY KEY NOT NULL,
	`flow` text NOT NULL,
	`partner` text NOT NULL,
	`api` text NOT NULL,
	`version` text NOT NULL,
	`state` text NOT NULL,
	`phase` text NOT NULL,
	`cursor` integer NOT NULL,
	`operator_action` text,
	`correlation_id` text NOT NULL,
	`idempotency_key` text,
	`trace_id` text NOT NULL,
	`tracestate` text,
	`caller_token_id` text NOT NULL,
	`caller_partner` text,
	`mode` text NOT NULL,
	`input` text NOT NULL,
	`plan` text NOT NULL,
	`context` text NOT NULL,
	`sync_step` text,
	`failure` text,
	`time_scale_ppm` integer NOT NULL,
	`next_run_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `transactions_correlation` ON `transactions` (`correlation_id`);--> statement-breakpoint
CREATE INDEX `transactions_idempotency_key` ON `transactions` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `transactions_state_updated` ON `transactions` (`state`,`updated_at`);