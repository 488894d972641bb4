import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { dispatchDueDeliveries } from '../src/notices/webhook-dispatcher.ts';
import { ADMIN_TOKEN, REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

/**
 * The whole change-control story over HTTP and the CLI: breaking 3.0.0 → change request →
 * pending gate → the author's approval refused → two approvals → evidence (wrong content
 * ignored, one kind as JUnit) → consumer acknowledgement → gate passes → release → 1.x
 * deprecated → Atom feed → signed webhook delivery → audit chain verified, then tampered.
 */
describe('change control end to end', () => {
  let s: TestService;
  let url: string;
  let receiver: http.Server;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let receiverUrl: string;

  beforeAll(async () => {
    // The webhook receiver listens on 127.0.0.1: private targets need the operator's opt-in.
    s = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    url = await s.listen();
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/accord`;
  });
  afterAll(async () => {
    receiver.close();
    await s.cleanup();
  });

  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const gate = (env: Record<string, string> = {}, extra: string[] = []) =>
    runCli(['gate', 'check', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0', '--env', 'production', ...extra], { ACCORD_URL: url, ACCORD_TOKEN: env.token ?? ci, ...env });
  let ci: string;

  it('runs the whole story', async () => {
    ci = await s.token('ci');
    // named tokens: "alice" is both an author and (separately) an approver — the same person
    const { createToken } = await import('../src/auth/tokens.ts');
    const alice = (await createToken(s.deps, 'test', { role: 'author', name: 'alice' })).token;
    const aliceApprover = (await createToken(s.deps, 'test', { role: 'approver', name: 'alice' })).token;
    const bob = (await createToken(s.deps, 'test', { role: 'approver', name: 'bob' })).token;
    const carol = (await createToken(s.deps, 'test', { role: 'approver', name: 'carol' })).token;
    const bluestem = await s.token('partner', 'bluestem-mutual');
    const outsider = await s.token('partner', 'acme-payer');

    // a webhook that receives notices
    const webhook = await json('POST', '/v1/webhooks', { url: receiverUrl, secret: 'whsec-0123456789abcdef', events: ['notice.deprecation', 'notice.breaking-release'] });
    expect(webhook.status).toBe(201);

    // 1. the author registers a breaking 3.0.0
    const v3 = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
    v3.info.version = '3.0.0';
    v3.components.schemas.Finalization.required.push('finalizedBy');
    v3.components.schemas.Finalization.properties.finalizedBy = { type: 'string' };
    v3.paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example.finalizedBy = 'bluestem-mutual';
    const registered = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: JSON.stringify(v3), type: 'application/json', token: alice });
    expect(registered.status).toBe(201);
    const version = await registered.json();
    expect(version.diff).toMatchObject({ against: '2.1.0', bump: 'major' });
    const sha = version.sha256 as string;

    // the author extends the controls of the flows it touches to 3.x
    for (const flow of ['finalisation', 'payer-data-export']) {
      const entry = fs.readFileSync(path.join(REPO_ROOT, `control-matrix/${flow}.yaml`), 'utf8').replace(">=1.0.0 <3.0.0", ">=1.0.0 <4.0.0");
      // proposed by the author, approved by an approver (ADR 0018)
      expect((await putApprovedMatrixEntry(s, flow, entry, { token: alice })).baseVersion).toBe(1);
    }

    // 2. a change request: breaking, so 2 approvals, bluestem's acknowledgement and the breaking evidence kinds
    const opened = await json('POST', '/v1/changes', { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', summary: 'Finalisation must say who finalised' }, alice);
    expect(opened.status).toBe(201);
    const change = await opened.json();
    expect(change).toMatchObject({ breaking: true, baseVersion: '2.1.0', flows: ['finalisation', 'payer-data-export'] });
    expect(change.requires.approvals).toBe(2);
    expect(change.requires.acknowledgements).toEqual(['bluestem-mutual']);
    expect(change.requires.evidence).toEqual(['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook']);

    // 3. the gate says pending, with reasons (CLI exit 2)
    const pending = await gate();
    expect(pending.code).toBe(2);
    expect(pending.stdout.split('\n')[0]).toMatch(/^PENDING northwind-health\/p2p-exchange@3\.0\.0 → production: \d+ requirements not met \(decision dec_/);
    expect(pending.stdout).toContain('[approvals] 0 of 2 approvals');
    expect(pending.stdout).toContain('how to fix:');

    // 4. the author's own approval is refused
    expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, aliceApprover)).status).toBe(403);
    expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, alice)).status).toBe(403);

    // 5. two approvers approve
    for (const approver of [bob, carol]) expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve', comment: 'reviewed the diff' }, approver)).status).toBe(201);
    expect((await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/3.0.0')).json()).state).toBe('approved');

    // 6. evidence for other content is ignored; the right evidence is posted (one kind as JUnit)
    const base = { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'staging', commit: 'a1b2c3d4e5f6', producedAt: '2026-11-27T11:00:00Z' };
    const wrong = await json('POST', '/v1/evidence', { ...base, kind: 'contract-test', result: 'pass', sha256: 'f'.repeat(64), uri: 'https://ci.example/runs/1' }, ci);
    expect(wrong.status).toBe(201);
    expect((await wrong.json()).boundToContent).toBe(false);
    const stillPending = await (await json('POST', '/v1/gate/check', { ...base, environment: 'production' }, ci)).json();
    expect(stillPending.reasons.find((r: { rule: string }) => r.rule === 'evidence:contract-test')).toMatchObject({ status: 'pending', message: expect.stringContaining('1 record(s) for other content ignored') });

    const report = path.join(os.tmpdir(), `junit-${process.pid}.xml`);
    fs.writeFileSync(report, '<?xml version="1.0"?><testsuites><testsuite name="contract" tests="3"><testcase name="a"/><testcase name="b"/><testcase name="c"><skipped/></testcase></testsuite></testsuites>');
    const junit = await runCli(['evidence', 'junit', report, '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0', '--kind', 'contract-test', '--uri', 'https://ci.example/runs/2', '--env', 'staging', '--commit', 'a1b2c3d4e5f6', '--produced-at', '2026-11-27T11:00:00Z'], { ACCORD_URL: url, ACCORD_TOKEN: ci });
    expect(junit.stderr).toBe('');
    expect(junit.code).toBe(0);
    expect(junit.stdout).toContain('pass (3 tests, 0 failures, 0 errors, 1 skipped)');
    fs.rmSync(report);
    for (const kind of ['replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook']) {
      const res = await runCli(['evidence', 'add', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0', '--kind', kind, '--result', 'pass', '--uri', `https://ci.example/${kind}`, '--env', 'staging', '--commit', 'a1b2c3d4e5f6', '--sha256', sha, '--produced-at', '2026-11-27T11:00:00Z'], { ACCORD_URL: url, ACCORD_TOKEN: ci });
      expect(res.code, res.stderr).toBe(0);
    }

    // 7. the consuming partner acknowledges; a partner that does not consume the API may not
    expect((await json('POST', `/v1/changes/${change.id}/acknowledgements`, { comment: 'we are ready' }, outsider)).status).toBe(403);
    expect((await json('POST', `/v1/changes/${change.id}/acknowledgements`, { comment: 'we are ready' }, bluestem)).status).toBe(201);

    // 8. the gate passes (CLI exit 0) and answers the three questions
    const passed = await gate({}, ['--format', 'json']);
    expect(passed.code, passed.stdout).toBe(0);
    const decision = JSON.parse(passed.stdout);
    expect(decision.verdict).toBe('pass');
    expect(decision.whatChanged).toMatchObject({ base: '2.1.0', bump: 'major', breaking: [expect.stringContaining('finalizedBy')] });
    expect(decision.detection.flows.map((f: { flow: string }) => f.flow)).toEqual(['finalisation', 'payer-data-export']);
    expect(decision.recovery).toMatchObject({ rollbackTo: '2.1.0', rollbackPlan: 'https://ci.example/rollback-plan', runbook: 'https://ci.example/runbook' });
    const stored = await (await s.call('GET', `/v1/gate/decisions/${decision.decisionId}`)).json();
    expect(stored.rederivation).toEqual({ inputsHashMatches: true, verdict: 'pass', matches: true });

    // 9. the release is recorded (ci), the breaking release notifies consumers
    const released = await json('POST', '/v1/releases', { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'production' }, ci);
    expect(released.status).toBe(201);
    expect((await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/3.0.0')).json()).state).toBe('released');

    // 10. 1.x is deprecated with a sunset; the notice is in the Atom feed
    const tooSoon = await json('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/deprecation', { sunset: '2027-01-15', successor: '3.0.0', reason: 'Superseded by 3.0.0' }, alice);
    expect(tooSoon.status).toBe(422);
    const deprecated = await json('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/deprecation', { sunset: '2027-06-30', successor: '3.0.0', reason: 'Superseded by 3.0.0' }, alice);
    expect(deprecated.status).toBe(201);
    const atom = await s.call('GET', '/v1/notices.atom', { token: bluestem });
    expect(atom.headers.get('content-type')).toContain('application/atom+xml');
    const feed = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'entry' }).parse(await atom.text()).feed;
    expect(feed['@_xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(feed.id).toBeTruthy();
    expect(feed.updated).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const titles = feed.entry.map((e: { title: string }) => e.title);
    expect(titles).toContain('northwind-health/p2p-exchange 1.1.0 is deprecated; sunset 2027-06-30');
    expect(titles).toContain('Breaking release: northwind-health/p2p-exchange 3.0.0 in production');
    for (const e of feed.entry) expect(e.id).toMatch(/^urn:accord:notice:ntc_/);
    expect((await (await s.call('GET', '/v1/notices', { token: outsider })).json())).toEqual([]);

    // 11. the webhook receiver gets correctly signed deliveries
    await dispatchDueDeliveries(s.deps);
    expect(received.map((r) => r.headers['accord-event']).sort()).toEqual(['notice.breaking-release', 'notice.deprecation']);
    for (const r of received) {
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['accord-signature']))!;
      expect(v1).toBe(createHmac('sha256', 'whsec-0123456789abcdef').update(`${t}.${r.body}`).digest('hex'));
      expect(JSON.parse(r.body)).toMatchObject({ id: expect.stringMatching(/^evt_/), type: r.headers['accord-event'] });
    }
    const deliveries = await (await s.call('GET', `/v1/webhooks/${(await webhook.json()).id}/deliveries`)).json();
    expect(deliveries.every((d: { status: string; attempts: number }) => d.status === 'delivered' && d.attempts === 1)).toBe(true);

    // 12. the audit chain verifies, and breaks when a row is edited
    const clean = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: s.dir, ...s.storageEnv });
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.stdout).toMatch(/^Audit log intact: \d+ entries/);
    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    expect(audit.some((a: { action: string; outcome: string }) => a.action === 'POST /v1/changes/:id/reviews' && a.outcome === 'refused')).toBe(true);
    expect(audit.some((a: { action: string }) => a.action === 'gate.decision')).toBe(true);
    await s.deps.db.$sql.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
    const broken = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: s.dir, ...s.storageEnv });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('BROKEN at entry 3');
  }, 180_000); // some twenty CLI processes, each a second or more to start: a budget, not a timing assertion

  it('gate exit codes: 1 on fail (release freeze), 3 on error', async () => {
    const freeze = await json('POST', '/v1/freezes', { partner: 'northwind-health', reason: 'SLA breach on member match' });
    expect(freeze.status).toBe(201);
    const failed = await gate();
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL .*\n.*\[release-freeze\] Releases for northwind-health are frozen: SLA breach on member match/);
    expect((await s.call('DELETE', `/v1/freezes/${(await freeze.json()).id}`)).status).toBe(200);
    expect((await gate()).code).toBe(0);

    const junit = await gate({}, ['--format', 'junit']);
    expect(junit.stdout).toMatch(/^<\?xml[\s\S]*<testsuite name="release-gate" tests="\d+" failures="0"/);
    expect((await gate({ ACCORD_URL: 'http://127.0.0.1:9' })).code).toBe(3);
    expect((await runCli(['gate', 'check', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '9.9.9', '--env', 'production'], { ACCORD_URL: url, ACCORD_TOKEN: ci })).code).toBe(3);
    expect((await runCli(['gate', 'check', '--partner', 'northwind-health'], { ACCORD_URL: url, ACCORD_TOKEN: ci })).code).toBe(3);
    expect((await gate({ token: await s.token('partner', 'bluestem-mutual') })).code).toBe(3);
  });

  it('releases need a passing decision for this exact content; states never move backwards', async () => {
    const ci2 = await s.token('ci');
    const noDecision = await json('POST', '/v1/releases', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', environment: 'production' }, ci2);
    expect(noDecision.status).toBe(409);
    // 1.1.0 of northwind is deprecated now: it can never be released again
    const back = await json('POST', '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.1.0', environment: 'production', breakGlass: 'testing that states never move backwards' });
    expect((await back.json()).verdict).toBe('pass');
    const refused = await json('POST', '/v1/releases', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.1.0', environment: 'production' }, ci2);
    expect(refused.status).toBe(409);
    expect((await refused.json()).detail).toContain('never move backwards');
  });

  it('break-glass is admin only, needs a reason, passes, is audited and opens a review item', async () => {
    const before = await (await json('POST', '/v1/gate/check', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', environment: 'production' }, await s.token('ci'))).json();
    expect(before.verdict).not.toBe('pass');
    expect((await json('POST', '/v1/gate/check', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', environment: 'production', breakGlass: 'outage fix, approved by phone' }, await s.token('ci'))).status).toBe(403);
    expect((await json('POST', '/v1/gate/check', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', environment: 'production', breakGlass: 'x' })).status).toBe(422);
    const res = await runCli(['gate', 'check', '--partner', 'bluestem-mutual', '--api', 'p2p-exchange', '--version', '1.1.0', '--env', 'production', '--break-glass', 'outage fix, approved by phone'], { ACCORD_URL: url, ACCORD_TOKEN: ADMIN_TOKEN });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/break-glass by initial admin: outage fix, approved by phone \(review rvw_/);
    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    expect(audit.filter((a: { action: string }) => a.action === 'gate.break-glass').pop()).toMatchObject({ actor: 'initial admin', detail: { reason: 'outage fix, approved by phone', verdict: 'pass' } });
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM review_items WHERE status = 'open'"))).toBeGreaterThanOrEqual(1);
  });
});
