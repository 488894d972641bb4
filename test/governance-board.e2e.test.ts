import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';

/**
 * Issue 16's story in the words of a board, on the seeded reference network, with the real CLI
 * against a real HTTP server:
 * - northwind-health's author ships p2p-exchange 3.0.0, which adds a required `purpose` to
 *   requestDataExport, and proposes the payer-data-export flow that must govern it — extended to
 *   3.x and with a weaker replay policy;
 * - the gate does not pass while that proposal is open; the author cannot approve it; two other
 *   approvers do (weakening idempotency is breaking: the policy's two approvals);
 * - bluestem-mutual, which calls requestDataExport, finds the change in its inbox and
 *   acknowledges it from the CLI; cedar-health, which only calls memberMatch, is told by notice
 *   and never asked;
 * - lint on the reference network prints 0 errors; a refused import writes nothing.
 */
describe('governance, as a board runs it', () => {
  let s: TestService;
  let url: string;
  let work: string;
  const t = {} as Record<'alice' | 'bob' | 'carol' | 'ci' | 'bluestem' | 'cedar' | 'admin', string>;
  const accord = (token: string, ...args: string[]) => runCli(args, { ACCORD_URL: url, ACCORD_TOKEN: token });
  const api = async (method: string, p: string, body: unknown, token?: string) => {
    const res = await s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return res.json();
  };
  /** The newest seeded version of northwind-health/p2p-exchange: the one the network's rules hold to. */
  const newestNorthwind = () => {
    const dir = path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange');
    const versions = fs.readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return { version: versions.at(-1)!, file: path.join(dir, versions.at(-1)!, 'openapi.yaml') };
  };
  const gate = (...extra: string[]) => accord(t.ci, 'gate', 'check', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0', '--env', 'production', ...extra);

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    url = await s.listen();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-board-'));
    const named = async (role: 'author' | 'approver' | 'ci' | 'partner' | 'admin', name: string, partner?: string) => (await createToken(s.deps, 'test', { role, name, partner })).token;
    Object.assign(t, {
      alice: await named('author', 'alice'),
      bob: await named('approver', 'bob'),
      carol: await named('approver', 'carol'),
      ci: await named('ci', 'ci'),
      bluestem: await named('partner', 'bluestem-ops', 'bluestem-mutual'),
      cedar: await named('partner', 'cedar-ops', 'cedar-health'),
      admin: await named('admin', 'root'),
    });
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a weakened idempotency needs two approvers other than its author; only the affected partner is asked; it acknowledges from the CLI', async () => {
    // cedar-health joins the network (it implements p2p-exchange too, so it consumes northwind's) and says it calls memberMatch only;
    // bluestem-mutual says it calls the export.
    const newest = newestNorthwind();
    const cedarFile = path.join(work, 'cedar.yaml');
    fs.writeFileSync(cedarFile, fs.readFileSync(newest.file, 'utf8'));
    const cedarRegistered = await accord(t.admin, 'contract', 'register', cedarFile, '--partner', 'cedar-health', '--api', 'p2p-exchange', '--version', '1.0.0');
    expect(cedarRegistered.code, cedarRegistered.stderr).toBe(0);
    await api('PUT', '/v1/contracts/northwind-health/p2p-exchange/consumers/cedar-health/usage', { operations: ['memberMatch'] }, t.cedar);
    await api('PUT', '/v1/contracts/northwind-health/p2p-exchange/consumers/bluestem-mutual/usage', { operations: ['memberMatch', 'requestDataExport', 'getExportStatus'] }, t.bluestem);

    // The author's new version: requestDataExport now requires a `purpose`.
    const v3 = yaml.load(fs.readFileSync(newest.file, 'utf8')) as any;
    v3.info.version = '3.0.0';
    const exportOp = v3.paths['/Group/{groupId}/$davinci-data-export'].post;
    exportOp.parameters.push({ name: 'purpose', in: 'query', required: true, description: 'Why the data is requested', schema: { type: 'string' } });
    const v3File = path.join(work, 'northwind-3.0.0.yaml');
    fs.writeFileSync(v3File, yaml.dump(v3));
    const registered = await accord(t.alice, 'contract', 'register', v3File, '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0');
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toMatch(/breaking/);

    // The flow that must govern 3.0.0: extended to 3.x, and its replay policy weakened from return-original to merge.
    const flow = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/payer-data-export.yaml'), 'utf8').replace(/versions: '[^']*'/, "versions: '>=1.0.0 <4.0.0'").replace('replayPolicy: return-original', 'replayPolicy: merge');
    expect(flow).toContain('replayPolicy: merge');
    const flowFile = path.join(work, 'payer-data-export.yaml');
    fs.writeFileSync(flowFile, flow);
    const proposed = await accord(t.alice, 'matrix', 'propose', 'payer-data-export', flowFile);
    expect(proposed.code, proposed.stderr).toBe(0);
    const proposal = Number(/version (\d+)/.exec(proposed.stdout)![1]);
    expect(proposed.stdout).toMatch(/weakens a guarantee/);
    expect(proposed.stdout).toContain('Needs 0 of 2 approvals');

    // The change request, its two approvals, its evidence.
    const opened = JSON.parse((await accord(t.alice, 'change', 'open', '--partner', 'northwind-health', '--api', 'p2p-exchange', '--version', '3.0.0', '--summary', 'Exports must say why', '--format', 'json')).stdout);
    const changeId = opened.id as string;
    expect(opened.requires.acknowledgements).toEqual(['bluestem-mutual']);
    for (const approver of [t.bob, t.carol]) expect((await accord(approver, 'review', 'approve', changeId, '--comment', 'read the diff')).code).toBe(0);
    const sha = opened.contentSha256 ?? ((await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/3.0.0')).json()) as { sha256: string }).sha256;
    for (const kind of opened.requires.evidence as string[]) {
      await api('POST', '/v1/evidence', { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'staging', commit: 'a1b2c3d4e5f6', producedAt: '2026-11-27T11:00:00Z', kind, result: 'pass', sha256: sha, uri: `https://ci.example/${kind}` }, t.ci);
    }

    // The affected partner sees it awaiting its acknowledgement; the unaffected one is told, not asked.
    const inbox = JSON.parse((await accord(t.bluestem, 'change', 'list', '--awaiting-me', '--format', 'json')).stdout);
    expect(inbox.map((c: { id: string }) => c.id)).toContain(changeId);
    expect(JSON.parse((await accord(t.cedar, 'change', 'list', '--awaiting-me', '--format', 'json')).stdout)).toEqual([]);
    const cedarNotices = (await (await s.call('GET', '/v1/notices', { token: t.cedar })).json()) as Array<{ kind: string; version: string }>;
    expect(cedarNotices.some((n) => n.kind === 'change-unaffected')).toBe(true);
    expect(cedarNotices.some((n) => n.kind === 'acknowledgement-requested')).toBe(false);
    const cedarAck = await accord(t.cedar, 'ack', changeId);
    expect(cedarAck.code).toBe(1);
    const acked = await accord(t.bluestem, 'ack', changeId, '--comment', 'our export client sends purpose from next week');
    expect(acked.code, acked.stderr).toBe(0);

    // The gate does not pass while the flow's change awaits review: the approved flow does not cover 3.0.0, and it says a proposal is pending.
    const blocked = await gate();
    expect(blocked.code, blocked.stdout).not.toBe(0);
    expect(blocked.stdout).toContain('[matrix-proposals]');
    expect(blocked.stdout).toContain('payer-data-export');

    // The author may not approve its own proposal; two other approvers do.
    expect((await accord(t.alice, 'matrix', 'approve', 'payer-data-export', String(proposal))).code).toBe(1);
    const first = await accord(t.bob, 'matrix', 'approve', 'payer-data-export', String(proposal));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('1 of 2 approvals');
    expect((await gate()).code).not.toBe(0);
    const second = await accord(t.carol, 'matrix', 'approve', 'payer-data-export', String(proposal));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^Approved: payer-data-export version \d+ is the approved version now/);

    // Now the gate passes, and the approved flow is what governs.
    const passed = await gate('--format', 'json');
    expect(passed.code, passed.stdout).toBe(0);
    expect(JSON.parse(passed.stdout).verdict).toBe('pass');
    expect(((await (await s.call('GET', '/v1/control-matrix/payer-data-export')).json()) as any).entry.idempotency.replayPolicy).toBe('merge');
  });

  it('a refused import changes nothing: not the registry, not the database', async () => {
    const dir = path.join(work, 'import');
    fs.mkdirSync(path.join(dir, 'contracts/northwind-health/p2p-exchange/9.0.0'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'control-matrix'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'contracts/northwind-health/p2p-exchange/9.0.0/openapi.yaml'), 'openapi: 3.1.0\ninfo: {title: broken, version: 9.0.0}\npaths:\n  /a/:\n    get: {responses: 17}\n');
    fs.copyFileSync(path.join(REPO_ROOT, 'control-matrix/member-match.yaml'), path.join(dir, 'control-matrix/member-match.yaml'));
    const tags = s.git('tag', '--list');
    const head = s.git('rev-parse', 'main');
    const versions = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions')).text();
    const refused = await accord(t.alice, 'import', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('contracts/northwind-health/p2p-exchange/9.0.0/openapi.yaml');
    expect(s.git('tag', '--list')).toBe(tags);
    expect(s.git('rev-parse', 'main')).toBe(head);
    expect(await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions')).text()).toBe(versions);
  });
});
