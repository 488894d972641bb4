import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { XMLParser } from 'fast-xml-parser';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { checkIds, isSemver } from '../contracts/ids.ts';
import { findVersion } from '../contracts/versions.ts';
import { evidence } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { EVIDENCE_KINDS } from '../matrix/schema.ts';

export type EvidenceRow = typeof evidence.$inferSelect;

export interface EvidenceInput {
  partner?: unknown;
  api?: unknown;
  version?: unknown;
  kind?: unknown;
  result?: unknown;
  sha256?: unknown;
  uri?: unknown;
  environment?: unknown;
  commit?: unknown;
  producedAt?: unknown;
  expiresAt?: unknown;
}

export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

const isoDate = (v: unknown) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v));

function check(input: EvidenceInput, junit: boolean, now: Date): FieldError[] {
  const errors: FieldError[] = [...checkIds({ '/partner': input.partner as string, '/api': input.api as string, '/environment': input.environment as string })];
  if (!isSemver(input.version)) errors.push({ location: '/version', message: 'must be a semantic version' });
  if (!(EVIDENCE_KINDS as readonly unknown[]).includes(input.kind)) errors.push({ location: '/kind', message: `must be one of ${EVIDENCE_KINDS.join(', ')}` });
  if (!junit && input.result !== 'pass' && input.result !== 'fail') errors.push({ location: '/result', message: 'must be pass or fail' });
  if (typeof input.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(input.sha256)) errors.push({ location: '/sha256', message: 'must be the hex sha256 of the contract content the evidence was produced for' });
  if (typeof input.uri !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(input.uri) || input.uri.length > 2000) errors.push({ location: '/uri', message: 'must be a URI where the evidence can be read' });
  if (typeof input.commit !== 'string' || !/^[0-9a-f]{7,64}$/i.test(input.commit)) errors.push({ location: '/commit', message: 'must be the source commit (7–64 hex characters)' });
  if (!isoDate(input.producedAt)) errors.push({ location: '/producedAt', message: 'must be an ISO 8601 date-time' });
  else if (Date.parse(input.producedAt as string) > now.getTime() + 5 * 60_000) errors.push({ location: '/producedAt', message: 'is in the future' });
  if (input.expiresAt !== undefined && input.expiresAt !== null) {
    if (!isoDate(input.expiresAt)) errors.push({ location: '/expiresAt', message: 'must be an ISO 8601 date-time' });
    else if (isoDate(input.producedAt) && Date.parse(input.expiresAt as string) <= Date.parse(input.producedAt as string)) errors.push({ location: '/expiresAt', message: 'must be after producedAt' });
  }
  return errors;
}

/** The stored record plus whether it is bound to the registered content of that version. */
export type EvidenceView = Omit<EvidenceRow, 'report'> & { report: JunitSummary | null; boundToContent: boolean };

function toView(row: EvidenceRow, contentSha: string | undefined): EvidenceView {
  return { ...row, report: row.report ? (JSON.parse(row.report) as JunitSummary) : null, boundToContent: row.sha256 === contentSha };
}

function store(deps: Deps, principal: Principal, input: EvidenceInput, result: 'pass' | 'fail', report?: { summary: JunitSummary; sha256: string }): EvidenceView {
  const version = findVersion(deps, input.partner as string, input.api as string, input.version as string);
  if (!version) throw new AccordError('not_found', `No contract version ${String(input.partner)}/${String(input.api)}@${String(input.version)}`);
  const row = deps.db
    .insert(evidence)
    .values({
      id: `evd_${randomBytes(8).toString('hex')}`,
      partner: input.partner as string,
      api: input.api as string,
      version: input.version as string,
      kind: input.kind as string,
      result,
      sha256: input.sha256 as string,
      uri: input.uri as string,
      environment: input.environment as string,
      commit: input.commit as string,
      producedAt: new Date(input.producedAt as string).toISOString(),
      expiresAt: input.expiresAt ? new Date(input.expiresAt as string).toISOString() : null,
      report: report ? JSON.stringify(report.summary) : null,
      reportSha256: report?.sha256 ?? null,
      createdAt: deps.clock().toISOString(),
      createdBy: principal.name,
    })
    .returning()
    .get();
  return toView(row, version.sha256);
}

/**
 * Records one piece of release evidence. It counts for a release only if its sha256 is the
 * registered content's (evidence for other content is kept, but never counts).
 */
export function addEvidence(deps: Deps, principal: Principal, input: EvidenceInput): EvidenceView {
  requireRole(principal, ['admin', 'ci', 'author'], 'record release evidence');
  const errors = check(input, false, deps.clock());
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid evidence', { errors });
  return store(deps, principal, input, input.result as 'pass' | 'fail');
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
export function addJunitEvidence(deps: Deps, principal: Principal, report: string, input: EvidenceInput): EvidenceView {
  requireRole(principal, ['admin', 'ci', 'author'], 'record release evidence');
  const errors = check(input, true, deps.clock());
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid evidence parameters', { errors });
  const summary = summariseJunit(report);
  // A report passes when some test actually ran and none failed or errored (all skipped is not a pass).
  const result = summary.tests - summary.skipped > 0 && summary.failures === 0 && summary.errors === 0 ? 'pass' : 'fail';
  return store(deps, principal, input, result, { summary, sha256: createHash('sha256').update(report).digest('hex') });
}

/** Evidence recorded for one version, newest first. */
export function listEvidence(deps: Pick<Deps, 'db'>, partner: string, api: string, version: string): EvidenceView[] {
  const v = findVersion(deps, partner, api, version);
  return deps.db
    .select()
    .from(evidence)
    .where(and(eq(evidence.partner, partner), eq(evidence.api, api), eq(evidence.version, version)))
    .orderBy(desc(evidence.producedAt))
    .all()
    .map((row) => toView(row, v?.sha256));
}
