import { randomBytes } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { appendAudit } from '../audit/log.ts';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { incidentActionItems, incidentInterventions, incidentPostmortems, incidents } from '../db/index.ts';
import { lockKey } from '../db/locks.ts';
import { AccordError } from '../errors.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { enqueueEvent, type Tx } from '../notices/webhooks.ts';

export const SEVERITIES = ['sev1', 'sev2', 'sev3'] as const;
export const INCIDENT_STATUSES = ['open', 'closed'] as const;
export const INCIDENT_SOURCES = ['sla', 'operator'] as const;

/** Who opens the incidents of SLA breaches (as in the SLA monitor's audit rows). */
export const SLA_MONITOR = 'accord-sla-monitor';

/** The severity of an incident an SLA breach opens. */
export const BREACH_SEVERITY = 'sev2';

/** One number sequence across replicas: openings take this lock while they draw the next number. */
const NUMBERING_LOCK = lockKey('incident numbers');

const NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;
const name = (what: string) => z.string().regex(NAME, `must be a ${what} id (lower-case letters, digits and hyphens)`);

/** POST /v1/incidents: what an operator opens an incident with. */
export const IncidentRequest = z
  .object({
    title: z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters'),
    severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }),
    flow: name('control-matrix flow').optional(),
    partner: name('partner').optional(),
    api: name('API').optional(),
    startedAt: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' }).optional().meta({ description: 'When the trouble started (default: now); not after now' }),
    summary: z.string().max(10_000, 'at most 10000 characters').optional(),
  })
  .strict()
  .meta({ id: 'IncidentRequest' });
export type IncidentRequest = z.output<typeof IncidentRequest>;

type IncidentRow = typeof incidents.$inferSelect;

/** An incident as the API shows it. */
export interface IncidentView extends IncidentRow {
  /** INC-<number>. */
  ref: string;
  /** The SLA interventions it covers. */
  interventions: string[];
}

/** The reference people use: INC-12. */
export function incidentRef(number: number): string {
  return `INC-${number}`;
}

async function interventionsOf(db: Deps['db'], ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db.select().from(incidentInterventions).where(sql`${incidentInterventions.incidentId} IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`).orderBy(asc(incidentInterventions.interventionId)).all();
  for (const r of rows) out.get(r.incidentId)?.push(r.interventionId);
  return out;
}

async function view(db: Deps['db'], row: IncidentRow): Promise<IncidentView> {
  return { ...row, ref: incidentRef(row.number), interventions: (await interventionsOf(db, [row.id])).get(row.id)! };
}

/** The incident with id `ref` or reference INC-n; 404 otherwise. */
export async function findIncident(deps: Pick<Deps, 'db'>, ref: string): Promise<IncidentRow> {
  const number = /^INC-([1-9]\d{0,9})$/i.exec(ref);
  const row = number
    ? await deps.db.select().from(incidents).where(eq(incidents.number, Number(number[1]))).get()
    : await deps.db.select().from(incidents).where(eq(incidents.id, ref)).get();
  if (!row) throw new AccordError('not_found', `No incident ${ref}`);
  return row;
}

/** One incident with the interventions it covers. */
export async function getIncident(deps: Pick<Deps, 'db'>, ref: string): Promise<IncidentView> {
  return await view(deps.db, await findIncident(deps, ref));
}

/** The filters of GET /v1/incidents. */
export interface IncidentFilter {
  status?: (typeof INCIDENT_STATUSES)[number];
  partner?: string;
  flow?: string;
}

/** The order of the incident list: open ones first, each group newest first, ties by number. */
const INCIDENT_ORDER: KeyPart<IncidentRow>[] = [
  { column: sql`(CASE WHEN ${incidents.status} = 'open' THEN 0 ELSE 1 END)`, of: (r) => (r.status === 'open' ? 0 : 1) },
  { column: incidents.openedAt, desc: true, of: (r) => r.openedAt },
  { column: incidents.number, desc: true, of: (r) => r.number },
];

/** One page of the incidents, open ones first, each group newest first (200 unless told). */
export async function listIncidents(deps: Pick<Deps, 'db'>, filter: IncidentFilter = {}, page: Page = { limit: 200 }): Promise<Paged<IncidentView>> {
  const where: SQL[] = [];
  if (filter.status) where.push(eq(incidents.status, filter.status));
  if (filter.partner) where.push(eq(incidents.partner, filter.partner));
  if (filter.flow) where.push(eq(incidents.flow, filter.flow));
  const after = keyAfter(INCIDENT_ORDER, page.after);
  if (after) where.push(after);
  const rows = await deps.db
    .select()
    .from(incidents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(...keyOrder(INCIDENT_ORDER))
    .limit(page.limit + 1)
    .all();
  const paged = pageOf(rows, page.limit, INCIDENT_ORDER);
  const covered = await interventionsOf(deps.db, paged.items.map((r) => r.id));
  return { ...paged, items: paged.items.map((r) => ({ ...r, ref: incidentRef(r.number), interventions: covered.get(r.id)! })) };
}

async function insertIncident(tx: Tx, deps: Pick<Deps, 'config'>, values: Omit<IncidentRow, 'id' | 'number' | 'status' | 'closedAt' | 'closedBy'>): Promise<IncidentRow> {
  await tx.$serialize(NUMBERING_LOCK);
  const last = (await tx.$sql.value('SELECT max(number) FROM incidents')) as number | null;
  const row: IncidentRow = { id: `inc_${randomBytes(8).toString('hex')}`, number: Number(last ?? 0) + 1, status: 'open', closedAt: null, closedBy: null, ...values };
  await tx.insert(incidents).values(row).run();
  await enqueueEvent(tx, new Date(row.openedAt), 'incident.opened', eventData(deps, row), 'all');
  return row;
}

function eventData(deps: Pick<Deps, 'config'>, row: IncidentRow): Record<string, unknown> {
  return {
    incidentId: row.id,
    ref: incidentRef(row.number),
    title: row.title,
    severity: row.severity,
    status: row.status,
    source: row.source,
    flow: row.flow,
    partner: row.partner,
    api: row.api,
    startedAt: row.startedAt,
    openedAt: row.openedAt,
    openedBy: row.openedBy,
    ...(row.closedAt ? { closedAt: row.closedAt, closedBy: row.closedBy } : {}),
    link: absoluteUrl(deps.config, `/v1/incidents/${row.id}`),
  };
}

/**
 * Opens an incident for an operator (POST /v1/incidents): numbered INC-n in order of opening,
 * an `incident.opened` webhook event in the same transaction. Its start defaults to now and
 * may not lie ahead.
 */
export async function openIncident(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, input: IncidentRequest): Promise<IncidentView> {
  const now = deps.clock();
  const startedAt = input.startedAt ? new Date(input.startedAt) : now;
  if (startedAt.getTime() > now.getTime()) throw new AccordError('invalid_document', 'Invalid incident', { errors: [{ location: '/startedAt', message: `must not be after now (${now.toISOString()})` }] });
  const row = await deps.db.transaction(async (tx) =>
    insertIncident(tx, deps, {
      title: input.title,
      severity: input.severity,
      flow: input.flow ?? null,
      partner: input.partner ?? null,
      api: input.api ?? null,
      source: 'operator',
      openedBy: principal.name,
      openedAt: now.toISOString(),
      startedAt: startedAt.toISOString(),
      summary: input.summary ?? null,
    }),
  );
  return await view(deps.db, row);
}

/** What the SLA monitor knows when it applies an intervention. */
export interface Breach {
  flow: string;
  partner: string;
  api: string | null;
  /** The rule's index (its breach row in sla_breaches says since when). */
  rule: number;
  interventionId: string;
  reason: string;
}

/**
 * An SLA breach's incident, in the transaction that applies the intervention: the open incident
 * of the same flow and partner covers it too, else a new one opens (severity sev2, started when
 * the breach began). Returns the incident and whether it was opened now.
 */
export async function incidentForBreach(tx: Tx, deps: Pick<Deps, 'clock' | 'config'>, breach: Breach): Promise<{ incident: IncidentRow; opened: boolean }> {
  const open = await tx
    .select()
    .from(incidents)
    .where(and(eq(incidents.status, 'open'), eq(incidents.flow, breach.flow), eq(incidents.partner, breach.partner)))
    .orderBy(asc(incidents.number))
    .limit(1)
    .get();
  let incident = open;
  if (!incident) {
    const now = deps.clock();
    const since = (await tx.$sql.value('SELECT since FROM sla_breaches WHERE flow = ? AND partner = ? AND rule = ?', [breach.flow, breach.partner, breach.rule])) as number | string | null | undefined;
    const startedAt = since === null || since === undefined ? now : new Date(Math.min(Number(since), now.getTime()));
    incident = await insertIncident(tx, deps, {
      title: breach.reason,
      severity: BREACH_SEVERITY,
      flow: breach.flow,
      partner: breach.partner,
      api: breach.api,
      source: 'sla',
      openedBy: SLA_MONITOR,
      openedAt: now.toISOString(),
      startedAt: startedAt.toISOString(),
      summary: null,
    });
  }
  await tx.insert(incidentInterventions).values({ incidentId: incident.id, interventionId: breach.interventionId }).onConflictDoNothing().run();
  return { incident, opened: !open };
}

/** Audits what a breach did to incidents (after the intervention's transaction committed). */
export async function auditBreachIncident(deps: Pick<Deps, 'db' | 'clock' | 'audit'>, result: { incident: IncidentRow; opened: boolean }, interventionId: string): Promise<void> {
  const { incident, opened } = result;
  await appendAudit(deps, {
    actor: SLA_MONITOR,
    role: 'system',
    action: opened ? 'incident.opened' : 'incident.intervention-linked',
    target: `incident ${incidentRef(incident.number)}`,
    outcome: 'ok',
    detail: { id: incident.id, interventionId, flow: incident.flow, partner: incident.partner },
  });
}

/** Action items still open, for the 409 of a close and the console. */
export async function openActionItems(deps: Pick<Deps, 'db'>, incidentId: string) {
  return await deps.db
    .select()
    .from(incidentActionItems)
    .where(and(eq(incidentActionItems.incidentId, incidentId), eq(incidentActionItems.status, 'open')))
    .orderBy(asc(incidentActionItems.createdAt), asc(incidentActionItems.id))
    .all();
}

/**
 * Closes an incident (POST /v1/incidents/{id}/close): 409 while it has no postmortem or any of
 * its action items is open (listed in the problem's `openActionItems`), 409 when already closed.
 * Sets closedAt/closedBy and emits `incident.closed` in the same transaction. A closed incident
 * is never reopened.
 */
export async function closeIncident(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, ref: string): Promise<IncidentView> {
  const found = await findIncident(deps, ref);
  const now = deps.clock().toISOString();
  const row = await deps.db.transaction(async (tx) => {
    await tx.$serialize(lockKey(`incident ${found.id}`));
    const current = (await tx.select().from(incidents).where(eq(incidents.id, found.id)).get())!;
    const refName = incidentRef(current.number);
    if (current.status === 'closed') throw new AccordError('conflict', `${refName} is already closed (${current.closedAt} by ${current.closedBy}); a closed incident is not reopened`);
    const postmortem = await tx.select({ id: incidentPostmortems.incidentId }).from(incidentPostmortems).where(eq(incidentPostmortems.incidentId, current.id)).get();
    if (!postmortem) throw new AccordError('conflict', `${refName} has no postmortem yet: write it first (PUT /v1/incidents/${current.id}/postmortem)`, { extra: { openActionItems: [] } });
    const open = await openActionItems({ db: tx }, current.id);
    if (open.length > 0) {
      throw new AccordError('conflict', `${refName} cannot be closed while ${open.length} action item${open.length === 1 ? ' is' : 's are'} open: ${open.map((a) => `${a.id} "${a.title}"`).join(', ')}`, {
        extra: { openActionItems: open.map((a) => ({ id: a.id, title: a.title, area: a.area, owner: a.owner, link: a.linkKind ? { kind: a.linkKind, ref: a.linkRef } : null })) },
      });
    }
    const closed = { ...current, status: 'closed', closedAt: now, closedBy: principal.name };
    await tx.update(incidents).set({ status: 'closed', closedAt: now, closedBy: principal.name }).where(eq(incidents.id, current.id)).run();
    await enqueueEvent(tx, new Date(now), 'incident.closed', eventData(deps, closed), 'all');
    return closed;
  });
  return await view(deps.db, row);
}
