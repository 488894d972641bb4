/**
 * SQLite's JSON functions as the app calls them, for PostgreSQL: `json_extract(text, text)`,
 * `json_each(text)`, `json_array_length(text)`, and the `group_concat` aggregate. JSON stays text
 * in both databases; these read it with PostgreSQL's `json` type (not `jsonb`), which keeps the
 * text as written: member order, duplicate keys and number spelling, as SQLite sees them.
 *
 * What they return is what SQLite returns, as text: a JSON string without its quotes, a number
 * as SQLite would print it (integers as written, reals as the shortest text that reads back to
 * the same double), true and false as 1 and 0, JSON null as NULL, an object or an array as its
 * JSON text without whitespace. Known differences: SQLite also reads JSON5 (unquoted keys,
 * trailing commas), PostgreSQL refuses it as malformed; json_each has no `id` and `parent`
 * columns (SQLite's are byte offsets into its own parse).
 */
export const JSON_FUNCTIONS_SQL = String.raw`
-- Whitespace outside strings removed, as SQLite prints JSON it returns.
CREATE FUNCTION accord_compat.json_minify(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(t, E'("(?:[^"\\\\]|\\\\.)*")|[ \\t\\n\\r]+', E'\\1', 'g');
--> statement-breakpoint
-- A JSON number as SQLite returns it: an integer (no '.', 'e' or 'E', within 64 bits) as
-- written; any other number as a double (infinite → NULL); "+ 0" turns -0 into 0, as SQLite prints it.
CREATE FUNCTION accord_compat.json_number(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN t !~ '[.eE]' AND abs(t::numeric) <= 9223372036854775807 THEN (t::numeric)::text
  WHEN abs(t::numeric) > 1.7976931348623157e308 THEN NULL
  ELSE (t::float8 + 0)::text
END;
--> statement-breakpoint
-- The value SQLite's json_extract and json_each give for one JSON value, as text.
CREATE FUNCTION accord_compat.json_value(v json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE json_typeof(v)
  WHEN 'string' THEN v #>> '{}'
  WHEN 'number' THEN accord_compat.json_number(btrim(v::text, E' \t\n\r'))
  WHEN 'boolean' THEN CASE WHEN btrim(v::text, E' \t\n\r') = 'true' THEN '1' ELSE '0' END
  WHEN 'null' THEN NULL
  ELSE accord_compat.json_minify(v::text)
END;
--> statement-breakpoint
-- SQLite's json_each type column: null, true, false, integer, real, text, array, object.
CREATE FUNCTION accord_compat.json_type(v json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE json_typeof(v)
  WHEN 'string' THEN 'text'
  WHEN 'number' THEN CASE WHEN v::text ~ '[.eE]' THEN 'real' ELSE 'integer' END
  WHEN 'boolean' THEN btrim(v::text, E' \t\n\r')
  ELSE json_typeof(v)
END;
--> statement-breakpoint
-- json_extract(doc, path) with SQLite's path syntax: $, .key, ."quoted key", [n], [#-n]. A
-- lookup that finds nothing answers NULL without reading the rest of the path (SQLite does the
-- same); a malformed path or document is an error. Of duplicate keys the first counts, as in SQLite.
CREATE FUNCTION json_extract(doc text, path text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  node json := doc::json;
  n int := length(path);
  i int := 2;
  j int;
  step text;
  idx numeric;
BEGIN
  IF left(path, 1) <> '$' THEN
    RAISE EXCEPTION 'bad JSON path: %', quote_literal(path) USING ERRCODE = '22023';
  END IF;
  WHILE i <= n LOOP
    IF substr(path, i, 1) = '.' AND substr(path, i + 1, 1) = '"' THEN
      j := strpos(substr(path, i + 2), '"');
      IF j = 0 THEN RAISE EXCEPTION 'bad JSON path: %', quote_literal(path) USING ERRCODE = '22023'; END IF;
      step := substr(path, i + 2, j - 1);
      i := i + j + 2;
    ELSIF substr(path, i, 1) = '.' THEN
      step := substring(substr(path, i + 1) FROM E'^[^.\\[]*');
      IF step = '' THEN RAISE EXCEPTION 'bad JSON path: %', quote_literal(path) USING ERRCODE = '22023'; END IF;
      i := i + 1 + length(step);
    ELSIF substr(path, i, 1) = '[' THEN
      step := substring(substr(path, i) FROM E'^\\[(#-[0-9]+|#|[0-9]+)\\]');
      IF step IS NULL THEN RAISE EXCEPTION 'bad JSON path: %', quote_literal(path) USING ERRCODE = '22023'; END IF;
      i := i + length(step) + 2;
      IF json_typeof(node) <> 'array' THEN RETURN NULL; END IF;
      idx := CASE WHEN step LIKE '#%' THEN json_array_length(node) - coalesce(nullif(substr(step, 3), '')::numeric, 0) ELSE step::numeric END;
      IF idx < 0 OR idx >= json_array_length(node) THEN RETURN NULL; END IF;
      node := node -> idx::int;
      CONTINUE;
    ELSE
      RAISE EXCEPTION 'bad JSON path: %', quote_literal(path) USING ERRCODE = '22023';
    END IF;
    IF json_typeof(node) <> 'object' THEN RETURN NULL; END IF;
    node := (SELECT e.value FROM pg_catalog.json_each(node) WITH ORDINALITY AS e(key, value, n) WHERE e.key = step ORDER BY e.n LIMIT 1);
    IF node IS NULL THEN RETURN NULL; END IF;
  END LOOP;
  RETURN accord_compat.json_value(node);
END
$fn$;
--> statement-breakpoint
-- json_each(doc): one row per element of an array or member of an object (one row for a
-- scalar, none for NULL), in document order, with SQLite's key, value, type, atom, fullkey, path.
CREATE FUNCTION json_each(doc text) RETURNS TABLE (key text, value text, type text, atom text, fullkey text, path text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE ROWS 10 AS $fn$
DECLARE
  root json := doc::json;
BEGIN
  IF doc IS NULL THEN RETURN; END IF;
  IF json_typeof(root) = 'object' THEN
    RETURN QUERY SELECT e.key, accord_compat.json_value(e.value), accord_compat.json_type(e.value),
        CASE WHEN json_typeof(e.value) IN ('object', 'array') THEN NULL ELSE accord_compat.json_value(e.value) END,
        -- SQLite quotes a key in fullkey unless it is an ASCII letter followed by ASCII letters and digits.
        '$.' || CASE WHEN e.key ~ '^[A-Za-z][A-Za-z0-9]*$' THEN e.key ELSE '"' || e.key || '"' END, '$'
      FROM pg_catalog.json_each(root) WITH ORDINALITY AS e(key, value, n) ORDER BY e.n;
  ELSIF json_typeof(root) = 'array' THEN
    RETURN QUERY SELECT (e.n - 1)::text, accord_compat.json_value(e.value), accord_compat.json_type(e.value),
        CASE WHEN json_typeof(e.value) IN ('object', 'array') THEN NULL ELSE accord_compat.json_value(e.value) END,
        '$[' || (e.n - 1) || ']', '$'
      FROM json_array_elements(root) WITH ORDINALITY AS e(value, n) ORDER BY e.n;
  ELSE
    RETURN QUERY SELECT NULL::text, accord_compat.json_value(root), accord_compat.json_type(root), accord_compat.json_value(root), '$', '$';
  END IF;
END
$fn$;
--> statement-breakpoint
-- json_array_length(doc): the length of an array, 0 for anything else, NULL for NULL.
CREATE FUNCTION json_array_length(doc text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN json_typeof(doc::json) = 'array' THEN json_array_length(doc::json) ELSE 0 END;
--> statement-breakpoint
-- group_concat(value [, separator]): the non-NULL values joined by the separator (',' unless
-- given; a NULL separator joins with nothing), NULL when there are none; in the order rows
-- arrive, which neither database promises.
CREATE FUNCTION accord_compat.group_concat_step(acc text, value text, separator text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN value IS NULL THEN acc WHEN acc IS NULL THEN value ELSE acc || coalesce(separator, '') || value END;
--> statement-breakpoint
CREATE FUNCTION accord_compat.group_concat_step(acc text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN accord_compat.group_concat_step(acc, value, ',');
--> statement-breakpoint
CREATE AGGREGATE group_concat(text) (SFUNC = accord_compat.group_concat_step, STYPE = text);
--> statement-breakpoint
CREATE AGGREGATE group_concat(text, text) (SFUNC = accord_compat.group_concat_step, STYPE = text);
`;
