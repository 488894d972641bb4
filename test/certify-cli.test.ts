import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifyExitCode, certifyText, countsByCategory, progressLine, withoutExchanges, type CertificationCase, type CertificationRun } from '../src/cli/certify-report.ts';
import { main } from '../src/main.ts';
import { ADMIN_TOKEN, runCli, startTestService, type TestService } from './harness.ts';

function testCase(id: string, verdict: CertificationCase['verdict'], findings: string[] = []): CertificationCase {
  const [category, operationId] = id.split('/') as [CertificationCase['category'], string];
  return {
    id, category, operationId, flow: null, name: `${category} ${operationId}`, verdict, findings,
    exchanges: [{ request: { method: 'POST', url: `https://partner.example/${operationId}`, headers: {}, body: { big: 'x'.repeat(100) } }, response: { status: 200, headers: {}, body: {} }, durationMs: 12 }],
  };
}

function certificationRun(overrides: Partial<CertificationRun> = {}): CertificationRun {
  return {
    id: 'cert_01', partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'sandbox', target: 'reference',
    contentSha256: 'ab'.repeat(32), seed: 7, status: 'passed', progress: { total: 3, done: 3, failed: 0 }, trigger: 'cli', error: null,
    createdAt: '2026-12-03T12:00:00.000Z', createdBy: 'ci', finishedAt: '2026-12-03T12:00:09.000Z',
    evidence: [{ id: 'ev_1', kind: 'contract-test', result: 'pass' }],
    cases: [testCase('contract/memberMatch/example', 'pass'), testCase('idempotency/memberMatch/replay', 'pass'), testCase('trace/memberMatch/headers', 'pass')],
    ...overrides,
  };
}

const FAILED = certificationRun({
  status: 'failed',
  progress: { total: 3, done: 3, failed: 2 },
  evidence: [{ id: 'ev_1', kind: 'contract-test', result: 'fail' }, { id: 'ev_2', kind: 'trace-completeness', result: 'pass' }],
  cases: [testCase('contract/memberMatch/example', 'fail', ['response 500, expected 200', 'body: missing "member"']), testCase('idempotency/memberMatch/replay', 'error', ['connection refused']), testCase('trace/memberMatch/headers', 'pass')],
});

describe('certify: what it prints and how it exits (no server)', () => {
  it('maps the run status to the exit code', () => {
    expect([certifyExitCode('passed'), certifyExitCode('failed'), certifyExitCode('error'), certifyExitCode('running')]).toEqual([0, 1, 3, 3]);
  });

  it('prints progress and leaves the exchanges out of the JSON', () => {
    expect(progressLine({ ...certificationRun(), progress: { total: 58, done: 12, failed: 0 } })).toBe('certifying northwind-health/p2p-exchange@2.1.0 against sandbox: 12/58 cases, 0 failed');
    const summary = withoutExchanges(FAILED);
    expect(summary.cases.every((c) => !('exchanges' in c))).toBe(true);
    expect(FAILED.cases[0]!.exchanges).toHaveLength(1);
    expect(countsByCategory(FAILED.cases)).toEqual([
      { category: 'contract', passed: 0, failed: 1, pending: 0 },
      { category: 'idempotency', passed: 0, failed: 1, pending: 0 },
      { category: 'trace', passed: 1, failed: 0, pending: 0 },
    ]);
  });

  it('summarizes a passed run', () => {
    expect(certifyText(withoutExchanges(certificationRun()), 'http://accord/v1/certifications/cert_01')).toBe(`PASSED certification run cert_01: northwind-health/p2p-exchange@2.1.0 against sandbox
  http://accord/v1/certifications/cert_01
  target reference, seed 7, content sha256 ${'ab'.repeat(32)}
Cases: 3 (3 passed, 0 failed)
  contract     1 passed, 0 failed
  idempotency  1 passed, 0 failed
  trace        1 passed, 0 failed
Evidence recorded:
  contract-test → pass (ev_1)`);
  });

  it('summarizes a failed run: each failed case with its findings, indented; an errored run says why', () => {
    const text = certifyText(withoutExchanges(FAILED), 'http://accord/v1/certifications/cert_01');
    expect(text).toContain('FAILED certification run cert_01');
    expect(text).toContain('Cases: 3 (1 passed, 2 failed)');
    expect(text).toContain(`Failed cases:
  ✗ contract/memberMatch/example: contract memberMatch
      response 500, expected 200
      body: missing "member"
  ✗ idempotency/memberMatch/replay (error): idempotency memberMatch
      connection refused
Evidence recorded:
  contract-test → fail (ev_1)
  trace-completeness → pass (ev_2)`);
    const errored = certifyText(withoutExchanges(certificationRun({ status: 'error', error: 'no endpoint for sandbox\nregister one', cases: [], evidence: [] })), 'u');
    expect(errored).toContain('ERROR certification run');
    expect(errored).toContain('  error: no endpoint for sandbox\\nregister one');
    expect(errored).toContain('Evidence recorded: none');
  });
});

/** A stand-in for the server's API (issue 20): answers each request with `answer`, and records them. */
async function stubServer(answer: (method: string, url: string, body: string) => { status: number; type?: string; body: unknown; location?: string }) {
  const requests: Array<{ method: string; url: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, body });
      const a = answer(req.method!, req.url!, body);
      const type = a.type ?? (a.status >= 400 ? 'application/problem+json' : 'application/json');
      res.writeHead(a.status, { 'Content-Type': type, ...(a.location ? { Location: a.location } : {}) });
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => server.close() };
}

/** Runs the CLI in-process against `url`. */
async function accordHere(args: string[], url: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, { ACCORD_URL: url, ACCORD_TOKEN: 'stub-token' });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const ARGS = ['certify', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '2.1.0', '--environment', 'sandbox', '--poll-interval', '5'];
const JUNIT = '<?xml version="1.0"?><testsuites tests="3" failures="2"><testsuite name="contract" tests="1" failures="1"><testcase name="contract/memberMatch/example"><failure message="x"/></testcase></testsuite></testsuites>';

/** A run that goes 0/3 → 1/3 → 1/3 → 3/3 and ends as `final`. */
function scriptedRun(final: CertificationRun) {
  const states = [0, 1, 1].map((done) => ({ ...final, status: 'running' as const, finishedAt: null, progress: { total: 3, done, failed: 0 }, evidence: [] }));
  let polls = 0;
  return (method: string, url: string) => {
    if (method === 'POST' && url === '/v1/certifications') return { status: 202, body: states[0], location: '/v1/certifications/cert_01' };
    if (url === '/v1/certifications/cert_01') return { status: 200, body: states[++polls] ?? final };
    if (url === '/v1/certifications/cert_01/junit') return { status: 200, type: 'application/xml', body: JUNIT };
    return { status: 404, body: { title: 'Not found', status: 404, detail: `No route ${method} ${url}` } };
  };
}

describe('certify against a stand-in for the API', () => {
  let work: string;
  beforeAll(() => void (work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-certify-'))));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('posts, polls with progress lines only when they change, prints the summary and writes the JUnit report (exit 0)', async () => {
    const stub = await stubServer(scriptedRun(certificationRun()));
    try {
      const junit = path.join(work, 'passed.xml');
      const run = await accordHere([...ARGS, '--target', 'reference', '--seed', '7', '--junit', junit], stub.url);
      expect(run.code).toBe(0);
      expect(run.stderr.split('\n')).toEqual(['certifying northwind-health/p2p-exchange@2.1.0 against sandbox: 0/3 cases, 0 failed', 'certifying northwind-health/p2p-exchange@2.1.0 against sandbox: 1/3 cases, 0 failed']);
      expect(run.stdout).toContain(`PASSED certification run cert_01: northwind-health/p2p-exchange@2.1.0 against sandbox\n  ${stub.url}/v1/certifications/cert_01`);
      expect(run.stdout).toContain(`JUnit report: ${junit}`);
      expect(fs.readFileSync(junit, 'utf8')).toBe(JUNIT);
      expect(JSON.parse(stub.requests[0]!.body)).toEqual({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'sandbox', target: 'reference', seed: 7 });
      expect(stub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/certifications', ...Array(3).fill('GET /v1/certifications/cert_01'), 'GET /v1/certifications/cert_01/junit']);
    } finally {
      stub.close();
    }
  });

  it('exits 1 on a failed run, with the JUnit report written all the same; --format json prints the run without exchanges', async () => {
    const stub = await stubServer(scriptedRun(FAILED));
    try {
      const junit = path.join(work, 'failed.xml');
      const run = await accordHere([...ARGS, '--junit', junit, '--format', 'json'], stub.url);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(withoutExchanges(FAILED))));
      expect(fs.readFileSync(junit, 'utf8')).toBe(JUNIT);
      expect(JSON.parse(stub.requests[0]!.body)).toMatchObject({ target: 'endpoint' });
      const text = await accordHere(ARGS, stub.url);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain('      response 500, expected 200');
    } finally {
      stub.close();
    }
  });

  it('exits 3 when the run errs or does not finish in time (naming its URL), and on a problem answer', async () => {
    const errored = await stubServer(scriptedRun(certificationRun({ status: 'error', error: 'the sandbox endpoint did not answer' })));
    const stuck = await stubServer(scriptedRun({ ...certificationRun(), status: 'running' }));
    const refusing = await stubServer(() => ({ status: 422, body: { title: 'Invalid request', status: 422, detail: 'The request body is invalid', errors: [{ location: '/version', message: 'must be a semantic version' }] } }));
    try {
      const error = await accordHere(ARGS, errored.url);
      expect(error.code).toBe(3);
      expect(error.stdout).toContain('  error: the sandbox endpoint did not answer');
      const timeout = await accordHere([...ARGS, '--timeout', '1', '--poll-interval', '300'], stuck.url);
      expect(timeout.code).toBe(3);
      expect(timeout.stderr).toMatch(/accord: certification run cert_01 did not finish within 1 s \(\d\/3 cases done\); it goes on on the server: http:\/\/127\.0\.0\.1:\d+\/v1\/certifications\/cert_01$/);
      const refused = await accordHere(ARGS, refusing.url);
      expect(refused).toEqual({ code: 3, stdout: '', stderr: 'accord: HTTP 422 Invalid request: The request body is invalid\n  /version: must be a semantic version' });
      const json = await accordHere([...ARGS, '--json'], refusing.url);
      expect(JSON.parse(json.stdout).error).toMatchObject({ exitCode: 3, status: 422, problem: { detail: 'The request body is invalid' } });
      expect((await accordHere(ARGS, 'http://127.0.0.1:9')).stderr).toContain('Cannot reach Accord');
    } finally {
      for (const stub of [errored, stuck, refusing]) stub.close();
    }
  });

  it('exits 3 with its usage, asking nothing, when an option is missing or wrong', async () => {
    const stub = await stubServer(() => ({ status: 500, body: {} }));
    try {
      const missing = await accordHere(['certify', '--partner', 'northwind-health', '--version', '2.1.0'], stub.url);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/^accord: Usage: accord certify --partner P [\s\S]*\nMissing --api, --environment$/);
      for (const wrong of [['--target', 'elsewhere'], ['--seed', '1.5'], ['--timeout', '0'], ['--poll-interval', 'soon'], ['extra']]) {
        expect((await accordHere([...ARGS, ...wrong], stub.url)).code, wrong.join(' ')).toBe(3);
      }
      const json = await accordHere(['certify', '--json'], stub.url);
      expect(JSON.parse(json.stdout).error).toMatchObject({ kind: 'usage', exitCode: 3 });
      expect(stub.requests).toEqual([]);
      const help = await accordHere(['certify', '--help'], stub.url);
      expect(help.stdout).toContain('Exit 0 passed, 1 failed, 3 error');
    } finally {
      stub.close();
    }
  });
});

// Needs the server side of issue 20 (POST /v1/certifications): fails until it lands.
describe('certify against a real Accord', () => {
  let s: TestService;
  let env: Record<string, string>;
  let version: string;
  let work: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    env = { ACCORD_URL: await s.listen(), ACCORD_TOKEN: ADMIN_TOKEN };
    const apis = (await (await s.call('GET', '/v1/contracts')).json()) as Array<{ partner: string; api: string; latestVersion: string }>;
    version = apis.find((a) => a.partner === 'northwind-health' && a.api === 'p2p-exchange')!.latestVersion;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-certify-'));
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('certifies the seeded 2.x version against the reference implementation: exit 0, a summary, a JUnit report without failures', async () => {
    expect(version).toMatch(/^2\./);
    const junit = path.join(work, 'report.xml');
    const run = await runCli(['certify', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', version, '--environment', 'sandbox', '--target', 'reference', '--junit', junit, '--timeout', '120'], env);
    expect(run.stderr).not.toContain('accord:');
    expect(run.code).toBe(0);
    const id = /^PASSED certification run (\S+): northwind-health\/p2p-exchange@2\.\d+\.\d+ against sandbox$/m.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    expect(run.stdout).toContain(`${env.ACCORD_URL}/v1/certifications/${id}`);
    const report = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(fs.readFileSync(junit, 'utf8')) as { testsuites: { testsuite: unknown } };
    const suites = ([] as Array<{ tests: string; failures: string }>).concat(report.testsuites.testsuite as never);
    expect(suites.reduce((n, suite) => n + Number(suite.tests), 0)).toBeGreaterThan(0);
    expect(suites.reduce((n, suite) => n + Number(suite.failures), 0)).toBe(0);

    // The reference partner runs in the server's runtime environment: --environment may be left out.
    const json = await runCli(['certify', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', version, '--target', 'reference', '--format', 'json'], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as CertificationRun;
    expect(parsed).toMatchObject({ status: 'passed', partner: 'northwind-health', version, target: 'reference', environment: 'sandbox' });
    expect(parsed.cases.length).toBeGreaterThan(0);
    expect(parsed.cases.some((c) => 'exchanges' in c)).toBe(false);
  }, 300_000);

  it('exits 3 with the problem when the version is unknown', async () => {
    const args = ['certify', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '9.9.9', '--environment', 'sandbox', '--target', 'reference'];
    const json = await runCli([...args, '--format', 'json'], env);
    expect(json.code).toBe(3);
    const { problem } = (JSON.parse(json.stdout) as { error: { status: number; problem: { detail: string } } }).error;
    expect(problem.detail).not.toMatch(/No route/);
    const text = await runCli(args, env);
    expect(text.code).toBe(3);
    expect(text.stderr).toContain('HTTP 404');
    expect(text.stderr).toContain(problem.detail);
  }, 120_000);
});
