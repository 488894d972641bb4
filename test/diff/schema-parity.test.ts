import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { applyLevels, canonicalRule, levelOf, ruleOf } from '../../src/diff/rules/index.ts';
import { SCHEMA_RULES } from '../../src/diff/rules/schema.ts';
import { SchemaDiffer } from '../../src/diff/schema-diff.ts';
import { schemaRuleId } from '../../src/diff/schema-ids.ts';
import { LEVELS, type Change } from '../../src/diff/types.ts';
import { parseYaml } from '../../src/lib/yaml.ts';

/**
 * Accord's own pairs for every schema check common to OpenAPI 3.0 and 3.1, in both directions
 * (`-up` / `-down` pairs are each other's reverse), written for Accord from the OpenAPI and
 * JSON Schema specifications. expected.json holds, per pair, what oasdiff 1.15.0 reports (id and
 * level, recorded by running it) and, where Accord reports otherwise on purpose, what Accord
 * reports: the level of the oasdiff catalogue (../shared/corpus/diff/oasdiff-checks.tsv, newer
 * oasdiff, whose tests give the expected verdicts), or a warning oasdiff has no check for.
 */
const DIR = path.resolve(import.meta.dirname, '../fixtures/diff/schema');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, { oasdiff: string[]; accord?: string[] }>;
const NOW = new Date('2026-11-27T00:00:00Z');
const load = (pair: string, file: string) => parseYaml(fs.readFileSync(path.join(DIR, pair, file), 'utf8'), { maxAliases: 0 });
const found = (changes: Change[]) => [...new Set(changes.map((c) => `${c.level} ${c.rule}`))].sort();
const breaking = (findings: string[]) => findings.some((f) => f.startsWith('breaking '));

/** Pairs whose verdict is the catalogue's, not oasdiff 1.15.0's, and why. */
const CATALOGUE_VERDICTS: Record<string, string> = {
  'type/response-header-integer-string': 'response header type changed (1.15.0 has no response header schema checks)',
  'type/response-header-integer-number': 'response header type widened (idem)',
  'nullable/response-header-became-nullable': 'response header became nullable (idem)',
  'nullable/parameter-nullable-down': 'request parameter no longer nullable (1.15.0 does not report it)',
  'nullable/parameter-property-nullable-down': 'request parameter property no longer nullable (idem)',
  'enum/parameter-property-enum-value-down': 'enum value removed from a request parameter property (idem)',
  'enum/header-parameter-property-became-enum-down': 'enum removed from a header parameter property: its values are removed (idem)',
  'enum/body-enum-value-down': 'request body enum value removed: ERR in the catalogue, INFO in 1.15.0',
  'enum/body-became-enum-down': 'request body enum removed, its values with it (idem)',
  'bounds/property-minItems-set-up': 'minItems set where there was none: WARN min-items-set, not ERR min-items-increased',
  'bounds/parameter-minItems-set-up': 'idem for a parameter',
  'bounds/body-minItems-set-up': 'idem for a request body',
  'properties/required-property-with-default-up': 'new required request property with a default: ERR in the catalogue, INFO in 1.15.0',
  'properties/became-required-with-default-up': 'request property with a default became required (idem)',
  'lifecycle/property-stability-down': 'property x-stability-level lowered (1.15.0 does not report it)',
  'composition/all-of-annotation-up': 'an allOf schema that only annotates: INFO annotation-only, not ERR all-of-added',
  'composition/property-all-of-annotation-up': 'idem for a request property',
};

describe('schema checks: Accord agrees with oasdiff on its own pairs', () => {
  it('has a pair for every folder and the pairs cover every keyword family', () => {
    const folders = fs.readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) => fs.readdirSync(path.join(DIR, d.name)).map((c) => `${d.name}/${c}`));
    expect(folders.sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(new Set(folders.map((f) => f.split('/')[0]))).toEqual(new Set(['type', 'nullable', 'enum', 'pattern', 'bounds', 'default', 'properties', 'access', 'lifecycle', 'composition', 'discriminator', 'beyond']));
  });

  it.each(Object.entries(EXPECTED))('%s', (pair, expected) => {
    const { changes } = diffContracts(load(pair, 'base.yaml'), load(pair, 'revision.yaml'), { now: NOW });
    const accord = expected.accord ?? expected.oasdiff;
    expect(found(changes)).toEqual(accord);
    // Where Accord differs from oasdiff 1.15.0, each rule it reports instead says why in its row.
    for (const finding of accord.filter((f) => !expected.oasdiff.includes(f))) expect(ruleOf(finding.split(' ')[1]!)?.differs, finding).toBeTruthy();
    if (expected.accord) expect(accord.filter((f) => !expected.oasdiff.includes(f)).length, 'an oasdiff finding dropped without a replacement').toBeGreaterThan(0);
    // The same verdict, but where the catalogue says otherwise (listed above).
    expect(breaking(accord) !== breaking(expected.oasdiff), pair).toBe(pair in CATALOGUE_VERDICTS);
    // Every finding names what changed for the partner.
    for (const c of changes) expect(c.subject, c.rule).toMatch(/\S/);
  });

  it('exercises every schema rule (a deprecation without sunset only when the policy requires one)', () => {
    const seen = new Set(Object.values(EXPECTED).flatMap((e) => (e.accord ?? e.oasdiff).map((f) => f.split(' ')[1])));
    const unexercised = SCHEMA_RULES.map((r) => r.id).filter((id) => !seen.has(id));
    expect(unexercised).toEqual(['request-property-deprecated-sunset-missing', 'response-property-deprecated-sunset-missing']);
  });
});

describe('schema rule table', () => {
  it('gives every row one level, a direction, a consequence and its oasdiff id or the reason it has none', () => {
    for (const rule of SCHEMA_RULES) {
      expect(LEVELS).toContain(rule.level);
      expect(rule.id.includes('response') ? 'response' : 'request').toBe(rule.direction);
      expect(rule.consequence).toMatch(/^[A-Z{].+\.$/);
      expect(rule.description.length).toBeGreaterThan(10);
      if (rule.oasdiff.length === 0) expect(rule.differs, rule.id).toBeTruthy();
      else expect(rule.oasdiff).toEqual([rule.id]);
      expect(levelOf(rule.id)).toBe(rule.level);
    }
  });

  it('keeps the former ids as aliases: stored diffs and policy keys still name the rule', () => {
    expect(canonicalRule('response-property-removed')).toBe('response-optional-property-removed');
    expect(canonicalRule('request-required-property-added')).toBe('new-required-request-property');
    expect(canonicalRule('request-property-added')).toBe('new-optional-request-property');
    expect(canonicalRule('response-property-one-of-alternative-added')).toBe('response-property-one-of-added');
    expect(canonicalRule('request-parameter-type-widened')).toBe('request-parameter-type-generalized');
    expect(canonicalRule('request-property-default-changed')).toBe('request-property-default-value-changed');
    // A policy written with the former id raises the renamed rule.
    const removed: Change = { rule: 'response-optional-property-removed', level: 'warning', direction: 'response', location: '/x', message: 'm' };
    expect(applyLevels([removed], { 'response-property-removed': 'breaking' })).toEqual([{ ...removed, level: 'breaking' }]);
  });

  it('rates removing an optional response property a warning and a required one breaking, as oasdiff', () => {
    expect(levelOf('response-optional-property-removed')).toBe('warning');
    expect(levelOf('response-required-property-removed')).toBe('breaking');
    expect(levelOf('request-property-removed')).toBe('warning');
    expect(levelOf('request-parameter-default-value-changed')).toBe('breaking');
  });
});

describe('schema findings in their context', () => {
  const doc = (schema: Record<string, unknown>) => ({
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/members': { post: { summary: 'Update a member', requestBody: { content: { 'application/json': { schema } } }, responses: { '200': { description: 'ok' } } } } },
  });

  it('reports a deprecation without sunset only when the policy requires a sunset', () => {
    const base = { type: 'object', properties: { a: { type: 'string' } } };
    const rev = { type: 'object', properties: { a: { type: 'string', deprecated: true } } };
    const ids = (requireSunset: boolean) => {
      const root = new SchemaDiffer(base, rev, { now: NOW, requireSunset }).compare(base, rev, 'request', '', '');
      return root.children.flatMap((n) => n.findings).map((f) => schemaRuleId('request', { node: root, target: 'body', subject: 'request body', media: 'application/json' }, false, f));
    };
    expect(ids(false)).toEqual(['request-property-deprecated']);
    expect(ids(true)).toEqual(['request-property-deprecated-sunset-missing']);
    expect(levelOf('request-property-deprecated-sunset-missing')).toBe('breaking');
  });

  it('names the property path as the subject and fills the consequence with it', () => {
    const { changes } = diffContracts(doc({ type: 'object', properties: { address: { type: 'object', properties: { city: { type: 'string' } } } } }), doc({ type: 'object', properties: { address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }));
    expect(changes).toEqual([expect.objectContaining({ rule: 'request-property-became-required', level: 'breaking', subject: 'address.city' })]);
    expect(ruleOf(changes[0]!.rule)!.consequence.replace('{subject}', changes[0]!.subject!)).toBe('Clients that do not send address.city will be refused.');
  });

  it('judges a type change by how values travel: JSON keeps numbers apart from strings, text does not', () => {
    const text = (schema: Record<string, unknown>) => {
      const d = doc(schema);
      d.paths['/members'].post.requestBody.content = { 'text/plain': { schema } } as never;
      return d;
    };
    expect(diffContracts(doc({ type: 'integer' }), doc({ type: 'string' })).changes.map((c) => c.rule)).toEqual(['request-body-type-changed']);
    expect(diffContracts(text({ type: 'integer' }), text({ type: 'string' })).changes.map((c) => `${c.level} ${c.rule}`)).toEqual(['info request-body-type-compatible']);
  });

  it('reports a shared component once per operation and direction, at the component', () => {
    const member = { type: 'object', properties: { id: { type: 'string' } } };
    const body = { type: 'object', properties: { m: { $ref: '#/components/schemas/M' }, n: { $ref: '#/components/schemas/M' } } };
    const base = { ...doc(structuredClone(body)), components: { schemas: { M: member } } };
    const rev = { ...doc(body), components: { schemas: { M: { ...member, required: ['id'] } } } };
    const required = diffContracts(base, rev).changes.filter((c) => c.rule === 'request-property-became-required');
    expect(required).toEqual([expect.objectContaining({ location: '/components/schemas/M/properties/id', subject: 'M.id' })]);
  });
});
