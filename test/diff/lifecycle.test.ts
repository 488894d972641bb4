import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffContracts, type DiffOptions } from '../../src/diff/contract-diff.ts';
import { canonicalRule, ruleOf } from '../../src/diff/rules/index.ts';
import { checkPolicy } from '../../src/matrix/checks.ts';
import { DEFAULT_POLICY, diffOptionsOf } from '../../src/matrix/policy.ts';
import { startTestService, type TestService } from '../harness.ts';

/**
 * Stability and deprecation metadata (x-stability-level, deprecated, x-sunset) and the
 * policy's say over the diff (policy.yaml `diff`: levels, deprecation, versionPolicy), through
 * diffContracts' options and once through the real policy.
 */
const NOW = new Date('2026-11-27T00:00:00Z');
type Json = Record<string, any>;

function doc(get: Json = {}, extra: Json = {}): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Members', version: '1.0.0' },
    paths: { '/members': { get: { operationId: 'listMembers', summary: 'List members', responses: { '200': { description: 'ok' } }, ...get } } },
    ...extra,
  };
}
const param = (extra: Json = {}) => ({ name: 'status', in: 'query', schema: { type: 'string' }, ...extra });
const rules = (base: Json, revision: Json, options: DiffOptions = {}) => diffContracts(base, revision, { now: NOW, ...options }).changes.map((c) => `${c.level} ${c.rule}`);

describe('deprecation policy (diffContracts options)', () => {
  const deprecated = (sunset?: string, extra: Json = {}) => doc({ deprecated: true, ...(sunset ? { 'x-sunset': sunset } : {}), ...extra });

  it('without a policy, a deprecation needs no sunset, but a sunset already past is too small', () => {
    expect(rules(doc(), deprecated())).toEqual(['info endpoint-deprecated']);
    expect(rules(doc(), deprecated('2026-11-27'))).toEqual(['info endpoint-deprecated-with-sunset']);
    expect(rules(doc(), deprecated('2026-11-26'))).toEqual(['breaking api-sunset-date-too-small']);
  });

  it('minimum days per stability level: beta and stable (no level counts as stable); draft and alpha need none', () => {
    const deprecation = { minimumDays: { beta: 30, stable: 90 } };
    expect(rules(doc(), deprecated(), { deprecation })).toEqual(['breaking api-deprecated-sunset-missing']);
    expect(rules(doc(), deprecated('2027-02-24'), { deprecation })).toEqual(['breaking api-sunset-date-too-small']); // 89 days
    expect(rules(doc(), deprecated('2027-02-25'), { deprecation })).toEqual(['info endpoint-deprecated-with-sunset']); // 90 days
    const beta = { 'x-stability-level': 'beta' };
    expect(rules(doc(beta), deprecated('2026-12-27', beta), { deprecation })).toEqual(['info endpoint-deprecated-with-sunset']); // 30 days
    expect(rules(doc(beta), deprecated('2026-12-26', beta), { deprecation })).toEqual(['breaking api-sunset-date-too-small']);
    const alpha = { 'x-stability-level': 'alpha' };
    expect(rules(doc(alpha), deprecated(undefined, alpha), { deprecation })).toEqual([]);
  });

  it('requireSunset asks for a sunset without minimum days, or waives it with them', () => {
    expect(rules(doc(), deprecated(), { deprecation: { requireSunset: true } })).toEqual(['breaking api-deprecated-sunset-missing']);
    expect(rules(doc({ parameters: [param()] }), doc({ parameters: [param({ deprecated: true })] }), { deprecation: { requireSunset: true } })).toEqual(['breaking request-parameter-deprecated-sunset-missing']);
    const waived = { requireSunset: false, minimumDays: { stable: 90 } };
    expect(rules(doc(), deprecated(), { deprecation: waived })).toEqual(['info endpoint-deprecated']);
    expect(rules(doc(), deprecated('2027-01-01'), { deprecation: waived })).toEqual(['breaking api-sunset-date-too-small']);
  });

  it('a sunset moved earlier must keep the minimum notice; moving it later or keeping it is fine', () => {
    const deprecation = { minimumDays: { stable: 90 } };
    expect(rules(deprecated('2027-12-31'), deprecated('2027-01-31'), { deprecation })).toEqual(['breaking api-sunset-date-changed-too-small']);
    expect(rules(deprecated('2027-12-31'), deprecated('2027-06-30'), { deprecation })).toEqual([]);
    expect(rules(deprecated('2027-01-31'), deprecated('2027-12-31'), { deprecation })).toEqual([]);
    expect(rules(deprecated('2027-12-31'), deprecated())).toEqual(['breaking sunset-deleted']);
    expect(rules(deprecated('2027-12-31'), deprecated('31 December 2027'))).toEqual(['breaking api-path-sunset-parse']);
  });

  it('removal is allowed on the sunset date, not the day before; sunsets are calendar dates', () => {
    const withOther = (get: Json) => ({ ...doc(get), paths: { ...doc(get).paths, '/other': { get: { responses: { '200': { description: 'ok' } } } } } });
    const removed = { ...doc(), paths: { '/other': { get: { responses: { '200': { description: 'ok' } } } } } };
    expect(rules(withOther({ deprecated: true, 'x-sunset': '2026-11-28' }), removed)).toEqual(['breaking api-path-removed-before-sunset']);
    expect(rules(withOther({ deprecated: true, 'x-sunset': '2026-11-27' }), removed)).toEqual(['info api-removed-after-sunset']);
    expect(rules(withOther({ deprecated: true, 'x-sunset': '2026-11-28T23:00:00-05:00' }), removed)).toEqual(['breaking api-path-removed-before-sunset']);
    expect(rules(withOther({ deprecated: true, 'x-sunset': '2026-02-30' }), removed)).toEqual(['breaking api-path-sunset-parse']);
  });

  it('parameters follow their operation\'s stability and the same minimum days', () => {
    const deprecation = { minimumDays: { beta: 30, stable: 90 } };
    const p = (extra: Json, op: Json = {}) => doc({ ...op, parameters: [param(extra)] });
    expect(rules(p({}), p({ deprecated: true, 'x-sunset': '2027-01-10' }), { deprecation })).toEqual(['breaking request-parameter-sunset-date-too-small']);
    expect(rules(p({}, { 'x-stability-level': 'beta' }), p({ deprecated: true, 'x-sunset': '2027-01-10' }, { 'x-stability-level': 'beta' }), { deprecation })).toEqual(['info request-parameter-deprecated']);
    expect(rules(p({ deprecated: true, 'x-sunset': '2028-01-01' }), p({ deprecated: true, 'x-sunset': '2027-01-10' }), { deprecation })).toEqual(['breaking request-parameter-sunset-date-changed-too-small']);
  });
});

describe('stability levels', () => {
  const level = (l?: unknown) => doc(l === undefined ? {} : { 'x-stability-level': l });

  it('no level counts as stable; a draft or alpha operation promised nothing', () => {
    expect(rules(level('stable'), level())).toEqual([]);
    expect(rules(level(), level('beta'))).toEqual(['breaking api-stability-decreased']);
    expect(rules(level('beta'), level())).toEqual(['info api-stability-increased']);
    expect(rules(level('alpha'), level('draft'))).toEqual([]);
    expect(rules(level('draft'), level('stable'))).toEqual([]);
  });

  it('an invalid level is reported on an operation that changed, whatever its type', () => {
    expect(rules(level(), { ...level(3), paths: { '/members': { get: { ...level(3).paths['/members'].get, summary: 'All members' } } } })).toEqual(['breaking api-invalid-stability-level']);
    expect(rules(level('gamma'), level('gamma'))).toEqual([]);
  });

  it('the policy cannot make a draft operation\'s findings breaking', () => {
    const draft = (extra: Json) => doc({ 'x-stability-level': 'draft', ...extra });
    const out = rules(draft({ parameters: [param()] }), draft({ parameters: [param({ required: true })] }), { levels: { 'request-parameter-became-required': 'breaking' } });
    expect(out).toEqual(['info request-parameter-became-required']);
  });
});

describe('level overrides (diff.levels)', () => {
  const secured = doc({ security: [{ apiKey: [] }] });

  it('raise or lower any rule by its id or a former id', () => {
    expect(rules(doc(), secured)).toEqual(['info api-security-added']);
    expect(rules(doc(), secured, { levels: { 'api-security-added': 'breaking' } })).toEqual(['breaking api-security-added']);
    const removedParam = [doc({ parameters: [param()] }), doc()] as const;
    expect(rules(...removedParam)).toEqual(['warning request-parameter-removed']);
    expect(rules(...removedParam, { levels: { 'request-parameter-removed': 'breaking' } })).toEqual(['breaking request-parameter-removed']);
    // request-parameter-added is the former id of new-optional-request-parameter
    expect(canonicalRule('request-parameter-added')).toBe('new-optional-request-parameter');
    expect(rules(doc(), doc({ parameters: [param()] }), { levels: { 'request-parameter-added': 'warning' } })).toEqual(['warning new-optional-request-parameter']);
  });

  it('securityRequirementAdded maps to the two security-added rules; explicit levels win', () => {
    expect(diffOptionsOf(DEFAULT_POLICY, NOW)).toEqual({ now: NOW });
    const strict = diffOptionsOf({ diff: { securityRequirementAdded: 'breaking' } }, NOW);
    expect(strict.levels).toEqual({ 'api-security-added': 'breaking', 'api-global-security-added': 'breaking' });
    expect(rules(doc(), secured, strict)).toEqual(['breaking api-security-added']);
    expect(rules(doc(), { ...doc(), security: [{ apiKey: [] }] }, strict)).toEqual(['breaking api-global-security-added']);
    const mixed = diffOptionsOf({ diff: { securityRequirementAdded: 'breaking', levels: { 'api-security-added': 'warning' } } }, NOW);
    expect(rules(doc(), secured, mixed)).toEqual(['warning api-security-added']);
  });

  it('the policy schema accepts rule ids and former ids, and refuses unknown ones and unknown levels', () => {
    const policy = (diff: Json) => ({ approvals: { breaking: 2, 'non-breaking': 1 }, evidence: { breaking: ['contract-test'], 'non-breaking': ['contract-test'] }, diff });
    expect(checkPolicy(policy({ levels: { 'api-security-added': 'breaking', 'api-operation-added': 'warning' }, deprecation: { requireSunset: true, minimumDays: { beta: 30, stable: 180 } }, versionPolicy: true, securityRequirementAdded: 'info' }))).toEqual([]);
    expect(checkPolicy(policy({ levels: { 'api-securty-added': 'breaking' } }))).toEqual([expect.objectContaining({ location: '/diff/levels', message: 'unknown field "api-securty-added"' })]);
    expect(checkPolicy(policy({ levels: { 'api-security-added': 'fatal' } }))).toEqual([expect.objectContaining({ location: '/diff/levels/api-security-added' })]);
    expect(checkPolicy(policy({ deprecation: { minimumDays: { stable: -1 } } }))).toEqual([expect.objectContaining({ location: '/diff/deprecation/minimumDays/stable' })]);
    expect(ruleOf('security-scheme-removed')?.id).toBe('api-security-component-removed');
  });
});

describe('versioning policy (diff.versionPolicy)', () => {
  const v = (version: string, required = false) => ({ ...doc({ parameters: [param({ required })] }), info: { title: 'Members', version } });
  const versioning = (base: Json, revision: Json, options: DiffOptions = {}) => rules(base, revision, { versionPolicy: true, ...options }).filter((r) => r.includes('version'));

  it('a breaking change needs a major increase (below 1.0.0 a minor one), semantic versions only', () => {
    expect(rules(v('1.0.0'), v('1.0.0', true))).toEqual(['breaking request-parameter-became-required']);
    expect(versioning(v('1.0.0'), v('1.0.0', true))).toEqual(['info api-version-not-bumped']);
    expect(versioning(v('1.2.0'), v('1.1.0', true))).toEqual(['info api-version-decreased']);
    expect(versioning(v('1.2.0'), v('1.3.0', true))).toEqual(['info api-major-version-not-bumped']);
    expect(versioning(v('v1.2.0'), v('v2.0.0', true))).toEqual([]);
    expect(versioning(v('0.2.0'), v('0.3.0', true))).toEqual([]);
    expect(versioning(v('0.2.0'), v('0.2.5', true))).toEqual(['info api-major-version-not-bumped']);
    expect(versioning(v('2024-01'), v('2024-02', true))).toEqual([]);
    expect(versioning(v('1.0.0'), v('1.0.1'))).toEqual([]);
  });

  it('follows the policy\'s levels: lowered breaking rules do not count, the checks can be raised', () => {
    expect(versioning(v('1.0.0'), v('1.0.0', true), { levels: { 'request-parameter-became-required': 'warning' } })).toEqual([]);
    expect(versioning(v('1.0.0'), v('1.1.0', true), { levels: { 'api-major-version-not-bumped': 'breaking' } })).toEqual(['breaking api-major-version-not-bumped']);
  });
});

describe('the real policy governs diffs', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ clock: () => NOW });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const diff = async (base: Json, revision: Json) => {
    const res = await s.call('POST', '/v1/diff', { body: JSON.stringify({ base, revision }), type: 'application/json' });
    expect(res.status).toBe(200);
    return ((await res.json()).changes as Array<{ rule: string; level: string }>).filter((c) => !c.rule.startsWith('openapi-diff/')).map((c) => `${c.level} ${c.rule}`);
  };

  it('PUT /v1/policy with a diff section changes levels and deprecation requirements of POST /v1/diff', async () => {
    const deprecatedParam = [doc({ parameters: [param()] }), doc({ parameters: [param({ deprecated: true, 'x-sunset': '2027-01-10' })] })] as const;
    const secured = doc({ security: [{ apiKey: [] }] });
    expect(await diff(...deprecatedParam)).toEqual(['info request-parameter-deprecated']);
    expect(await diff(doc(), secured)).toEqual(['info api-security-added']);

    const yaml = [
      'approvals: {breaking: 2, non-breaking: 1}',
      'evidence: {breaking: [contract-test], non-breaking: [contract-test]}',
      'diff:',
      '  securityRequirementAdded: breaking',
      '  levels: {request-parameter-removed: breaking}',
      '  deprecation: {minimumDays: {beta: 30, stable: 90}}',
    ].join('\n');
    expect((await s.call('PUT', '/v1/policy', { body: yaml, type: 'application/yaml' })).status).toBe(201);
    expect(await diff(...deprecatedParam)).toEqual(['breaking request-parameter-sunset-date-too-small']);
    expect(await diff(doc(), secured)).toEqual(['breaking api-security-added']);
    expect(await diff(doc({ parameters: [param()] }), doc())).toEqual(['breaking request-parameter-removed']);

    const typo = yaml.replace('request-parameter-removed', 'request-parameter-gone');
    const refused = await s.call('PUT', '/v1/policy', { body: typo, type: 'application/yaml' });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toContain('unknown field \\"request-parameter-gone\\"');
  });
});
