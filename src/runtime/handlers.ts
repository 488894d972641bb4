import { randomBytes } from 'node:crypto';
import { and, eq, or } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { partnerRecords } from '../db/index.ts';
import { consentConstraint, consentMember, consentProblem, memberMatch, operationOutcome, REFERENCE_PARTNERS } from './reference-partners.ts';

type Json = Record<string, any>;

/** What a reference handler answers. */
export interface HandlerResult {
  status: number;
  body: Json | null;
  headers?: Record<string, string>;
}

export interface HandlerCall {
  partner: string;
  operationId: string | undefined;
  params: Record<string, string>;
  body: Json;
  /** Absolute base of this contract line's URLs on the public URL, e.g. https://accord.example/exchange/northwind-health/p2p-exchange/v2. */
  base: string;
  now: Date;
  /** Who calls: records it makes are its own, and only it may read or change them. */
  caller: Caller;
}

/** The calling payer (a partner token) or operator (any other token). */
export interface Caller {
  partner: string | null;
  tokenId: string;
}

/** The owner a caller's records carry. */
function ownerOf(caller: Caller): string {
  return caller.partner ?? `token:${caller.tokenId}`;
}

function records(deps: Pick<Deps, 'db'>, owner: string) {
  // '' marks records from before owners were kept: anyone's.
  const mine = or(eq(partnerRecords.owner, owner), eq(partnerRecords.owner, ''));
  return {
    async get(partner: string, kind: string, id: string) {
      return await deps.db.select().from(partnerRecords).where(and(eq(partnerRecords.partner, partner), eq(partnerRecords.kind, kind), eq(partnerRecords.id, id), mine)).get();
    },
    async put(partner: string, kind: string, id: string, data: Json, status: string, now: Date) {
      await deps.db
        .insert(partnerRecords)
        .values({ partner, kind, id, data: JSON.stringify(data), status, polls: 0, owner, createdAt: now.toISOString(), updatedAt: now.toISOString() })
        .onConflictDoUpdate({ target: [partnerRecords.partner, partnerRecords.kind, partnerRecords.id], set: { data: JSON.stringify(data), status, updatedAt: now.toISOString() }, setWhere: mine })
        .run();
    },
    /** Whether a record with this id exists that belongs to another caller. */
    async othersHave(partner: string, kind: string, id: string) {
      const row = await deps.db.select({ owner: partnerRecords.owner }).from(partnerRecords).where(and(eq(partnerRecords.partner, partner), eq(partnerRecords.kind, kind), eq(partnerRecords.id, id))).get();
      return row !== undefined && row.owner !== owner && row.owner !== '';
    },
    async find(partner: string, kind: string) {
      return await deps.db.select().from(partnerRecords).where(and(eq(partnerRecords.partner, partner), eq(partnerRecords.kind, kind), mine)).all();
    },
    async poll(partner: string, kind: string, id: string) {
      await deps.db.$sql.run('UPDATE partner_records SET polls = polls + 1 WHERE partner = ? AND kind = ? AND id = ?', [partner, kind, id]);
    },
  };
}

const id = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const notFound = (what: string): HandlerResult => ({ status: 404, body: operationOutcome('not-found', `No ${what}`) });

/**
 * The reference partners' behaviour for every operation of the p2p-exchange contracts:
 * $member-match, consent capture and revocation, the asynchronous bulk export (202 +
 * Content-Location, polling with X-Progress, DELETE cancels), acknowledgement and finalisation.
 * State lives in SQLite (partner_records) so it survives restarts. Each record belongs to the
 * caller that made it: another caller gets 404, as if it did not exist.
 */
export async function handleReference(deps: Pick<Deps, 'db'>, call: HandlerCall): Promise<HandlerResult> {
  const store = records(deps, ownerOf(call.caller));
  const { partner, body, params, now } = call;
  const today = now.toISOString().slice(0, 10);
  switch (call.operationId) {
    case 'memberMatch':
      return memberMatch(partner, body, today, call.caller.partner);
    case 'captureConsent': {
      // A consent on file must be usable: for one of this payer's members, disclosing to the caller.
      const problem = consentProblem(partner, body, today, call.caller.partner) ?? (consentMember(partner, body) ? undefined : `patient ${body.patient?.identifier?.value ?? '(none given)'} is not a member of ${partner}`);
      if (problem) return consentConstraint(problem, 'Consent');
      const consentId = id('consent');
      const consent = { ...body, id: consentId };
      await store.put(partner, 'consent', consentId, consent, String(body.status), now);
      return { status: 201, body: consent, headers: { Location: `${call.base}/Consent/${consentId}` } };
    }
    case 'readConsent': {
      const row = await store.get(partner, 'consent', params.consentId!);
      return row ? { status: 200, body: JSON.parse(row.data) } : notFound(`consent ${params.consentId}`);
    }
    case 'revokeConsent': {
      const row = await store.get(partner, 'consent', params.consentId!);
      if (!row) return notFound(`consent ${params.consentId}`);
      const consent = { ...JSON.parse(row.data), status: 'inactive' };
      await store.put(partner, 'consent', row.id, consent, 'inactive', now);
      return { status: 200, body: consent };
    }
    case 'requestDataExport': {
      const member = (Array.isArray(body.parameter) ? body.parameter : []).find((p: Json) => p?.name === 'memberIdentifier')?.valueIdentifier?.value;
      // The caller's own consent on file for the member, still active, a permit and in period.
      const consented = (await store.find(partner, 'consent')).some((r) => {
        const c = JSON.parse(r.data);
        return r.status === 'active' && c.patient?.identifier?.value === member && consentProblem(partner, c, today, call.caller.partner) === undefined;
      });
      if (!consented) return consentConstraint(`no active consent on file for member ${member ?? '(none given)'} that permits disclosure to the caller`, "Parameters.parameter.where(name = 'memberIdentifier')");
      const jobId = id('job');
      await store.put(partner, 'export', jobId, { jobId, groupId: params.groupId, member, request: body }, 'in-progress', now);
      return { status: 202, body: null, headers: { 'Content-Location': `${call.base}/export-status/${jobId}` } };
    }
    case 'getExportStatus': {
      const row = await store.get(partner, 'export', params.jobId!);
      if (!row || row.status === 'cancelled') return notFound(`export job ${params.jobId}`);
      if (row.polls < 1) {
        await store.poll(partner, 'export', row.id);
        return { status: 202, body: null, headers: { 'X-Progress': 'exporting: 50% of resources written' } };
      }
      const job = JSON.parse(row.data);
      await store.put(partner, 'export', row.id, job, 'completed', now);
      const profile = REFERENCE_PARTNERS.get(partner);
      const files = ['Patient', 'Coverage', 'ExplanationOfBenefit'].map((type) => ({ type, url: `https://files.${partner}.example/exports/${row.id}/${type}.ndjson`, count: type === 'ExplanationOfBenefit' ? 14 : 1 }));
      return { status: 200, body: { transactionTime: row.createdAt, request: `${call.base}/Group/${job.groupId}/$davinci-data-export`, requiresAccessToken: true, output: profile ? files : [], error: [] } };
    }
    case 'cancelExport': {
      const row = await store.get(partner, 'export', params.jobId!);
      if (!row || row.status === 'cancelled') return notFound(`export job ${params.jobId}`);
      await store.put(partner, 'export', row.id, JSON.parse(row.data), 'cancelled', now);
      return { status: 202, body: null };
    }
    case 'acknowledgeReceipt': {
      const job = await store.get(partner, 'export', String(body.exportJobId));
      if (!job || job.status === 'cancelled') return notFound(`export job ${body.exportJobId}`);
      const acknowledgementId = id('ack');
      await store.put(partner, 'acknowledgement', acknowledgementId, body, String(body.status), now);
      return { status: 201, body: { acknowledgementId, exportJobId: body.exportJobId, recordedAt: now.toISOString() } };
    }
    case 'finalizeExchange':
    case 'finalizeExchangeById': {
      if (params.exchangeId !== undefined && body.exchangeId !== undefined && String(body.exchangeId) !== params.exchangeId) {
        // 400, as the contract documents for finalisation (certification found the former 422 undocumented).
        return { status: 400, body: operationOutcome('invalid', `The body's exchangeId ${body.exchangeId} is not the path's ${params.exchangeId}`, ['exchangeId']) };
      }
      const exchangeId = params.exchangeId ?? String(body.exchangeId);
      if (await store.othersHave(partner, 'finalization', exchangeId)) return { status: 409, body: operationOutcome('conflict', `Exchange ${exchangeId} was finalised by another caller`) };
      const job = await store.get(partner, 'export', String(body.exportJobId));
      // The contract documents 200, 400 and 409 for finalisation: an export job the caller does not have is an invalid request, not a 404.
      if (!job) return { status: 400, body: operationOutcome('invalid', `exportJobId ${body.exportJobId} names no export job of this caller's to finalise`, ['exportJobId']) };
      await store.put(partner, 'finalization', exchangeId, { ...body, exchangeId }, 'finalized', now);
      return { status: 200, body: { exchangeId, state: 'finalized', finalizedAt: now.toISOString() } };
    }
    default:
      return { status: 501, body: operationOutcome('not-supported', `The reference runtime has no handler for ${call.operationId ?? 'this operation'}`) };
  }
}

const ROLLBACK = Symbol('rollback');

/** What `handleReference` would answer, with nothing it does kept (HEAD). */
export async function peekReference(deps: Pick<Deps, 'db'>, call: HandlerCall): Promise<HandlerResult> {
  let result: HandlerResult | undefined;
  try {
    await deps.db.transaction(async () => {
      result = await handleReference(deps, call);
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return result!;
}

/**
 * A call to a reference partner, carrying a request key (the saga's per-step Idempotency-Key) unless it is a safe read:
 * the partner answers a repeated key with its first answer and does nothing again, as a
 * partner implementing Idempotency-Key does. Run inside the caller's SQLite transaction.
 */
export async function callPartner(deps: Pick<Deps, 'db'>, call: HandlerCall & { requestKey: string | undefined }): Promise<HandlerResult & { replayed: boolean }> {
  if (call.requestKey === undefined) return { ...await handleReference(deps, call), replayed: false };
  const store = records(deps, ownerOf(call.caller));
  const earlier = await store.get(call.partner, 'request', call.requestKey);
  if (earlier) return { ...(JSON.parse(earlier.data) as HandlerResult), replayed: true };
  const result = await handleReference(deps, call);
  await store.put(call.partner, 'request', call.requestKey, result as unknown as Json, String(result.status), call.now);
  return { ...result, replayed: false };
}

/** The partner's stored answer to a request key, if it ever received that request (no effect). */
export async function lookupPartnerRequest(deps: Pick<Deps, 'db'>, partner: string, requestKey: string, caller: Caller): Promise<HandlerResult | undefined> {
  const row = await records(deps, ownerOf(caller)).get(partner, 'request', requestKey);
  return row ? (JSON.parse(row.data) as HandlerResult) : undefined;
}
