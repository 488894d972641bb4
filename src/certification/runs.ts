import { and, desc, eq, getTableColumns, lt, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { Id, SemVer } from '../contracts/ids.ts';
import { certificationRuns, releases } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { escapeXml } from '../lib/xml.ts';
import { ENVIRONMENT_PATTERN } from '../partners/endpoints.ts';
import { CASE_CATEGORIES } from './cases.ts';
import type { CaseResult } from './suite.ts';

/** What POST /v1/certifications asks: certify this version against the partner's endpoint in an environment, or Accord's own reference partner. */
export const CertificationRequest = z
  .strictObject({
    partner: Id,
    api: Id,
    version: SemVer,
    environment: z
      .string({ error: 'must be an environment name' })
      .regex(ENVIRONMENT_PATTERN, 'environment names are lower-case letters, digits and hyphens, 1–40, starting with a letter')
      .optional()
      .meta({ description: 'The partner environment whose registered endpoint is certified (required for target endpoint); for target reference, Accord’s runtime environment (ACCORD_RUNTIME_ENV), which it defaults to' }),
    target: z.enum(['endpoint', 'reference'], { error: 'must be endpoint or reference' }).default('endpoint').meta({ description: 'endpoint: the partner’s registered endpoint for the environment; reference: Accord’s own reference partner through its exchange, with a short-lived token minted for the run' }),
    seed: z.number({ error: 'must be an integer 0–2147483647' }).int('must be an integer 0–2147483647').min(0, 'must be an integer 0–2147483647').max(2_147_483_647, 'must be an integer 0–2147483647').default(1).meta({ description: 'Seeds the schema-derived inputs: the same seed sends the same requests (default 1)' }),
  })
  .meta({ id: 'CertificationRequest' });
export type CertificationRequest = z.output<typeof CertificationRequest>;

export type RunRow = typeof certificationRuns.$inferSelect;
export const RUN_STATUSES = ['running', 'passed', 'failed', 'error'] as const;

/** A run still "running" whose replica has not written for this long is reported as abandoned. */
export const ABANDONED_AFTER_MS = 5 * 60_000;

/** What a list shows of a run: the evidence it recorded, its notes, its drift notice (the `summary` column). */
export interface RunSummary {
  evidence: Array<{ id: string; kind: string; result: string }>;
  notes: string[];
  driftNoticeId?: string;
}

/** A run without its report: what lists, drift and the scorecard read. */
export type RunListRow = Omit<RunRow, 'report'>;
const { report: _report, ...LIST_COLUMNS } = getTableColumns(certificationRuns);

/** Every case of a run, with its requests, answers and verdict. */
export function casesOf(row: Pick<RunRow, 'report'>): CaseResult[] {
  return (JSON.parse(row.report) as { cases: CaseResult[] }).cases;
}

/** A run as the API shows it; `cases` only when asked for (the list leaves them out and never reads them). */
export function runView(row: RunListRow & { report?: string }, now: Date, options: { cases: boolean }) {
  const summary = JSON.parse(row.summary) as RunSummary;
  const abandoned = row.status === 'running' && now.getTime() - Date.parse(row.heartbeatAt) > ABANDONED_AFTER_MS;
  return {
    id: row.id,
    partner: row.partner,
    api: row.api,
    version: row.version,
    environment: row.environment,
    target: row.target as 'endpoint' | 'reference',
    contentSha256: row.contentSha256,
    seed: row.seed,
    status: (abandoned ? 'error' : row.status) as (typeof RUN_STATUSES)[number],
    progress: { total: row.total, done: row.done, failed: row.failures },
    trigger: row.trigger as 'request' | 'schedule',
    error: abandoned ? `abandoned: the replica running it stopped writing at ${row.heartbeatAt} (it was restarted or lost); start a new run` : row.error,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    finishedAt: row.finishedAt,
    evidence: summary.evidence,
    driftNoticeId: summary.driftNoticeId ?? null,
    notes: summary.notes,
    ...(options.cases && row.report !== undefined ? { cases: casesOf({ report: row.report }) } : {}),
  };
}
export type RunView = ReturnType<typeof runView>;

/** A partner reads its own runs only; another's is 404, as if it did not exist. */
function visible<R extends RunListRow>(principal: Principal, row: R | undefined): row is R {
  return row !== undefined && (principal.role !== 'partner' || principal.partner === row.partner);
}

/** GET /v1/certifications/{id}. */
export async function getRun(deps: Pick<Deps, 'db'>, principal: Principal, id: string): Promise<RunRow> {
  const row = await deps.db.select().from(certificationRuns).where(eq(certificationRuns.id, id)).get();
  if (!visible(principal, row)) throw new AccordError('not_found', `No certification run ${id}`);
  return row;
}

const RUN_ORDER: KeyPart<RunListRow>[] = [
  { column: certificationRuns.createdAt, desc: true, of: (r) => r.createdAt },
  { column: certificationRuns.id, desc: true, of: (r) => r.id },
];

/** GET /v1/certifications: runs newest first, filtered; a partner sees its own. */
export async function listRuns(deps: Pick<Deps, 'db'>, principal: Principal, filter: { partner?: string; api?: string; version?: string; environment?: string }, page: Page): Promise<Paged<RunListRow>> {
  const where: SQL[] = [];
  const partner = principal.role === 'partner' ? principal.partner! : filter.partner;
  if (principal.role === 'partner' && filter.partner && filter.partner !== principal.partner) return { items: [], more: false };
  if (partner) where.push(eq(certificationRuns.partner, partner));
  if (filter.api) where.push(eq(certificationRuns.api, filter.api));
  if (filter.version) where.push(eq(certificationRuns.version, filter.version));
  if (filter.environment) where.push(eq(certificationRuns.environment, filter.environment));
  const rows = await deps.db.select(LIST_COLUMNS).from(certificationRuns).where(and(...where, keyAfter(RUN_ORDER, page.after))).orderBy(...keyOrder(RUN_ORDER)).limit(page.limit + 1).all();
  return pageOf(rows, page.limit, RUN_ORDER);
}

/** The newest finished run of the partner's own endpoint for a version in an environment, for drift. */
export async function latestFinished(deps: Pick<Deps, 'db'>, where: { partner: string; api: string; environment: string; version?: string }, before?: string): Promise<RunListRow | undefined> {
  const rows = await deps.db
    .select(LIST_COLUMNS)
    .from(certificationRuns)
    .where(and(eq(certificationRuns.partner, where.partner), eq(certificationRuns.api, where.api), eq(certificationRuns.environment, where.environment), eq(certificationRuns.target, 'endpoint'), ...(where.version ? [eq(certificationRuns.version, where.version)] : [])))
    .orderBy(desc(certificationRuns.createdAt))
    .limit(20)
    .all();
  return rows.find((r) => r.status !== 'running' && r.status !== 'error' && (before === undefined || r.createdAt < before));
}

/** The run as a JUnit report: a testsuite per category, a testcase per case (failure or error with its findings). */
export function junitReport(row: RunRow): string {
  const cases = casesOf(row);
  const suites = CASE_CATEGORIES.map((category) => cases.filter((c) => c.category === category)).filter((list) => list.length > 0);
  const count = (list: CaseResult[], verdict: string) => list.filter((c) => c.verdict === verdict).length;
  const name = `accord certification ${row.partner}/${row.api}@${row.version} ${row.environment} (${row.target})`;
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="${escapeXml(name)}" tests="${cases.length}" failures="${count(cases, 'fail')}" errors="${count(cases, 'error')}" skipped="${count(cases, 'pending')}">`];
  for (const list of suites) {
    lines.push(`  <testsuite name="${escapeXml(list[0]!.category)}" tests="${list.length}" failures="${count(list, 'fail')}" errors="${count(list, 'error')}" skipped="${count(list, 'pending')}" timestamp="${escapeXml(row.createdAt)}">`);
    for (const c of list) {
      const time = (c.exchanges.reduce((sum, e) => sum + e.durationMs, 0) / 1000).toFixed(3);
      const open = `    <testcase classname="${escapeXml(`${row.partner}.${row.api}.${c.category}`)}" name="${escapeXml(`${c.id}: ${c.name}`)}" time="${time}"`;
      const message = escapeXml(c.findings.join('\n'));
      if (c.verdict === 'pass') lines.push(`${open}/>`);
      else if (c.verdict === 'pending') lines.push(`${open}><skipped message="not run"/></testcase>`);
      else lines.push(`${open}><${c.verdict === 'fail' ? 'failure' : 'error'} message="${escapeXml(c.findings[0] ?? c.verdict)}">${message}</${c.verdict === 'fail' ? 'failure' : 'error'}></testcase>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/**
 * A partner's certification standing for its scorecard: the newest finished run of its endpoint for each API in
 * each environment (failing after a release of that version there = drift), and how many runs
 * finished in the window and passed.
 */
export async function certificationStanding(deps: Pick<Deps, 'db'>, partner: string, since: string): Promise<CertificationStanding> {
  const rows = await deps.db.select(LIST_COLUMNS).from(certificationRuns).where(and(eq(certificationRuns.partner, partner), eq(certificationRuns.target, 'endpoint'))).orderBy(desc(certificationRuns.createdAt)).limit(500).all();
  const finished = rows.filter((r) => r.status === 'passed' || r.status === 'failed');
  const latest = new Map<string, RunListRow>();
  for (const r of finished) if (!latest.has(`${r.api}\n${r.environment}`)) latest.set(`${r.api}\n${r.environment}`, r);
  const standing = [];
  for (const r of latest.values()) {
    const release = await deps.db.select({ createdAt: releases.createdAt }).from(releases).where(and(eq(releases.partner, partner), eq(releases.api, r.api), eq(releases.version, r.version), eq(releases.environment, r.environment), lt(releases.createdAt, r.createdAt))).limit(1).get();
    standing.push({ api: r.api, environment: r.environment, version: r.version, status: r.status as 'passed' | 'failed', runId: r.id, finishedAt: r.finishedAt, failedCases: r.failures, drift: r.status === 'failed' && release !== undefined });
  }
  const inWindow = finished.filter((r) => r.createdAt >= since);
  return { runs: inWindow.length, passed: inWindow.filter((r) => r.status === 'passed').length, latest: standing.sort((a, b) => `${a.api} ${a.environment}`.localeCompare(`${b.api} ${b.environment}`)) };
}

export interface CertificationStanding {
  runs: number;
  passed: number;
  latest: Array<{ api: string; environment: string; version: string; status: 'passed' | 'failed'; runId: string; finishedAt: string | null; failedCases: number; drift: boolean }>;
}
