import { randomBytes } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { asc, eq } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { changeRequests, incidentActionItems, incidentPostmortems, incidents } from '../db/index.ts';
import { lockKey } from '../db/locks.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { DURATION_PATTERN } from '../matrix/schema.ts';
import { currentPolicy } from '../matrix/policy.ts';
import { matrixVersionRow } from '../matrix/store.ts';
import { findIncident, incidentRef } from './incidents.ts';

export const ACTION_AREAS = ['contracts', 'monitoring', 'retry-logic', 'partner-onboarding', 'other'] as const;
export const LINK_KINDS = ['change-request', 'matrix-proposal', 'evidence-requirement'] as const;
export const ACTION_STATUSES = ['open', 'done'] as const;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);

export const ActionItemInput = z
  .object({
    id: z.string().max(100).optional().meta({ description: 'An existing item of this postmortem to keep (its creation time is kept); left out: a new item' }),
    title: text(300),
    area: z.enum(ACTION_AREAS, { error: `must be one of ${ACTION_AREAS.join(', ')}` }),
    link: z
      .object({
        kind: z.enum(LINK_KINDS, { error: `must be one of ${LINK_KINDS.join(', ')}` }),
        ref: text(200).meta({ description: 'change-request: its id; matrix-proposal: `<flow>/v<version>`; evidence-requirement: an evidence kind of the policy, optionally `@<environment>`' }),
      })
      .strict(),
    owner: z.string().trim().max(200).optional(),
    status: z.enum(ACTION_STATUSES, { error: 'must be open or done' }).default('open'),
  })
  .strict();

/** PUT /v1/incidents/{id}/postmortem: the whole postmortem (it replaces the previous one). */
export const PostmortemRequest = z
  .object({
    rootCause: text(20_000),
    detection: z
      .object({
        timeToDetect: z.string().regex(new RegExp(DURATION_PATTERN), 'must be an ISO 8601 duration (e.g. PT12M)').optional().meta({ description: 'Default: from the incident’s start to its opening' }),
        how: text(5000),
      })
      .strict(),
    compensationEffectiveness: text(20_000),
    partnerCommunication: text(20_000),
    governanceGaps: text(20_000),
    actionItems: z.array(ActionItemInput).max(100, 'at most 100 action items').default([]),
  })
  .strict()
  .meta({ id: 'PostmortemRequest' });
export type PostmortemRequest = z.output<typeof PostmortemRequest>;

type ActionRow = typeof incidentActionItems.$inferSelect;

/** An action item as the API shows it. */
export interface ActionItemView {
  id: string;
  title: string;
  area: string;
  link: { kind: string; ref: string } | null;
  owner: string | null;
  status: string;
  createdAt: string;
  doneAt: string | null;
}

/** A postmortem as the API shows it. */
export interface PostmortemView {
  rootCause: string;
  detection: { timeToDetect: string | null; how: string };
  compensationEffectiveness: string;
  partnerCommunication: string;
  governanceGaps: string;
  updatedBy: string;
  updatedAt: string;
  actionItems: ActionItemView[];
}

function itemView(row: ActionRow): ActionItemView {
  return { id: row.id, title: row.title, area: row.area, link: row.linkKind ? { kind: row.linkKind, ref: row.linkRef ?? '' } : null, owner: row.owner, status: row.status, createdAt: row.createdAt, doneAt: row.doneAt };
}

/** An ISO 8601 duration of milliseconds (days, hours, minutes, seconds): PT0S, PT12M, P1DT2H. */
export function isoDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(rest / 86_400);
  rest %= 86_400;
  const h = Math.floor(rest / 3600);
  rest %= 3600;
  const m = Math.floor(rest / 60);
  const s = rest % 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  if (!d && !time) return 'PT0S';
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

/** An incident's postmortem with its action items; null before one is written. */
export async function getPostmortem(deps: Pick<Deps, 'db'>, incidentId: string): Promise<PostmortemView | null> {
  const row = await deps.db.select().from(incidentPostmortems).where(eq(incidentPostmortems.incidentId, incidentId)).get();
  if (!row) return null;
  const items = await deps.db.select().from(incidentActionItems).where(eq(incidentActionItems.incidentId, incidentId)).orderBy(asc(incidentActionItems.createdAt), asc(incidentActionItems.id)).all();
  return {
    rootCause: row.rootCause,
    detection: { timeToDetect: row.timeToDetect, how: row.detectedBy },
    compensationEffectiveness: row.compensationEffectiveness,
    partnerCommunication: row.partnerCommunication,
    governanceGaps: row.governanceGaps,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
    actionItems: items.map(itemView),
  };
}

/** `<flow>/v<n>` (or `<flow>/<n>`) → flow and version. */
export function proposalRef(ref: string): { flow: string; version: number } | undefined {
  const m = /^([a-z0-9][a-z0-9-]*)\/v?([1-9]\d{0,8})$/.exec(ref);
  return m ? { flow: m[1]!, version: Number(m[2]) } : undefined;
}

/** Every action item whose link names nothing that exists, as findings at /actionItems/<i>/link/ref. */
async function linkErrors(deps: Pick<Deps, 'db' | 'registry' | 'config'>, items: PostmortemRequest['actionItems']): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  let kinds: Set<string> | undefined;
  for (const [i, item] of items.entries()) {
    const { kind, ref } = item.link;
    const location = `/actionItems/${i}/link/ref`;
    if (kind === 'change-request') {
      const found = await deps.db.select({ id: changeRequests.id }).from(changeRequests).where(eq(changeRequests.id, ref)).get();
      if (!found) errors.push({ location, message: `no change request "${ref}"` });
    } else if (kind === 'matrix-proposal') {
      const parsed = proposalRef(ref);
      const row = parsed ? await matrixVersionRow(deps, parsed.flow, parsed.version) : undefined;
      if (!parsed) errors.push({ location, message: `"${ref}" is not a matrix proposal reference: <flow>/v<version>, e.g. member-match/v3` });
      else if (!row || row.kind !== 'flow') errors.push({ location, message: `no version ${parsed.version} of control-matrix flow "${parsed.flow}"` });
    } else {
      if (!kinds) {
        const policy = await currentPolicy(deps);
        kinds = new Set([...policy.evidence.breaking, ...policy.evidence['non-breaking']]);
      }
      const evidenceKind = ref.split('@')[0]!;
      if (!kinds.has(evidenceKind)) errors.push({ location, message: `"${evidenceKind}" is not an evidence kind the policy requires (${[...kinds].join(', ')})` });
    }
  }
  return errors;
}

/**
 * Writes an incident's postmortem (PUT: the whole of it, action items included). Every action
 * item's link must name something that exists — a change request, a version of a control-matrix
 * flow (`flow/vN`), an evidence kind the policy requires — or nothing is written (422 listing
 * each bad link). Items sent with the id of an existing item keep it (and its creation time);
 * items left out are removed. A closed incident's postmortem is final (409).
 */
export async function writePostmortem(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'>, principal: Principal, ref: string, input: PostmortemRequest): Promise<PostmortemView> {
  const incident = await findIncident(deps, ref);
  const errors = await linkErrors(deps, input.actionItems);
  const existing = new Map((await deps.db.select().from(incidentActionItems).where(eq(incidentActionItems.incidentId, incident.id)).all()).map((r) => [r.id, r]));
  const seen = new Set<string>();
  input.actionItems.forEach((item, i) => {
    if (item.id === undefined) return;
    if (!existing.has(item.id)) errors.push({ location: `/actionItems/${i}/id`, message: `no action item "${item.id}" in ${incidentRef(incident.number)}'s postmortem (leave id out for a new item)` });
    else if (seen.has(item.id)) errors.push({ location: `/actionItems/${i}/id`, message: `"${item.id}" is listed twice` });
    seen.add(item.id);
  });
  if (errors.length > 0) throw new AccordError('invalid_document', `The postmortem of ${incidentRef(incident.number)} was not written: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, { errors });
  const now = deps.clock().toISOString();
  await deps.db.transaction(async (tx) => {
    await tx.$serialize(lockKey(`incident ${incident.id}`));
    const current = (await tx.select().from(incidents).where(eq(incidents.id, incident.id)).get())!;
    if (current.status === 'closed') throw new AccordError('conflict', `${incidentRef(current.number)} is closed (${current.closedAt} by ${current.closedBy}); its postmortem is final`);
    const timeToDetect = input.detection.timeToDetect ?? isoDuration(Date.parse(current.openedAt) - Date.parse(current.startedAt));
    const values = {
      rootCause: input.rootCause,
      timeToDetect,
      detectedBy: input.detection.how,
      compensationEffectiveness: input.compensationEffectiveness,
      partnerCommunication: input.partnerCommunication,
      governanceGaps: input.governanceGaps,
      updatedBy: principal.name,
      updatedAt: now,
    };
    await tx.insert(incidentPostmortems).values({ incidentId: incident.id, ...values }).onConflictDoUpdate({ target: incidentPostmortems.incidentId, set: values }).run();
    await tx.delete(incidentActionItems).where(eq(incidentActionItems.incidentId, incident.id)).run();
    for (const item of input.actionItems) {
      const before = item.id ? existing.get(item.id) : undefined;
      await tx
        .insert(incidentActionItems)
        .values({
          id: before?.id ?? `act_${randomBytes(8).toString('hex')}`,
          incidentId: incident.id,
          title: item.title,
          area: item.area,
          linkKind: item.link.kind,
          linkRef: item.link.ref,
          owner: item.owner || null,
          status: item.status,
          createdAt: before?.createdAt ?? now,
          doneAt: item.status === 'done' ? (before?.status === 'done' ? before.doneAt : now) : null,
        })
        .run();
    }
  });
  return (await getPostmortem(deps, incident.id))!;
}
