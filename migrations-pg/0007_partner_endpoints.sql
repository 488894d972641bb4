CREATE TABLE "partner_endpoints" (
	"partner" text COLLATE "C" NOT NULL,
	"environment" text COLLATE "C" NOT NULL,
	"base_url" text COLLATE "C" NOT NULL,
	"auth_type" text COLLATE "C" NOT NULL,
	"token_url" text COLLATE "C",
	"client_id" text COLLATE "C",
	"scope" text COLLATE "C",
	"key_id" text COLLATE "C",
	"alg" text COLLATE "C",
	"secret" text COLLATE "C",
	"updated_at" text COLLATE "C" NOT NULL,
	"updated_by" text COLLATE "C" NOT NULL,
	CONSTRAINT "partner_endpoints_partner_environment_pk" PRIMARY KEY("partner","environment")
);
