import { escapeSegment, isObject, ownValue, type Json } from '../lib/json.ts';
import { level2020 } from './rules/schema-2020.ts';
import type { RefResolver, SchemaFinding, SchemaNode } from './schema-node.ts';
import type { Direction, Level } from './types.ts';

/**
 * The JSON Schema 2020-12 keywords of OpenAPI 3.1 schemas (src/diff/rules/schema-2020.ts has
 * their rules). SchemaDiffer.fill calls compare2020 last for every node: it adds findings and
 * child nodes for these keywords, and takes over what the older keywords mean in 3.1 — a list
 * of types spelled as a `type` array or as `oneOf`/`anyOf` of plain types, and a schema made
 * nullable by wrapping it in `oneOf`/`anyOf` with `{type: 'null'}`.
 */

/** Keywords this module compares; schema-diff.ts must not report them as unclassified changes. */
export const KEYWORDS_2020 = [
  'const', 'prefixItems', 'contains', 'minContains', 'maxContains', 'patternProperties', 'propertyNames', 'dependentRequired',
  'dependentSchemas', 'if', 'then', 'else', 'not', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema', 'contentEncoding',
  'contentMediaType', '$defs', '$dynamicRef', '$dynamicAnchor',
] as const;

/**
 * Kinds schema-diff.ts reports from `type`, `oneOf`/`anyOf` and nullability that a list of types
 * or a nullable wrap replaces on the same node (the schema only moved its types into a list).
 */
export const TYPE_KINDS = new Set([
  'type', 'type-changed', 'type-widened', 'wrapped-in-one-of', 'wrapped-in-any-of', 'one-of-added', 'one-of-removed', 'any-of-added', 'any-of-removed',
  'one-of-alternative-added', 'one-of-alternative-removed', 'any-of-alternative-added', 'any-of-alternative-removed', 'became-nullable', 'became-not-nullable',
]);

/** What SchemaDiffer hands over for one node (a base and a revision schema, `$ref`s resolved). */
export interface Node2020 {
  node: SchemaNode;
  b: Json;
  r: Json;
  dir: Direction;
  /** Pointer of the schema (revision's, or the named component it lives in). */
  at: string;
  /** Dotted property path for messages. */
  prop: string;
  /** The memoised node comparing two sub-schemas in the same direction (queued to be filled). */
  child: (base: unknown, revision: unknown, location: string, property: string) => SchemaNode;
  base: RefResolver;
  revision: RefResolver;
}

/** JSON text of a value, keys sorted, for equality. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (isObject(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));
}

/** A sub-schema as presence: absent (or `true`, or `{}`, which accept everything), `false`, or a schema. */
function presence(value: unknown): 'absent' | 'false' | 'schema' {
  if (value === undefined || value === true || (isObject(value) && Object.keys(value).length === 0)) return 'absent';
  return value === false ? 'false' : 'schema';
}

interface TypeList {
  types: string[];
  /** `list`: oneOf/anyOf of plain types; `array`: a `type` array; `single`: one type. */
  source: 'list' | 'array' | 'single';
}

/**
 * The list of types a schema spells, as oasdiff's list-of-types checks read it (`oneOf`/`anyOf`
 * whose alternatives each have one type and no properties or composition), plus `type` arrays.
 * Undefined for schemas that are more than a list of types.
 */
function typeList(s: Json, resolver: RefResolver, at: string): TypeList | undefined {
  if (s.not !== undefined || (Array.isArray(s.allOf) && s.allOf.length > 0) || (isObject(s.properties) && Object.keys(s.properties).length > 0)) return undefined;
  if (typeof s.type === 'string') return { types: [s.type], source: 'single' };
  if (Array.isArray(s.type) && s.type.length > 0) return { types: s.type.filter((t: unknown): t is string => typeof t === 'string'), source: 'array' };
  for (const k of ['oneOf', 'anyOf'] as const) {
    const list: unknown[] | undefined = Array.isArray(s[k]) && s[k].length > 0 ? s[k] : undefined;
    if (!list) continue;
    const types: string[] = [];
    for (const alt of list) {
      const a = resolver.resolve(alt, at).node;
      if (!isObject(a) || isObject(a.properties) || a.oneOf || a.anyOf || a.allOf) return undefined;
      const t = typeof a.type === 'string' ? a.type : Array.isArray(a.type) && a.type.length === 1 ? a.type[0] : undefined;
      if (typeof t !== 'string') return undefined;
      types.push(t);
    }
    return { types, source: 'list' };
  }
  return undefined;
}

/** Types of `from` that `to` no longer admits (a type array's integer is covered by number). */
function lostTypes(from: string[], to: string[], covering: boolean): string[] {
  return [...new Set(from)].filter((t) => !to.includes(t) && !(covering && t === 'integer' && to.includes('number')));
}

/** The alternative a `oneOf`/`anyOf` of exactly one schema and `{type: 'null'}` wraps, if the schema is only that. */
function nullWrap(s: Json, resolver: RefResolver, at: string): { key: 'oneOf' | 'anyOf'; index: number; alt: unknown } | undefined {
  if (s.type !== undefined || s.properties !== undefined || s.allOf !== undefined || s.$ref !== undefined) return undefined;
  for (const key of ['oneOf', 'anyOf'] as const) {
    const list = s[key];
    if (!Array.isArray(list) || list.length !== 2 || (key === 'oneOf' ? s.anyOf : s.oneOf) !== undefined) continue;
    const isNull = (alt: unknown) => {
      const a = resolver.resolve(alt, at).node;
      return isObject(a) && (a.type === 'null' || (Array.isArray(a.type) && a.type.length === 1 && a.type[0] === 'null'));
    };
    const index = isNull(list[0]) ? 1 : isNull(list[1]) ? 0 : -1;
    if (index >= 0 && !isNull(list[index])) return { key, index, alt: list[index] };
  }
  return undefined;
}

/** Whether a schema admits null on its own (`type` with null, 3.0 `nullable`). */
function admitsNull(s: Json): boolean {
  return s.nullable === true || s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null'));
}

const NON_NULL = new WeakMap<Json, Json>();

/** A schema without what makes it admit null; one object per schema, so the node memo still recognises it. */
function withoutNull(s: Json): Json {
  if (!admitsNull(s)) return s;
  let rest = NON_NULL.get(s);
  if (!rest) {
    const { nullable: _nullable, ...copy } = s;
    if (Array.isArray(s.type)) copy.type = s.type.filter((t: unknown) => t !== 'null');
    NON_NULL.set(s, (rest = copy));
  }
  return rest;
}

/**
 * Compares the 2020-12 keywords of one node and adds its findings and child nodes. Runs after
 * schema-diff.ts filled the node, because a list of types or a nullable wrap replaces some of
 * what it found there.
 */
export function compare2020(n: Node2020): void {
  const { node, dir, at, prop } = n;
  const add = (kind: string, detail: string, extra: Partial<SchemaFinding> = {}) =>
    node.findings.push({ kind, level: level2020(kind, dir), location: at, property: prop, detail, ...(prop ? { subject: prop } : {}), ...extra });

  typesAndWraps(n, add);
  keywordValues(n, add);
  subSchemas(n, add);
}

type Add = (kind: string, detail: string, extra?: Partial<SchemaFinding>) => void;

/** Lists of types and nullable wraps (they replace what schema-diff.ts made of `type`, `oneOf` and `anyOf`). */
function typesAndWraps(n: Node2020, add: Add): void {
  const { node, b, r, dir, at, prop } = n;
  const req = dir === 'request';
  const lb = typeList(b, n.base, at);
  const lr = typeList(r, n.revision, at);
  const listed = lb && lr && (lb.source === 'list' || lr.source === 'list');
  // A `type` array of several types is a list too; one type (with or without null) is schema-diff.ts's.
  const several = (l: TypeList) => l.source === 'array' && l.types.filter((t) => t !== 'null').length > 1;
  const arrays = lb && lr && !listed && (several(lb) || several(lr));
  if (listed || arrays) {
    // A oneOf/anyOf list counts null as one of its types; beside type arrays nullability is
    // reported on its own (became-nullable), so only the other types are compared.
    const types = (l: TypeList) => (listed ? l.types : l.types.filter((t) => t !== 'null'));
    const added = lostTypes(types(lr!), types(lb!), !listed);
    const deleted = lostTypes(types(lb!), types(lr!), !listed);
    // The same types moved between spellings (oneOf → anyOf) are left to schema-diff.ts, as oasdiff does.
    if (added.length === 0 && deleted.length === 0) return;
    const drop = listed ? TYPE_KINDS : new Set(['type', 'type-changed', 'type-widened']);
    node.findings = node.findings.filter((f) => !drop.has(f.kind));
    const narrowed = req ? deleted.length > 0 : added.length === 0;
    add(narrowed ? 'list-of-types-narrowed' : 'list-of-types-widened', narrowed ? `no longer accepts type ${deleted.join(', ')}` : `may now be of type ${added.join(', ')}`);
    return;
  }
  // A schema wrapped in oneOf/anyOf with {type: 'null'} is the same schema made nullable: compare
  // it with what it wraps, not with the wrapper (which has no type, properties or bounds of its own).
  const wrapped = !b.oneOf && !b.anyOf ? nullWrap(r, n.revision, at) : undefined;
  const unwrapped = !r.oneOf && !r.anyOf ? nullWrap(b, n.base, at) : undefined;
  const wrap = wrapped ?? unwrapped;
  if (!wrap || Object.keys(wrapped ? b : r).length === 0) return;
  node.findings = [];
  node.children = [];
  const loc = `${at}/${wrap.key}/${wrap.index}`;
  const add2 = (kind: string, level: Level, detail: string) => node.findings.push({ kind, level, location: at, property: prop, detail, ...(prop ? { subject: prop } : {}) });
  // The wrapper admits null, so the wrapped schema is compared with the other side's non-null part.
  if (wrapped) {
    if (!admitsNull(b)) add2('became-nullable', req ? 'info' : 'breaking', req ? `now accepts null (wrapped in ${wrap.key} with null)` : `may now be null (wrapped in ${wrap.key} with null)`);
    node.children.push(n.child(withoutNull(b), wrap.alt, loc, prop));
  } else {
    if (!admitsNull(r)) add2('became-not-nullable', req ? 'breaking' : 'info', req ? `no longer accepts null (unwrapped from ${wrap.key} with null)` : `is no longer null (unwrapped from ${wrap.key} with null)`);
    node.children.push(n.child(wrap.alt, withoutNull(r), at, prop));
  }
}

/** Keywords whose values are compared as values: const, contains bounds, dependentRequired, content media type and encoding. */
function keywordValues(n: Node2020, add: Add): void {
  const { b, r } = n;
  const has = (s: Json, k: string) => Object.hasOwn(s, k);
  if (has(b, 'const') || has(r, 'const')) {
    if (!has(b, 'const')) add('const-added', `const ${canonical(r.const)} added`);
    else if (!has(r, 'const')) add('const-removed', `const ${canonical(b.const)} removed`);
    else if (canonical(b.const) !== canonical(r.const)) add('const-changed', `const changed from ${canonical(b.const)} to ${canonical(r.const)}`);
  }

  for (const name of ['min', 'max'] as const) {
    const keyword = `${name}Contains`;
    const vb: unknown = b[keyword];
    const vr: unknown = r[keyword];
    if (vb === vr) continue;
    if (typeof vb === 'number' && typeof vr === 'number') add(`${name}-contains-${vr > vb ? 'increased' : 'decreased'}`, `${keyword} changed from ${vb} to ${vr}`);
    // An absent minContains is 1 and an absent maxContains is unbounded (JSON Schema 2020-12 §10.3.1.4-5).
    else if (typeof vr === 'number' && !(name === 'min' && vr === 1)) add(`${name}-contains-set`, `${keyword} ${vr} set`);
    else if (typeof vb === 'number' && !(name === 'min' && vb === 1)) add(`${name}-contains-unset`, `${keyword} ${vb} removed`);
  }

  const db: Json = isObject(b.dependentRequired) ? b.dependentRequired : {};
  const dr: Json = isObject(r.dependentRequired) ? r.dependentRequired : {};
  const names = (v: unknown) => (Array.isArray(v) ? [...new Set(v.map(String))].sort() : []);
  for (const key of Object.keys(db)) {
    const subject = n.prop ? `${n.prop}.${key}` : key;
    if (!Object.hasOwn(dr, key)) add('dependent-required-removed', `${key} no longer requires ${names(db[key]).join(', ')}`, { subject });
    else if (canonical(names(db[key])) !== canonical(names(dr[key]))) add('dependent-required-changed', `${key} now requires ${names(dr[key]).join(', ') || 'nothing'} instead of ${names(db[key]).join(', ')}`, { subject });
  }
  for (const key of Object.keys(dr)) {
    if (!Object.hasOwn(db, key)) add('dependent-required-added', `${key} now requires ${names(dr[key]).join(', ')}`, { subject: n.prop ? `${n.prop}.${key}` : key });
  }

  for (const [keyword, kind] of [['contentMediaType', 'content-media-type-changed'], ['contentEncoding', 'content-encoding-changed']] as const) {
    if (b[keyword] !== r[keyword]) add(kind, `${keyword} changed from ${canonical(b[keyword]) ?? 'none'} to ${canonical(r[keyword]) ?? 'none'}`);
  }
}

/** Keywords holding sub-schemas: added and removed ones are findings, common ones child nodes. */
function subSchemas(n: Node2020, add: Add): void {
  const { node, b, r, at, prop } = n;
  const single = (keyword: string, kind: string, property: string) => {
    const pb = presence(b[keyword]);
    const pr = presence(r[keyword]);
    if (pb === 'absent' && pr !== 'absent') add(`${kind}-added`, `${keyword} added`);
    else if (pb !== 'absent' && pr === 'absent') add(`${kind}-removed`, `${keyword} removed`);
    else if (pb === 'schema' && pr === 'schema') node.children.push(n.child(b[keyword], r[keyword], `${at}/${keyword}`, property));
  };
  single('contains', 'contains', `${prop}[]`);
  single('propertyNames', 'property-names', `${prop}{name}`);
  single('if', 'if', prop);
  single('then', 'then', prop);
  single('else', 'else', prop);
  single('contentSchema', 'content-schema', prop);

  // unevaluated*: oasdiff's ids for schemas; `false` (nothing more allowed) is Accord's own.
  for (const [keyword, kind, property] of [['unevaluatedItems', 'unevaluated-items', `${prop}[]`], ['unevaluatedProperties', 'unevaluated-properties', `${prop}{}`]] as const) {
    const pb = presence(b[keyword]);
    const pr = presence(r[keyword]);
    if (pb === pr && pb !== 'schema') continue;
    if (pb !== 'false' && pr !== 'false') single(keyword, kind, property);
    else if (pr === 'false') add(`${kind}-disallowed`, `${keyword}: false set`);
    else add(`${kind}-allowed`, pr === 'absent' ? `${keyword}: false removed` : `${keyword}: false replaced by a schema`);
  }

  // `not` inverts: a change inside it means the opposite for the outer schema, so it is one
  // finding for review rather than child findings whose ids would say the opposite.
  const nb = presence(b.not);
  const nr = presence(r.not);
  if (nb === 'absent' && nr !== 'absent') add('not-added', 'not added');
  else if (nb !== 'absent' && nr === 'absent') add('not-removed', 'not removed');
  else if (nb !== 'absent' && canonical(n.base.resolve(b.not, at).node) !== canonical(n.revision.resolve(r.not, at).node)) add('not-changed', 'schema inside not changed; needs review');

  // prefixItems: positional, so position i of the base is compared with position i of the revision.
  const xb: unknown[] = Array.isArray(b.prefixItems) ? b.prefixItems : [];
  const xr: unknown[] = Array.isArray(r.prefixItems) ? r.prefixItems : [];
  if (xr.length > xb.length) add('prefix-items-added', `prefixItems gained position${xr.length - xb.length > 1 ? 's' : ''} ${xb.length}${xr.length - xb.length > 1 ? `–${xr.length - 1}` : ''}`);
  if (xr.length < xb.length) add('prefix-items-removed', `prefixItems lost position${xb.length - xr.length > 1 ? 's' : ''} ${xr.length}${xb.length - xr.length > 1 ? `–${xb.length - 1}` : ''}`);
  for (let i = 0; i < Math.min(xb.length, xr.length); i++) node.children.push(n.child(xb[i], xr[i], `${at}/prefixItems/${i}`, `${prop}[${i}]`));
  if (xb.length > 0 || xr.length > 0) {
    // Next to prefixItems, `items` is about the items after the prefix (the 2019 additionalItems).
    const ib = presence(b.items);
    const ir = presence(r.items);
    if (ib !== ir || (ib !== 'schema' && canonical(b.items) !== canonical(r.items))) {
      node.findings = node.findings.filter((f) => f.kind !== 'items-changed');
      if (ib === 'absent' || ir === 'false') add('items-after-prefix-items-added', ir === 'false' ? 'no items allowed after the prefixItems' : 'items after the prefixItems constrained');
      else add('items-after-prefix-items-removed', ir === 'absent' ? 'items after the prefixItems no longer constrained' : 'items after the prefixItems allowed again');
    }
  }

  // Keyed sub-schemas: patternProperties and dependentSchemas.
  for (const [keyword, kind] of [['patternProperties', 'pattern-property'], ['dependentSchemas', 'dependent-schema']] as const) {
    const mb: Json = isObject(b[keyword]) ? b[keyword] : {};
    const mr: Json = isObject(r[keyword]) ? r[keyword] : {};
    for (const key of Object.keys(mb)) {
      const subject = keyword === 'patternProperties' ? `${prop ? `${prop} ` : ''}properties matching ${key}` : prop ? `${prop}.${key}` : key;
      if (!Object.hasOwn(mr, key)) add(`${kind}-removed`, `${keyword} ${key} removed`, { subject });
      else node.children.push(n.child(mb[key], ownValue(mr, key), `${at}/${keyword}/${escapeSegment(key)}`, keyword === 'patternProperties' ? `${prop}{${key}}` : prop));
    }
    for (const key of Object.keys(mr)) {
      const subject = keyword === 'patternProperties' ? `${prop ? `${prop} ` : ''}properties matching ${key}` : prop ? `${prop}.${key}` : key;
      if (!Object.hasOwn(mb, key)) add(`${kind}-added`, `${keyword} ${key} added`, { subject });
    }
  }
}
