import { isObject, type Json } from '../lib/json.ts';
import type { FillContext, SchemaNode } from './schema-diff.ts';

/**
 * oneOf / anyOf / allOf alternatives added and removed, and discriminators. Alternatives are
 * paired as oasdiff pairs them: a `$ref` with the same `$ref`; an inline schema with an equal
 * one first, then with the remaining inline ones in order. Paired alternatives are compared
 * as children; the others are added or removed.
 */

const KEBAB = { oneOf: 'one-of', anyOf: 'any-of', allOf: 'all-of' } as const;

/**
 * A cheap likeness of an inline schema (its own keywords and the names below them) to pair
 * equal alternatives without serialising deep schemas at every level.
 */
function likeness(s: unknown): string {
  if (!isObject(s)) return JSON.stringify(s ?? null);
  return JSON.stringify(Object.entries(s).map(([k, v]) => [k, isObject(v) ? Object.keys(v) : v]));
}

const refOf = (s: unknown): string | undefined => (isObject(s) && typeof s.$ref === 'string' ? s.$ref : undefined);

/** Pairs of (base index, revision index) of the alternatives that correspond. */
function pairAlternatives(lb: unknown[], lr: unknown[]): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  const freeRev = new Set(lr.map((_, j) => j));
  const take = (i: number, match: (j: number) => boolean) => {
    for (const j of freeRev) {
      if (!match(j)) continue;
      pairs.push([i, j]);
      freeRev.delete(j);
      return true;
    }
    return false;
  };
  const inline: number[] = [];
  lb.forEach((alt, i) => {
    const ref = refOf(alt);
    if (ref !== undefined) take(i, (j) => refOf(lr[j]) === ref);
    else inline.push(i);
  });
  const rest = inline.filter((i) => !take(i, (j) => refOf(lr[j]) === undefined && likeness(lr[j]) === likeness(lb[i])));
  for (const i of rest) take(i, (j) => refOf(lr[j]) === undefined);
  return pairs;
}

/** The name oasdiff gives an alternative: its `$ref`, or its position. */
const label = (alt: unknown, index: number) => refOf(alt) ?? `subschema #${index + 1}`;

/** Alternatives of oneOf, anyOf and allOf added and removed; paired ones compared. */
export function compareComposition(c: FillContext): void {
  const { b, r, at, prop } = c;
  for (const k of ['oneOf', 'anyOf', 'allOf'] as const) {
    const lb: unknown[] = Array.isArray(b[k]) ? b[k] : [];
    const lr: unknown[] = Array.isArray(r[k]) ? r[k] : [];
    if (lb.length === 0 && lr.length === 0) continue;
    const pairs = pairAlternatives(lb, lr);
    for (const [i, j] of pairs) c.child(lb[i], lr[j], `${at}/${k}/${j}`, prop);
    const pairedBase = new Set(pairs.map(([i]) => i));
    const pairedRev = new Set(pairs.map(([, j]) => j));
    const added = lr.flatMap((alt, j) => (pairedRev.has(j) ? [] : [label(alt, j)]));
    const removed = lb.flatMap((alt, i) => (pairedBase.has(i) ? [] : [label(alt, i)]));
    if (added.length > 0) c.add(`${KEBAB[k]}-added`, `${added.join(', ')} added to ${k}`);
    if (removed.length > 0) c.add(`${KEBAB[k]}-removed`, `${removed.join(', ')} removed from ${k}`);
  }
}

/** Discriminators added, removed, renamed, and their mappings changed. */
export function compareDiscriminator(c: FillContext): void {
  const db: Json | undefined = isObject(c.b.discriminator) ? c.b.discriminator : undefined;
  const dr: Json | undefined = isObject(c.r.discriminator) ? c.r.discriminator : undefined;
  if (!db && !dr) return;
  if (!db) return c.add('discriminator-added', `discriminator ${JSON.stringify(dr!.propertyName)} added`);
  if (!dr) return c.add('discriminator-removed', `discriminator ${JSON.stringify(db.propertyName)} removed`);
  if (db.propertyName !== dr.propertyName) c.add('discriminator-property-name-changed', `discriminator property changed from ${JSON.stringify(db.propertyName)} to ${JSON.stringify(dr.propertyName)}`);
  const mb: Json = isObject(db.mapping) ? db.mapping : {};
  const mr: Json = isObject(dr.mapping) ? dr.mapping : {};
  const added = Object.keys(mr).filter((k) => !Object.hasOwn(mb, k));
  const deleted = Object.keys(mb).filter((k) => !Object.hasOwn(mr, k));
  const changed = Object.keys(mb).filter((k) => Object.hasOwn(mr, k) && mb[k] !== mr[k]);
  if (added.length > 0) c.add('discriminator-mapping-added', `discriminator mapping ${added.join(', ')} added`);
  if (deleted.length > 0) c.add('discriminator-mapping-deleted', `discriminator mapping ${deleted.join(', ')} removed`);
  if (changed.length > 0) c.add('discriminator-mapping-changed', `discriminator mapping ${changed.join(', ')} changed`);
}

/** Findings a JSON Schema 2020-12 list-of-types finding on the same node reports better (as oasdiff does). */
const SHADOWED = new Set(['type', 'one-of-added', 'one-of-removed', 'any-of-added', 'any-of-removed']);

/** Drops the type and alternative findings of a node whose list of types changed (src/diff/schema-2020.ts reports that). */
export function dropShadowed(node: SchemaNode): void {
  if (node.findings.some((f) => f.kind.startsWith('list-of-types-'))) node.findings = node.findings.filter((f) => !SHADOWED.has(f.kind));
}
