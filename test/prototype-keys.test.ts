import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../src/auth/principal.ts';
import { registerContractVersion } from '../src/contracts/register.ts';
import { jsonTextDeeperThan, nestedDeeperThan, ownValue, valueAt } from '../src/lib/json.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/**
 * Names every object inherits (`constructor`, `toString`, `__proto__`…) are compared like any
 * other name wherever Accord handles user data: JSON pointers, registration, the control
 * matrix, the runtime's validation and its reference partners.
 */

const PROTO_API = `openapi: 3.1.0
info: {title: inherited names, version: 1.0.0}
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [constructor, toString, __proto__]
              additionalProperties: false
              properties:
                constructor: {}
                toString: {}
                __proto__: {type: string}
      responses:
        '201': {description: created}
  /things/{__proto__}/parts/{constructor}:
    get:
      operationId: getPart
      parameters:
        - {name: __proto__, in: path, required: true, schema: {type: string, pattern: '^[a-z]+$'}}
        - {name: constructor, in: path, required: true, schema: {type: string}}
        - {name: toString, in: query, required: true, schema: {type: string}}
      responses:
        '200': {description: ok}
`;

describe('JSON pointers read own properties only', () => {
  it('valueAt and ownValue never answer what an object inherits', () => {
    const doc = JSON.parse('{"components":{"schemas":{"__proto__":{"type":"string"}}},"list":[1]}');
    expect(valueAt(doc, '/components/schemas/__proto__')).toEqual({ type: 'string' });
    for (const pointer of ['/constructor', '/components/toString', '/components/schemas/constructor', '/components/schemas/hasOwnProperty', '/list/length', '/list/constructor', '/components/schemas/__proto__/__proto__']) {
      expect(valueAt(doc, pointer), pointer).toBeUndefined();
    }
    expect(valueAt(doc, '/components/schemas/%E0', { uriFragment: true })).toBeUndefined();
    expect(valueAt(doc, 'components')).toBeUndefined();
    expect(ownValue({}, 'valueOf')).toBeUndefined();
  });
});

describe('inherited names over HTTP', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    // Registered as the seed registers contracts older than the network's style rules: this one is about names, not style.
    await registerContractVersion(s.deps, SYSTEM, { partner: 'proto-partner', api: 'things', body: PROTO_API, format: 'yaml', state: 'released', lintErrorsAsWarnings: true });
  });
  afterAll(async () => await s.cleanup());

  const send = (method: string, url: string, body?: string) => s.call(method, `/exchange/proto-partner/things/v1${url}`, { ...(body === undefined ? {} : { body, type: 'application/json' }) });

  it('registration refuses a $ref to a component named like an inherited property that does not exist', async () => {
    const dangling = PROTO_API.replace('__proto__: {type: string}', "__proto__: {$ref: '#/components/schemas/constructor'}").replace('version: 1.0.0', 'version: 1.1.0');
    const res = await s.call('POST', '/v1/contracts/proto-partner/dangling/versions', { body: dangling, type: 'application/yaml' });
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors).toContainEqual(expect.objectContaining({ location: '/paths/~1things/post/requestBody/content/application~1json/schema/properties/__proto__/$ref', message: expect.stringContaining('points to nothing') }));
    expect((await s.call('GET', '/v1/contracts/proto-partner/dangling/versions')).status).toBe(404);
  });

  it('a body missing required constructor, toString and __proto__ is refused, naming each', async () => {
    const res = await send('POST', '/things', '{}');
    expect(res.status).toBe(400);
    const messages = JSON.stringify((await res.json()).errors);
    for (const name of ['constructor', 'toString', '__proto__']) expect(messages).toContain(`must have required property '${name}'`);
  });

  it('a body with a property named __proto__ is checked against that property\'s schema, and accepted when it matches', async () => {
    const wrong = await send('POST', '/things', '{"constructor": 1, "toString": "x", "__proto__": 5}');
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).errors).toEqual([{ location: 'body/__proto__', message: 'must be string' }]);
    // Valid: it reaches the reference runtime, which has no handler for this operation (501), past validation.
    const valid = await send('POST', '/things', '{"constructor": 1, "toString": "x", "__proto__": "y"}');
    expect(valid.status).toBe(501);
  });

  it('path parameters named __proto__ and constructor are read as the request gives them', async () => {
    expect((await send('GET', '/things/abc/parts/x?toString=y')).status).toBe(501);
    const bad = await send('GET', '/things/ABC/parts/x?toString=y');
    expect(bad.status).toBe(400);
    expect(JSON.stringify((await bad.json()).errors)).toContain('path.__proto__');
    const missing = await send('GET', '/things/abc/parts/x');
    expect(missing.status).toBe(400);
    expect((await missing.json()).errors).toEqual([{ location: 'query.toString', message: 'is required' }]);
  });

  it('a partner named constructor is not mistaken for a reference partner with a member directory', async () => {
    const contract = fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml'), 'utf8');
    await registerContractVersion(s.deps, SYSTEM, { partner: 'constructor', api: 'p2p-exchange', body: contract, format: 'yaml', state: 'released' });
    const example = (await import('../src/lib/yaml.ts')).parseYaml(contract, { maxAliases: 0 }) as any;
    const body = example.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example;
    const res = await s.call('POST', '/exchange/constructor/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(body), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'constructor-match-1' } });
    expect(res.status).toBe(422);
    expect((await res.json()).issue[0].diagnostics).toBe('constructor has no member directory in the reference network');
  });

  it('a control-matrix pointer to /__proto__ is not found in a request schema that does not declare it', async () => {
    const entry = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/acknowledgement.yaml'), 'utf8').replace('businessKeys: [/exportJobId, /memberId]', 'businessKeys: [/exportJobId, /__proto__, /constructor]');
    const res = await s.call('PUT', '/v1/control-matrix/acknowledgement', { body: entry, type: 'application/yaml' });
    expect(res.status).toBe(422);
    const errors = (await res.json()).errors as Array<{ rule: string; location: string }>;
    expect(errors.filter((e) => e.rule === 'matrix/pointer-missing').map((e) => e.location)).toEqual(['/idempotency/businessKeys/1', '/idempotency/businessKeys/2']);
  });
});

describe('JSON nesting measured on the text', () => {
  it('agrees with the parsed data, strings and escapes included', () => {
    const cases = ['{}', '[]', '1', '"[[[["', '{"a":"]]]}}}","b":[[{}]]}', '{"a":"\\"[[[[[["}', '[[[[[]]]]]', `${'['.repeat(5)}${']'.repeat(5)}`, '{"k":{"k":{"k":{}}}}'];
    for (const text of cases) for (const max of [0, 1, 2, 3, 4, 5]) expect(jsonTextDeeperThan(text, max), `${text} ${max}`).toBe(nestedDeeperThan(JSON.parse(text), max));
  });
});

describe('JSON nesting measured on the text, past the bracket-count shortcut', () => {
  it('counts exactly when there are more brackets than the limit', () => {
    const flat = `[${'[],'.repeat(300)}[]]`;
    expect(jsonTextDeeperThan(flat, 256)).toBe(false);
    expect(jsonTextDeeperThan(`${'['.repeat(258)}${']'.repeat(258)}`, 256)).toBe(true);
    expect(jsonTextDeeperThan(`${'['.repeat(257)}${']'.repeat(257)}`, 256)).toBe(false);
    expect(jsonTextDeeperThan(`{"s":"${'['.repeat(400)}"}`, 256)).toBe(false);
  });
});
