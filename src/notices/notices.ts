import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, lte, sql } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page } from '../lib/pages.ts';
import { appendAudit } from '../audit/log.ts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { consumersOf } from '../changes/consumers.ts';
import { releaseDiff } from '../changes/changes.ts';
import type { Deps } from '../deps.ts';
import { findVersion, getVersion, markContractsChanged } from '../contracts/versions.ts';
import { contractVersions, deprecations, notices, type Db } from '../db/index.ts';
import { renderMarkdown } from '../diff/render.ts';
import { AccordError } from '../errors.ts';
import { escapeXml as xml } from '../lib/xml.ts';
import { currentPolicy } from '../matrix/policy.ts';
import { enqueueEvent } from './webhooks.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What a notice is about. */
export const NOTICE_KINDS = ['deprecation', 'breaking-release', 'sunset-reached', 'synthetic-drift', 'partner-drift', 'webhook-disabled', 'acknowledgement-requested', 'change-unaffected'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * Stores a notice for the API's provider and consumers (or the `audience` given; staff see
 * every notice) and queues the matching webhook event, in the caller's transaction.
 */
export async function publishNotice(
  tx: Tx,
  deps: Pick<Deps, 'db' | 'clock'>,
  notice: { kind: NoticeKind; partner: string; api: string; version: string; title: string; body: string },
  options: { audience?: string[] } = {},
): Promise<string> {
  const now = deps.clock();
  const audience = options.audience ?? [notice.partner, ...await consumersOf(deps, notice.partner, notice.api)];
  const id = `ntc_${randomBytes(8).toString('hex')}`;
  await tx.insert(notices).values({ id, ...notice, audience: JSON.stringify(audience), createdAt: now.toISOString() }).run();
  await enqueueEvent(tx, now, `notice.${notice.kind}`, { noticeId: id, ...notice }, audience);
  return id;
}

/** The order of the notices: newest first, ties by id. */
const NOTICE_ORDER: KeyPart<typeof notices.$inferSelect>[] = [
  { column: notices.createdAt, desc: true, of: (r) => r.createdAt },
  { column: notices.id, desc: true, of: (r) => r.id },
];

/** One page of the notices, newest first; a partner sees only those that concern it (filtered in SQL). */
export async function listNotices(deps: Pick<Deps, 'db'>, principal: Principal, page: Page = { limit: 100 }) {
  const concerns = principal.role === 'partner' ? sql`EXISTS (SELECT 1 FROM json_each(${notices.audience}) WHERE value = ${principal.partner})` : undefined;
  const rows = await deps.db
    .select()
    .from(notices)
    .where(and(concerns, keyAfter(NOTICE_ORDER, page.after)))
    .orderBy(...keyOrder(NOTICE_ORDER))
    .limit(page.limit + 1)
    .all();
  const paged = pageOf(rows, page.limit, NOTICE_ORDER);
  return { ...paged, items: paged.items.map((n) => ({ ...n, audience: JSON.parse(n.audience) as string[] })) };
}

/** Path of what a notice is about: the contract version, or the webhook a `webhook-disabled` notice names (as api "webhooks", version its id). */
function relatedPath(n: { kind: string; partner: string; api: string; version: string }): string {
  if (n.kind === 'webhook-disabled') return `/v1/webhooks/${n.version}`;
  return `/v1/contracts/${n.partner}/${n.api}/versions/${n.version}`;
}

/** The console page a person reads a notice on: the contract version's page, or the notices page for a disabled webhook. */
function alternatePath(n: { id: string; kind: string; partner: string; api: string; version: string }): string {
  if (n.kind === 'webhook-disabled') return `/console/notices#notice-${n.id}`;
  return `/console/contracts/${encodeURIComponent(n.partner)}/${encodeURIComponent(n.api)}/versions/${encodeURIComponent(n.version)}`;
}

/**
 * A weak entity tag of a list of notices (ids and times): equal lists, equal tags, so a feed
 * reader's or poller's If-None-Match gets 304 while nothing new was published.
 */
export function noticesEtag(items: ReadonlyArray<{ id: string; createdAt: string }>, variant: string): string {
  const hash = createHash('sha256').update(variant);
  for (const n of items) hash.update(`\n${n.id} ${n.createdAt}`);
  return `W/"${hash.digest('base64url').slice(0, 27)}"`;
}

/**
 * The notices as an Atom 1.0 feed (RFC 4287).
 * @param urlOf the absolute URL of one of Accord's paths (on the public URL, never the request's Host)
 */
export function renderAtom(items: Awaited<ReturnType<typeof listNotices>>["items"], urlOf: (path: string) => string, updated: Date): string {
  const entries = items
    .map(
      (n) => `  <entry>
    <id>urn:accord:notice:${n.id}</id>
    <title>${xml(n.title)}</title>
    <updated>${n.createdAt}</updated>
    <author><name>Accord</name></author>
    <category term="${n.kind}"/>
    <link rel="alternate" type="text/html" href="${xml(urlOf(alternatePath(n)))}"/>
    <link rel="related" href="${xml(urlOf(relatedPath(n)))}"/>
    <content type="text">${xml(n.body)}</content>
  </entry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:accord:notices</id>
  <title>Accord notices: deprecations, breaking releases, sunsets</title>
  <updated>${(items[0]?.createdAt ?? updated.toISOString())}</updated>
  <link rel="self" type="application/atom+xml" href="${xml(urlOf('/v1/notices.atom'))}"/>
  <link rel="alternate" type="text/html" href="${xml(urlOf('/console/notices'))}"/>
  <author><name>Accord</name></author>
${entries}
</feed>
`;
}

const SUNSET_RULE = 'must be an ISO 8601 date or date-time';
const REASON_RULE = 'say why the version is deprecated';
const SUCCESSOR_RULE = 'must be a registered version of the same API';
/** What a problem with a deprecation says. */
export const DEPRECATION_PROBLEM = 'Invalid deprecation';

/** A deprecation's shape; the sunset's distance and the successor's existence are checked when it is made. */
export const DeprecationRequest = z
  .object({
    sunset: z
      .string({ error: SUNSET_RULE })
      .refine((value) => /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(new Date(value).getTime()), SUNSET_RULE)
      .meta({ description: "When the version goes away: at least the policy's minimum notice from now", examples: ['2027-06-30'] }),
    successor: z.string({ error: SUCCESSOR_RULE }).optional().meta({ description: 'The registered version of the same API to move to' }),
    reason: z.string({ error: REASON_RULE }).trim().min(3, REASON_RULE),
  })
  .meta({ id: 'DeprecationRequest' });

export type DeprecationRequest = z.output<typeof DeprecationRequest>;

/**
 * Deprecates a released version: sunset at least the policy's minimum notice from now (and
 * never before the deprecation), optional successor, reason; notifies provider and consumers.
 */
export async function deprecateVersion(deps: Deps, principal: Principal, partner: string, api: string, version: string, input: DeprecationRequest) {
  const row = await getVersion(deps, principal, partner, api, version);
  const policy = await currentPolicy(deps);
  const now = deps.clock();
  const minDays = policy.deprecation.minimumNoticeDays;
  const errors = [];
  const sunset = new Date(input.sunset);
  if (sunset.getTime() < now.getTime() + minDays * 86_400_000) errors.push({ location: '/sunset', message: `must be at least ${minDays} days from now (policy minimum notice), i.e. on or after ${new Date(now.getTime() + minDays * 86_400_000).toISOString().slice(0, 10)}` });
  if (input.successor !== undefined && !await findVersion(deps, partner, api, input.successor)) errors.push({ location: '/successor', message: SUCCESSOR_RULE });
  if (errors.length > 0) throw new AccordError('invalid_document', DEPRECATION_PROBLEM, { errors });
  if (row.state !== 'released') throw new AccordError('conflict', `Only released versions can be deprecated; ${partner}/${api}@${version} is ${row.state} (states only move forward)`);
  const deprecatedAt = now.toISOString();
  const sunsetIso = sunset.toISOString();
  const successor = input.successor ?? null;
  const result = await deps.db.transaction(async (tx) => {
    await tx.insert(deprecations).values({ partner, api, version, deprecatedAt, sunset: sunsetIso, successor, reason: input.reason, sunsetNoticeAt: null, createdBy: principal.name }).run();
    await tx.update(contractVersions).set({ state: 'deprecated' }).where(and(eq(contractVersions.partner, partner), eq(contractVersions.api, api), eq(contractVersions.version, version))).run();
    const noticeId = await publishNotice(tx, deps, {
      kind: 'deprecation',
      partner,
      api,
      version,
      title: `${partner}/${api} ${version} is deprecated; sunset ${sunsetIso.slice(0, 10)}`,
      body: `${partner}/${api} ${version} is deprecated as of ${deprecatedAt.slice(0, 10)} and will be removed after ${sunsetIso.slice(0, 10)}.${successor ? ` Move to ${successor}.` : ''} Reason: ${input.reason}`,
    });
    await markContractsChanged(tx);
    return { partner, api, version, state: 'deprecated' as const, deprecatedAt, sunset: sunsetIso, successor, reason: input.reason, noticeId };
  });
  return result;
}

/** The deprecation of a version, if any (for headers and views). */
export async function deprecationOf(deps: Pick<Deps, 'db'>, partner: string, api: string, version: string) {
  return await deps.db.select().from(deprecations).where(and(eq(deprecations.partner, partner), eq(deprecations.api, api), eq(deprecations.version, version))).get();
}

/**
 * Retires versions whose sunset has passed and tells partners; idempotent. Returns how many.
 * Only the jobs loop calls it (every ACCORD_JOBS_INTERVAL_MS): reads never write.
 */
export async function processSunsets(deps: Pick<Deps, 'db' | 'clock' | 'audit'>): Promise<number> {
  const now = deps.clock().toISOString();
  const due = await deps.db.select().from(deprecations).where(and(isNull(deprecations.sunsetNoticeAt), lte(deprecations.sunset, now))).all();
  for (const d of due) {
    await deps.db.transaction(async (tx) => {
      await tx.update(deprecations).set({ sunsetNoticeAt: now }).where(and(eq(deprecations.partner, d.partner), eq(deprecations.api, d.api), eq(deprecations.version, d.version))).run();
      await tx.update(contractVersions).set({ state: 'retired' }).where(and(eq(contractVersions.partner, d.partner), eq(contractVersions.api, d.api), eq(contractVersions.version, d.version), eq(contractVersions.state, 'deprecated'))).run();
      await publishNotice(tx, deps, {
        kind: 'sunset-reached',
        partner: d.partner,
        api: d.api,
        version: d.version,
        title: `${d.partner}/${d.api} ${d.version} reached its sunset and is retired`,
        body: `${d.partner}/${d.api} ${d.version} reached its sunset on ${d.sunset.slice(0, 10)} and is retired.${d.successor ? ` Use ${d.successor}.` : ''}`,
      });
      // With the retirement: nothing after its commit may fail before the audit entry below.
      await markContractsChanged(tx);
    });
    await appendAudit(deps, { actor: 'accord-system', role: 'system', action: 'version.retired', target: `${d.partner}/${d.api}@${d.version}`, outcome: 'ok', detail: { sunset: d.sunset } });
  }
  return due.length;
}

/** Partner-facing release notes of a version: the Markdown changelog of what it ships. */
export async function releaseNotes(deps: Deps, principal: Principal, partner: string, api: string, version: string): Promise<string> {
  const row = await getVersion(deps, principal, partner, api, version);
  const diff = await releaseDiff(deps, row);
  const deprecation = await deprecationOf(deps, partner, api, version);
  const header = deprecation ? `> Deprecated on ${deprecation.deprecatedAt.slice(0, 10)}; sunset ${deprecation.sunset.slice(0, 10)}${deprecation.successor ? `; successor ${deprecation.successor}` : ''}.\n\n` : '';
  return header + renderMarkdown(diff.result, `${partner}/${api} ${version}${diff.base ? ` (changes since ${diff.base})` : ''}`);
}
