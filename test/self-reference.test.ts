import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitAuthor, SYSTEM } from '../src/auth/principal.ts';
import { canonicalYaml, sha256, type OpenApiDocument } from '../src/contracts/document.ts';
import { versionKey } from '../src/contracts/ids.ts';
import { registerContractVersion } from '../src/contracts/register.ts';
import { ContractSchemas } from '../src/contracts/schema.ts';
import { contractPath, contractTag, markContractsChanged } from '../src/contracts/versions.ts';
import { contractVersions } from '../src/db/index.ts';
import { diffContracts } from '../src/diff/contract-diff.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

type Json = Record<string, any>;

const A = '#/components/schemas/A';
const B = '#/components/schemas/B';

/** A document whose POST /nodes takes a body of schema A, with the given components (3.1 unless said); it follows the reference network's style rules. */
function nodesApi(schemas: Json, version = '1.0.0', openapi = '3.1.0'): Json {
  return {
    openapi,
    info: { title: 'nodes', version },
    security: [{ bearerAuth: [] }],
    paths: { '/nodes': { post: { operationId: 'createNode', summary: 'Create a node', tags: ['nodes'], requestBody: { required: true, content: { 'application/json': { schema: { $ref: A } } } }, responses: { '201': { description: 'created' } } } } },
    components: { schemas, securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
  };
}

/** Self-only forms: [what, document, pointer named, the cycle as the problem spells it]. */
const SELF_ONLY: Array<[string, Json, string, string]> = [
  ['A → A', nodesApi({ A: { $ref: A } }), '/components/schemas/A', '/components/schemas/A → /components/schemas/A'],
  ['A → B → A', nodesApi({ A: { $ref: B }, B: { $ref: A } }), '/components/schemas/A', '/components/schemas/A → /components/schemas/B → /components/schemas/A'],
  ['A → B → A (OpenAPI 3.0)', nodesApi({ A: { $ref: B }, B: { $ref: A } }, '1.0.0', '3.0.3'), '/components/schemas/A', '/components/schemas/A → /components/schemas/B → /components/schemas/A'],
  ['allOf: [self]', nodesApi({ A: { allOf: [{ $ref: A }] } }), '/components/schemas/A', '/components/schemas/A → /components/schemas/A/allOf/0 → /components/schemas/A'],
  ['anyOf with self', nodesApi({ A: { anyOf: [{ type: 'string' }, { $ref: A }] } }), '/components/schemas/A', '/components/schemas/A/anyOf/1 → /components/schemas/A'],
  ['oneOf through B', nodesApi({ A: { oneOf: [{ $ref: B }, { type: 'null' }] }, B: { allOf: [{ $ref: A }], description: 'B' } }), '/components/schemas/A', '/components/schemas/B/allOf/0'],
  ['not', nodesApi({ A: { not: { $ref: A } } }), '/components/schemas/A', '/components/schemas/A/not → /components/schemas/A'],
  ['if / then', nodesApi({ A: { if: { type: 'object' }, then: { $ref: A } } }), '/components/schemas/A', '/components/schemas/A/then → /components/schemas/A'],
  ['dependentSchemas', nodesApi({ A: { type: 'object', dependentSchemas: { x: { $ref: A } } } }), '/components/schemas/A', '/components/schemas/A/dependentSchemas/x → /components/schemas/A'],
  ['$dynamicRef', nodesApi({ A: { $dynamicAnchor: 'node', allOf: [{ $dynamicRef: '#node' }] } }), '/components/schemas/A', '/components/schemas/A/allOf/0 → /components/schemas/A'],
  [
    'inline in the operation',
    { ...nodesApi({}), paths: { '/nodes': { post: { operationId: 'createNode', requestBody: { content: { 'application/json': { schema: { allOf: [{ $ref: '#/paths/~1nodes/post/requestBody/content/application~1json/schema' }] } } } }, responses: { '201': { description: 'created' } } } } } },
    '/paths/~1nodes/post/requestBody/content/application~1json/schema',
    '/paths/~1nodes/post/requestBody/content/application~1json/schema/allOf/0',
  ],
];

/** Recursion that descends into the instance: legitimate, and accepted. */
const RECURSIVE: Array<[string, Json]> = [
  ['a tree node with children', nodesApi({ A: { type: 'object', properties: { children: { type: 'array', items: { $ref: A } } } } })],
  ['a linked list', nodesApi({ A: { type: 'object', properties: { next: { $ref: A } } } })],
  ['anyOf whose self-reference is under items', nodesApi({ A: { anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: A } }] } })],
  ['allOf to B, B descends back to A', nodesApi({ A: { allOf: [{ $ref: B }] }, B: { type: 'object', additionalProperties: { $ref: A } } })],
  ['a tree in OpenAPI 3.0', nodesApi({ A: { type: 'object', properties: { children: { type: 'array', items: { $ref: A } } } } }, '1.0.0', '3.0.3')],
];

/** A deeply nested tree body: {"children":[{"children":[…]}]}, `depth` levels. */
function deepTree(depth: number): string {
  return `${'{"children":['.repeat(depth)}{}${']}'.repeat(depth)}`;
}

/**
 * Commits a version the way a release before the self-reference check did: to the Git registry
 * and the index, without today's validation (which would refuse it).
 */
async function commitAsOldRelease(s: TestService, partner: string, api: string, version: string, doc: Json): Promise<void> {
  const yaml = canonicalYaml(doc);
  const digest = sha256(yaml);
  await s.deps.registry.transaction((tx) =>
    tx.publish(
      { path: contractPath(partner, api, version), content: yaml, tag: contractTag(partner, api, version), message: `Register contract ${partner}/${api} ${version}`, tagMessage: `Contract ${partner}/${api} ${version}`, author: gitAuthor(SYSTEM), at: new Date('2026-01-01T00:00:00Z') },
      async (commit) =>
        await s.deps.db
          .insert(contractVersions)
          .values({ partner, api, version, versionKey: versionKey(version), state: 'released', sha256: digest, commit, tag: contractTag(partner, api, version), sizeBytes: Buffer.byteLength(yaml), createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'old-release' })
          .run(),
    ),
  );
  await markContractsChanged(s.deps.db);
}

describe('schemas that only refer to themselves', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    await commitAsOldRelease(s, 'old-release', 'cycles', '1.0.0', nodesApi({ A: { $ref: A } }));
    await commitAsOldRelease(s, 'old-release', 'cycles', '2.0.0', nodesApi({ A: { allOf: [{ $ref: A }] } }, '2.0.0'));
    await commitAsOldRelease(s, 'old-release', 'cycles', '3.0.0', nodesApi({ A: { $ref: B }, B: { $ref: A } }, '3.0.0', '3.0.3'));
    await registerContractVersion(s.deps, SYSTEM, { partner: 'trees', api: 'nodes', body: JSON.stringify(RECURSIVE[0]![1]), format: 'json', state: 'released' });
  });
  afterAll(async () => await s.cleanup());

  for (const [i, [what, doc, pointer, cycle]] of SELF_ONLY.entries()) {
    it(`registration refuses ${what} with 422 naming the pointer, and writes nothing`, async () => {
      const head = s.git('rev-parse', 'HEAD');
      const res = await s.call('POST', `/v1/contracts/cyclic/nodes-${i}/versions`, { body: JSON.stringify(doc), type: 'application/json' });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = await res.json();
      expect(problem.detail).toContain(pointer);
      expect(problem.errors).toContainEqual(expect.objectContaining({ location: pointer, rule: 'self-reference', message: expect.stringContaining(cycle) }));
      expect(s.git('rev-parse', 'HEAD')).toBe(head);
    });
  }

  for (const [what, doc] of RECURSIVE) {
    it(`registration accepts recursion that descends into the instance: ${what}`, async () => {
      const res = await s.call('POST', `/v1/contracts/recursive/nodes-${RECURSIVE.findIndex(([w]) => w === what)}/versions`, { body: JSON.stringify(doc), type: 'application/json' });
      expect(res.status).toBe(201);
    });
  }

  it('the runtime serving a version stored before the check answers a refusal naming the cycle, never a 500', async () => {
    for (const major of [1, 2, 3]) {
      for (let i = 0; i < 2; i++) {
        const res = await s.call('POST', `/exchange/old-release/cycles/v${major}/nodes`, { body: '{"children":[]}', type: 'application/json' });
        expect(res.status, `v${major}`).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const problem = await res.json();
        expect(problem.errors).toEqual([{ location: 'body', message: expect.stringMatching(/refers only to itself/) }]);
        expect(problem.errors[0].message).toContain('/components/schemas/A → ');
      }
    }
  });

  it('a 100,000-level JSON body is refused with 400 before validation, not a 500', async () => {
    const deep = await s.call('POST', '/exchange/trees/nodes/v1/nodes', { body: deepTree(100_000), type: 'application/json' });
    expect(deep.status).toBe(400);
    expect((await deep.json()).detail).toBe('The body is nested deeper than 256 levels');
    const arrays = await s.call('POST', '/exchange/trees/nodes/v1/nodes', { body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, type: 'application/json' });
    expect(arrays.status).toBe(400);
    // Within the bound, a recursive body is validated as usual (then reaches the reference runtime, which has no handler: 501).
    expect((await s.call('POST', '/exchange/trees/nodes/v1/nodes', { body: deepTree(100), type: 'application/json' })).status).toBe(501);
    const wrong = await s.call('POST', '/exchange/trees/nodes/v1/nodes', { body: deepTree(100).replace('{}', '{"children":5}'), type: 'application/json' });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).errors[0]).toEqual({ location: `body${'/children/0'.repeat(100)}/children`, message: 'must be array' });
  });

  it('a transaction input nested 100,000 levels deep is refused with 400, not a 500', async () => {
    const contract = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as Json;
    const memberMatch = JSON.stringify(contract.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
    // A valid $member-match with a deep extra member (the contract allows extra members), and a deep extra input field.
    for (const input of [`{"memberMatch":${memberMatch.replace('"resourceType":"Parameters"', `"resourceType":"Parameters","deep":${deepTree(100_000)}`)}}`, `{"deep":${deepTree(100_000)},"memberMatch":${memberMatch}}`]) {
      const res = await s.call('POST', '/v1/transactions', { body: `{"flow":"member-match","partner":"northwind-health","input":${input}}`, type: 'application/json', headers: { 'Idempotency-Key': `deep-input-${input.length}-${input.indexOf('deep')}` } });
      expect(res.status).toBe(400);
      expect((await res.json()).errors).toEqual([{ location: '/input', message: 'is nested deeper than 256 levels' }]);
    }
  });

  it('diffs versions with self-only schemas (as read from an old registry) and ends', async () => {
    const res = await s.call('GET', '/v1/contracts/old-release/cycles/diff?from=1.0.0&to=2.0.0');
    expect(res.status).toBe(200);
    const direct = diffContracts(SELF_ONLY[1]![1], SELF_ONLY[3]![1]);
    expect(direct.summary.total).toBeGreaterThan(0);
  });

  it('diffs a chain of 3,000 schemas, each holding the next, without exhausting the stack', async () => {
    const chain = (leaf: string) => {
      const schemas: Json = {};
      for (let i = 0; i < 3000; i++) schemas[`C${i}`] = i === 2999 ? { type: 'object', properties: { v: { type: leaf } } } : { type: 'object', properties: { next: { $ref: `#/components/schemas/C${i + 1}` } } };
      return { ...nodesApi(schemas), paths: { '/nodes': { get: { operationId: 'getNode', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/C0' } } } } } } } } };
    };
    const res = await s.call('POST', '/v1/diff', { body: JSON.stringify({ base: chain('string'), revision: chain('integer') }), type: 'application/json' });
    expect(res.status).toBe(200);
    expect((await res.json()).changes).toEqual([expect.objectContaining({ rule: 'response-property-type-changed', location: '/components/schemas/C2999/properties/v' })]);
  });
});

describe('ContractSchemas: validators of schemas that reach a self-only cycle', () => {
  const doc = nodesApi({ A: { allOf: [{ $ref: A }] }, Ok: { type: 'object', properties: { a: { $ref: A } } }, Fine: { type: 'string' } }) as OpenApiDocument;
  (doc.paths as Json)['/nodes'].post.parameters = [{ name: 'q', in: 'query', schema: { $ref: A } }];

  it('refuse every value naming the cycle, compiled once; other schemas validate as usual', () => {
    const schemas = new ContractSchemas(doc);
    for (const pointer of ['/components/schemas/A', '/components/schemas/Ok', '/paths/~1nodes/post/requestBody/content/application~1json/schema']) {
      const validate = schemas.validator(pointer);
      expect(validate({}), pointer).toBe(false);
      expect(validate.errors?.[0]?.message).toBe("cannot be checked: the contract's schema /components/schemas/A → /components/schemas/A/allOf/0 → /components/schemas/A refers only to itself");
      expect(schemas.validator(pointer)).toBe(validate);
    }
    expect(schemas.compileInline((doc.paths as Json)['/nodes'].post.parameters[0].schema)('x')).toBe(false);
    expect(schemas.validator('/components/schemas/Fine')('x')).toBe(true);
    expect(schemas.validator('/components/schemas/Fine')(1)).toBe(false);
  });
});
