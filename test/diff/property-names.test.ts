import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalYaml, parseText } from '../../src/contracts/document.ts';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { escapeSegment } from '../../src/lib/json.ts';
import { parseYaml } from '../../src/lib/yaml.ts';
import { startTestService, type TestService } from '../harness.ts';

type Json = Record<string, any>;

/** Names every object inherits something under, plus the empty name. */
const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__', ''];

/** Any property name: inherited names, Unicode text (graphemes, astral planes), any printable ASCII. */
const propertyName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INHERITED) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** An object whose own properties are exactly `entries` (`__proto__` included, as JSON.parse and js-yaml make it). */
const own = (entries: Array<[string, unknown]>): Json => Object.fromEntries(entries);

interface Case {
  /** Response properties: name and whether it is required. */
  props: Array<{ name: string; required: boolean }>;
  /** Index of the property the revision removes. */
  removed: number;
  /** Where the properties are: directly in the response schema, in a named component, or one level down under a property. */
  placement: 'inline' | 'component' | 'nested';
  /** The component's name or the outer property's name. */
  holder: string;
}

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    props: fc.uniqueArray(fc.record({ name: propertyName, required: fc.boolean() }), { minLength: 1, maxLength: 6, selector: (p) => p.name }),
    placement: fc.constantFrom('inline' as const, 'component' as const, 'nested' as const),
    holder: propertyName,
    pick: fc.nat(),
  })
  .map(({ props, placement, holder, pick }) => ({ props, placement, holder, removed: pick % props.length }));

/** The object schema holding the properties. */
function objectSchema(props: Case['props']): Json {
  return { type: 'object', properties: own(props.map((p) => [p.name, { type: 'string' }])), required: props.filter((p) => p.required).map((p) => p.name) };
}

/** A 3.1 document whose GET /members answers the properties (placed as the case says). */
function documentOf(c: Case, props: Case['props']): Json {
  const inner = objectSchema(props);
  let schema: Json = inner;
  let components: Json = {};
  if (c.placement === 'component') {
    schema = { $ref: `#/components/schemas/${encodeURIComponent(escapeSegment(c.holder))}` };
    components = { schemas: own([[c.holder, inner]]) };
  } else if (c.placement === 'nested') {
    schema = { type: 'object', properties: own([[c.holder, inner]]), required: [c.holder] };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'property names', version: '1.0.0' },
    paths: { '/members': { get: { operationId: 'getMember', responses: { '200': { description: 'ok', content: { 'application/json': { schema } } } } } } },
    components,
  };
}

/** Where the removed property is written in the base document. */
function removedLocation(c: Case, name: string): string {
  const holder =
    c.placement === 'component'
      ? `/components/schemas/${escapeSegment(c.holder)}`
      : c.placement === 'nested'
        ? `/paths/~1members/get/responses/200/content/application~1json/schema/properties/${escapeSegment(c.holder)}`
        : '/paths/~1members/get/responses/200/content/application~1json/schema';
  return `${holder}/properties/${escapeSegment(name)}`;
}

/** The same document as the registry stores it (canonical YAML) and reads it back. */
const viaRegistry = (doc: Json): Json => parseYaml(canonicalYaml(doc), { maxAliases: 0 }) as Json;
/** The same document as a JSON body would deliver it. */
const viaJson = (doc: Json): Json => parseText(JSON.stringify(doc), 'json', { maxAliases: 0 }) as Json;

describe('property names are compared like any other name (property-based)', () => {
  it('removing a required response property is breaking and removing an optional one a warning, whatever its name', () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const gone = c.props[c.removed]!;
        const base = documentOf(c, c.props);
        const revision = documentOf(c, c.props.filter((_, i) => i !== c.removed));
        for (const [b, r] of [[base, revision], [viaRegistry(base), viaRegistry(revision)], [viaJson(base), viaJson(revision)]] as const) {
          const result = diffContracts(b, r);
          // Exactly one change: the removal, at the removed property; no other property is touched.
          expect(result.changes).toEqual([
            expect.objectContaining({
              rule: gone.required ? 'response-required-property-removed' : 'response-optional-property-removed',
              level: gone.required ? 'breaking' : 'warning',
              location: removedLocation(c, gone.name),
            }),
          ]);
          // And nothing differs between a document and itself, whatever its names.
          expect(diffContracts(b, b).changes).toEqual([]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a document keeps a property named __proto__ as an own property through canonical YAML and JSON', () => {
    fc.assert(
      fc.property(fc.uniqueArray(propertyName, { minLength: 1, maxLength: 6 }), (names) => {
        const doc = own(names.map((n) => [n, { type: 'string' }]));
        for (const copy of [viaRegistry(doc), viaJson(doc)]) {
          expect(Object.keys(copy)).toEqual(Object.keys(doc));
          expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
          for (const n of names) expect(Object.getOwnPropertyDescriptor(copy, n)?.value).toEqual({ type: 'string' });
        }
      }),
    );
  });
});

describe('property names over HTTP: registration diffs what it stores', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const props = [
    { name: 'id', required: true },
    { name: 'constructor', required: true },
    { name: '__proto__', required: false },
    { name: 'toString', required: false },
    { name: 'hasOwnProperty', required: true },
    { name: 'valueOf', required: false },
  ];
  const post = (partner: string, version: string, doc: Json, type: 'yaml' | 'json') =>
    s.call('POST', `/v1/contracts/${partner}/names-api/versions?version=${version}`, { body: type === 'json' ? JSON.stringify(doc) : canonicalYaml(doc), type: `application/${type}` });

  for (const placement of ['inline', 'component'] as const) {
    for (const type of ['yaml', 'json'] as const) {
      it(`warns about removing optional __proto__ and valueOf, and refuses removing required constructor without a major bump (${placement}, ${type})`, async () => {
        const partner = `names-${placement}-${type}`;
        // The component itself is named `constructor` too.
        const c: Case = { props, removed: 0, placement, holder: 'constructor' };
        const without = (...names: string[]) => documentOf(c, props.filter((p) => !names.includes(p.name)));
        expect((await post(partner, '1.0.0', without(), type)).status).toBe(201);

        // Stored and served back with every name, as YAML and as JSON.
        const document = `/v1/contracts/${partner}/names-api/versions/1.0.0/document`;
        const stored = parseYaml(await (await s.call('GET', document, { headers: { Accept: 'application/yaml' } })).text(), { maxAliases: 0 }) as Json;
        const served = parseText(await (await s.call('GET', document, { headers: { Accept: 'application/json' } })).text(), 'json', { maxAliases: 0 }) as Json;
        for (const copy of [stored, served]) expect(diffContracts(without(), copy).changes).toEqual([]);

        // Removing optional properties is a warning (as oasdiff rates it): a minor version will do.
        const minor = await post(partner, '1.1.0', without('__proto__', 'valueOf'), type);
        expect(minor.status).toBe(201);
        expect((await minor.json()).diff).toMatchObject({ breaking: [], summary: { breaking: 0, warning: 2 } });
        const warned = await (await s.call('GET', `/v1/contracts/${partner}/names-api/diff?from=1.0.0&to=1.1.0`)).json();
        const removals = warned.changes.filter((ch: { rule: string }) => ch.rule.startsWith('response-'));
        expect(removals).toHaveLength(2);
        expect(removals).toEqual(expect.arrayContaining(['__proto__', 'valueOf'].map((name) => expect.objectContaining({ rule: 'response-optional-property-removed', level: 'warning', location: removedLocation(c, name) }))));

        const refused = await post(partner, '1.2.0', without('__proto__', 'valueOf', 'constructor'), type);
        expect(refused.status).toBe(409);
        const problem = await refused.json();
        expect(problem.errors).toEqual([expect.objectContaining({ rule: 'response-required-property-removed', location: removedLocation(c, 'constructor') })]);

        const major = await post(partner, '2.0.0', without('__proto__', 'valueOf', 'constructor'), type);
        expect(major.status).toBe(201);
        const { diff } = await major.json();
        expect(diff.breaking).toEqual([expect.objectContaining({ rule: 'response-required-property-removed', location: removedLocation(c, 'constructor') })]);

        const compared = await (await s.call('GET', `/v1/contracts/${partner}/names-api/diff?from=1.1.0&to=2.0.0`)).json();
        expect(compared.changes.filter((ch: { rule: string }) => ch.rule.startsWith('response-'))).toEqual([expect.objectContaining({ rule: 'response-required-property-removed' })]);
      });
    }
  }
});
