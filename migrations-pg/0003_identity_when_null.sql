-- drizzle's SQLite query builder (the one the app's queries are written with) sends NULL for an
-- omitted INTEGER PRIMARY KEY, which SQLite numbers itself; PostgreSQL refuses a NULL identity.
-- Number it here, before the NOT NULL check, from the column's own identity sequence.
CREATE FUNCTION accord_seq_when_null() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq IS NULL THEN
    NEW.seq := nextval(pg_get_serial_sequence(quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), 'seq'));
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER transaction_events_seq_when_null BEFORE INSERT ON transaction_events FOR EACH ROW EXECUTE FUNCTION accord_seq_when_null();
--> statement-breakpoint
CREATE TRIGGER audit_log_seq_when_null BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION accord_seq_when_null();
