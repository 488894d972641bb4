import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { RULES, ruleOf } from '../../src/diff/rules/index.ts';
import { KINDS_2020, level2020, SCHEMA_2020_RULES } from '../../src/diff/rules/schema-2020.ts';
import { SchemaDiffer } from '../../src/diff/schema-diff.ts';
import type { SchemaNode } from '../../src/diff/schema-node.ts';
import { parseYaml } from '../../src/lib/yaml.ts';

type Json = Record<string, any>;

const CORPUS = path.resolve(import.meta.dirname, '../fixtures/diff/schema-2020');
const CATALOGUE = path.resolve(import.meta.dirname, '../../../shared/corpus/diff/oasdiff-checks.tsv');
const read = (file: string): Json => parseYaml(fs.readFileSync(file, 'utf8'), { maxAliases: 0 }) as Json;

/** Ids of src/diff/schema-2020.ts: its own rules, and the nullable ids it reports for oneOf/anyOf wraps. */
const MINE = new Set(SCHEMA_2020_RULES.map((r) => r.id));
const isMine = (finding: string) => MINE.has(finding.split(' ')[1]!) || /-became-(not-)?nullable$/.test(finding);

interface Expected {
  case: string;
  findings: string[];
  verdict: Partial<Record<'request' | 'response', 'breaking' | 'not breaking'>>;
}

const cases = fs.readdirSync(CORPUS).filter((d) => fs.existsSync(path.join(CORPUS, d, 'expected.yaml'))).sort();

describe('JSON Schema 2020-12 corpus (test/fixtures/diff/schema-2020, expectations checked against oasdiff 1.15)', () => {
  it('has a case for every keyword family', () => {
    const families = ['list-of-types', 'nullable-wrap', 'nullable-unwrap', 'const', 'contains', 'min-contains', 'max-contains', 'prefix-items', 'items-after-prefix-items', 'pattern-property', 'property-names', 'dependent-required', 'dependent-schema', 'if', 'then', 'else', 'not', 'unevaluated-items', 'unevaluated-properties', 'content-media-type', 'content-encoding', 'content-schema', 'defs', 'dynamic-ref', 'examples'];
    for (const family of families) expect(cases.some((c) => c.startsWith(`${family}-`)), family).toBe(true);
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases)('%s', (name) => {
    const expected = read(path.join(CORPUS, name, 'expected.yaml')) as Expected;
    const changes = diffContracts(read(path.join(CORPUS, name, 'base.yaml')), read(path.join(CORPUS, name, 'revision.yaml'))).changes;
    const actual = [...new Set(changes.map((c) => `${c.level} ${c.rule}`))].sort();
    for (const finding of expected.findings) expect(actual, expected.case).toContain(finding);
    // No schema-2020 finding beyond the expected ones: the others are schema-diff.ts's to judge.
    expect(actual.filter(isMine), expected.case).toEqual(expected.findings.filter(isMine).sort());
    for (const [direction, verdict] of Object.entries(expected.verdict)) {
      const breaking = changes.some((c) => c.direction === direction && c.level === 'breaking');
      expect(breaking ? 'breaking' : 'not breaking', `${expected.case}: ${direction}`).toBe(verdict);
    }
  });
});

describe('schema-2020 rule table (src/diff/rules/schema-2020.ts)', () => {
  const catalogue = new Map(
    fs.readFileSync(CATALOGUE, 'utf8').split('\n').filter(Boolean).map((line) => {
      const cells = line.split('\t');
      return [cells[4]!, { ERR: 'breaking', WARN: 'warning', INFO: 'info' }[cells[0]!]] as const;
    }),
  );

  it('gives every id it maps to oasdiff oasdiff’s level', () => {
    const mapped = SCHEMA_2020_RULES.filter((r) => r.oasdiff.length > 0);
    expect(mapped.length).toBeGreaterThan(100);
    for (const rule of mapped) {
      expect(rule.oasdiff, rule.id).toEqual([rule.id]);
      expect(catalogue.get(rule.id), rule.id).toBe(rule.level);
    }
  });

  it('has a row for every oasdiff check of the 2020-12 keyword families, except those only a nested parameter property reaches', () => {
    const family = /list-of-types|-const-|contains|prefix-items|pattern-propert|property-names|dependent|-(if|then|else)-|unevaluated|content-(schema|media|encoding)/;
    const ids = [...catalogue.keys()].filter((id) => family.test(id));
    expect(ids.length).toBeGreaterThan(140);
    // request-parameter-property-list-of-types-*: the diff names every finding under a parameter
    // `request-parameter-…` (src/diff/contract-diff.ts), so a nested property has no id of its own.
    const missing = ids.filter((id) => !ruleOf(id) && !id.startsWith('request-parameter-property-'));
    expect(missing).toEqual([]);
  });

  it('writes one plain sentence per row and says why where Accord differs from oasdiff', () => {
    for (const rule of SCHEMA_2020_RULES) {
      expect(rule.consequence, rule.id).toMatch(/^[A-Z].*\.$/);
      expect(rule.consequence, rule.id).not.toMatch(/schema|keyword|\$ref|oneOf|anyOf/i);
      expect(rule.description.length, rule.id).toBeGreaterThan(10);
      if (rule.oasdiff.length === 0) expect(rule.differs, rule.id).toBeTruthy();
    }
    expect(RULES).toEqual(expect.arrayContaining(SCHEMA_2020_RULES));
  });

  it('takes the engine’s levels from the table, one level per id', () => {
    for (const k of KINDS_2020) {
      for (const direction of ['request', 'response'] as const) {
        expect(level2020(k.kind, direction)).toBe(k.level[direction]);
        for (const rule of SCHEMA_2020_RULES.filter((r) => r.id.startsWith(`${direction}-`) && r.id.endsWith(`-${k.kind}`) && r.id.split('-').length === k.kind.split('-').length + 2)) {
          expect(rule.level, rule.id).toBe(k.level[direction]);
        }
      }
    }
    expect(() => level2020('no-such-kind', 'request')).toThrow(/no row/);
  });
});

describe('schema-2020 comparison', () => {
  const doc = (schemas: Json) => ({ openapi: '3.1.0', components: { schemas } });
  const compare = (base: Json, revision: Json, direction: 'request' | 'response' = 'request'): SchemaNode =>
    new SchemaDiffer(doc(base), doc(revision)).compare({ $ref: '#/components/schemas/Root' }, { $ref: '#/components/schemas/Root' }, direction, '/components/schemas/Root', '');
  const all = (root: SchemaNode) => {
    const seen = new Set<SchemaNode>();
    const stack = [root];
    const findings = [];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (seen.has(node)) continue;
      seen.add(node);
      findings.push(...node.findings);
      stack.push(...node.children);
    }
    return findings;
  };

  it('names what changed: the dependent property, the pattern, the nested property', () => {
    const base = { Root: { type: 'object', properties: { payment: { type: 'object', dependentRequired: { card: ['expiry'] } } } } };
    const revision = { Root: { type: 'object', properties: { payment: { type: 'object', dependentRequired: { card: ['expiry', 'cvc'] }, patternProperties: { '^x-': { type: 'string' } }, const: { card: 'x' } } } } };
    const findings = all(compare(base, revision));
    expect(findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'dependent-required-changed', level: 'breaking', subject: 'Root.payment.card', location: '/components/schemas/Root/properties/payment' }),
      expect.objectContaining({ kind: 'pattern-property-added', level: 'breaking', subject: 'Root.payment properties matching ^x-' }),
      expect.objectContaining({ kind: 'const-added', level: 'breaking', subject: 'Root.payment' }),
    ]));
  });

  it('follows cycles through then, prefixItems and $dynamicRef without recursing forever', () => {
    const tree = (max: number) => ({
      Root: { type: 'object', then: { $ref: '#/components/schemas/Root' }, prefixItems: [{ $dynamicRef: '#node' }], $dynamicAnchor: 'node', properties: { name: { type: 'string', maxLength: max } } },
    });
    const findings = all(compare(tree(10), tree(5)));
    expect(findings).toEqual([expect.objectContaining({ kind: 'max-length-decreased', location: '/components/schemas/Root/properties/name' })]);
  });

  it('compares a chain of 10,000 nested then-schemas without exhausting the stack', () => {
    const chain = (max: number) => {
      const root: Json = { type: 'string', maxLength: max };
      let at = root;
      for (let i = 0; i < 10_000; i++) at = at.then = { type: 'object' };
      at.then = { type: 'string', maxLength: max };
      return { Root: root };
    };
    const findings = all(compare(chain(10), chain(5)));
    expect(findings.filter((f) => f.kind === 'max-length-decreased')).toHaveLength(2);
  });

  it('does not count a nullable wrap of an already nullable schema as a change', () => {
    const base = { Root: { type: ['object', 'null'], properties: { a: { type: 'string' } } } };
    const revision = { Root: { oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] } };
    expect(all(compare(base, revision))).toEqual([]);
    expect(all(compare(base, revision, 'response'))).toEqual([]);
  });

  it('reads a boolean sub-schema as JSON Schema does: true is no constraint, false allows nothing', () => {
    const kinds = (b: Json, r: Json) => all(compare({ Root: b }, { Root: r })).map((f) => `${f.level} ${f.kind}`);
    expect(kinds({ type: 'object', unevaluatedProperties: true }, { type: 'object' })).toEqual([]);
    expect(kinds({ type: 'object', unevaluatedProperties: true }, { type: 'object', unevaluatedProperties: false })).toEqual(['warning unevaluated-properties-disallowed']);
    expect(kinds({ type: 'array', prefixItems: [{ type: 'string' }] }, { type: 'array', prefixItems: [{ type: 'string' }], items: false })).toEqual(['warning items-after-prefix-items-added']);
    expect(kinds({ type: 'array', prefixItems: [{ type: 'string' }], items: false }, { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'string' } })).toEqual(['info items-after-prefix-items-removed']);
  });

  it('treats examples and $defs as documentation: only schemas that are used are compared', () => {
    const base = { Root: { type: 'string', examples: ['a'], $defs: { Unused: { type: 'string', maxLength: 9 } } } };
    const revision = { Root: { type: 'string', examples: ['b'], $defs: { Unused: { type: 'integer' } } } };
    expect(all(compare(base, revision))).toEqual([]);
  });
});
