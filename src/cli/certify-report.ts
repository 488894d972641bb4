import { CASE_CATEGORIES, type CaseCategory } from '../certification/cases.ts';
import { oneLine } from '../lib/text.ts';

/**
 * A certification run as `GET /v1/certifications/{id}` answers it (issue 20). Declared here, as
 * the API describes it, so the CLI needs none of the server's modules.
 */
export interface CertificationRun {
  id: string;
  partner: string;
  api: string;
  version: string;
  environment: string;
  target: 'endpoint' | 'reference';
  contentSha256: string;
  seed: number;
  status: 'running' | 'passed' | 'failed' | 'error';
  progress: { total: number; done: number; failed: number };
  trigger: string;
  error: string | null;
  createdAt: string;
  createdBy: string;
  finishedAt: string | null;
  evidence: Array<{ id: string; kind: string; result: string }>;
  cases: CertificationCase[];
}


/** One case of a run: what it checked, its verdict and findings, and the exchanges it made. */
export interface CertificationCase {
  id: string;
  category: CaseCategory;
  operationId: string | null;
  flow: string | null;
  name: string;
  verdict: 'pass' | 'fail' | 'error' | 'pending';
  findings: string[];
  exchanges: Array<{
    request: { method: string; url: string; headers: unknown; body: unknown };
    response: { status: number; headers: unknown; body: unknown } | null;
    error?: string;
    durationMs: number;
  }>;
}

/** A run without its cases' exchanges: what `--format json` prints (the exchanges can be large). */
export type CertificationSummary = Omit<CertificationRun, 'cases'> & { cases: Array<Omit<CertificationCase, 'exchanges'>> };

/** The run with every case's exchanges left out. */
export function withoutExchanges(run: CertificationRun): CertificationSummary {
  return { ...run, cases: run.cases.map(({ exchanges: _exchanges, ...rest }) => rest) };
}

/** The exit code a finished run's status means: 0 passed, 1 failed, 3 error (and a run that has not finished). */
export function certifyExitCode(status: CertificationRun['status']): 0 | 1 | 3 {
  return status === 'passed' ? 0 : status === 'failed' ? 1 : 3;
}

/** What is being certified: `partner/api@version against environment`. */
export function certificationSubject(run: Pick<CertificationRun, 'partner' | 'api' | 'version' | 'environment'>): string {
  return `${run.partner}/${run.api}@${run.version} against ${run.environment}`;
}

/** The progress line printed on stderr while the run is running. */
export function progressLine(run: Pick<CertificationRun, 'partner' | 'api' | 'version' | 'environment' | 'progress'>): string {
  const { total, done, failed } = run.progress;
  return `certifying ${certificationSubject(run)}: ${done}/${total} cases, ${failed} failed`;
}

/** Whether a case counts as failed in the summary (a failing check or a case that could not run). */
function failedCase(c: Pick<CertificationCase, 'verdict'>): boolean {
  return c.verdict === 'fail' || c.verdict === 'error';
}

/** Passed, failed and pending cases per category (categories without cases left out), in CASE_CATEGORIES' order, then any other. */
export function countsByCategory(cases: ReadonlyArray<Pick<CertificationCase, 'category' | 'verdict'>>): Array<{ category: string; passed: number; failed: number; pending: number }> {
  const counts = new Map<string, { category: string; passed: number; failed: number; pending: number }>();
  for (const category of CASE_CATEGORIES) counts.set(category, { category, passed: 0, failed: 0, pending: 0 });
  for (const c of cases) {
    let row = counts.get(c.category);
    if (!row) counts.set(c.category, (row = { category: c.category, passed: 0, failed: 0, pending: 0 }));
    if (c.verdict === 'pass') row.passed++;
    else if (failedCase(c)) row.failed++;
    else row.pending++;
  }
  return [...counts.values()].filter((r) => r.passed + r.failed + r.pending > 0);
}

/**
 * The text summary of a finished run: its verdict and id, what was certified, its URL, the
 * counts per category, each failed case with its findings (indented), and the evidence recorded.
 */
export function certifyText(run: CertificationSummary, url: string): string {
  const failed = run.cases.filter(failedCase);
  const passed = run.cases.filter((c) => c.verdict === 'pass').length;
  const pending = run.cases.length - passed - failed.length;
  const lines = [
    `${run.status.toUpperCase()} certification run ${run.id}: ${certificationSubject(run)}`,
    `  ${url}`,
    `  target ${run.target}, seed ${run.seed}, content sha256 ${run.contentSha256}`,
  ];
  if (run.error) lines.push(`  error: ${run.error}`);
  lines.push(`Cases: ${run.cases.length} (${passed} passed, ${failed.length} failed${pending ? `, ${pending} pending` : ''})`);
  const rows = countsByCategory(run.cases);
  const width = Math.max(0, ...rows.map((r) => r.category.length));
  for (const r of rows) lines.push(`  ${r.category.padEnd(width)}  ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} pending` : ''}`);
  if (failed.length > 0) {
    lines.push('Failed cases:');
    for (const c of failed) {
      lines.push(`  ✗ ${c.id}${c.verdict === 'error' ? ' (error)' : ''}: ${c.name}`);
      for (const finding of c.findings) lines.push(`      ${finding}`);
    }
  }
  lines.push(run.evidence.length > 0 ? 'Evidence recorded:' : 'Evidence recorded: none');
  for (const e of run.evidence) lines.push(`  ${e.kind} → ${e.result} (${e.id})`);
  return lines.map(oneLine).join('\n');
}
