import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { main } from '../src/main.ts';
import { REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'control-matrix', file), 'utf8');

/** `accord matrix propose | approve | reject` against a real server, through a recording proxy that shows the headers the CLI sends. */
describe('accord matrix propose | approve | reject', () => {
  let s: TestService;
  let proxy: http.Server;
  let url: string;
  let work: string;
  const sent: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }> = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    const target = await s.listen();
    // Forwards every request to the service and remembers what the CLI sent.
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        sent.push({ method: req.method!, url: req.url!, headers: req.headers });
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
        void fetch(`${target}${req.url}`, { method: req.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) }).then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-matrix-cli-'));
    tokens.author = (await createToken(s.deps, 'test', { role: 'author', name: 'Dana Author' })).token;
    for (const name of ['Erin', 'Frank', 'Grace']) tokens[name] = (await createToken(s.deps, 'test', { role: 'approver', name })).token;
  });
  afterAll(async () => {
    proxy?.close();
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const accord = (token: string, ...args: string[]) => runCli(args, { ACCORD_URL: url, ACCORD_TOKEN: token });
  const file = (name: string, text: string) => {
    const f = path.join(work, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('propose reads the ETag and sends it as If-Match, then prints the proposal number, its diff and the approvals it needs', async () => {
    const weaker = file('member-match.yaml', read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT12H'));
    sent.length = 0;
    const run = await accord(tokens.author!, 'matrix', 'propose', 'member-match', weaker);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Proposed: member-match version 2 (against approved version 1) by Dana Author: 1 breaking, 0 to review, 0 informational (weakens a guarantee)');
    expect(run.stdout).toContain('breaking /idempotency/dedupeWindow dedupe window shortened from P1D to PT12H');
    expect(run.stdout).toContain('Needs 0 of 2 approvals from approvers other than Dana Author: accord matrix approve member-match 2');
    const put = sent.find((r) => r.method === 'PUT')!;
    expect(put.headers['if-match']).toBe('"v1"');
    expect((await (await s.call('GET', '/v1/control-matrix/member-match')).json()).version).toBe(1);

    const again = await accord(tokens.author!, 'matrix', 'propose', 'member-match', weaker, '--format', 'json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 2, status: 'proposed', approvals: { counted: 0, required: 2 } });

    // A new flow: no approved version to match, so If-None-Match: *.
    sent.length = 0;
    const renewal = file('consent-renewal.yaml', read('consent-capture.yaml').replace('flow: consent-capture', 'flow: consent-renewal'));
    const first = await accord(tokens.author!, 'matrix', 'propose', 'consent-renewal', renewal);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Proposed: consent-renewal version 1 (a new flow)');
    expect(sent.find((r) => r.method === 'PUT')!.headers['if-none-match']).toBe('*');
  });

  it('approve: never by the proposal’s author (JSON errors with --format json)', async () => {
    const own = await accord(tokens.author!, 'matrix', 'approve', 'member-match', '2');
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('HTTP 403');
    const ownJson = await accord(tokens.author!, 'matrix', 'approve', 'member-match', '2', '--format', 'json');
    expect(ownJson.code).toBe(1);
    expect(JSON.parse(ownJson.stdout).error).toMatchObject({ status: 403, problem: { code: 'forbidden' } });
  });

  it('approve: each approver counts once; the policy’s count makes it govern', async () => {
    const first = await accord(tokens.Erin!, 'matrix', 'approve', 'member-match', '2', '--comment', 'half a day is enough');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Recorded your approval of member-match version 2: 1 of 2 approvals (Erin); it stays proposed until 1 more approver(s) approve.');
    const twice = await accord(tokens.Erin!, 'matrix', 'approve', 'member-match', '2');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('HTTP 409');
    const second = await accord(tokens.Frank!, 'matrix', 'approve', 'member-match', '2', '--format', 'json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).proposal).toMatchObject({ status: 'approved', approvals: { counted: 2, by: ['Erin', 'Frank'] } });
    expect((await (await s.call('GET', '/v1/control-matrix/member-match')).json()).entry.idempotency.dedupeWindow).toBe('PT12H');
  });

  it('reject says why; usage errors exit 3', async () => {
    // Usage errors and help need no server: run in-process.
    const here = async (...args: string[]) => {
      const out: string[] = [];
      const code = await main(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
      return { code, stdout: out.join('\n') };
    };
    expect(await here('matrix', 'reject', 'consent-renewal', '1')).toMatchObject({ code: 3, stdout: expect.stringContaining('--comment says why') });
    expect((await here('matrix', 'approve', 'consent-renewal', 'one')).code).toBe(3);
    expect((await here('matrix', 'approve', 'consent-renewal', '1', '--format', 'xml')).code).toBe(3);
    expect((await here('matrix', 'propose', 'consent-renewal')).code).toBe(3);
    expect((await here('matrix', 'propose', '--help')).stdout).toContain('If-Match');
    const top = (await here('--help')).stdout;
    for (const command of ['matrix propose', 'matrix approve', 'matrix reject']) expect(top).toContain(`accord ${command}`);
    const rejected = await accord(tokens.Grace!, 'matrix', 'reject', 'consent-renewal', '1', '--comment', 'one consent flow is enough');
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain('Rejected: consent-renewal version 1 (proposed by Dana Author) will not govern.');
    expect((await s.call('GET', '/v1/control-matrix/consent-renewal')).status).toBe(404);
  });
});
