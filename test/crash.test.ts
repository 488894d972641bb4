import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { ADMIN_TOKEN, REPO_ROOT } from './harness.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

const FLOWS = 100;
const example = (partner: string, version: string) =>
  (parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example;
const INPUTS: Record<string, unknown> = { 'northwind-health': example('northwind-health', '2.0.0'), 'bluestem-mutual': example('bluestem-mutual', '1.1.0') };

/** A real `accord serve` process on a free port over `dir`, with `faults` injected. */
function startServer(dir: string, faults: string): Promise<ServeProcess> {
  return startServeProcess({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: ADMIN_TOKEN, ACCORD_LOG_LEVEL: 'error', ACCORD_SAGA_TIME_SCALE: '0.05', ACCORD_FAULTS: faults, ACCORD_SEED_DIR: REPO_ROOT });
}

describe('crash recovery: SIGKILL at random moments during 100 flows', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-crash-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('afterwards every transaction is completed or compensated, no effect happened twice, no accepted request is lost', async () => {
    // Faults that make flows slow, retried and compensated, so kills land mid-flow.
    const faults = path.join(dir, 'faults.yaml');
    fs.writeFileSync(
      faults,
      [
        '- {partner: northwind-health, step: acknowledge, kind: delayed-event, delayMs: 300}', // slow, inside its 500 ms timeout
        '- {partner: northwind-health, step: request-export, kind: partial-write, remaining: 30}',
        '- {partner: bluestem-mutual, step: finalise, kind: error-status, status: 503}', // always: bluestem flows compensate
        '- {partner: bluestem-mutual, step: capture-consent, kind: duplicate-delivery}',
      ].join('\n'),
    );
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const accepted = new Set<string>();
    const pending = Array.from({ length: FLOWS }, (_, i) => i);
    let kills = 0;
    let interrupted = 0;
    /** Transactions the killed process left mid-flow (the restart must finish them). */
    const unfinished = async () => {
      if (!fs.existsSync(path.join(dir, 'accord.db'))) return 0;
      const db = new Database(path.join(dir, 'accord.db'));
      try {
        return db.prepare("SELECT count(*) FROM transactions WHERE state NOT IN ('completed', 'compensated', 'needs-attention')").pluck().get() as number;
      } finally {
        db.close();
      }
    };
    let server = await startServer(dir, faults);
    while (pending.length > 0) {
      // Fire every pending start (a client retries with the same key after a failure), and kill the server at a random moment meanwhile.
      const killAfter = kills < 3 ? 20 + random() * 200 : Infinity;
      const killer = Number.isFinite(killAfter)
        ? setTimeout(() => {
            server.child.kill('SIGKILL');
            kills++;
          }, killAfter)
        : undefined;
      const batch = pending.splice(0, pending.length);
      const results = await Promise.all(
        batch.map(async (i) => {
          const partner = i % 2 === 0 ? 'northwind-health' : 'bluestem-mutual';
          try {
            await new Promise((r) => setTimeout(r, random() * 150));
            const res = await fetch(`${server.url}/v1/transactions`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Idempotency-Key': `crash-flow-${i}` },
              body: JSON.stringify({ flow: 'payer-data-export', partner, input: { memberMatch: INPUTS[partner] } }),
            });
            if (res.status === 202) {
              accepted.add(`crash-flow-${i}`);
              return undefined;
            }
            return i;
          } catch {
            return i; // the connection died with the server
          }
        }),
      );
      pending.push(...results.filter((i): i is number => i !== undefined));
      clearTimeout(killer);
      if (server.child.signalCode !== null || server.child.exitCode !== null || server.child.killed) {
        await new Promise((r) => (server.child.exitCode !== null || server.child.signalCode !== null ? r(undefined) : server.child.once('exit', r)));
        interrupted += await unfinished();
        server = await startServer(dir, faults);
      }
    }
    // Then kill the engine while the accepted flows run.
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, random() * 200));
      server.child.kill('SIGKILL');
      kills++;
      await new Promise((r) => server.child.once('exit', r));
      interrupted += await unfinished();
      server = await startServer(dir, faults);
    }
    expect(kills).toBeGreaterThanOrEqual(6);
    // The kills landed mid-flow: restarts had unfinished transactions to resume.
    expect(interrupted).toBeGreaterThan(0);
    console.log(`crash test: ${kills} kills, ${interrupted} transactions left mid-flow`);
    expect(accepted.size).toBe(FLOWS);

    // Let the restarted engine finish everything.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const open = await (await fetch(`${server.url}/v1/transactions?limit=1000`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
      if (open.transactions.length === 0) break;
      if (Date.now() > deadline) throw new Error(`still unfinished: ${JSON.stringify(open.transactions.slice(0, 3))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));

    const db = new Database(path.join(dir, 'accord.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT id, partner, state, idempotency_key AS key, failure FROM transactions WHERE mode = 'saga'").all() as Array<{ id: string; partner: string; state: string; key: string; failure: string }>;
      // No accepted request lost, none duplicated.
      expect(rows.map((r) => r.key).sort()).toEqual([...accepted].sort());
      // Bluestem's finalise always fails (compensated); northwind's complete unless one flow drew more partial writes than its retries.
      for (const r of rows) {
        const failure = r.failure ? JSON.parse(r.failure) : undefined;
        const expected = r.partner === 'bluestem-mutual' ? 'compensated' : failure?.failureMode === 'partial-write' ? 'compensated' : 'completed';
        expect(r.state, `${r.id} ${r.failure}`).toBe(expected);
      }
      const compensated = rows.filter((r) => r.state === 'compensated').length;
      expect(compensated).toBeGreaterThanOrEqual(FLOWS / 2);
      // No effect twice: each partner effect row pairs with exactly one recorded step request, one per transaction.
      const count = async (sql: string, ...args: unknown[]) => db.prepare(sql).pluck().get(...args) as number;
      const requests = async (suffix: string) => await count("SELECT count(*) FROM partner_records WHERE kind = 'request' AND id LIKE ?", `%.${suffix}`);
      expect(await requests('capture-consent')).toBe(FLOWS);
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'consent'")).toBe(FLOWS);
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'export'")).toBe(FLOWS);
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'acknowledgement'")).toBe(await requests('acknowledge'));
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'finalization'")).toBe(FLOWS - compensated);
      // Compensated flows undid their work exactly once: consent revoked and export cancelled.
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'consent' AND status = 'inactive'")).toBe(compensated);
      expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'export' AND status = 'cancelled'")).toBe(compensated);
      // Every state change recorded moved forward.
      const backwards = db.prepare(`SELECT count(*) FROM transaction_events WHERE type = 'transaction.state-changed' AND
             (CASE to_state WHEN 'accepted' THEN 1 WHEN 'in-progress' THEN 2 WHEN 'compensating' THEN 3 WHEN 'needs-attention' THEN 4 ELSE 5 END) <=
             (CASE from_state WHEN 'initiated' THEN 0 WHEN 'accepted' THEN 1 WHEN 'in-progress' THEN 2 WHEN 'compensating' THEN 3 WHEN 'needs-attention' THEN 4 ELSE 5 END)`).pluck().get();
      expect(backwards).toBe(0);
    } finally {
      db.close();
    }
  }, 180_000);
});
