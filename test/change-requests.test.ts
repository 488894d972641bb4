import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ChangeAcknowledgement, ChangeRequest, ChangeReview } from '../src/changes/changes.ts';
import { ReleaseRequest } from '../src/changes/releases.ts';
import { EvidenceRecord, JunitEvidenceParams } from '../src/evidence/evidence.ts';
import { GateCheckRequest } from '../src/gate/check.ts';
import { FreezeRequest } from '../src/gate/freezes.ts';
import { ReviewConclusion } from '../src/gate/review-items.ts';
import { parseInput } from '../src/lib/validate.ts';
import { AccordError } from '../src/errors.ts';

/**
 * The change-control request schemas (the API's and the console's one validation): the findings
 * they give, with the JSON pointers and messages the hand-written checks gave before them.
 */

const ID = 'must match ^[a-z0-9][a-z0-9-]{0,62}$';

function findings(schema: z.ZodType, value: unknown): Array<{ location: string; message: string }> {
  try {
    parseInput(schema, value, { detail: 'Invalid' });
  } catch (error) {
    expect(error).toBeInstanceOf(AccordError);
    return (error as AccordError).toProblem({}).errors ?? [];
  }
  return [];
}

const target = { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', environment: 'production' };

describe('change-control request schemas', () => {
  it('a change request: ids, a semantic version, a summary and flow ids', () => {
    expect(findings(ChangeRequest, {})).toEqual([
      { location: '/partner', message: ID },
      { location: '/api', message: ID },
      { location: '/version', message: 'must be a semantic version' },
      { location: '/summary', message: 'must say what changes and why (3–5000 characters)' },
    ]);
    expect(findings(ChangeRequest, { ...target, partner: 'control-matrix', version: 'v2.0.0', summary: '  x ', flows: ['a', 1] })).toEqual([
      { location: '/partner', message: '"control-matrix" is reserved' },
      { location: '/version', message: 'must be a semantic version' },
      { location: '/summary', message: 'must say what changes and why (3–5000 characters)' },
      { location: '/flows', message: 'must be an array of flow ids' },
    ]);
    expect(findings(ChangeRequest, { ...target, summary: 'x'.repeat(5001), flows: 'a' }).map((e) => e.location)).toEqual(['/summary', '/flows']);
    expect(parseInput(ChangeRequest, { ...target, summary: 'Wording only', flows: ['finalisation'], extra: true }, { detail: 'Invalid' })).toEqual({ partner: target.partner, api: target.api, version: target.version, summary: 'Wording only', flows: ['finalisation'] });
  });

  it('a review: approve or reject, a comment of at most 5000 characters, a reason to reject', () => {
    expect(findings(ChangeReview, { decision: 'maybe' })).toEqual([{ location: '/decision', message: 'must be approve or reject' }]);
    expect(findings(ChangeReview, { decision: 'reject', comment: '  ' })).toEqual([{ location: '/comment', message: 'say why the change is rejected' }]);
    expect(findings(ChangeReview, { decision: 'reject', comment: 5 })).toEqual([
      { location: '/comment', message: 'must be text of at most 5000 characters' },
      { location: '/comment', message: 'say why the change is rejected' },
    ]);
    expect(findings(ChangeReview, { decision: 'approve', comment: 'x'.repeat(5001) })).toEqual([{ location: '/comment', message: 'must be text of at most 5000 characters' }]);
    expect(findings(ChangeReview, { decision: 'approve' })).toEqual([]);
  });

  it('an acknowledgement ignores a comment that is not text, as it always did', () => {
    expect(parseInput(ChangeAcknowledgement, { comment: 5 }, { detail: 'Invalid' })).toEqual({});
    expect(parseInput(ChangeAcknowledgement, { comment: 'ready' }, { detail: 'Invalid' })).toEqual({ comment: 'ready' });
  });

  it('evidence: every field checked, expiry after production even when other fields are wrong', () => {
    expect(findings(EvidenceRecord, { ...target, kind: 'vibes', result: 'maybe', sha256: 'xyz', uri: 'not a uri', commit: 'zz', producedAt: '2026-11-27T00:00:00Z', expiresAt: '2026-11-26T00:00:00Z' })).toEqual([
      { location: '/kind', message: expect.stringMatching(/^must be one of contract-test, /) },
      { location: '/result', message: 'must be pass or fail' },
      { location: '/sha256', message: 'must be the hex sha256 of the contract content the evidence was produced for' },
      { location: '/uri', message: 'must be a URI where the evidence can be read' },
      { location: '/commit', message: 'must be the source commit (7–64 hex characters)' },
      { location: '/expiresAt', message: 'must be after producedAt' },
    ]);
    const report = { ...target, kind: 'contract-test', sha256: 'a'.repeat(64), uri: `https://ci.example/${'x'.repeat(2000)}`, commit: 'abcdef1', producedAt: 'yesterday', expiresAt: '' };
    expect(findings(JunitEvidenceParams, report)).toEqual([
      { location: '/uri', message: 'must be a URI where the evidence can be read' },
      { location: '/producedAt', message: 'must be an ISO 8601 date-time' },
      { location: '/expiresAt', message: 'must be an ISO 8601 date-time' },
    ]);
    expect(findings(JunitEvidenceParams, { ...report, uri: 'https://ci.example/run/1', producedAt: '2026-11-27T00:00:00Z', expiresAt: undefined })).toEqual([]);
  });

  it('a gate check, a release, a freeze and a review conclusion', () => {
    expect(findings(GateCheckRequest, { ...target, environment: 'Prod', breakGlass: 'too short' })).toEqual([
      { location: '/environment', message: ID },
      { location: '/breakGlass', message: 'give the reason for breaking glass (at least 10 characters)' },
    ]);
    expect(findings(ReleaseRequest, { ...target, version: 2 }).map((e) => e.location)).toEqual(['/version']);
    expect(findings(FreezeRequest, { partner: 'acme', reason: ' x ' })).toEqual([{ location: '/reason', message: 'say why releases are frozen' }]);
    expect(findings(ReviewConclusion, {})).toEqual([{ location: '/conclusion', message: 'required' }]);
  });
});
