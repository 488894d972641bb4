import { escapeSegment, isObject, type Json } from '../lib/json.ts';
import type { FillContext } from './schema-node.ts';

/**
 * Checks about the properties of an object schema — added, removed, made required or
 * optional, made read-only or write-only — and about a property's own lifecycle
 * (deprecated, x-sunset, x-stability-level). oasdiff names these checks on their own
 * (`new-required-request-property`, `response-optional-property-removed`…), so findings carry
 * the whole rule id. In requests, read-only properties are the server's business; in
 * responses, write-only properties never appear: both get their own informative ids.
 */

/** The property names a schema requires (non-string entries of an invalid document ignored). */
function requiredNames(s: Json): Set<string> {
  return new Set(Array.isArray(s.required) ? s.required.filter((n: unknown): n is string => typeof n === 'string') : []);
}

/** Compares the properties two object schemas declare; properties in both become children. */
export function compareProperties(c: FillContext): void {
  const { b, r, req, dir, at, prop } = c;
  const pb: Json = isObject(b.properties) ? b.properties : {};
  const pr: Json = isObject(r.properties) ? r.properties : {};
  if (Object.keys(pb).length === 0 && Object.keys(pr).length === 0) return;
  const rb = requiredNames(b);
  const rr = requiredNames(r);
  for (const name of new Set([...Object.keys(pb), ...Object.keys(pr)])) {
    // Property names are the author's: `constructor` or `__proto__` is a name like any other.
    const inBase = Object.hasOwn(pb, name);
    const inRev = Object.hasOwn(pr, name);
    const location = `${at}/properties/${escapeSegment(name)}`;
    const path = prop ? `${prop}.${name}` : name;
    const resolved = (side: 'base' | 'revision', raw: unknown): Json => {
      const node = c[side].resolve(raw, location).node;
      return isObject(node) ? node : {};
    };
    const bp = inBase ? resolved('base', pb[name]) : {};
    const rp = inRev ? resolved('revision', pr[name]) : {};
    const add = (id: string, detail: string) => c.add(id, `property ${path} ${detail}`, { id, location, property: path, subject: path, child: true });
    const scope = (required: boolean) => (required ? 'required' : 'optional');

    // As oasdiff: the properties of a map's values (additionalProperties) are compared, not listed.
    if (c.mapValue && inBase !== inRev) continue;
    if (inBase && !inRev) {
      if (req) {
        if (bp.readOnly !== true) add('request-property-removed', 'removed; clients that send it may be refused; needs review');
      } else add(`response-${scope(rb.has(name))}-${bp.writeOnly === true ? 'write-only-' : ''}property-removed`, 'removed');
      continue;
    }
    if (!inBase && inRev) {
      if (req) {
        if (rp.readOnly === true) continue;
        if (!rr.has(name)) add('new-optional-request-property', 'added (optional)');
        else add(rp.default !== undefined ? 'new-required-request-property-with-default' : 'new-required-request-property', `added, required${rp.default !== undefined ? ' with a default' : ''}`);
      } else add(`response-${scope(rr.has(name))}-${rp.writeOnly === true ? 'write-only-' : ''}property-added`, 'added');
      continue;
    }

    const exempt = req ? rp.readOnly === true : rp.writeOnly === true;
    if (!rb.has(name) && rr.has(name)) {
      if (!req) add(`response-${rp.writeOnly === true ? 'write-only-' : ''}property-became-required`, 'became required (always present)');
      else if (!exempt) add(rp.default !== undefined ? 'request-property-became-required-with-default' : 'request-property-became-required', 'became required');
    } else if (rb.has(name) && !rr.has(name)) {
      if (!req) add(`response-${rp.writeOnly === true ? 'write-only-' : ''}property-became-optional`, 'became optional (may be absent)');
      else if (!exempt) add('request-property-became-optional', 'became optional');
    }
    for (const access of ['readOnly', 'writeOnly'] as const) {
      const was = bp[access] === true;
      const is = rp[access] === true;
      if (was !== is) add(`${dir}-${scope(rb.has(name))}-property-became-${is ? '' : 'not-'}${access === 'readOnly' ? 'read-only' : 'write-only'}`, `became ${is ? '' : 'not '}${access}`);
    }
    c.child(pb[name], pr[name], location, path);
  }
}

const STABILITY = ['draft', 'alpha', 'beta', 'stable'];

/** An x-sunset value as a date, or undefined when it is not an RFC 3339 date or date-time. */
function sunsetDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}([Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A property deprecated (with or without a valid sunset), reactivated, or made less stable. */
export function compareLifecycle(c: FillContext): void {
  const { b, r, options } = c;
  if (b.deprecated !== true && r.deprecated === true) {
    const raw = r['x-sunset'];
    if (raw === undefined) c.add(options.requireSunset ? 'deprecated-sunset-missing' : 'deprecated', 'deprecated');
    else {
      const sunset = sunsetDate(raw);
      const today = Date.UTC(options.now.getUTCFullYear(), options.now.getUTCMonth(), options.now.getUTCDate());
      if (!sunset) c.add('deprecated-sunset-invalid', `deprecated with an x-sunset that is not a date: ${JSON.stringify(raw)}`);
      else if (sunset.getTime() < today) c.add('sunset-date-too-small', `deprecated with a sunset date already past: ${sunset.toISOString().slice(0, 10)}`);
      else c.add('deprecated-with-sunset', `deprecated, sunset ${sunset.toISOString().slice(0, 10)}`);
    }
  } else if (b.deprecated === true && r.deprecated !== true) c.add('reactivated', 'no longer deprecated');
  const sb = STABILITY.indexOf(b['x-stability-level']);
  const sr = STABILITY.indexOf(r['x-stability-level']);
  if (sb >= 0 && sr >= 0 && sr !== sb) c.add(sr < sb ? 'stability-decreased' : 'stability-increased', `stability ${sr < sb ? 'lowered' : 'raised'} from ${b['x-stability-level']} to ${r['x-stability-level']}`);
}
