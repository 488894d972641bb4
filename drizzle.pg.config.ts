import { defineConfig } from 'drizzle-kit';

// The PostgreSQL schema and migrations (ADR 0016); drizzle.config.ts is SQLite's.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema-pg',
  out: './migrations-pg',
});
