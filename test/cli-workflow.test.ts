import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { registeredText } from '../src/cli/commands/contract-register.ts';
import { main } from '../src/main.ts';
import { REPO_ROOT, runCli, startTestService, type CliRun, type TestService } from './harness.ts';

/** A small contract with two operations; `withList: false` removes one (a breaking change that needs no control-matrix entry). */
function memberApi(version: string, withList = true): string {
  return `openapi: 3.1.0
info:
  title: Member API
  version: ${version}
  description: Members of a payer.
tags:
  - name: members
    description: Members
security:
  - bearer: []
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
paths:
  /members/{id}:
    get:
      operationId: getMember
      summary: One member
      description: One member by id.
      tags: [members]
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The member
${withList ? `  /members:
    get:
      operationId: listMembers
      summary: Every member
      description: Every member.
      tags: [members]
      responses:
        '200':
          description: The members
` : ''}`;
}

const EVIDENCE = ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook'];

/**
 * The whole change workflow from the CLI, as a board would run it: register a breaking 2.0.0 →
 * open a change request → two approvers approve (not the author) → both consuming partners
 * acknowledge → release record to staging and production → deprecate 1.0.0; each command in text
 * and with --format json, failures as JSON too, and the exit codes (0 done, 1 refused, 3 could not
 * run). The real CLI (bin/accord.js) against a real HTTP server; setup the CLI does not cover
 * (evidence, gate checks) goes through the API.
 */
describe('the change workflow from the CLI', () => {
  let s: TestService;
  let url: string;
  let work: string;
  const t: Record<'alice' | 'bob' | 'carol' | 'dave' | 'ci' | 'globex' | 'initech', string> = {} as never;
  let chgA: string;
  let chgB: string;
  let sha: string;

  const as = (token: string) => ({ ACCORD_URL: url, ACCORD_TOKEN: token });
  // The real CLI process for the text of each step; in-process (same code, same server) for the JSON variants, which are many.
  const accord = (token: string, ...args: string[]) => runCli(args, as(token));
  const accordIn = (token: string, ...args: string[]) => accordHere(args, as(token));
  const json = (run: CliRun | Awaited<ReturnType<typeof accordHere>>) => {
    expect(run.stderr, run.stdout).toBe('');
    return JSON.parse(run.stdout);
  };
  const api = async (method: string, url: string, body: unknown, token?: string) => {
    const res = await s.call(method, url, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return res.json();
  };
  const register = (partner: string, version: string, withList: boolean, token?: string) =>
    s.call('POST', `/v1/contracts/${partner}/member-api/versions`, { body: memberApi(version, withList), type: 'application/yaml', ...(token ? { token } : {}) });

  beforeAll(async () => {
    s = await startTestService();
    url = await s.listen();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-cli-workflow-'));
    const named = async (role: 'author' | 'approver' | 'ci' | 'partner', name: string, partner?: string) => (await createToken(s.deps, 'test', { role, name, partner })).token;
    Object.assign(t, {
      alice: await named('author', 'alice'),
      bob: await named('approver', 'bob'),
      carol: await named('approver', 'carol'),
      dave: await named('approver', 'dave'),
      ci: await named('ci', 'ci'),
      globex: await named('partner', 'globex ops', 'globex'),
      initech: await named('partner', 'initech ops', 'initech'),
    });
    // Three payers implement member-api, so each consumes the others'; acme's 1.0.0 is in production.
    for (const partner of ['acme', 'globex', 'initech']) expect((await register(partner, '1.0.0', true)).status).toBe(201);
    await api('POST', '/v1/gate/check', { partner: 'acme', api: 'member-api', version: '1.0.0', environment: 'production', breakGlass: 'in production before Accord' });
    await api('POST', '/v1/releases', { partner: 'acme', api: 'member-api', version: '1.0.0', environment: 'production' }, t.ci);
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('contract register prints the diff summary the server returned; --json still prints the answer as JSON', async () => {
    const file = path.join(work, 'acme-2.0.0.yaml');
    fs.writeFileSync(file, memberApi('2.0.0', false));
    const text = await accord(t.alice, 'contract', 'register', file, '--partner', 'acme', '--api', 'member-api');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^Registered acme\/member-api@2\.0\.0 \[draft\] commit [0-9a-f]{12} sha256 [0-9a-f]{64}$/);
    expect(lines[1]).toBe('  Diff against 1.0.0: 1 breaking, 0 warnings, 0 info (major bump)');
    expect(lines[2]).toMatch(/^ {4}- .*\/members.* \[api-path-removed[\w-]*\]$/);
    expect(text.stdout).toContain('Next: open a change request for it: accord change open --partner acme --api member-api --version 2.0.0 --summary "what changes and why"');

    const again = await accordIn(t.alice, 'contract', 'register', file, '--partner', 'acme', '--api', 'member-api', '--json');
    expect(again.code).toBe(0);
    const answer = json(again);
    expect(answer).toMatchObject({ partner: 'acme', api: 'member-api', version: '2.0.0', state: 'draft' });
    sha = answer.sha256;
    // globex's 2.0.0 is in flight too: the change request carol rejects below
    expect((await register('globex', '2.0.0', false, t.alice)).status).toBe(201);
  });

  it('change open: text says what the change needs and who acts next; --format json is the server\'s answer', async () => {
    const text = await accord(t.alice, 'change', 'open', '--partner', 'acme', '--api', 'member-api', '--version', '2.0.0', '--summary', 'Listing every member goes away');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    chgA = /^Opened change request (chg_[0-9a-f]+) for acme\/member-api@2\.0\.0 \(breaking, major bump against 1\.0\.0\)\.$/m.exec(text.stdout)![1]!;
    expect(text.stdout).toContain('  Summary: Listing every member goes away');
    expect(text.stdout).toContain('  Diff: 1 breaking, 0 warnings, 0 info');
    expect(text.stdout).toContain(`  Needs: 2 approvals; acknowledgement from globex, initech; evidence: ${EVIDENCE.join(', ')}`);
    expect(text.stdout).toContain(`\nNext:\n  - approvers other than alice: accord review approve ${chgA} --comment "…"\n  - globex, initech: accord ack ${chgA}\n  - CI, for each evidence kind: accord evidence add|junit --partner acme --api member-api --version 2.0.0 --kind K …\n  - what is still missing: accord change show ${chgA}\n`);

    const opened = json(await accordIn(t.alice, 'change', 'open', '--partner', 'globex', '--api', 'member-api', '--version', '2.0.0', '--summary', 'Listing members goes away', '--format', 'json'));
    expect(opened).toMatchObject({ partner: 'globex', api: 'member-api', version: '2.0.0', breaking: true, baseVersion: '1.0.0', requires: { approvals: 2, acknowledgements: ['acme', 'initech'] } });
    chgB = opened.id;
  });

  it('change list: what awaits a partner, in text and JSON; staff filter by partner', async () => {
    const [text, asJson, staff] = await Promise.all([
      accord(t.initech, 'change', 'list', '--awaiting-me'),
      accordIn(t.initech, 'change', 'list', '--awaiting-me', '--format', 'json'),
      accordIn(t.bob, 'change', 'list', '--partner', 'acme', '--json'),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${chgB}  globex/member-api@2\\.0\\.0  breaking \\(major\\)  \\d{4}-\\d\\d-\\d\\d by alice\\n    Listing members goes away\\n    needs 2 approvals; acknowledgement from acme, initech; evidence: `));
    expect(text.stdout).toContain(`${chgA}  acme/member-api@2.0.0    breaking (major)  `);
    expect(text.stdout).toMatch(/2 change requests await you\. Read one: accord change show <id>; .*partners: accord ack <id>$/m);
    expect(json(asJson).map((c: { id: string }) => c.id)).toEqual([chgB, chgA]);
    expect(json(staff).map((c: { id: string }) => c.id)).toEqual([chgA]);
  });

  it('review: the author may not approve (exit 1); two other approvers approve, in text and JSON; a rejection needs a comment', async () => {
    const [own, bob, dave, noReason, rejected] = await Promise.all([
      accordIn(t.alice, 'review', 'approve', chgA, '--format', 'json'),
      accord(t.bob, 'review', 'approve', chgA, '--comment', 'the diff is what the summary says'),
      accordIn(t.dave, 'review', 'approve', chgA, '--format', 'json'),
      accordIn(t.carol, 'review', 'reject', chgB, '--format', 'json'),
      accord(t.carol, 'review', 'reject', chgB, '--comment', 'consumers still list members'),
    ]);
    expect(own.code).toBe(1);
    expect(json(own).error).toMatchObject({ kind: 'refused', exitCode: 1, status: 403, problem: { status: 403, code: 'forbidden' } });
    expect(bob.stderr).toBe('');
    expect(bob.code).toBe(0);
    expect(bob.stdout).toMatch(new RegExp(`^Approved change request ${chgA} as bob \\(review \\S+, for diff [0-9a-f]{12}\\)\\.\\nNext: see what it still needs: accord change show ${chgA}\\n$`));
    expect(json(dave)).toMatchObject({ changeId: chgA, decision: 'approve', reviewer: 'dave' });
    expect(noReason.code).toBe(3);
    expect(json(noReason).error).toMatchObject({ kind: 'usage', exitCode: 3, message: expect.stringContaining('Missing --comment') });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`Rejected change request ${chgB} as carol (review `);
    expect(rejected.stdout).toContain('"consumers still list members"');
    expect((await api('GET', `/v1/contracts/acme/member-api/versions/2.0.0`, undefined)).state).toBe('approved');
  });

  it('ack: each consuming partner acknowledges from the CLI (text and JSON); then nothing of acme awaits initech', async () => {
    const notAsked = await accordIn(t.globex, 'ack', chgB, '--format', 'json');
    expect(notAsked.code).toBe(1);
    expect(json(notAsked).error).toMatchObject({ kind: 'refused', status: 403 });
    const globex = await accord(t.globex, 'ack', chgA, '--comment', 'our clients no longer list members');
    expect(globex.stderr).toBe('');
    expect(globex.code).toBe(0);
    expect(globex.stdout).toMatch(new RegExp(`^Acknowledged change request ${chgA} for globex as globex ops \\(\\S+, for diff [0-9a-f]{12}\\)\\.\\n`));
    expect(json(await accordIn(t.initech, 'ack', chgA, '--format', 'json'))).toMatchObject({ changeId: chgA, partner: 'initech' });
    // globex's change was rejected: it awaits nobody's acknowledgement any more
    expect(json(await accordIn(t.initech, 'change', 'list', '--awaiting-me', '--json'))).toEqual([]);
    expect(await accord(t.initech, 'change', 'list', '--awaiting-me')).toEqual({ code: 0, stdout: 'Nothing awaits you.\n', stderr: '' });
  });

  it('change show: reviews, acknowledgements, the gate preview and the next step, in text and JSON', async () => {
    for (const kind of EVIDENCE) {
      await api('POST', '/v1/evidence', { partner: 'acme', api: 'member-api', version: '2.0.0', kind, result: 'pass', sha256: sha, uri: `https://ci.example/${kind}`, environment: 'staging', commit: 'a1b2c3d4e5f6', producedAt: '2026-11-27T11:00:00Z' }, t.ci);
    }
    const [text, partnerView, rejected] = await Promise.all([
      accord(t.bob, 'change', 'show', chgA, '--env', 'staging'),
      accordIn(t.initech, 'change', 'show', chgA, '--format', 'json'),
      accord(t.bob, 'change', 'show', chgB),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Change request ${chgA}: acme/member-api@2.0.0 (breaking, major bump against 1.0.0)`);
    expect(lines).toContain('Reviews: 2 counted approvals of 2 required');
    expect(lines.some((l) => /^ {2}✓ approve by bob at \S+: "the diff is what the summary says"$/.test(l))).toBe(true);
    expect(lines).toContain('Acknowledgements: 2 of 2');
    expect(lines.some((l) => /^ {2}✓ initech \(initech ops\) at \S+$/.test(l))).toBe(true);
    expect(lines).toContain('Gate preview (staging): PASS');
    expect(lines.slice(-2)).toEqual(['Next:', '  - the gate passes; release it (ci or admin): accord release record --partner acme --api member-api --version 2.0.0 --env staging']);
    expect(json(partnerView)).toMatchObject({ id: chgA, gatePreview: { environment: 'production', verdict: 'pass' }, acknowledgements: [{ partner: 'globex' }, { partner: 'initech' }] });

    expect(rejected.stdout).toContain('Gate preview (production): FAIL');
    expect(rejected.stdout).toMatch(/ {2}✗ reject by carol at \S+: "consumers still list members"/);
    expect(rejected.stdout).toContain('Acknowledgements: 0 of 2; waiting for acme, initech');
    // after a rejection, the one next step is a new version
    expect(rejected.stdout).toMatch(/\nNext:\n {2}- Address the rejection and open a new change request for a new version\. \(accord contract register, then accord change open\)\n$/);
  });

  it('release record: refused without a passing gate decision (exit 1); recorded to staging (text) and production (JSON)', async () => {
    const early = await accord(t.ci, 'release', 'record', '--partner', 'acme', '--api', 'member-api', '--version', '2.0.0', '--env', 'production');
    expect(early.code).toBe(1);
    expect(early.stdout).toBe('');
    expect(early.stderr).toMatch(/^accord: HTTP 409 Conflict: /);

    for (const environment of ['staging', 'production']) {
      expect((await api('POST', '/v1/gate/check', { partner: 'acme', api: 'member-api', version: '2.0.0', environment }, t.ci)).verdict).toBe('pass');
    }
    const staging = await accord(t.ci, 'release', 'record', '--partner', 'acme', '--api', 'member-api', '--version', '2.0.0', '--env', 'staging');
    expect(staging.stderr).toBe('');
    expect(staging.code).toBe(0);
    expect(staging.stdout).toMatch(/^Recorded release \S+: acme\/member-api@2\.0\.0 to staging \(content sha256 [0-9a-f]{12}…, gate decision dec_\S+\); the version is now released\.\n$/);
    const production = json(await accordIn(t.ci, 'release', 'record', '--partner', 'acme', '--api', 'member-api', '--version', '2.0.0', '--env', 'production', '--format', 'json'));
    expect(production).toMatchObject({ partner: 'acme', version: '2.0.0', environment: 'production', contentSha256: sha, state: 'released' });
  });

  it('deprecate: a sunset too soon is refused as JSON with the problem; then 1.0.0 is deprecated', async () => {
    const tooSoon = await accordIn(t.alice, 'deprecate', 'acme/member-api@1.0.0', '--sunset', '2027-01-15', '--successor', '2.0.0', '--reason', 'Superseded by 2.0.0', '--format', 'json');
    expect(tooSoon.code).toBe(1);
    const { error } = json(tooSoon);
    expect(error).toMatchObject({ kind: 'refused', exitCode: 1, status: 422, problem: { code: 'invalid_document', errors: [{ location: '/sunset' }] } });
    const done = await accord(t.alice, 'deprecate', 'acme/member-api@1.0.0', '--sunset', '2027-06-30', '--successor', '2.0.0', '--reason', 'Superseded by 2.0.0');
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^Deprecated acme\/member-api@1\.0\.0: sunset 2027-06-30\S*, successor 2\.0\.0\.\n {2}Reason: Superseded by 2\.0\.0\n {2}Notice ntc_\S+ went to the provider and its consumers/);
    const notices = await (await s.call('GET', '/v1/notices', { token: t.globex })).json();
    expect(notices.some((n: { title: string }) => n.title.includes('acme/member-api 1.0.0 is deprecated'))).toBe(true);
  });

  it('failures: text on stderr, or one JSON document on stdout with the problem; exit 1 refused, 3 could not run', async () => {
    const [missing, missingJson, usage, unauthorized, unreachable, noToken] = await Promise.all([
      accord(t.bob, 'change', 'show', 'chg_0000000000000000'),
      accordIn(t.bob, 'change', 'show', 'chg_0000000000000000', '--format', 'json'),
      accordIn(t.alice, 'change', 'open', '--partner', 'acme', '--format', 'json'),
      accordIn('acc_not-a-token', 'change', 'list', '--json'),
      runCli(['release', 'record', '--partner', 'acme', '--api', 'member-api', '--version', '2.0.0', '--env', 'qa', '--format=json'], { ACCORD_URL: 'http://127.0.0.1:9', ACCORD_TOKEN: t.ci }),
      runCli(['ack', chgA, '--json'], { ACCORD_URL: url }),
    ]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'accord: HTTP 404 Not found: No change request chg_0000000000000000\n' });
    expect(missingJson.code).toBe(1);
    expect(json(missingJson)).toEqual({
      error: { kind: 'refused', message: 'HTTP 404 Not found: No change request chg_0000000000000000', exitCode: 1, status: 404, problem: expect.objectContaining({ status: 404, code: 'not_found', detail: 'No change request chg_0000000000000000' }) },
    });
    expect(usage.code).toBe(3);
    expect(json(usage)).toEqual({ error: { kind: 'usage', message: 'Usage: accord change open --partner P --api A --version V --summary TEXT [--flows F,F]\nMissing --api, --version, --summary', exitCode: 3 } });
    expect(unauthorized.code).toBe(3);
    expect(json(unauthorized).error).toMatchObject({ kind: 'unauthorized', exitCode: 3, status: 401 });
    expect(unreachable.code).toBe(3);
    expect(json(unreachable).error).toMatchObject({ kind: 'unreachable', exitCode: 3, message: expect.stringContaining('Cannot reach Accord at http://127.0.0.1:9') });
    expect(noToken.code).toBe(3);
    expect(json(noToken).error).toMatchObject({ kind: 'configuration', exitCode: 3 });
  });
});

/** Runs the CLI in-process with its own environment: for what needs no server, or only a reachable one. */
async function accordHere(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('--format json for every command', () => {
  it('reports usage mistakes as JSON when asked, before and after parsing; --json and --format json are one option', async () => {
    const unknown = await accordHere(['frobnicate', '--json']);
    expect(unknown).toEqual({ code: 3, stdout: JSON.stringify({ error: { kind: 'usage', message: 'Unknown command "frobnicate"', exitCode: 3 } }, null, 2), stderr: '' });
    const badOption = await accordHere(['change', 'list', '--bogus', '--format', 'json']);
    expect(badOption.code).toBe(3);
    expect(JSON.parse(badOption.stdout).error).toMatchObject({ kind: 'usage', message: expect.stringMatching(/^Unknown option '--bogus'/) });
    const both = await accordHere(['change', 'list', '--json', '--format', 'text']);
    expect(both.code).toBe(3);
    expect(JSON.parse(both.stdout).error).toEqual({ kind: 'usage', message: '--json is short for --format json; it cannot go with --format text', exitCode: 3 });
    const otherFormat = await accordHere(['change', 'list', '--format', 'yaml']);
    expect(otherFormat).toEqual({ code: 3, stdout: '', stderr: 'accord: --format must be text or json' });
    const configuration = await accordHere(['change', 'list', '--format', 'json'], { PORT: 'abc' });
    expect(configuration.code).toBe(3);
    expect(JSON.parse(configuration.stdout).error).toMatchObject({ kind: 'configuration', message: expect.stringContaining('PORT') });
  });

  it('keeps the formats of commands that format themselves: matrix validate takes --format json for its --json, gate check --json for --format json', async () => {
    const matrix = await accordHere(['matrix', 'validate', path.join(REPO_ROOT, 'control-matrix'), '--format', 'json']);
    expect(matrix.code).toBe(0);
    expect(JSON.parse(matrix.stdout)).toMatchObject({ valid: true });
    const gate = await accordHere(['gate', 'check', '--partner', 'acme', '--api', 'member-api', '--version', '1.0.0', '--env', 'production', '--json'], { ACCORD_URL: 'http://127.0.0.1:9', ACCORD_TOKEN: 'x' });
    expect(gate.code).toBe(3);
    expect(JSON.parse(gate.stdout).error).toMatchObject({ kind: 'unreachable', exitCode: 3 });
    const both = await accordHere(['gate', 'check', '--partner', 'acme', '--json', '--format', 'junit']);
    expect(JSON.parse(both.stdout).error.message).toBe('--json is short for --format json; it cannot go with --format junit');
  });

  it('prints a local command\'s result as JSON too (token create), and wraps the lines of one without a structured result as {exitCode, output} (audit verify)', async () => {
    const s = await startTestService();
    try {
      const token = await accordHere(['token', 'create', '--role', 'ci', '--name', 'pipeline', '--json'], { ACCORD_DATA_DIR: s.dir, ...s.storageEnv });
      expect(token.code).toBe(0);
      const created = JSON.parse(token.stdout);
      expect(created).toMatchObject({ role: 'ci', name: 'pipeline', token: expect.stringMatching(/^acc_/) });
      expect((await s.call('GET', '/v1/contracts', { token: created.token })).status).toBe(200);
      const run = await accordHere(['audit', 'verify', '--format', 'json'], { ACCORD_DATA_DIR: s.dir, ...s.storageEnv });
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout);
      expect(report.exitCode).toBe(0);
      expect(report.output[0]).toMatch(/^Audit log intact: \d+ entries checked/);
    } finally {
      await s.cleanup();
    }
  });
});

describe('contract register text', () => {
  const base = { partner: 'acme', api: 'member-api', version: '3.0.0', state: 'draft', sha256: 'a'.repeat(64), commit: 'b'.repeat(40) };

  it('lists lint warnings when the answer has them (Spectral positions 0-based, shown 1-based), and at most ten breaking changes', () => {
    const breaking = Array.from({ length: 12 }, (_, i) => ({ rule: 'response-property-removed', method: 'get', path: `/p${i}`, location: `/paths/~1p${i}`, message: `property x${i} removed` }));
    const text = registeredText(
      {
        ...base,
        diff: { against: '2.0.0', summary: { breaking: 12, warning: 1, info: 0 }, bump: 'major', breaking },
        lint: { warnings: [{ rule: 'operation-tags', location: '/paths/~1a/get', message: 'Operation must have non-empty "tags" array.', range: { start: { line: 4, character: 6 } } }] },
      },
      true,
    ).split('\n');
    expect(text[1]).toBe('  Diff against 2.0.0: 12 breaking, 1 warnings, 0 info (major bump)');
    expect(text[2]).toBe('    - GET /p0: property x0 removed [response-property-removed]');
    expect(text[12]).toBe('    … and 2 more breaking changes (accord diff acme/member-api@2.0.0 acme/member-api@3.0.0)');
    expect(text[13]).toBe('  Lint: 1 warning');
    expect(text[14]).toBe('    - /paths/~1a/get (line 5:7): Operation must have non-empty "tags" array. [operation-tags]');
  });

  it('says nothing of lint when the answer has no lint warnings, and names no next step for an identical version', () => {
    const text = registeredText({ ...base, lint: {} }, false);
    expect(text).toBe(`Already registered (identical) acme/member-api@3.0.0 [draft] commit ${'b'.repeat(12)} sha256 ${'a'.repeat(64)}\n  Diff: none (the first version of this API)`);
  });
});
