import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, type TestService } from './harness.ts';

/** A seeded contract's document, parsed, as a starting point for a new version. */
export function seededDocument(partner: string, api: string, version: string): any {
  return parseYaml(fs.readFileSync(path.join(REPO_ROOT, `contracts/${partner}/${api}/${version}/openapi.yaml`), 'utf8'), { maxAliases: 0 });
}

/** Registers a new version made from a seeded one (as an author would, through the API); returns the API's answer. */
export async function registerVersion(s: TestService, partner: string, api: string, from: string, version: string, change: (doc: any) => void, token?: string) {
  const doc = seededDocument(partner, api, from);
  doc.info.version = version;
  change(doc);
  const res = await s.call('POST', `/v1/contracts/${partner}/${api}/versions`, { body: JSON.stringify(doc), type: 'application/json', ...(token ? { token } : {}) });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** Opens a change request through the API; returns its summary. */
export async function openChange(s: TestService, partner: string, api: string, version: string, summary: string, token?: string) {
  const res = await s.call('POST', '/v1/changes', { body: JSON.stringify({ partner, api, version, summary }), type: 'application/json', ...(token ? { token } : {}) });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** Sets the consumers of an API (admin), who must acknowledge its breaking changes. */
export async function setConsumers(s: TestService, partner: string, api: string, consumers: string[]) {
  const res = await s.call('PUT', `/v1/contracts/${partner}/${api}/consumers`, { body: JSON.stringify({ consumers }), type: 'application/json' });
  expect(res.status).toBe(200);
}

/** POSTs JSON with a token (admin unless given). */
export function postJson(s: TestService, url: string, body: unknown, token?: string) {
  return s.call('POST', url, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
}
