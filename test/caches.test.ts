import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalYaml, type OpenApiDocument } from '../src/contracts/document.ts';
import { CONTRACT_SCHEMAS_BYTES_PER_YAML_BYTE, contractSchemasCache, contractSchemasOf } from '../src/contracts/schema.ts';
import { PARSED_BYTES_PER_YAML_BYTE, parsedDocuments } from '../src/contracts/versions.ts';
import { parsedMatrixDocuments } from '../src/matrix/store.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/** The smallest budget ACCORD_CACHE_MAX_BYTES accepts. */
const BUDGET = 1024 * 1024;

/** An OpenAPI document of about `paths` × 300 bytes of YAML, its version in info.version. */
function documentWith(paths: number, version: string): OpenApiDocument {
  const doc: Record<string, any> = { openapi: '3.1.0', info: { title: 'cached', version }, paths: {} };
  for (let i = 0; i < paths; i++) {
    doc.paths[`/things${i}/{id}`] = {
      get: { operationId: `getThing${i}`, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } } } } },
    };
  }
  return doc as OpenApiDocument;
}

describe('caches of parsed documents and compiled validators stay within ACCORD_CACHE_MAX_BYTES', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ env: { ACCORD_CACHE_MAX_BYTES: String(BUDGET) } });
  });
  afterAll(async () => await s.cleanup());

  it('parsed contract documents: many large versions loaded, the estimate never above the budget, answers unchanged', async () => {
    const versions = Array.from({ length: 12 }, (_, i) => `1.${i}.0`);
    const yamlBytes = Buffer.byteLength(canonicalYaml(documentWith(100 + 11, '1.11.0')));
    // Each parsed version weighs more than a sixth of the budget: only a few fit.
    expect(yamlBytes * PARSED_BYTES_PER_YAML_BYTE).toBeGreaterThan(BUDGET / 6);
    for (const [i, version] of versions.entries()) {
      const res = await s.call('POST', `/v1/contracts/cache/big/versions?version=${version}`, { body: JSON.stringify(documentWith(100 + i, version)), type: 'application/json' });
      expect(res.status).toBe(201);
    }
    const cache = parsedDocuments(s.config);
    for (let round = 0; round < 2; round++) {
      for (const [i, version] of versions.entries()) {
        if (i === 0) continue;
        const diff = await (await s.call('GET', `/v1/contracts/cache/big/diff?from=${versions[0]}&to=${version}`)).json();
        expect(diff.changes.filter((c: { rule: string }) => c.rule === 'endpoint-added')).toHaveLength(i);
        expect(cache.calculatedSize).toBeLessThanOrEqual(BUDGET);
      }
    }
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(versions.length);
  });

  it('parsed control-matrix documents: many versions read, the estimate never above the budget', async () => {
    const file = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/member-match.yaml'), 'utf8');
    await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), type: 'application/yaml' });
    const padding = 'x'.repeat(1900);
    const count = 1 + Math.ceil(BUDGET / ((file.length + padding.length) * PARSED_BYTES_PER_YAML_BYTE));
    for (let v = 1; v <= count; v++) {
      const res = await s.call('PUT', '/v1/control-matrix/member-match', { body: file.replace(/^title: .*$/m, `title: "Member match, revision ${v} ${padding.slice(0, 1900 - String(v).length)}"`), type: 'application/yaml' });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const cache = parsedMatrixDocuments(s.config);
    for (let v = 1; v <= count; v++) {
      const entry = await (await s.call('GET', `/v1/control-matrix/member-match?version=${v}`)).json();
      expect(JSON.stringify(entry)).toContain(`revision ${v} `);
      expect(cache.calculatedSize).toBeLessThanOrEqual(BUDGET);
    }
    expect(cache.size).toBeLessThan(count);
  });
});

describe('compiled contract validators', () => {
  it('are shared by every route table serving the same content (compiled once per version, not per rebuild)', () => {
    const config = { cacheMaxBytes: 64 * 1024 * 1024 };
    const doc = documentWith(2, '1.0.0');
    const first = contractSchemasOf(config, 'sha-of-things', 2000, doc);
    expect(contractSchemasOf(config, 'sha-of-things', 2000, structuredClone(doc))).toBe(first);
    expect(contractSchemasOf(config, 'sha-of-other', 2000, doc)).not.toBe(first);
  });

  it('many versions inserted, the estimate never above the budget, the most recent kept and the oldest compiled again', () => {
    const config = { cacheMaxBytes: BUDGET };
    const doc = documentWith(2, '1.0.0');
    const yamlBytes = Buffer.byteLength(canonicalYaml(doc));
    const fits = Math.floor(BUDGET / (yamlBytes * CONTRACT_SCHEMAS_BYTES_PER_YAML_BYTE));
    const first = contractSchemasOf(config, 'sha-0', yamlBytes, doc);
    let last = first;
    for (let i = 1; i < fits * 3; i++) {
      last = contractSchemasOf(config, `sha-${i}`, yamlBytes, doc);
      expect(contractSchemasCache(config).calculatedSize).toBeLessThanOrEqual(BUDGET);
    }
    expect(contractSchemasCache(config).size).toBe(fits);
    expect(contractSchemasOf(config, `sha-${fits * 3 - 1}`, yamlBytes, doc)).toBe(last);
    expect(contractSchemasOf(config, 'sha-0', yamlBytes, doc)).not.toBe(first);
  });

  it('a contract estimated above the whole budget is not kept (each route table compiles its own)', () => {
    const config = { cacheMaxBytes: BUDGET };
    const doc = documentWith(2, '1.0.0');
    const huge = Math.ceil(BUDGET / CONTRACT_SCHEMAS_BYTES_PER_YAML_BYTE) + 1;
    expect(contractSchemasOf(config, 'sha-huge', huge, doc)).not.toBe(contractSchemasOf(config, 'sha-huge', huge, doc));
    expect(contractSchemasCache(config).size).toBe(0);
  });
});
