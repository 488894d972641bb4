import { describe, expect, it } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { askedBecause, computeImpact, consumerImpact, impactFor, scopedDiff } from '../src/changes/impact.ts';
import type { ConsumerUsage } from '../src/changes/usage.ts';
import { summarise, type Change } from '../src/diff/types.ts';
import { evaluateGate, type GateFacts } from '../src/gate/evaluate.ts';

/** Partner-scoped impact as a pure function of a diff and the consumers' usage (ADR 0020). */

const change = (rule: string, level: Change['level'], operationId?: string): Change => ({ rule, level, direction: 'request', ...(operationId ? { method: 'POST', path: `/${operationId}`, operationId } : {}), location: `/x/${rule}`, message: `${rule} ${operationId ?? ''}` });
const usage = (consumer: string, declared: string[] | null, observed: string[] = []): ConsumerUsage => {
  const known = declared !== null || observed.length > 0;
  return { consumer, declared, declaredAt: null, declaredBy: null, observed, operations: known ? [...new Set([...(declared ?? []), ...observed])].sort() : null };
};

describe('consumer impact', () => {
  const diff = [change('request-parameter-removed', 'breaking', 'exportData'), change('response-property-became-optional', 'warning', 'matchMember'), change('api-operation-added', 'info', 'newThing')];

  it('affects a consumer when a breaking finding touches an operation it uses, and says which and why', () => {
    expect(consumerImpact(diff, true, usage('acme', ['exportData', 'matchMember']))).toMatchObject({
      usage: 'declared',
      affected: true,
      touched: ['exportData', 'matchMember'],
      findings: [{ rule: 'request-parameter-removed' }, { rule: 'response-property-became-optional' }],
      reason: 'uses exportData, matchMember — request-parameter-removed',
    });
  });

  it('does not affect one touched by warnings only in a breaking change, nor one whose operations are untouched', () => {
    expect(consumerImpact(diff, true, usage('acme', null, ['matchMember']))).toMatchObject({ usage: 'observed', affected: false, reason: 'uses matchMember; the change touches matchMember with warnings only (response-property-became-optional), nothing breaking' });
    expect(consumerImpact(diff, true, usage('acme', ['other']))).toMatchObject({ affected: false, touched: [], findings: [], reason: 'uses other, which the change does not touch' });
    expect(consumerImpact(diff, true, usage('acme', []))).toMatchObject({ affected: false, reason: 'uses no operation of the API' });
  });

  it('counts warnings for a non-breaking change (its policy asked acknowledgements), never infos', () => {
    const nonBreaking = diff.slice(1);
    expect(consumerImpact(nonBreaking, false, usage('acme', ['matchMember']))).toMatchObject({ affected: true, reason: 'uses matchMember — response-property-became-optional' });
    expect(consumerImpact(nonBreaking, false, usage('acme', ['newThing']))).toMatchObject({ affected: false, findings: [] });
  });

  it('affects a consumer whose usage is unknown by everything, and everyone by a document-level finding', () => {
    expect(consumerImpact(diff, true, usage('zenith', null))).toMatchObject({ usage: 'unknown', operations: null, affected: true, findings: [{}, {}] });
    expect(consumerImpact([], false, usage('zenith', null)).affected).toBe(true);
    const documentLevel = [change('security-scheme-changed', 'breaking')];
    expect(consumerImpact(documentLevel, true, usage('acme', ['other']))).toMatchObject({ affected: true, touched: [], reason: 'document-level changes — security-scheme-changed' });
    expect(consumerImpact([...documentLevel, ...diff], true, usage('acme', ['exportData'])).reason).toBe('uses exportData (and document-level changes) — security-scheme-changed, request-parameter-removed');
  });

  it('lists at most 50 findings and counts the rest; names at most three operations and rules', () => {
    const many = Array.from({ length: 60 }, (_, i) => change(`rule-${i}`, 'breaking', `op${i}`));
    const entry = consumerImpact(many, true, usage('acme', many.map((c) => c.operationId!)));
    expect(entry.findings).toHaveLength(50);
    expect(entry.moreFindings).toBe(10);
    expect(entry.reason).toBe('uses op0, op1, op10 and 57 more — rule-0, rule-1, rule-2 and 57 more');
  });

  it('scopes a diff to a consumer, shows a partner its own entry, and gives the gate its reasons', () => {
    const result = summarise(diff);
    const impact = computeImpact(result, [usage('acme', ['exportData']), usage('zenith', null), usage('river', ['other'])], '2026-10-28T00:00:00.000Z');
    expect(impact.consumers.map((c) => [c.consumer, c.affected])).toEqual([['acme', true], ['zenith', true], ['river', false]]);
    expect(scopedDiff(result, impact.consumers[0]).changes.map((c) => c.operationId)).toEqual(['exportData']);
    expect(scopedDiff(result, impact.consumers[1]).changes).toEqual(result.changes);
    expect(scopedDiff(result, impact.consumers[2])).toMatchObject({ changes: [], bump: 'none' });
    const partner: Principal = { tokenId: 't', name: 'acme', role: 'partner', partner: 'acme' };
    expect(impactFor(partner, 'provider', impact)!.consumers.map((c) => c.consumer)).toEqual(['acme']);
    expect(impactFor({ ...partner, partner: 'provider' }, 'provider', impact)).toBe(impact);
    expect(impactFor(partner, 'provider', null)).toBeNull();
    expect(askedBecause(['acme', 'zenith'], impact)).toEqual([
      { partner: 'acme', reason: 'uses exportData — request-parameter-removed' },
      { partner: 'zenith', reason: 'usage unknown (nothing declared, no calls observed), so every change counts' },
    ]);
    expect(askedBecause(['acme'], null)).toBeUndefined();
  });
});

describe("the gate's acknowledgement reason", () => {
  const facts = (askedBecause?: Array<{ partner: string; reason: string }>): GateFacts => ({
    now: '2026-11-27T12:00:00.000Z',
    target: { partner: 'p', api: 'a', version: '2.0.0', environment: 'production', state: 'approved', sha256: 's' },
    change: { id: 'chg_1', diffHash: 'h1', createdBy: 'alice', createdByToken: 'tok_a', requiredApprovals: 0, requiredAcks: ['acme', 'zenith'], ...(askedBecause ? { askedBecause } : {}), requiredEvidence: [] },
    diff: { base: '1.0.0', hash: 'h1', summary: summarise([]).summary, bump: 'none', changes: [] },
    reviews: [],
    acks: [{ partner: 'zenith', diffHash: 'h1' }],
    evidence: [],
    flows: [],
    changedOperations: [],
    freezes: [],
    previousRelease: null,
  });
  const acknowledgements = (f: GateFacts) => evaluateGate(f).reasons.find((r) => r.rule === 'acknowledgements')!;

  it('names each partner still to acknowledge with what the change touches of what it uses', () => {
    const reason = acknowledgements(facts([{ partner: 'acme', reason: 'uses exportData — request-parameter-removed' }, { partner: 'zenith', reason: 'usage unknown' }]));
    expect(reason).toMatchObject({ status: 'pending', message: 'Waiting for acknowledgement from acme: uses exportData — request-parameter-removed' });
    expect(reason.howToFix).toContain('/v1/changes/chg_1/diff');
  });

  it('says what it always said for decisions stored before impact was computed (re-derived with the same message)', () => {
    expect(acknowledgements(facts())).toMatchObject({ status: 'pending', message: 'Waiting for acknowledgement from acme', howToFix: 'Each consuming partner acknowledges with its token: POST /v1/changes/chg_1/acknowledgements' });
  });
});
