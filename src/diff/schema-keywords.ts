import type { Json } from '../lib/json.ts';
import type { FillContext } from './schema-node.ts';

/**
 * Checks of one schema's own value keywords — type and format, nullability, enum, pattern,
 * default — judged as oasdiff judges them (ids and levels in src/diff/rules/schema.ts).
 */

/** A value as comparable text. */
export function key(value: unknown): string {
  return JSON.stringify(value);
}

/** The JSON types a schema declares, `null` aside (nullability is its own check). */
function typesOf(s: Json): string[] {
  if (typeof s.type === 'string') return s.type === 'null' ? [] : [s.type];
  if (Array.isArray(s.type)) return [...new Set(s.type.filter((t: unknown): t is string => typeof t === 'string' && t !== 'null'))];
  return [];
}

/** Whether null is allowed: OpenAPI 3.0 `nullable: true`, or `null` among 3.1 types. */
function nullable(s: Json): boolean {
  return s.nullable === true || s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null'));
}

const only = (list: string[], type: string) => list.length === 1 && list[0] === type;

/**
 * Whether values of the types in `from` still fit once `to` replaced them: integers are
 * numbers, and where values travel as text (not JSON) anything fits a string or no type.
 */
function typeContains(to: string[], from: string[], strong: boolean): boolean {
  if (only(to, 'number') && only(from, 'integer')) return true;
  return !strong && (to.length === 0 || only(to, 'string'));
}

/** Format changes that only widen what a type accepts. */
const WIDER_FORMAT: Record<string, Array<[string, string]>> = {
  number: [['float', 'double']],
  integer: [['int32', 'int64'], ['int32', 'bigint'], ['int64', 'bigint']],
  string: [['date', 'date-time'], ['time', 'date-time']],
};

function formatContains(types: string[], to: string, from: string): boolean {
  if (types.length !== 1) return false;
  return (WIDER_FORMAT[types[0]!] ?? []).some(([narrow, wide]) => narrow === from && wide === to);
}

const formatOf = (s: Json) => (typeof s.format === 'string' ? s.format : '');
const shown = (types: string[], format: string) => `${types.join('|') || 'any'}${format ? `/${format}` : ''}`;

/**
 * Type (and format) changes, and nullability. Whether old values still fit is computed both
 * for JSON values and for text values (query strings, headers, form bodies): the caller knows
 * which applies where. In a request, a read-only property's type is not the client's concern.
 */
export function compareType(c: FillContext): void {
  const { b, r, req } = c;
  const nb = nullable(b);
  const nr = nullable(r);
  if (nb !== nr) c.add(nr ? 'became-nullable' : 'became-not-nullable', nr ? 'null became allowed' : 'null is no longer allowed');

  if (req && r.readOnly === true) return;
  const tb = typesOf(b);
  const tr = typesOf(r);
  const added = tr.filter((t) => !tb.includes(t));
  const deleted = tb.filter((t) => !tr.includes(t));
  const fb = formatOf(b);
  const fr = formatOf(r);
  const detail = `type changed from ${shown(tb, fb)} to ${shown(tr, fr)}`;
  // A request must accept what clients sent before; a response must send what clients accepted before.
  const fits = (to: string[], from: string[], strong: boolean) => (req ? typeContains(to, from, strong) : typeContains(from, to, strong));
  if (added.length > 0 || deleted.length > 0) {
    const widened = (deleted.length === 0 || (only(tb, 'integer') && only(tr, 'number')) || tr.length === 0) && tb.length > 0;
    const narrowed = (added.length === 0 || (only(tb, 'number') && only(tr, 'integer')) || tb.length === 0) && tr.length > 0;
    c.add('type', detail, { typeChange: { strong: !fits(added, deleted, true), loose: !fits(added, deleted, false), widened, narrowed } });
  } else if (fb !== fr) {
    const widened = fr === '' || formatContains(tr, fr, fb);
    const narrowed = fb === '' || formatContains(tr, fb, fr);
    const breaks = req ? !widened : !narrowed;
    c.add('type', detail, { typeChange: { strong: breaks, loose: breaks, widened, narrowed } });
  }
}

/** enum and x-extensible-enum values added and removed. */
export function compareEnum(c: FillContext): void {
  const { b, r, req } = c;
  const eb: unknown[] | undefined = Array.isArray(b.enum) ? b.enum : undefined;
  const er: unknown[] | undefined = Array.isArray(r.enum) ? r.enum : undefined;
  if (eb || er) {
    const inBase = new Set((eb ?? []).map(key));
    const inRev = new Set((er ?? []).map(key));
    const removed = (eb ?? []).filter((v) => !inRev.has(key(v)));
    const added = (er ?? []).filter((v) => !inBase.has(key(v)));
    const list = (values: unknown[]) => `enum value${values.length > 1 ? 's' : ''} ${values.map(key).join(', ')}`;
    if (!eb && req) c.add('became-enum', `restricted to ${er!.map(key).join(', ')}`);
    if (removed.length > 0) c.add('enum-value-removed', `${list(removed)} removed`, req && r.readOnly === true ? { id: 'request-read-only-property-enum-value-removed' } : {});
    if (added.length > 0) c.add('enum-value-added', `${list(added)} added`, !req && r.writeOnly === true ? { id: 'response-write-only-property-enum-value-added' } : {});
  }
  const xb = b['x-extensible-enum'];
  const xr = r['x-extensible-enum'];
  if (req && r.readOnly !== true && Array.isArray(xb) && Array.isArray(xr)) {
    const inRev = new Set(xr.map(key));
    const removed = xb.filter((v) => !inRev.has(key(v)));
    if (removed.length > 0) c.add('x-extensible-enum-value-removed', `x-extensible-enum value${removed.length > 1 ? 's' : ''} ${removed.map(key).join(', ')} removed`);
  }
}

/** A pattern; an empty pattern is no pattern. */
const patternOf = (s: Json): string | undefined => (typeof s.pattern === 'string' && s.pattern !== '' ? s.pattern : undefined);

/** Patterns added, removed and changed; `.*` accepts anything, so changing to it generalises. */
export function comparePattern(c: FillContext): void {
  const pb = patternOf(c.b);
  const pr = patternOf(c.r);
  if (pb === pr) return;
  if (pb === undefined) c.add('pattern-added', `pattern ${key(pr)} added`);
  else if (pr === undefined) c.add('pattern-removed', `pattern ${key(pb)} removed`);
  else if (c.req && pr === '.*') c.add('pattern-generalized', `pattern changed from ${key(pb)} to ${key(pr)}, which accepts anything`);
  else c.add('pattern-changed', `pattern changed from ${key(pb)} to ${key(pr)}${c.req ? '; needs review' : ''}`);
}

/** Default values set, unset and changed. */
export function compareDefault(c: FillContext): void {
  const db = c.b.default;
  const dr = c.r.default;
  if (key(db) === key(dr)) return;
  if (db === undefined) c.add('default-value-added', `default ${key(dr)} added`);
  else if (dr === undefined) c.add('default-value-removed', `default ${key(db)} removed`);
  else c.add('default-value-changed', `default changed from ${key(db)} to ${key(dr)}`);
}
