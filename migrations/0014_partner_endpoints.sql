CREATE TABLE `partner_endpoints` (
	`partner` text NOT NULL,
	`environment` text NOT NULL,
	`base_url` text NOT NULL,
	`auth_type` text NOT NULL,
	`token_url` text,
	`client_id` text,
	`scope` text,
	`key_id` text,
	`alg` text,
	`secret` text,
	`updated_at` text NOT NULL,
	`updated_by` text NOT NULL,
	PRIMARY KEY(`partner`, `environment`)
);
