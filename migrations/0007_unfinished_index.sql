DROP INDEX `transactions_state_updated`;--> statement-breakpoint
CREATE INDEX `transactions_unfinished` ON `transactions` (`state`,`updated_at`) WHERE state NOT IN ('completed', 'compensated');