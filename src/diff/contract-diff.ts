import type { OpenApiDocument } from '../contracts/document.ts';
import { listOperations, type LocatedOperation } from '../contracts/operations.ts';
import { escapeSegment as escape, isObject, ownValue, type Json } from '../lib/json.ts';
import { RefResolver, SchemaDiffer, type SchemaNode } from './schema-diff.ts';
import { LEVEL_ORDER, summarise, type Change, type DiffResult, type Direction, type Level } from './types.ts';

export interface DiffOptions {
  /** "Now" for sunset dates (inject for tests). */
  now?: Date;
  /** Treat new security requirements as breaking (oasdiff and the default rate them a warning). */
  strictSecurity?: boolean;
}


const STABILITY = ['draft', 'alpha', 'beta', 'stable'] as const;


/** Path template with parameter names erased, so /pets/{id} and /pets/{petId} match. */
function routeKey(method: string, path: string): string {
  return `${method} ${path.replace(/\{[^}]+\}/g, '{}')}`;
}

function paramKey(p: Json, path: string): string {
  if (p.in === 'path') {
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    return `path:#${names.indexOf(p.name)}`;
  }
  return `${p.in}:${p.in === 'header' ? String(p.name).toLowerCase() : p.name}`;
}

const PARAM_DOC_KEYS = new Set(['name', 'in', 'description', 'example', 'examples', 'deprecated', 'required', 'schema', 'content']);

/** The fields of an object other than the given ones and vendor extensions, as comparable JSON. */
function remainder(node: Json | undefined, ignore: Set<string>): string {
  if (!isObject(node)) return 'null';
  return JSON.stringify(Object.fromEntries(Object.entries(node).filter(([k]) => !ignore.has(k) && !k.startsWith('x-')).sort(([a], [b]) => a.localeCompare(b))));
}

function sunsetOf(node: Json): Date | undefined {
  const raw = node['x-sunset'];
  if (typeof raw !== 'string') return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function isUnstable(op: Json): boolean {
  return op['x-stability-level'] === 'draft' || op['x-stability-level'] === 'alpha';
}

function paramSchema(p: Json): unknown {
  if (p.schema !== undefined) return p.schema;
  if (isObject(p.content)) return Object.values(p.content).find(isObject)?.schema;
  return undefined;
}

interface OperationContext {
  method: string;
  path: string;
  operationId: string | undefined;
  /** JSON pointer of the operation in the revision (base for removals). */
  at: string;
}

/**
 * Compares two OpenAPI 3.x documents operation by operation and classifies every difference
 * that can affect a partner: breaking, warning (needs review) or info. Pure: the same
 * documents and `now` give the same result. Documents need not be strictly valid.
 */
export function diffContracts(baseDoc: unknown, revisionDoc: unknown, options: DiffOptions = {}): DiffResult {
  const now = options.now ?? new Date();
  const base = (isObject(baseDoc) ? baseDoc : {}) as OpenApiDocument;
  const rev = (isObject(revisionDoc) ? revisionDoc : {}) as OpenApiDocument;
  const schemas = new SchemaDiffer(base, rev);
  const baseRefs = new RefResolver(base);
  const revRefs = new RefResolver(rev);
  const changes: Change[] = [];

  const emit = (ctx: OperationContext | undefined, rule: string, level: Level, direction: Direction, location: string, message: string) =>
    changes.push({
      rule,
      level,
      direction,
      ...(ctx ? { method: ctx.method, path: ctx.path, ...(ctx.operationId ? { operationId: ctx.operationId } : {}) } : {}),
      location,
      message,
    });

  /** Emits every finding reachable from the schema roots of one operation and direction. */
  const gather = (ctx: OperationContext, direction: Direction, roots: Array<{ node: SchemaNode; target: string; subject: string }>, unstable: boolean) => {
    const seen = new Set<SchemaNode>();
    for (const root of roots) {
      const stack = [root.node];
      while (stack.length > 0) {
        const node = stack.pop()!;
        if (seen.has(node)) continue;
        seen.add(node);
        for (const f of node.findings) {
          const propertyKind = /^(required-)?property-(?!names-)/.test(f.kind); // property-names-* is about the schema, not a property
          const target = propertyKind ? '' : node === root.node || root.target !== 'body' ? `${root.target}-` : 'property-';
          const where = !propertyKind && f.property ? ` ${f.property}` : '';
          emit(ctx, `${direction}-${target}${f.kind}`, unstable && f.level === 'breaking' ? 'info' : f.level, direction, f.location, `${root.subject}${where}: ${f.detail}`);
        }
        for (const child of node.children) stack.push(child);
      }
    }
  };

  const baseOps = new Map(listOperations(base).map((o) => [routeKey(o.method, o.path), o]));
  const revOps = new Map(listOperations(rev).map((o) => [routeKey(o.method, o.path), o]));
  const revPaths = new Set([...revOps.values()].map((o) => o.path.replace(/\{[^}]+\}/g, '{}')));

  for (const [k, b] of baseOps) {
    if (revOps.has(k)) continue;
    const ctx = context(b, 'base');
    const pathGone = !revPaths.has(b.path.replace(/\{[^}]+\}/g, '{}'));
    const what = pathGone ? 'path' : 'operation';
    const sunset = sunsetOf(b.operation);
    if (isUnstable(b.operation)) emit(ctx, `api-${what}-removed`, 'info', 'request', ctx.at, `${b.method.toUpperCase()} ${b.path} removed (${b.operation['x-stability-level']}: may change freely)`);
    else if (b.operation.deprecated === true && sunset && sunset > now) {
      emit(ctx, 'api-removed-before-sunset', 'breaking', 'request', ctx.at, `${b.method.toUpperCase()} ${b.path} removed before its sunset ${b.operation['x-sunset']}`);
    } else if (b.operation.deprecated === true) {
      emit(ctx, `api-${what}-removed-with-deprecation`, 'info', 'request', ctx.at, `deprecated ${b.method.toUpperCase()} ${b.path} removed${sunset ? ` after its sunset ${b.operation['x-sunset']}` : ''}`);
    } else emit(ctx, `api-${what}-removed-without-deprecation`, 'breaking', 'request', ctx.at, `${b.method.toUpperCase()} ${b.path} removed without deprecation`);
  }

  for (const [k, r] of revOps) {
    const ctx = context(r, 'revision');
    const stability = r.operation['x-stability-level'];
    if (stability !== undefined && !STABILITY.includes(stability)) {
      emit(ctx, 'api-invalid-stability-level', 'breaking', 'request', `${ctx.at}/x-stability-level`, `x-stability-level ${JSON.stringify(stability)} is not one of ${STABILITY.join(', ')}`);
    }
    const b = baseOps.get(k);
    if (!b) {
      emit(ctx, 'api-operation-added', 'info', 'request', ctx.at, `${r.method.toUpperCase()} ${r.path} added`);
      continue;
    }
    compareOperation(b, r, ctx);
  }

  function context(o: LocatedOperation, side: 'base' | 'revision'): OperationContext {
    void side;
    return { method: o.method.toUpperCase(), path: o.path, operationId: o.operationId, at: `/paths/${escape(o.path)}/${o.method}` };
  }

  function compareOperation(b: LocatedOperation, r: LocatedOperation, ctx: OperationContext): void {
    const unstable = isUnstable(b.operation);
    const level = (l: Level): Level => (unstable && l === 'breaking' ? 'info' : l);
    const at = ctx.at;

    const bs = b.operation['x-stability-level'];
    const rs = r.operation['x-stability-level'];
    if (STABILITY.includes(bs) && STABILITY.includes(rs) && STABILITY.indexOf(rs) < STABILITY.indexOf(bs)) {
      emit(ctx, 'api-stability-decreased', 'breaking', 'request', `${at}/x-stability-level`, `stability decreased from ${bs} to ${rs}`);
    }
    if (b.operation.deprecated !== true && r.operation.deprecated === true) {
      emit(ctx, 'endpoint-deprecated', 'info', 'request', `${at}/deprecated`, `${ctx.method} ${ctx.path} deprecated${r.operation['x-sunset'] ? ` (sunset ${r.operation['x-sunset']})` : ''}`);
    } else if (b.operation.deprecated === true && r.operation.deprecated !== true) {
      emit(ctx, 'endpoint-reactivated', 'info', 'request', `${at}/deprecated`, `${ctx.method} ${ctx.path} is no longer deprecated`);
    }

    // Parameters.
    const bp = new Map(b.parameters.map((p) => [paramKey(p, b.path), p]));
    const rp = new Map(r.parameters.map((p) => [paramKey(p, r.path), p]));
    const requestRoots: Array<{ node: SchemaNode; target: string; subject: string }> = [];
    for (const [k, p] of bp) {
      const subject = `${p.in} parameter ${p.name}`;
      const q = rp.get(k);
      if (!q) {
        const sunset = sunsetOf(p);
        if (isUnstable(b.operation)) emit(ctx, 'request-parameter-removed', 'info', 'request', at, `${subject} removed (unstable operation)`);
        else if (p.deprecated === true && sunset && sunset > now) emit(ctx, 'request-parameter-removed-before-sunset', 'breaking', 'request', at, `${subject} removed before its sunset ${p['x-sunset']}`);
        else if (p.deprecated === true) emit(ctx, 'request-parameter-removed-with-deprecation', 'info', 'request', at, `deprecated ${subject} removed`);
        else emit(ctx, 'request-parameter-removed', 'breaking', 'request', at, `${subject} removed`);
        continue;
      }
      if (p.required !== true && q.required === true) emit(ctx, 'request-parameter-became-required', level('breaking'), 'request', at, `${subject} became required`);
      if (p.required === true && q.required !== true && q.in !== 'path') emit(ctx, 'request-parameter-became-optional', 'info', 'request', at, `${subject} became optional`);
      if (p.deprecated !== true && q.deprecated === true) emit(ctx, 'request-parameter-deprecated', 'info', 'request', at, `${subject} deprecated`);
      if (remainder(p, PARAM_DOC_KEYS) !== remainder(q, PARAM_DOC_KEYS)) emit(ctx, 'request-parameter-serialization-changed', 'warning', 'request', at, `${subject}: style, explode or other serialization changed; needs review`);
      const idx = r.parameters.indexOf(q);
      requestRoots.push({ node: schemas.compare(paramSchema(p), paramSchema(q), 'request', `${at}/parameters/${idx}/schema`, ''), target: 'parameter', subject });
    }
    for (const [k, q] of rp) {
      if (bp.has(k)) continue;
      const subject = `${q.in} parameter ${q.name}`;
      if (q.required === true) emit(ctx, 'new-required-request-parameter', level('breaking'), 'request', at, `new required ${subject}`);
      else emit(ctx, 'request-parameter-added', 'info', 'request', at, `optional ${subject} added`);
    }

    // Request body.
    const bb = baseRefs.resolve(b.operation.requestBody, at).node as Json | undefined;
    const rb = revRefs.resolve(r.operation.requestBody, at).node as Json | undefined;
    const bodyAt = `${at}/requestBody`;
    if (isObject(bb) && !isObject(rb)) emit(ctx, 'request-body-removed', level('breaking'), 'request', bodyAt, 'request body removed');
    else if (!isObject(bb) && isObject(rb)) {
      if (rb.required === true) emit(ctx, 'request-body-added-required', level('breaking'), 'request', bodyAt, 'required request body added');
      else emit(ctx, 'request-body-added', 'info', 'request', bodyAt, 'optional request body added');
    } else if (isObject(bb) && isObject(rb)) {
      if (bb.required !== true && rb.required === true) emit(ctx, 'request-body-became-required', level('breaking'), 'request', bodyAt, 'request body became required');
      const cb: Json = isObject(bb.content) ? bb.content : {};
      const cr: Json = isObject(rb.content) ? rb.content : {};
      for (const media of Object.keys(cb)) {
        if (!Object.hasOwn(cr, media)) emit(ctx, 'request-body-media-type-removed', level('breaking'), 'request', `${bodyAt}/content`, `request media type ${media} removed`);
        else {
          requestRoots.push({ node: schemas.compare(cb[media]?.schema, cr[media]?.schema, 'request', `${bodyAt}/content/${escape(media)}/schema`, ''), target: 'body', subject: `request body ${media}` });
          if (JSON.stringify(cb[media]?.encoding ?? null) !== JSON.stringify(cr[media]?.encoding ?? null)) emit(ctx, 'request-body-encoding-changed', 'warning', 'request', `${bodyAt}/content/${escape(media)}/encoding`, `request media type ${media} encoding changed; needs review`);
        }
      }
      for (const media of Object.keys(cr)) if (!Object.hasOwn(cb, media)) emit(ctx, 'request-body-media-type-added', 'info', 'request', `${bodyAt}/content/${escape(media)}`, `request media type ${media} added`);
    }
    gather(ctx, 'request', requestRoots, unstable);

    // Responses.
    const responseRoots: Array<{ node: SchemaNode; target: string; subject: string }> = [];
    const rsB: Json = isObject(b.operation.responses) ? b.operation.responses : {};
    const rsR: Json = isObject(r.operation.responses) ? r.operation.responses : {};
    for (const status of Object.keys(rsB)) {
      const respAt = `${at}/responses/${escape(status)}`;
      if (!Object.hasOwn(rsR, status)) {
        if (/^2/.test(status)) emit(ctx, 'response-success-status-removed', level('breaking'), 'response', respAt, `success status ${status} removed`);
        else emit(ctx, 'response-non-success-status-removed', 'info', 'response', respAt, `status ${status} removed`);
        continue;
      }
      const ob = baseRefs.resolve(rsB[status], respAt).node;
      const or = revRefs.resolve(rsR[status], respAt).node;
      if (!isObject(ob) || !isObject(or)) continue;
      const hb: Json = isObject(ob.headers) ? ob.headers : {};
      const hr: Json = isObject(or.headers) ? or.headers : {};
      const lower = (h: Json) => new Map(Object.entries(h).map(([n, v]) => [n.toLowerCase(), { name: n, value: v }]));
      const hbl = lower(hb);
      const hrl = lower(hr);
      for (const [n, { name, value }] of hbl) {
        const header = baseRefs.resolve(value, respAt).node as Json;
        if (!hrl.has(n)) {
          if (isObject(header) && header.required === true) emit(ctx, 'required-response-header-removed', level('breaking'), 'response', `${respAt}/headers`, `response ${status} required header ${name} removed`);
          else emit(ctx, 'optional-response-header-removed', 'warning', 'response', `${respAt}/headers`, `response ${status} optional header ${name} removed; needs review`);
          continue;
        }
        const other = revRefs.resolve(hrl.get(n)!.value, respAt).node as Json;
        if (isObject(header) && isObject(other)) {
          if (header.required === true && other.required !== true) emit(ctx, 'response-header-became-optional', level('breaking'), 'response', `${respAt}/headers/${escape(name)}`, `response ${status} header ${name} became optional`);
          responseRoots.push({ node: schemas.compare(header.schema, other.schema, 'response', `${respAt}/headers/${escape(hrl.get(n)!.name)}/schema`, ''), target: 'header', subject: `response ${status} header ${name}` });
        }
      }
      for (const [n, { name }] of hrl) if (!hbl.has(n)) emit(ctx, 'response-header-added', 'info', 'response', `${respAt}/headers/${escape(name)}`, `response ${status} header ${name} added`);
      if (JSON.stringify(ob.links ?? null) !== JSON.stringify(or.links ?? null)) emit(ctx, 'response-links-changed', 'warning', 'response', `${respAt}/links`, `response ${status} links changed; needs review`);
      const cb: Json = isObject(ob.content) ? ob.content : {};
      const cr: Json = isObject(or.content) ? or.content : {};
      for (const media of Object.keys(cb)) {
        if (!Object.hasOwn(cr, media)) emit(ctx, 'response-media-type-removed', level('breaking'), 'response', `${respAt}/content`, `response ${status} media type ${media} removed`);
        else responseRoots.push({ node: schemas.compare(cb[media]?.schema, cr[media]?.schema, 'response', `${respAt}/content/${escape(media)}/schema`, ''), target: 'body', subject: `response ${status} ${media}` });
      }
      for (const media of Object.keys(cr)) if (!Object.hasOwn(cb, media)) emit(ctx, 'response-media-type-added', 'info', 'response', `${respAt}/content/${escape(media)}`, `response ${status} media type ${media} added`);
    }
    for (const status of Object.keys(rsR)) if (!Object.hasOwn(rsB, status)) emit(ctx, 'response-status-added', 'info', 'response', `${at}/responses/${escape(status)}`, `status ${status} added`);
    gather(ctx, 'response', responseRoots, unstable);

    // Security requirements on the operation.
    compareSecurity(b.operation.security, r.operation.security, ctx, `${at}/security`);

    // Anything else on the operation that changed and is not documentation.
    for (const k of ['callbacks', 'servers']) {
      if (JSON.stringify(b.operation[k]) !== JSON.stringify(r.operation[k])) emit(ctx, `operation-${k}-changed`, 'warning', 'request', `${at}/${k}`, `${k} changed; needs review`);
    }
  }

  function compareSecurity(bsec: unknown, rsec: unknown, ctx: OperationContext | undefined, location: string): void {
    const norm = (s: unknown) => (Array.isArray(s) ? s.filter(isObject).map((req) => JSON.stringify(Object.fromEntries(Object.entries(req).sort(([a], [b]) => a.localeCompare(b))))) : []);
    const before = new Set(norm(bsec));
    const after = new Set(norm(rsec));
    const scope = ctx ? '' : 'global ';
    for (const req of after) {
      if (!before.has(req)) {
        emit(ctx, ctx ? 'api-security-added' : 'api-global-security-added', options.strictSecurity ? 'breaking' : 'warning', 'request', location, `${scope}security requirement ${req} added; clients without these credentials will be refused`);
      }
    }
    for (const req of before) if (!after.has(req)) emit(ctx, ctx ? 'api-security-removed' : 'api-global-security-removed', 'info', 'request', location, `${scope}security requirement ${req} removed`);
  }

  compareSecurity(base.security, rev.security, undefined, '/security');
  const schemesB: Json = isObject(base.components) && isObject(base.components.securitySchemes) ? base.components.securitySchemes : {};
  const schemesR: Json = isObject(rev.components) && isObject(rev.components.securitySchemes) ? rev.components.securitySchemes : {};
  for (const [name, raw] of Object.entries(schemesB)) {
    const at = `/components/securitySchemes/${escape(name)}`;
    const b = baseRefs.resolve(raw, at).node as Json;
    const r = revRefs.resolve(ownValue(schemesR, name), at).node as Json | undefined;
    if (!isObject(r)) {
      if (!Object.hasOwn(schemesR, name)) emit(undefined, 'security-scheme-removed', 'warning', 'request', at, `security scheme ${name} removed; needs review`);
      continue;
    }
    const how = (s: Json) => JSON.stringify([s.type, s.in, s.name, s.scheme]);
    if (how(b) !== how(r)) emit(undefined, 'security-scheme-changed', 'breaking', 'request', at, `security scheme ${name} changed how clients send credentials (${how(b)} → ${how(r)})`);
    else if (remainder(b, new Set(['description'])) !== remainder(r, new Set(['description']))) emit(undefined, 'security-scheme-changed', 'warning', 'request', at, `security scheme ${name} changed; needs review`);
  }
  if (JSON.stringify(base.servers ?? null) !== JSON.stringify(rev.servers ?? null)) emit(undefined, 'api-servers-changed', 'warning', 'request', '/servers', 'servers changed; needs review');

  // Webhooks (3.1): the API calls the client.
  const wb: Json = isObject(base.webhooks) ? base.webhooks : {};
  const wr: Json = isObject(rev.webhooks) ? rev.webhooks : {};
  for (const name of Object.keys(wb)) {
    if (!Object.hasOwn(wr, name)) emit(undefined, 'webhook-removed', 'breaking', 'response', `/webhooks/${escape(name)}`, `webhook ${name} removed`);
    else if (JSON.stringify(wb[name]) !== JSON.stringify(wr[name])) emit(undefined, 'webhook-changed', 'warning', 'response', `/webhooks/${escape(name)}`, `webhook ${name} changed; needs review`);
  }
  for (const name of Object.keys(wr)) if (!Object.hasOwn(wb, name)) emit(undefined, 'webhook-added', 'info', 'response', `/webhooks/${escape(name)}`, `webhook ${name} added`);

  changes.sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || (a.path ?? '').localeCompare(b.path ?? '') || (a.method ?? '').localeCompare(b.method ?? '') || a.location.localeCompare(b.location));
  return summarise(changes);
}
