import { escapeSegment as escape, isObject, type Json } from '../lib/json.ts';
import { canonical, objectAt, type DiffEngine, type OperationContext, type SchemaRoot } from './context.ts';

/**
 * Request bodies, responses, response headers and media types of one operation in both
 * documents. Schemas found on both sides become comparison roots for the schema differ; a
 * schema on one side only is reported here (as oasdiff does), not compared keyword by keyword.
 */

/** A media type name split as RFC 6838 does: type, subtype, structured suffix and parameters. */
interface MediaTypeName {
  type: string;
  subtype: string;
  suffix: string;
  parameters: string;
}

function parseMediaType(name: string): MediaTypeName | undefined {
  const [essence = '', ...params] = name.split(';');
  const [type, sub, ...rest] = essence.trim().toLowerCase().split('/');
  if (!type || !sub || rest.length > 0) return undefined;
  const plus = sub.lastIndexOf('+');
  const parameters = params.map((p) => p.trim().toLowerCase().replace(/\s*=\s*/, '=')).filter(Boolean).sort().join(';');
  return { type, subtype: plus > 0 ? sub.slice(0, plus) : sub, suffix: plus > 0 ? sub.slice(plus + 1) : '', parameters };
}

/** Whether `narrow` can be read where `wide` was expected: the same type, or a `+suffix` of it (application/problem+json of application/json). */
function contains(wide: MediaTypeName, narrow: MediaTypeName): boolean {
  if (wide.type !== narrow.type || wide.type === '*' || wide.subtype === '*' || narrow.subtype === '*') return false;
  if (wide.suffix === '' && narrow.suffix === wide.subtype) return true;
  return wide.subtype === narrow.subtype && wide.suffix === narrow.suffix;
}

/** Media types of the base and revision paired: same name first, then a renamed one to a related name. */
function pairMediaTypes(cb: Json, cr: Json): { pairs: Array<[string, string]>; removed: string[]; added: string[] } {
  const pairs: Array<[string, string]> = [];
  const removed: string[] = [];
  const free = new Set(Object.keys(cr).filter((m) => !Object.hasOwn(cb, m)));
  for (const m of Object.keys(cb)) {
    if (Object.hasOwn(cr, m)) {
      pairs.push([m, m]);
      continue;
    }
    const mb = parseMediaType(m);
    const match = mb && [...free].find((n) => {
      const mr = parseMediaType(n);
      return mr !== undefined && (contains(mb, mr) || contains(mr, mb));
    });
    if (match) {
      pairs.push([m, match]);
      free.delete(match);
    } else removed.push(m);
  }
  return { pairs, removed, added: [...free] };
}

/** Whether a media type constrains its bodies: the boolean schema `true` accepts anything, like no schema. */
function hasSchema(media: unknown): boolean {
  return isObject(media) && media.schema !== undefined && media.schema !== null && media.schema !== true;
}

/** Compares the request bodies of an operation; schemas on both sides are added to `roots`. */
export function compareRequestBody(engine: DiffEngine, ctx: OperationContext, b: Json, r: Json, roots: SchemaRoot[]): void {
  const bodyAt = `${ctx.at}/requestBody`;
  const op = `${ctx.method} ${ctx.path}`;
  const bb = engine.baseRefs.resolve(b.requestBody, bodyAt).node;
  const rb = engine.revRefs.resolve(r.requestBody, bodyAt).node;
  if (isObject(bb) && !isObject(rb)) return engine.report(ctx, 'request-body-removed', bodyAt, 'request body removed', op);
  if (!isObject(bb) && isObject(rb)) {
    if (rb.required === true) engine.report(ctx, 'request-body-added-required', bodyAt, 'required request body added', op);
    else engine.report(ctx, 'request-body-added-optional', bodyAt, 'optional request body added', op);
    return;
  }
  if (!isObject(bb) || !isObject(rb)) return;
  if (bb.required !== true && rb.required === true) engine.report(ctx, 'request-body-became-required', `${bodyAt}/required`, 'request body became required', op);
  else if (bb.required === true && rb.required !== true) engine.report(ctx, 'request-body-became-optional', `${bodyAt}/required`, 'request body became optional', op);
  const cb = objectAt(bb, 'content');
  const cr = objectAt(rb, 'content');
  const { pairs, removed, added } = pairMediaTypes(cb, cr);
  for (const m of removed) engine.report(ctx, 'request-body-media-type-removed', `${bodyAt}/content`, `request media type ${m} removed`, m);
  for (const m of added) engine.report(ctx, 'request-body-media-type-added', `${bodyAt}/content/${escape(m)}`, `request media type ${m} added`, m);
  for (const [mb, mr] of pairs) {
    const at = `${bodyAt}/content/${escape(mr)}`;
    const [sb, sr] = [hasSchema(cb[mb]), hasSchema(cr[mr])];
    if (!sb && sr) engine.report(ctx, 'request-body-media-type-schema-added', `${at}/schema`, `request media type ${mr} now has a schema: bodies it does not allow are refused`, mr);
    else if (sb && !sr) engine.report(ctx, 'request-body-media-type-schema-removed', at, `request media type ${mr} no longer has a schema`, mr);
    else if (sb && sr) roots.push({ node: engine.schemas.compare(cb[mb].schema, cr[mr].schema, 'request', `${at}/schema`, ''), target: 'body', subject: `request body ${mr}`, media: mr });
    if (canonical(cb[mb]?.encoding) !== canonical(cr[mr]?.encoding)) engine.report(ctx, 'request-body-encoding-changed', `${at}/encoding`, `request media type ${mr} encoding changed; needs review`, mr);
  }
}

/** oasdiff judges only numeric statuses (not `2XX` or `default`); 2xx are the success ones. */
function statusKind(status: string): 'success' | 'non-success' | undefined {
  if (!/^[1-5]\d\d$/.test(status)) return undefined;
  return status.startsWith('2') ? 'success' : 'non-success';
}

/** Compares the responses of an operation (statuses, headers, links, media types, schemas). */
export function compareResponses(engine: DiffEngine, ctx: OperationContext, b: Json, r: Json): void {
  const roots: SchemaRoot[] = [];
  const rsB = objectAt(b, 'responses');
  const rsR = objectAt(r, 'responses');
  for (const status of Object.keys(rsB)) {
    const respAt = `${ctx.at}/responses/${escape(status)}`;
    if (!Object.hasOwn(rsR, status)) {
      const kind = statusKind(status);
      if (kind) engine.report(ctx, `response-${kind}-status-removed`, respAt, `${kind === 'success' ? 'success ' : ''}status ${status} removed`, `status ${status}`);
      continue;
    }
    const ob = engine.baseRefs.resolve(rsB[status], respAt).node;
    const or = engine.revRefs.resolve(rsR[status], respAt).node;
    if (!isObject(ob) || !isObject(or)) continue;
    compareHeaders(engine, ctx, status, respAt, objectAt(ob, 'headers'), objectAt(or, 'headers'), roots);
    if (canonical(ob.links) !== canonical(or.links)) engine.report(ctx, 'response-links-changed', `${respAt}/links`, `response ${status} links changed; needs review`, `status ${status}`);
    const cb = objectAt(ob, 'content');
    const cr = objectAt(or, 'content');
    const { pairs, removed, added } = pairMediaTypes(cb, cr);
    for (const m of removed) engine.report(ctx, 'response-media-type-removed', `${respAt}/content`, `response ${status} media type ${m} removed`, `${m} (status ${status})`);
    for (const m of added) engine.report(ctx, 'response-media-type-added', `${respAt}/content/${escape(m)}`, `response ${status} media type ${m} added`, `${m} (status ${status})`);
    for (const [mb, mr] of pairs) {
      const at = `${respAt}/content/${escape(mr)}`;
      const subject = `${mr} (status ${status})`;
      if (mb !== mr) {
        const [nb, nr] = [parseMediaType(mb)!, parseMediaType(mr)!];
        const rule = nb.parameters !== nr.parameters ? 'response-media-type-name-changed' : contains(nb, nr) ? 'response-media-type-name-specialized' : 'response-media-type-name-generalized';
        engine.report(ctx, rule, at, `response ${status} media type ${mb} changed to ${mr}`, subject);
      }
      const [sb, sr] = [hasSchema(cb[mb]), hasSchema(cr[mr])];
      if (!sb && sr) engine.report(ctx, 'response-body-media-type-schema-added', `${at}/schema`, `response ${status} media type ${mr} now has a schema`, subject);
      else if (sb && !sr) engine.report(ctx, 'response-body-media-type-schema-removed', at, `response ${status} media type ${mr} no longer has a schema; needs review`, subject);
      else if (sb && sr) roots.push({ node: engine.schemas.compare(cb[mb].schema, cr[mr].schema, 'response', `${at}/schema`, ''), target: 'body', subject: `response ${status} ${mr}`, media: mr });
    }
  }
  for (const status of Object.keys(rsR)) {
    const kind = statusKind(status);
    if (!Object.hasOwn(rsB, status) && kind) engine.report(ctx, `response-${kind}-status-added`, `${ctx.at}/responses/${escape(status)}`, `${kind === 'success' ? 'success ' : ''}status ${status} added`, `status ${status}`);
  }
  engine.gather(ctx, 'response', roots, ctx.unstable === true);
}

/** Response headers, matched case-insensitively as HTTP header names are (RFC 9110 §5.1). */
function compareHeaders(engine: DiffEngine, ctx: OperationContext, status: string, respAt: string, hb: Json, hr: Json, roots: SchemaRoot[]): void {
  const lower = (h: Json) => new Map(Object.entries(h).map(([n, v]) => [n.toLowerCase(), { name: n, value: v as unknown }]));
  const hbl = lower(hb);
  const hrl = lower(hr);
  for (const [n, { name, value }] of hbl) {
    const subject = `response header ${name} (status ${status})`;
    const header = engine.baseRefs.resolve(value, respAt).node;
    const revision = hrl.get(n);
    if (!revision) {
      if (isObject(header) && header.required === true) engine.report(ctx, 'required-response-header-removed', `${respAt}/headers`, `response ${status} required header ${name} removed`, subject);
      else engine.report(ctx, 'optional-response-header-removed', `${respAt}/headers`, `response ${status} optional header ${name} removed; needs review`, subject);
      continue;
    }
    const other = engine.revRefs.resolve(revision.value, respAt).node;
    if (!isObject(header) || !isObject(other)) continue;
    const at = `${respAt}/headers/${escape(revision.name)}`;
    if (header.required === true && other.required !== true) engine.report(ctx, 'response-header-became-optional', `${at}/required`, `response ${status} header ${name} became optional`, subject);
    roots.push({ node: engine.schemas.compare(header.schema, other.schema, 'response', `${at}/schema`, ''), target: 'header', subject: `response ${status} header ${name}` });
  }
  for (const [n, { name }] of hrl) if (!hbl.has(n)) engine.report(ctx, 'response-header-added', `${respAt}/headers/${escape(name)}`, `response ${status} header ${name} added`, `response header ${name} (status ${status})`);
}
