import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts, type DiffOptions } from '../../src/diff/contract-diff.ts';
import { OPERATION_RULES } from '../../src/diff/rules/operations.ts';
import type { Level } from '../../src/diff/types.ts';
import { parseYaml } from '../../src/lib/yaml.ts';

/**
 * Pairs written for each check family of paths, operations, parameters, bodies, responses,
 * headers, security and lifecycle (test/fixtures/diff/operations/<family>/<case>/), each with
 * oasdiff 1.15.0's findings recorded in case.yaml. Accord must report the same ids at the same
 * levels, or what `accord` lists where it deliberately differs (`why` says why).
 */
const ROOT = path.resolve(import.meta.dirname, '../fixtures/diff/operations');
const NOW = new Date('2026-11-27T00:00:00Z');
const LEVEL: Record<Level, string> = { breaking: 'ERR', warning: 'WARN', info: 'INFO' };

interface Case {
  description: string;
  options?: DiffOptions;
  oasdiff: string[];
  accord?: string[];
  why?: string;
}

const load = (...parts: string[]) => parseYaml(fs.readFileSync(path.join(ROOT, ...parts), 'utf8'), { maxAliases: 0 }) as Record<string, any>;
const CASES = fs.readdirSync(ROOT).flatMap((family) => fs.readdirSync(path.join(ROOT, family)).map((name) => ({ id: `${family}/${name}`, spec: load(family, name, 'case.yaml') as Case, base: load(family, name, 'base.yaml'), revision: load(family, name, 'revision.yaml') })));
const run = (c: (typeof CASES)[number]) => diffContracts(c.base, c.revision, { now: NOW, ...c.spec.options });
const MINE = new Set(OPERATION_RULES.map((r) => r.id));

describe('operations, lifecycle and security: parity with oasdiff', () => {
  it('has a pair for every family', () => {
    expect(new Set(CASES.map((c) => c.id.split('/')[0]))).toEqual(new Set(['paths', 'webhooks', 'lifecycle', 'parameters', 'body', 'responses', 'headers', 'security', 'document']));
    expect(CASES.length).toBeGreaterThan(130);
  });

  it.each(CASES.map((c) => [`${c.id}: ${c.spec.description}`, c] as const))('%s', (_, c) => {
    const found = [...new Set(run(c).changes.map((x) => `${LEVEL[x.level]} ${x.rule}`))].sort();
    expect(found).toEqual(c.spec.accord ?? c.spec.oasdiff);
    if (c.spec.accord) expect(c.spec.why, 'a deliberate difference says why').toMatch(/\w+ \w+ \w+/);
  });

  it('agrees with oasdiff on the verdict except where a later oasdiff or HTTP says otherwise', () => {
    const verdict = (ids: string[]) => ids.some((x) => x.startsWith('ERR '));
    const differ = CASES.filter((c) => verdict(c.spec.accord ?? c.spec.oasdiff) !== verdict(c.spec.oasdiff)).map((c) => c.id);
    expect(differ.sort()).toEqual(['body/media-type-schema-added', 'headers/name-case', 'lifecycle/alpha-to-draft-breaking', 'lifecycle/stability-level-added', 'lifecycle/stability-level-removed']);
  });

  it('gives every finding of these rules its subject, and every operation finding its summary', () => {
    for (const c of CASES) {
      for (const x of run(c).changes) {
        if (MINE.has(x.rule)) expect(x.subject, `${c.id} ${x.rule}`).toMatch(/\S/);
        // Every operation of these documents has a summary.
        if (x.method) expect(x.summary, `${c.id} ${x.rule}`).toMatch(/^[A-Z]\w* /);
        expect(x.location, `${c.id} ${x.rule}`).toMatch(/^\//);
      }
    }
  });

  it('exercises every rule of the table (the versioning ones in lifecycle.test.ts)', () => {
    const seen = new Set(CASES.flatMap((c) => run(c).changes.map((x) => x.rule)));
    const missing = [...MINE].filter((id) => !seen.has(id));
    expect(missing.sort()).toEqual(['api-major-version-not-bumped', 'api-version-decreased', 'api-version-not-bumped']);
  });

  it('reads the boolean schema true as no schema, and false as one that accepts nothing (3.1)', () => {
    const media = (schema?: unknown) => ({ 'application/json': schema === undefined ? {} : { schema } });
    const doc = (schema?: unknown) => ({
      openapi: '3.1.0',
      info: { title: 'Items', version: '1' },
      paths: { '/items': { post: { summary: 'Create an item', requestBody: { content: media(schema) }, responses: { '200': { description: 'ok', content: media(schema) } } } } },
    });
    const found = (a?: unknown, b?: unknown) => diffContracts(doc(a), doc(b), { now: NOW }).changes.map((x) => `${LEVEL[x.level]} ${x.rule}`).sort();
    expect(found(undefined, true)).toEqual([]);
    expect(found(true, undefined)).toEqual([]);
    expect(found(true, false)).toEqual(['ERR request-body-media-type-schema-added', 'INFO response-body-media-type-schema-added']);
    expect(found(false, undefined)).toEqual(['INFO request-body-media-type-schema-removed', 'WARN response-body-media-type-schema-removed']);
  });

  it('states every consequence for a partner with its subject', () => {
    for (const rule of OPERATION_RULES) {
      expect(rule.consequence, rule.id).toContain('{subject}');
      expect(rule.consequence, rule.id).toMatch(/^[A-Z].*\.$/);
      if (rule.oasdiff.length === 0) expect(rule.differs, `${rule.id} is Accord's own: say why`).toMatch(/\w+ \w+ \w+/);
    }
  });
});
