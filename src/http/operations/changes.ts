import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { ChangeAcknowledgement, ChangeRequest, ChangeReview, REVIEW_DECISIONS } from '../../changes/changes.ts';
import { USAGE_SOURCES } from '../../changes/impact.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { DiffFormatQuery, DiffResult, diffResponse } from './diff.ts';
import { GateReason, VERDICTS } from './gate.ts';

const LEVELS = ['breaking', 'warning', 'info'] as const;
const BUMPS = ['major', 'minor', 'patch', 'none'] as const;

const levelCounts = { breaking: z.number().int(), warning: z.number().int(), info: z.number().int() };

const ChangeSummary = z
  .object({
    id: z.string(),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    baseVersion: z.string().nullable().meta({ description: 'The version the diff is against: production’s, else the previous one' }),
    breaking: z.boolean(),
    bump: z.enum(BUMPS),
    diffSummary: z.object({ ...levelCounts, total: z.number().int(), distinct: z.object(levelCounts).meta({ description: 'A change to a shared schema counted once' }) }),
    diffHash: z.string().meta({ description: 'The hash reviews and acknowledgements are bound to' }),
    summary: z.string(),
    flows: z.array(z.string()),
    requires: z.object({ approvals: z.number().int(), acknowledgements: z.array(z.string()).meta({ description: 'Partners asked to acknowledge' }), evidence: z.array(z.string()).meta({ description: 'Evidence kinds' }) }),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: 'ChangeSummary' });

const Review = z
  .object({ id: z.string(), changeId: z.string(), decision: z.enum(REVIEW_DECISIONS), comment: z.string(), diffHash: z.string(), reviewer: z.string(), reviewerToken: z.string(), createdAt: z.string() })
  .meta({ id: 'ChangeReviewRecord' });

const Acknowledgement = z
  .object({ id: z.string(), changeId: z.string(), partner: z.string(), diffHash: z.string(), comment: z.string(), createdAt: z.string(), createdBy: z.string() })
  .meta({ id: 'ChangeAcknowledgementRecord' });

const ImpactFinding = z.object({ rule: z.string(), level: z.enum(LEVELS), method: z.string().optional(), path: z.string().optional(), operationId: z.string().optional(), message: z.string() });

const ConsumerImpact = z
  .object({
    consumer: z.string(),
    usage: z.enum(USAGE_SOURCES).meta({ description: 'Where its usage is known from: declared, observed through the exchange, both, or unknown' }),
    operations: z.array(z.string()).nullable().meta({ description: 'The operationIds it uses (declared ∪ observed); null when unknown' }),
    affected: z.boolean().meta({ description: 'Whether the change touches what it uses (breaking findings for a breaking change); unknown usage is affected by everything' }),
    touched: z.array(z.string()).meta({ description: 'The operations it uses that the change touches' }),
    findings: z.array(ImpactFinding).meta({ description: 'Breaking and warning findings touching it (at most 50)' }),
    moreFindings: z.number().int(),
    reason: z.string().meta({ description: 'Why it is (not) asked, in one line' }),
  })
  .meta({ id: 'ConsumerImpact' });

const ChangeImpact = z
  .object({ observedSince: z.string().meta({ description: 'Exchange calls since then counted as observed usage' }), consumers: z.array(ConsumerImpact) })
  .nullable()
  .meta({ description: 'Per consumer of the API when the change was opened, what it touches (a consuming partner sees its own entry only); null for change requests opened before impact was computed' });

const DiffScope = z
  .object({ consumer: z.string(), usage: z.enum(USAGE_SOURCES), operations: z.array(z.string()).nullable(), affected: z.boolean(), reason: z.string() })
  .nullable()
  .meta({ description: 'Whose scope this is; null for the whole diff' });

const counts = z.boolean().meta({ description: 'Whether it is for the change’s diff (as amended by findings found after review) and that diff is still what a release would ship' });

const ChangeDetail = ChangeSummary.extend({
  diff: z.looseObject({ changes: z.array(z.looseObject({ rule: z.string(), level: z.enum(LEVELS), message: z.string() })) }).meta({ description: 'The diff snapshot the change request was opened with: changes, summary and bump' }),
  currentDiffHash: z.string().meta({ description: 'The hash of the diff a release would ship now, by today’s engine (differs from diffHash whenever anything in it differs; only stale and foundAfterReview matter)' }),
  stale: z.boolean().meta({ description: 'A release would now ship other content or a diff against another base than the snapshot’s (a newer engine’s findings do not make a change stale)' }),
  foundAfterReview: z
    .array(ImpactFinding.extend({ location: z.string(), at: z.string(), reviewedHash: z.string().meta({ description: 'The diff hash before they were found' }) }))
    .meta({ description: 'Breaking findings a newer diff engine found after review, appended to the snapshot: reviews and acknowledgements of the diff before them no longer count' }),
  reviews: z.array(Review.omit({ reviewerToken: true }).extend({ counts })),
  acknowledgements: z.array(Acknowledgement.extend({ counts })),
  evidence: z.array(GateReason).meta({ description: 'The gate’s evidence reasons' }),
  gatePreview: z.object({ environment: z.string(), verdict: z.enum(VERDICTS), reasons: z.array(GateReason) }),
  impact: ChangeImpact,
}).meta({ id: 'ChangeDetail' });

const changeId = z.object({ id: pathParam('Change request id') });

export const listChanges = defineOperation({
  operationId: 'listChanges',
  method: 'get',
  path: '/v1/changes',
  tags: ['Changes'],
  summary: 'Change requests, newest first; with ?awaiting=me those awaiting the caller',
  description:
    'Staff list change requests (optionally of one partner/api). A partner token may only call it with `awaiting=me` (403 otherwise). ' +
    'Pages of `limit` (default 100), `Link: rel="next"` while more follow. ' +
    '`awaiting=me` answers, newest first and at most 1000 in all, the open change requests (the newest of their version, version not released or retired, diff not rejected) awaiting the caller: ' +
    'for a partner, those listing it among the required acknowledgements (a consumer the change affects) that it has not acknowledged for their diff; for an approver or admin (whose token may use changes:review), those still short of approvals that it may review — not opened by it, its version not registered by it (same token or a look-alike name), not yet reviewed by it; for other roles none.',
  roles: ROLES,
  scope: 'changes:read',
  request: {
    query: PageQuery(100)
      .extend({
        partner: z.string().optional().meta({ description: 'Only change requests to this partner’s APIs' }),
        api: z.string().optional().meta({ description: 'Only change requests to this API' }),
        awaiting: z.enum(['me'], { error: 'must be "me"' }).optional().meta({ description: '`me`: only what awaits the caller (any other value → 400; not combined with partner or api)' }),
      })
      .superRefine((query, ctx) => {
        const filter = query.partner !== undefined ? 'partner' : query.api !== undefined ? 'api' : undefined;
        if (query.awaiting !== undefined && filter) ctx.addIssue({ code: 'custom', path: [filter], message: 'not with awaiting=me' });
      }),
  },
  responses: { 200: pagedJson(z.array(ChangeSummary)), 400: problem },
});

export const createChange = defineOperation({
  operationId: 'createChange',
  method: 'post',
  path: '/v1/changes',
  tags: ['Changes'],
  summary: 'Open a change request: snapshots the diff and derives approvals, acknowledgements and evidence from the policy',
  description:
    'The diff is taken against production’s version (else the previous one) and hashed; reviews and acknowledgements are bound to that hash. Without `flows`, the flows covering the operations the diff changes. ' +
    'Its impact on each consumer of the API is computed from what the consumer uses (declared, or observed through the exchange within ACCORD_USAGE_WINDOW; unknown usage is affected by everything); when the policy asks acknowledgements, only affected consumers are asked (an `acknowledgement-requested` notice and a `change.acknowledgement-requested` webhook event each) and the others get a `change-unaffected` notice. ' +
    'A new change request for a diff that was rejected is refused (409), as is one for a retired version.',
  roles: ['admin', 'author'],
  scope: 'changes:write',
  request: { body: jsonBodyOf(ChangeRequest) },
  invalid: { detail: 'Invalid change request' },
  responses: { 201: json(ChangeSummary, 'Opened (Location: the change request)'), 404: problem, 409: problem, 422: problem },
});

export const getChange = defineOperation({
  operationId: 'getChange',
  method: 'get',
  path: '/v1/changes/{id}',
  tags: ['Changes'],
  summary: 'A change request with its diff, reviews, acknowledgements, evidence status and a gate preview',
  description: 'A partner reads the change requests to its own APIs and those whose impact names it as a consumer (affected or not); any other is 404, as one that does not exist. `impact` shows, per consumer, what the change touches of what it uses; a consuming partner sees its own entry only.',
  roles: ROLES,
  scope: 'changes:read',
  request: { params: changeId, query: z.object({ environment: z.string().optional().meta({ description: 'The environment of the gate preview (default production)' }) }) },
  responses: { 200: json(ChangeDetail), 404: problem },
});

export const getChangeDiff = defineOperation({
  operationId: 'getChangeDiff',
  method: 'get',
  path: '/v1/changes/{id}/diff',
  tags: ['Changes'],
  summary: 'The change’s diff scoped to one consumer: only the findings touching the operations it uses',
  description:
    'A consuming partner gets its own scope: the findings of the diff snapshot that touch an operation it uses (declared or observed) or the document as a whole; all of them when its usage is unknown. `consumer` names another consumer: staff and the API’s provider may (403 for a consumer asking for another’s; 404 for a partner that is not a consumer). Without `consumer`, staff and the provider get the whole diff (`scope: null`). JSON, Markdown or text (`format`).',
  roles: ROLES,
  scope: 'changes:read',
  request: { params: changeId, query: DiffFormatQuery.extend({ consumer: z.string().optional().meta({ description: 'The consumer whose scope to show (default: the calling partner)' }) }) },
  responses: { 200: diffResponse(DiffResult.extend({ scope: DiffScope }).meta({ id: 'ScopedDiff' })), 404: problem },
});

export const reviewChange = defineOperation({
  operationId: 'reviewChange',
  method: 'post',
  path: '/v1/changes/{id}/reviews',
  tags: ['Changes'],
  summary: 'Approve or reject (not by the change author); bound to the current diff hash',
  description:
    'Whoever opened the change request or registered its version (same token, or a look-alike name) gets 403. Enough approvals move a draft version to approved. ' +
    'The review is bound to the change’s diff hash as it stands; with `diffHash` (the hash the reviewer read), 409 when breaking findings found after review have amended the diff since.',
  roles: ['admin', 'approver'],
  scope: 'changes:review',
  request: { params: changeId, body: jsonBodyOf(ChangeReview) },
  invalid: { detail: 'Invalid review' },
  responses: { 201: json(Review, 'Recorded'), 404: problem, 409: problem, 422: problem },
});

export const acknowledgeChange = defineOperation({
  operationId: 'acknowledgeChange',
  method: 'post',
  path: '/v1/changes/{id}/acknowledgements',
  tags: ['Changes'],
  summary: 'A consuming partner acknowledges the change',
  description: 'Only a partner asked to acknowledge the change (a consumer it affected when it was opened) may; others, unaffected consumers included, get 403. The body may be left out.',
  roles: ['partner'],
  scope: 'changes:acknowledge',
  request: { params: changeId, body: jsonBodyOf(ChangeAcknowledgement, false) },
  responses: { 201: json(Acknowledgement, 'Recorded'), 404: problem },
});

export const changeOperations = [listChanges, createChange, getChange, getChangeDiff, reviewChange, acknowledgeChange];
