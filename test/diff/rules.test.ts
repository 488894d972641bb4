import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import type { Level } from '../../src/diff/types.ts';

const NOW = new Date('2026-11-27T00:00:00Z');
type Json = Record<string, any>;

/** A minimal 3.1 document with one POST /members operation built from the given parts. */
function spec(parts: { params?: Json[]; body?: Json | null; bodyRequired?: boolean; response?: Json; responses?: Json; op?: Json; doc?: Json; schemas?: Json }): Json {
  const op: Json = {
    operationId: 'createMember',
    parameters: parts.params ?? [],
    responses: parts.responses ?? { '201': { description: 'ok', content: { 'application/json': { schema: parts.response ?? { type: 'object', properties: { id: { type: 'string' } } } } } } },
    ...parts.op,
  };
  if (parts.body !== null) op.requestBody = { required: parts.bodyRequired ?? true, content: { 'application/json': { schema: parts.body ?? { type: 'object', properties: { name: { type: 'string' } } } } } };
  return { openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: { '/members': { post: op } }, components: { schemas: parts.schemas ?? {} }, ...parts.doc };
}

const q = (extra: Json = {}, schema: Json = { type: 'string' }) => ({ name: 'status', in: 'query', required: false, schema, ...extra });
const body = (properties: Json, required: string[] = [], extra: Json = {}) => ({ type: 'object', properties, required, ...extra });

/** [what, base, revision, rule expected, level expected] */
const CASES: Array<[string, Json, Json, string, Level]> = [
  // operations and paths
  ['path removed', spec({}), { ...spec({}), paths: { '/other': spec({}).paths['/members'] } }, 'api-path-removed-without-deprecation', 'breaking'],
  ['operation removed, path kept', { ...spec({}), paths: { '/members': { ...spec({}).paths['/members'], get: { responses: { '200': { description: 'ok' } } } } } }, spec({}), 'api-removed-without-deprecation', 'breaking'],
  ['operation added', spec({}), { ...spec({}), paths: { ...spec({}).paths, '/other': { get: { responses: { '200': { description: 'ok' } } } } } }, 'endpoint-added', 'info'],
  // request parameters
  ['parameter removed', spec({ params: [q()] }), spec({}), 'request-parameter-removed', 'warning'],
  ['required parameter added', spec({}), spec({ params: [q({ required: true })] }), 'new-required-request-parameter', 'breaking'],
  ['optional parameter added', spec({}), spec({ params: [q()] }), 'new-optional-request-parameter', 'info'],
  ['parameter became required', spec({ params: [q()] }), spec({ params: [q({ required: true })] }), 'request-parameter-became-required', 'breaking'],
  ['parameter type changed', spec({ params: [q()] }), spec({ params: [q({}, { type: 'integer' })] }), 'request-parameter-type-changed', 'breaking'],
  ['parameter enum narrowed', spec({ params: [q({}, { type: 'string', enum: ['a', 'b'] })] }), spec({ params: [q({}, { type: 'string', enum: ['a'] })] }), 'request-parameter-enum-value-removed', 'breaking'],
  ['parameter enum widened', spec({ params: [q({}, { type: 'string', enum: ['a'] })] }), spec({ params: [q({}, { type: 'string', enum: ['a', 'b'] })] }), 'request-parameter-enum-value-added', 'info'],
  ['parameter became enum', spec({ params: [q()] }), spec({ params: [q({}, { type: 'string', enum: ['a'] })] }), 'request-parameter-became-enum', 'breaking'],
  ['parameter pattern added', spec({ params: [q()] }), spec({ params: [q({}, { type: 'string', pattern: '^[a-z]+$' })] }), 'request-parameter-pattern-added', 'breaking'],
  ['parameter pattern changed', spec({ params: [q({}, { type: 'string', pattern: '^[a-z]+$' })] }), spec({ params: [q({}, { type: 'string', pattern: '^[a-z0-9]+$' })] }), 'request-parameter-pattern-changed', 'warning'],
  ['parameter minimum raised', spec({ params: [q({}, { type: 'integer', minimum: 1 })] }), spec({ params: [q({}, { type: 'integer', minimum: 5 })] }), 'request-parameter-min-increased', 'breaking'],
  ['parameter maximum lowered', spec({ params: [q({}, { type: 'integer', maximum: 100 })] }), spec({ params: [q({}, { type: 'integer', maximum: 10 })] }), 'request-parameter-max-decreased', 'breaking'],
  ['parameter maxLength lowered', spec({ params: [q({}, { type: 'string', maxLength: 64 })] }), spec({ params: [q({}, { type: 'string', maxLength: 8 })] }), 'request-parameter-max-length-decreased', 'breaking'],
  ['parameter maxItems lowered', spec({ params: [q({}, { type: 'array', items: { type: 'string' }, maxItems: 9 })] }), spec({ params: [q({}, { type: 'array', items: { type: 'string' }, maxItems: 3 })] }), 'request-parameter-max-items-decreased', 'breaking'],
  ['parameter maxLength raised', spec({ params: [q({}, { type: 'string', maxLength: 8 })] }), spec({ params: [q({}, { type: 'string', maxLength: 64 })] }), 'request-parameter-max-length-increased', 'info'],
  // request body and properties
  ['request property became required', spec({ body: body({ name: { type: 'string' } }) }), spec({ body: body({ name: { type: 'string' } }, ['name']) }), 'request-property-became-required', 'breaking'],
  ['new required request property', spec({ body: body({ name: { type: 'string' } }) }), spec({ body: body({ name: { type: 'string' }, dob: { type: 'string' } }, ['dob']) }), 'new-required-request-property', 'breaking'],
  ['new optional request property', spec({ body: body({ name: { type: 'string' } }) }), spec({ body: body({ name: { type: 'string' }, dob: { type: 'string' } }) }), 'new-optional-request-property', 'info'],
  ['request property type changed', spec({ body: body({ age: { type: 'string' } }) }), spec({ body: body({ age: { type: 'integer' } }) }), 'request-property-type-changed', 'breaking'],
  ['request property enum narrowed', spec({ body: body({ s: { enum: ['a', 'b'] } }) }), spec({ body: body({ s: { enum: ['b'] } }) }), 'request-property-enum-value-removed', 'breaking'],
  ['request property became not nullable', spec({ body: body({ s: { type: ['string', 'null'] } }) }), spec({ body: body({ s: { type: 'string' } }) }), 'request-property-became-not-nullable', 'breaking'],
  ['request property became not nullable (3.0 nullable)', { ...spec({ body: body({ s: { type: 'string', nullable: true } }) }), openapi: '3.0.3' }, { ...spec({ body: body({ s: { type: 'string' } }) }), openapi: '3.0.3' }, 'request-property-became-not-nullable', 'breaking'],
  ['request property wrapped in oneOf (its type is gone)', spec({ body: body({ s: { type: 'object', properties: { a: { type: 'string' } } } }) }), spec({ body: body({ s: { oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'string' }] } }) }), 'request-property-type-changed', 'breaking'],
  ['request body removed', spec({}), spec({ body: null }), 'request-body-removed', 'breaking'],
  ['request body made required', spec({ bodyRequired: false }), spec({ bodyRequired: true }), 'request-body-became-required', 'breaking'],
  ['request media type removed', spec({}), (() => { const s = spec({}); s.paths['/members'].post.requestBody.content = { 'application/xml': { schema: { type: 'object' } } }; return s; })(), 'request-body-media-type-removed', 'breaking'],
  ['x-extensible-enum value removed from a request', spec({ body: body({ s: { type: 'string', 'x-extensible-enum': ['a', 'b'] } }) }), spec({ body: body({ s: { type: 'string', 'x-extensible-enum': ['a'] } }) }), 'request-property-x-extensible-enum-value-removed', 'breaking'],
  ['additional properties disallowed', spec({ body: body({ a: { type: 'string' } }) }), spec({ body: body({ a: { type: 'string' } }, [], { additionalProperties: false }) }), 'request-body-additional-properties-disallowed', 'warning'],
  // responses
  ['response success status removed', spec({}), spec({ responses: { '200': { description: 'ok' } } }), 'response-success-status-removed', 'breaking'],
  ['response media type removed', spec({}), spec({ responses: { '201': { description: 'ok', content: { 'application/xml': { schema: { type: 'object' } } } } } }), 'response-media-type-removed', 'breaking'],
  ['optional response property removed', spec({ response: body({ id: { type: 'string' }, name: { type: 'string' } }) }), spec({ response: body({ id: { type: 'string' } }) }), 'response-optional-property-removed', 'warning'],
  ['response required property removed', spec({ response: body({ id: { type: 'string' }, name: { type: 'string' } }, ['name']) }), spec({ response: body({ id: { type: 'string' } }) }), 'response-required-property-removed', 'breaking'],
  ['response property became optional', spec({ response: body({ id: { type: 'string' } }, ['id']) }), spec({ response: body({ id: { type: 'string' } }) }), 'response-property-became-optional', 'breaking'],
  ['response property became nullable', spec({ response: body({ id: { type: 'string' } }) }), spec({ response: body({ id: { type: ['string', 'null'] } }) }), 'response-property-became-nullable', 'breaking'],
  ['response property type changed', spec({ response: body({ id: { type: 'string' } }) }), spec({ response: body({ id: { type: 'integer' } }) }), 'response-property-type-changed', 'breaking'],
  ['response enum widened', spec({ response: body({ s: { type: 'string', enum: ['a'] } }) }), spec({ response: body({ s: { type: 'string', enum: ['a', 'b'] } }) }), 'response-property-enum-value-added', 'warning'],
  ['x-extensible-enum value removed from a request parameter', spec({ params: [q({}, { type: 'string', 'x-extensible-enum': ['a', 'b'] })] }), spec({ params: [q({}, { type: 'string', 'x-extensible-enum': ['a'] })] }), 'request-parameter-x-extensible-enum-value-removed', 'breaking'],
  ['response minimum lowered', spec({ response: body({ n: { type: 'integer', minimum: 1 } }) }), spec({ response: body({ n: { type: 'integer', minimum: 0 } }) }), 'response-property-min-decreased', 'breaking'],
  ['response maxLength raised', spec({ response: body({ n: { type: 'string', maxLength: 8 } }) }), spec({ response: body({ n: { type: 'string', maxLength: 80 } }) }), 'response-property-max-length-increased', 'breaking'],
  ['response property added', spec({ response: body({ id: { type: 'string' } }) }), spec({ response: body({ id: { type: 'string' }, name: { type: 'string' } }) }), 'response-optional-property-added', 'info'],
  // security, webhooks, unclassified
  ['security requirement added', spec({}), spec({ op: { security: [{ oauth: ['write'] }] } }), 'api-security-added', 'info'],
  ['webhook removed', spec({ doc: { webhooks: { memberChanged: { post: { responses: { '200': { description: 'ok' } } } } } } }), spec({}), 'webhook-removed', 'breaking'],
  ['parameter serialization changed', spec({ params: [q({ style: 'form', explode: true })] }), spec({ params: [q({ style: 'form', explode: false })] }), 'request-parameter-serialization-changed', 'warning'],
  ['discriminator changed', spec({ body: body({ a: { type: 'string' } }, [], { discriminator: { propertyName: 'a' } }) }), spec({ body: body({ a: { type: 'string' } }, [], { discriminator: { propertyName: 'kind' } }) }), 'request-body-discriminator-property-name-changed', 'info'],
  ['request property wrapped in anyOf (its type is gone)', spec({ body: body({ s: { type: 'string' } }) }), spec({ body: body({ s: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'string', pattern: '^a' }] } }) }), 'request-property-type-changed', 'breaking'],
  ['request property gains an anyOf alternative', spec({ body: body({ s: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'string', pattern: '^a' }] } }) }), spec({ body: body({ s: { anyOf: [{ type: 'string', maxLength: 3 }, { type: 'string', pattern: '^a' }, { type: 'string', format: 'uuid' }] } }) }), 'request-property-any-of-added', 'info'],
  ['request property wrapped in anyOf that keeps it', spec({ body: body({ s: { type: 'string' } }) }), spec({ body: body({ s: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }) }), 'request-property-list-of-types-widened', 'info'],
  ['apiKey moved from header to query', spec({ doc: { components: { securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'X-Key' } } } } }), spec({ doc: { components: { securitySchemes: { key: { type: 'apiKey', in: 'query', name: 'key' } } } } }), 'security-scheme-changed', 'warning'],
  ['response links changed', spec({ responses: { '201': { description: 'ok', links: { self: { operationId: 'a' } } } } }), spec({ responses: { '201': { description: 'ok', links: { self: { operationId: 'b' } } } } }), 'response-links-changed', 'warning'],
  ['unclassified schema keyword changed', spec({ body: body({ a: { type: 'object', dependencies: { a: ['b'] } } }) }), spec({ body: body({ a: { type: 'object', dependencies: { a: ['c'] } } }) }), 'request-property-schema-changed', 'warning'],
];

describe('Accord diff rules', () => {
  it.each(CASES)('%s → %s', (_, base, revision, rule, level) => {
    const { changes } = diffContracts(base, revision, { now: NOW });
    const hit = changes.find((c) => c.rule === rule);
    expect(hit, `no ${rule} in ${JSON.stringify(changes, null, 2)}`).toBeDefined();
    expect(hit!.level).toBe(level);
    expect(hit!.location.startsWith('/')).toBe(true);
    expect(hit!.message.length).toBeGreaterThan(10);
    // nothing else is breaking unless the case is about a breaking change
    if (level !== 'breaking') expect(changes.filter((c) => c.level === 'breaking')).toEqual([]);
  });

  it('identical documents have no changes and need no bump', () => {
    expect(diffContracts(spec({}), spec({}))).toEqual({ changes: [], summary: { breaking: 0, warning: 0, info: 0, total: 0, distinct: { breaking: 0, warning: 0, info: 0 } }, bump: 'none' });
  });

  it('names the operation, direction and location of each change', () => {
    const { changes } = diffContracts(spec({ body: body({ name: { type: 'string' } }) }), spec({ body: body({ name: { type: 'string' } }, ['name']) }));
    expect(changes).toEqual([
      {
        rule: 'request-property-became-required',
        level: 'breaking',
        direction: 'request',
        method: 'POST',
        path: '/members',
        operationId: 'createMember',
        subject: 'name',
        location: '/paths/~1members/post/requestBody/content/application~1json/schema/properties/name',
        message: 'request body application/json: property name became required',
      },
    ]);
  });

  it('locates changes inside shared components once per affected operation', () => {
    const shared = { Member: body({ id: { type: 'string' }, name: { type: 'string' } }, ['name']) };
    const base = spec({ response: { $ref: '#/components/schemas/Member' }, schemas: shared });
    const rev = spec({ response: { $ref: '#/components/schemas/Member' }, schemas: { Member: body({ id: { type: 'string' }, name: { type: 'string' } }) } });
    const { changes } = diffContracts(base, rev);
    expect(changes).toEqual([expect.objectContaining({ rule: 'response-property-became-optional', location: '/components/schemas/Member/properties/name', message: expect.stringContaining('Member.name') })]);
  });

  it('computes the bump: major for breaking, minor for additions, patch otherwise', () => {
    expect(diffContracts(spec({}), spec({ params: [q({ required: true })] })).bump).toBe('major');
    expect(diffContracts(spec({}), spec({ params: [q()] })).bump).toBe('minor');
    expect(diffContracts(spec({ params: [q({}, { type: 'string', pattern: 'a' })] }), spec({ params: [q({}, { type: 'string', pattern: 'b' })] })).bump).toBe('patch');
  });

  it('does not report reordered oneOf alternatives', () => {
    const alts = [{ type: 'string' }, { type: 'integer' }];
    const { changes } = diffContracts(spec({ body: body({ s: { oneOf: alts } }) }), spec({ body: body({ s: { oneOf: [...alts].reverse() } }) }));
    expect(changes).toEqual([]);
  });

  it('counts a change to a shared schema once in the distinct summary', () => {
    const shared = (required: string[]) => ({ Member: body({ id: { type: 'string' } }, required) });
    const twoOps = (schemas: Json) => {
      const s = spec({ response: { $ref: '#/components/schemas/Member' }, schemas });
      s.paths['/members/{id}'] = { get: { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Member' } } } } } } };
      return s;
    };
    const { summary } = diffContracts(twoOps(shared(['id'])), twoOps(shared([])));
    expect(summary.breaking).toBe(2);
    expect(summary.distinct.breaking).toBe(1);
  });

  it('makes new security requirements breaking when policy is strict', () => {
    const { changes } = diffContracts(spec({}), spec({ op: { security: [{ oauth: ['write'] }] } }), { levels: { 'api-security-added': 'breaking' } });
    expect(changes.find((c) => c.rule === 'api-security-added')!.level).toBe('breaking');
  });
});

describe('deprecation and stability', () => {
  const withOp = (op: Json) => spec({ op });
  const gone = { ...spec({}), paths: { '/other': spec({}).paths['/members'] } };
  it.each([
    ['deprecated with a future sunset → removed-before-sunset, breaking', { deprecated: true, 'x-sunset': '2027-06-30' }, 'api-path-removed-before-sunset', 'breaking'],
    ['deprecated with a past sunset → not breaking', { deprecated: true, 'x-sunset': '2026-01-31' }, 'api-removed-after-sunset', 'info'],
    ['deprecated without sunset → not breaking', { deprecated: true }, 'api-path-removed-with-deprecation', 'info'],
    ['not deprecated → breaking', {}, 'api-path-removed-without-deprecation', 'breaking'],
    ['alpha → may change freely', { 'x-stability-level': 'alpha' }, 'api-removed-unstable', 'info'],
  ] as const)('removing an operation: %s', (_, op, rule, level) => {
    const { changes } = diffContracts(withOp(op), gone, { now: NOW });
    expect(changes.find((c) => c.method === 'POST')).toMatchObject({ rule, level });
  });

  it('parameters deprecated with a future sunset may not be removed yet', () => {
    const base = spec({ params: [q({ deprecated: true, 'x-sunset': '2027-01-01' })] });
    expect(diffContracts(base, spec({}), { now: NOW }).changes[0]).toMatchObject({ rule: 'request-parameter-removed-before-sunset', level: 'breaking' });
    expect(diffContracts(base, spec({}), { now: new Date('2027-02-01') }).changes[0]).toMatchObject({ rule: 'request-parameter-removed-after-sunset', level: 'info' });
  });

  it('alpha and draft operations change freely; an invalid stability level is an error', () => {
    const base = withOp({ 'x-stability-level': 'draft' });
    const rev = spec({ op: { 'x-stability-level': 'draft' }, body: body({ name: { type: 'string' } }, ['name']) });
    const { changes } = diffContracts(base, rev);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every((c) => c.level !== 'breaking')).toBe(true);
    expect(diffContracts(spec({}), withOp({ 'x-stability-level': 'experimental' })).changes[0]).toMatchObject({ rule: 'api-invalid-stability-level', level: 'breaking' });
    expect(diffContracts(withOp({ 'x-stability-level': 'stable' }), withOp({ 'x-stability-level': 'beta' })).changes[0]).toMatchObject({ rule: 'api-stability-decreased', level: 'breaking' });
  });
});

describe('real specs', () => {
  it('handles recursive schemas without recursing forever', () => {
    const tree = (extra: Json) => ({ Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Node' } }, ...extra } } });
    const base = spec({ response: { $ref: '#/components/schemas/Node' }, schemas: tree({}) });
    const rev = spec({ response: { $ref: '#/components/schemas/Node' }, schemas: tree({ label: { type: 'string' } }) });
    expect(diffContracts(base, rev).changes).toEqual([expect.objectContaining({ rule: 'response-optional-property-added', location: '/components/schemas/Node/properties/label' })]);
  });

  it("diffs Stripe's spec (circular $refs, 374 → 390 operations) without an exception", () => {
    const dir = path.resolve(import.meta.dirname, '../../../shared/corpus/large');
    const base = JSON.parse(fs.readFileSync(path.join(dir, 'stripe-base.json'), 'utf8'));
    const rev = JSON.parse(fs.readFileSync(path.join(dir, 'stripe-revision.json'), 'utf8'));
    const result = diffContracts(base, rev, { now: NOW });
    expect(result.bump).toBe('major');
    expect(result.changes.filter((c) => c.rule === 'endpoint-added').length).toBeGreaterThanOrEqual(16);
    expect(result.summary.breaking).toBeGreaterThan(0);
  });
});
