import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { approvalSeedDir, matchExample } from './approval-helpers.ts';
import { ADMIN_TOKEN } from './harness.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

/** A real `accord serve` process over `dir`, seeded with the flow whose capture-consent compensation needs approval. */
function startServer(dir: string, seedDir: string, faults: string): Promise<ServeProcess> {
  return startServeProcess({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: ADMIN_TOKEN, ACCORD_LOG_LEVEL: 'error', ACCORD_SAGA_TIME_SCALE: '0.01', ACCORD_FAULTS: faults, ACCORD_SEED_DIR: seedDir });
}

async function api(server: ServeProcess, method: string, url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  return await fetch(`${server.url}${url}`, {
    method,
    headers: { Authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`, ...(options.body ? { 'Content-Type': 'application/json' } : {}), ...options.headers },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
  });
}

async function killed(server: ServeProcess): Promise<void> {
  server.child.kill('SIGKILL');
  if (server.child.exitCode === null && server.child.signalCode === null) await new Promise((r) => server.child.once('exit', r));
}

describe('crash safety: SIGKILL while compensations await approval', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-approval-crash-'));
  const seedDir = approvalSeedDir();
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(seedDir, { recursive: true, force: true });
  });

  it('loses none and runs none: after the restart both still await, and each approved one compensates once', async () => {
    const faults = path.join(dir, 'faults.yaml');
    // Every acknowledgement fails: each flow compensates and stops before revoking the consent.
    fs.writeFileSync(faults, '- {partner: northwind-health, step: acknowledge, kind: error-status, status: 500}\n');
    let server = await startServer(dir, seedDir, faults);
    const ids: string[] = [];
    for (const key of ['crash-approval-1', 'crash-approval-2']) {
      const res = await api(server, 'POST', '/v1/transactions', { body: { flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: matchExample() } }, headers: { 'Idempotency-Key': key } });
      expect(res.status, await res.clone().text()).toBe(202);
      ids.push((await res.json()).id);
    }
    const states = async () => await Promise.all(ids.map(async (id) => (await (await api(server, 'GET', `/v1/transactions/${id}`)).json()).state as string));
    for (let i = 0; i < 300 && !(await states()).every((st) => st === 'awaiting-approval'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await states()).toEqual(['awaiting-approval', 'awaiting-approval']);

    await killed(server);
    const read = () => {
      const db = new Database(path.join(dir, 'accord.db'), { readonly: true });
      try {
        return {
          states: ids.map((id) => db.prepare('SELECT state FROM transactions WHERE id = ?').pluck().get(id)),
          approvals: db.prepare("SELECT transaction_id AS id, step_id AS step, status, cause FROM compensation_approvals ORDER BY transaction_id").all(),
          revoked: db.prepare("SELECT count(*) FROM partner_records WHERE kind = 'consent' AND status = 'inactive'").pluck().get() as number,
          consents: db.prepare("SELECT count(*) FROM partner_records WHERE kind = 'consent'").pluck().get() as number,
        };
      } finally {
        db.close();
      }
    };
    const expectedApprovals = [...ids].sort().map((id) => ({ id, step: 'capture-consent', status: 'awaiting', cause: 'engine' }));
    // The state and its approval row were written together: both there after the kill.
    expect(read()).toEqual({ states: ['awaiting-approval', 'awaiting-approval'], approvals: expectedApprovals, revoked: 0, consents: 2 });

    // Restart: the start-up sweep resumes every unfinished saga but these, which wait for a person.
    server = await startServer(dir, seedDir, faults);
    const listed = (await (await api(server, 'GET', '/v1/compensations?status=awaiting')).json()).compensations;
    expect(listed.map((c: any) => c.transactionId).sort()).toEqual([...ids].sort());
    expect(await states()).toEqual(['awaiting-approval', 'awaiting-approval']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^accord_compensations_awaiting_approval\{partner="northwind-health",flow="payer-data-export"\} 2$/m);
    // Killed again before anyone decides: still nothing lost, nothing run.
    await killed(server);
    expect(read()).toEqual({ states: ['awaiting-approval', 'awaiting-approval'], approvals: expectedApprovals, revoked: 0, consents: 2 });
    server = await startServer(dir, seedDir, faults);

    // Both approvable; each compensation runs once.
    const operator = (await (await api(server, 'POST', '/v1/tokens', { body: { role: 'operator', name: 'night operator' } })).json()).token as string;
    for (const id of ids) {
      const res = await api(server, 'POST', `/v1/transactions/${id}/compensations/capture-consent/approve`, { token: operator, body: { reason: 'restarted; partner confirmed' } });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    for (let i = 0; i < 300 && !(await states()).every((st) => st === 'compensated'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await states()).toEqual(['compensated', 'compensated']);
    server.child.kill('SIGTERM');
    await new Promise((r) => (server.child.exitCode !== null || server.child.signalCode !== null ? r(undefined) : server.child.once('exit', r)));
    const after = read();
    expect(after.revoked).toBe(2);
    expect(after.approvals.map((a: any) => a.status)).toEqual(['approved', 'approved']);
  });
});
