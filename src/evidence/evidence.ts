import { createHash, randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { Id, SemVer } from '../contracts/ids.ts';
import { findVersion } from '../contracts/versions.ts';
import { evidence } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { EVIDENCE_KINDS } from '../matrix/schema.ts';

export type EvidenceRow = typeof evidence.$inferSelect;

/** What a check found. */
export const EVIDENCE_RESULTS = ['pass', 'fail'] as const;

/** Who produced a record: `accord` (a certification run or a synthetic check, never posted) or `caller` (posted by a CI job or a person). */
export const EVIDENCE_PRODUCERS = ['accord', 'caller'] as const;
export type EvidenceProducer = (typeof EVIDENCE_PRODUCERS)[number];

const ONLY_ACCORD = "only Accord's own certification runs and synthetic checks produce accord evidence";

export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

const isIsoDateTime = (value: unknown) => typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));

/** A string field whose one rule gives one finding, whatever is wrong with it. */
function ruled(test: (value: string) => boolean, rule: string, description: string) {
  return z.string({ error: rule }).refine(test, rule).meta({ description });
}

const ISO_DATE_TIME = 'must be an ISO 8601 date-time';

/** The fields of an evidence record. */
const EvidenceFields = z.object({
  partner: Id,
  api: Id,
  environment: Id,
  version: SemVer,
  kind: z.enum(EVIDENCE_KINDS, { error: `must be one of ${EVIDENCE_KINDS.join(', ')}` }),
  result: z.enum(EVIDENCE_RESULTS, { error: 'must be pass or fail' }),
  sha256: ruled((v) => /^[0-9a-f]{64}$/.test(v), 'must be the hex sha256 of the contract content the evidence was produced for', 'sha256 of the contract content the evidence was produced for: it counts only for that content'),
  uri: ruled((v) => /^[a-z][a-z0-9+.-]*:\S+$/i.test(v) && v.length <= 2000, 'must be a URI where the evidence can be read', 'Where the evidence can be read'),
  commit: ruled((v) => /^[0-9a-f]{7,64}$/i.test(v), 'must be the source commit (7–64 hex characters)', 'The source commit'),
  producedAt: ruled(isIsoDateTime, ISO_DATE_TIME, 'When the evidence was produced (ISO 8601; not in the future)'),
  expiresAt: ruled(isIsoDateTime, ISO_DATE_TIME, 'When it stops counting (ISO 8601, after producedAt)').nullish(),
  // Said explicitly (not stripped as an unknown key): posted evidence is always the caller's.
  producedBy: z.literal('caller', { error: ONLY_ACCORD }).optional().meta({ description: 'Posted evidence is always `caller` evidence (left out or `caller`); only Accord\'s own certification runs and synthetic checks produce `accord` evidence' }),
});

/** `expiresAt` after `producedAt`, checked whenever both are date-times (whatever else is wrong). */
const EXPIRES_AFTER_PRODUCED = {
  path: ['expiresAt'],
  message: 'must be after producedAt',
  when: ({ value }: { value: unknown }) => isIsoDateTime((value as EvidenceParams | null)?.producedAt) && isIsoDateTime((value as EvidenceParams | null)?.expiresAt),
};
const expiresAfterProduced = (input: { producedAt: string; expiresAt?: string | null }) => !input.expiresAt || Date.parse(input.expiresAt) > Date.parse(input.producedAt);

/** One piece of release evidence (POST /v1/evidence). */
export const EvidenceRecord = EvidenceFields.refine(expiresAfterProduced, EXPIRES_AFTER_PRODUCED).meta({ id: 'EvidenceRecord' });
export type EvidenceRecord = z.output<typeof EvidenceRecord>;

/** What a JUnit report is evidence of (POST /v1/evidence/junit's query parameters): a record without its result, which the report decides. */
export const JunitEvidenceParams = EvidenceFields.omit({ result: true }).refine(expiresAfterProduced, EXPIRES_AFTER_PRODUCED);
export type EvidenceParams = z.output<typeof JunitEvidenceParams>;

/** Throws 422 (`detail`) when the evidence claims to be produced in the future (beyond five minutes of clock skew). */
function refuseFuture(input: EvidenceParams, now: Date, detail: string): void {
  if (Date.parse(input.producedAt) > now.getTime() + 5 * 60_000) throw new AccordError('invalid_document', detail, { errors: [{ location: '/producedAt', message: 'is in the future' }] });
}

/** The stored record plus whether it is bound to the registered content of that version. */
export type EvidenceView = Omit<EvidenceRow, 'report' | 'producedBy'> & { producedBy: EvidenceProducer; report: JunitSummary | null; boundToContent: boolean };

function toView(row: EvidenceRow, contentSha: string | undefined): EvidenceView {
  return { ...row, producedBy: row.producedBy === 'accord' ? 'accord' : 'caller', report: row.report ? (JSON.parse(row.report) as JunitSummary) : null, boundToContent: row.sha256 === contentSha };
}

interface Producer {
  by: EvidenceProducer;
  createdBy: string;
}

async function store(deps: Deps, producer: Producer, input: Omit<EvidenceParams, 'producedBy'>, result: EvidenceRecord['result'], report?: { summary: JunitSummary; sha256: string }): Promise<EvidenceView> {
  const version = await findVersion(deps, input.partner, input.api, input.version);
  if (!version) throw new AccordError('not_found', `No contract version ${input.partner}/${input.api}@${input.version}`);
  const row = await deps.db
    .insert(evidence)
    .values({
      id: `evd_${randomBytes(8).toString('hex')}`,
      partner: input.partner,
      api: input.api,
      version: input.version,
      kind: input.kind,
      result,
      sha256: input.sha256,
      uri: input.uri,
      environment: input.environment,
      commit: input.commit,
      producedAt: new Date(input.producedAt).toISOString(),
      expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      report: report ? JSON.stringify(report.summary) : null,
      reportSha256: report?.sha256 ?? null,
      createdAt: deps.clock().toISOString(),
      createdBy: producer.createdBy,
      producedBy: producer.by,
    })
    .returning()
    .get();
  return toView(row, version.sha256);
}

/**
 * Records one piece of release evidence. It counts for a release only if its sha256 is the
 * registered content's (evidence for other content is kept, but never counts).
 */
export async function addEvidence(deps: Deps, principal: Principal, input: EvidenceRecord): Promise<EvidenceView> {
  refuseFuture(input, deps.clock(), 'Invalid evidence');
  return await store(deps, { by: 'caller', createdBy: principal.name }, input, input.result);
}

/** What Accord records of its own checks: an evidence record, and who ran the check (default `accord`). */
export type AccordEvidenceInput = Omit<EvidenceRecord, 'producedBy'> & { createdBy?: string };

/**
 * Records evidence Accord produced itself (a certification run, a synthetic check): stored with
 * `producedBy: accord`, which no API caller can claim, so the gate's `accord-evidence:<kind>`
 * rules can require it. 404 when the version is not registered.
 */
export async function recordAccordEvidence(deps: Deps, input: AccordEvidenceInput): Promise<EvidenceView> {
  const { createdBy, ...record } = input;
  refuseFuture(record, deps.clock(), 'Invalid evidence');
  return await store(deps, { by: 'accord', createdBy: createdBy ?? 'accord' }, record, record.result);
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', processEntities: false, allowBooleanAttributes: true, isArray: (name) => ['testsuite', 'testcase'].includes(name) });

/** Counts tests, failures, errors and skipped in a JUnit XML report (testsuites or testsuite root). */
export function summariseJunit(report: string): JunitSummary {
  let doc: Record<string, any>;
  try {
    doc = xml.parse(report, true) as Record<string, any>;
  } catch (error) {
    throw new AccordError('invalid_document', 'The JUnit report is not well-formed XML', { errors: [{ location: '', message: (error as Error).message }] });
  }
  const suites: Array<Record<string, any>> = doc.testsuites?.testsuite ?? doc.testsuite ?? [];
  if (!doc.testsuites && !doc.testsuite) throw new AccordError('invalid_document', 'Not a JUnit report: no <testsuites> or <testsuite> root', { errors: [{ location: '', message: 'expected <testsuites> or <testsuite>' }] });
  const total: JunitSummary = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const suite of suites) {
    const cases: Array<Record<string, any>> = suite.testcase ?? [];
    if (cases.length > 0) {
      total.tests += cases.length;
      for (const tc of cases) {
        if (tc.failure !== undefined) total.failures++;
        else if (tc.error !== undefined) total.errors++;
        else if (tc.skipped !== undefined) total.skipped++;
      }
    } else {
      total.tests += Number(suite.tests ?? 0) || 0;
      total.failures += Number(suite.failures ?? 0) || 0;
      total.errors += Number(suite.errors ?? 0) || 0;
      total.skipped += Number(suite.skipped ?? suite.disabled ?? 0) || 0;
    }
  }
  return total;
}

/** Records evidence from a JUnit report: pass when it ran tests and none failed or errored. */
export async function addJunitEvidence(deps: Deps, principal: Principal, report: string, input: EvidenceParams): Promise<EvidenceView> {
  refuseFuture(input, deps.clock(), 'Invalid evidence parameters');
  const summary = summariseJunit(report);
  // A report passes when some test actually ran and none failed or errored (all skipped is not a pass).
  const result = summary.tests - summary.skipped > 0 && summary.failures === 0 && summary.errors === 0 ? 'pass' : 'fail';
  return await store(deps, { by: 'caller', createdBy: principal.name }, input, result, { summary, sha256: createHash('sha256').update(report).digest('hex') });
}

/** Evidence recorded for one version, newest first. */
export async function listEvidence(deps: Pick<Deps, 'db'>, partner: string, api: string, version: string, page: Page = { limit: 100_000 }): Promise<Paged<EvidenceView>> {
  const v = await findVersion(deps, partner, api, version);
  const order: KeyPart<EvidenceRow>[] = [
    { column: evidence.producedAt, desc: true, of: (r) => r.producedAt },
    { column: evidence.id, desc: true, of: (r) => r.id },
  ];
  const rows = await deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.partner, partner), eq(evidence.api, api), eq(evidence.version, version), keyAfter(order, page.after)))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map((row) => toView(row, v?.sha256)) };
}
