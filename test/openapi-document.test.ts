import spectralCore from '@stoplight/spectral-core';
import Parsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCORD_API_DOCUMENT } from '../src/http/api.ts';
import { startTestService, type TestService } from './harness.ts';

const { Document, Spectral } = spectralCore;

/** Every schema in `value` (walked from a response or a component) that says nothing but `type: object` (or nothing at all). */
function bareSchemas(value: unknown, at: string, out: string[] = []): string[] {
  if (!value || typeof value !== 'object') return out;
  const schema = value as Record<string, unknown>;
  const keys = Object.keys(schema).filter((k) => k !== 'description');
  if (schema.type === 'object' && !schema.properties && schema.additionalProperties === undefined && !schema.patternProperties) out.push(at);
  for (const [key, child] of Object.entries(schema)) if (key !== 'example' && key !== 'examples') bareSchemas(child, `${at}/${key}`, out);
  return out.concat(keys.length === 0 && at.endsWith('/schema') ? [at] : []);
}

describe("Accord's own API document as the usual tools read it", () => {
  let s: TestService;
  let served: Record<string, any>;
  let text: string;
  beforeAll(async () => {
    s = await startTestService();
    const res = await fetch(`${await s.listen()}/openapi.json`);
    expect(res.status).toBe(200);
    text = await res.text();
    served = JSON.parse(text);
  });
  afterAll(async () => await s.cleanup());

  it("passes Spectral's spectral:oas ruleset on the served document with 0 errors and 0 warnings", async () => {
    const spectral = new Spectral();
    spectral.setRuleset({ extends: [oas] } as never);
    const results = await spectral.run(new Document(text, Parsers.Json, '/openapi.json'));
    expect(results.map((r) => `${r.code} ${r.path.join('.')}: ${r.message}`)).toEqual([]);
  });

  it('types every response and request body: no bare `type: object`', () => {
    const bare: string[] = [];
    for (const [template, item] of Object.entries<Record<string, any>>(served.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        for (const [status, response] of Object.entries<any>(op.responses ?? {})) bareSchemas(response.content, `${method} ${template} ${status}`, bare);
        bareSchemas(op.requestBody?.content, `${method} ${template} request`, bare);
      }
    }
    for (const [name, schema] of Object.entries(served.components.schemas)) bareSchemas(schema, `#/components/schemas/${name}`, bare);
    expect(bare).toEqual([]);
  });

  it('gives every JSON success response and every JSON request body an example', () => {
    const missing: string[] = [];
    for (const [template, item] of Object.entries<Record<string, any>>(served.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const name = `${method.toUpperCase()} ${template}`;
        for (const [status, response] of Object.entries<any>(op.responses ?? {})) {
          if (!/^2/.test(status)) continue;
          for (const [mediaType, media] of Object.entries<any>(response.content ?? {})) {
            if (mediaType.endsWith('json') && media.example === undefined && media.examples === undefined) missing.push(`${name} ${status} ${mediaType}`);
          }
        }
        const body = op.requestBody?.content?.['application/json'];
        if (body && body.example === undefined && body.examples === undefined) missing.push(`${name} request body`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('is the document the app is built from, with this deployment as its server', () => {
    expect(served.paths).toEqual(JSON.parse(JSON.stringify(ACCORD_API_DOCUMENT.paths)));
    expect(served.servers).toEqual([{ url: s.config.publicUrl, description: 'This registry' }]);
    expect(served.info.contact.url).toBe(`${s.config.publicUrl}/docs`);
  });
});
