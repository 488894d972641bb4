import { isObject, type Json } from '../lib/json.ts';
import type { FillContext, SchemaNode } from './schema-node.ts';

/**
 * oneOf / anyOf / allOf alternatives added and removed, and discriminators. Alternatives are
 * paired as oasdiff pairs them: a `$ref` with the same `$ref`; an inline schema with an equal
 * one first, then with the next remaining inline one of the same title (or none). Paired alternatives are compared
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

const titleOf = (s: unknown): unknown => (isObject(s) ? s.title : undefined);
const refOf = (s: unknown): string | undefined => (isObject(s) && typeof s.$ref === 'string' ? s.$ref : undefined);

/** Keywords that describe a value without constraining it. */
const ANNOTATIONS = new Set(['title', 'description', 'example', 'examples', 'externalDocs', 'deprecated', 'readOnly', 'writeOnly', 'xml', '$comment', 'default', 'nullable']);

/** Whether a schema only annotates: it has keywords, all of them annotations or extensions. */
function annotationOnly(s: unknown): boolean {
  if (!isObject(s)) return false;
  const keys = Object.keys(s);
  return keys.length > 0 && keys.every((k) => ANNOTATIONS.has(k) || k.startsWith('x-'));
}

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
  for (const i of rest) take(i, (j) => refOf(lr[j]) === undefined && titleOf(lr[j]) === titleOf(lb[i]));
  return pairs;
}

/** The name oasdiff gives an alternative: its `$ref`, or its position and title. */
const label = (alt: unknown, index: number) => refOf(alt) ?? `subschema #${index + 1}${typeof titleOf(alt) === 'string' ? `: ${titleOf(alt) as string}` : ''}`;

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
    // An allOf schema that only annotates (as a 3.0 `$ref` with siblings is often written) changes no value.
    const annotating = (side: 'base' | 'revision', alt: unknown) => k === 'allOf' && annotationOnly(c[side].resolve(alt, at).node);
    const report = (change: 'added' | 'removed', side: 'base' | 'revision', list: unknown[], unpaired: Set<number>) => {
      const plain = [...unpaired].filter((i) => !annotating(side, list[i]));
      const notes = [...unpaired].filter((i) => annotating(side, list[i]));
      const text = (ix: number[]) => `${ix.map((i) => label(list[i], i)).join(', ')} ${change === 'added' ? 'added to' : 'removed from'} ${k}`;
      if (plain.length > 0) c.add(`${KEBAB[k]}-${change}`, text(plain));
      if (notes.length > 0) c.add(`${KEBAB[k]}-${change}-annotation-only`, text(notes));
    };
    report('added', 'revision', lr, new Set(lr.map((_, j) => j).filter((j) => !pairedRev.has(j))));
    report('removed', 'base', lb, new Set(lb.map((_, i) => i).filter((i) => !pairedBase.has(i))));
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
