import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createToken } from '../src/auth/tokens.ts';
import { reviewChange } from '../src/changes/changes.ts';
import { createChange } from '../src/changes/open.ts';
import { versionKey } from '../src/contracts/ids.ts';
import { findVersion } from '../src/contracts/versions.ts';
import { addEvidence, type EvidenceRecord } from '../src/evidence/evidence.ts';
import { checkGate } from '../src/gate/check.ts';
import { putMatrixDocument } from '../src/matrix/store.ts';
import { PACKAGE_ROOT } from '../src/config.ts';
import { median, percentile, startBenchService } from './util.ts';

/**
 * Gate check latency with 10,000 versions, 100,000 evidence rows and 10,000 change requests in
 * the database, 1,000 of the evidence rows for the checked version (targets: p95 ≤ 50 ms
 * in-process, ≤ 100 ms over HTTP). The bulk rows are written
 * straight into SQLite; the checked version, its change request, reviews and evidence go
 * through the real domain functions.
 */
export async function benchGate(): Promise<string[]> {
  const svc = await startBenchService({ seed: true });
  try {
    const db = svc.deps.db.$sqlite!;
    const hex = (n: number) => randomBytes(n).toString('hex');
    db.transaction(() => {
      const version = db.prepare(`INSERT INTO contract_versions (partner, api, version, version_key, state, sha256, "commit", tag, size_bytes, created_at, created_by) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, 1000, ?, 'bench')`);
      const change = db.prepare(`INSERT INTO change_requests (id, partner, api, version, content_sha256, base_version, diff, diff_hash, breaking, summary, flows, required_approvals, required_acks, required_evidence, created_at, created_by, created_by_token) VALUES (?, ?, ?, ?, ?, NULL, '{"changes":[],"summary":{},"bump":"none"}', ?, 0, 'bench', '[]', 1, '[]', '["contract-test"]', ?, 'bench', 'tok_bench')`);
      const ev = db.prepare(`INSERT INTO evidence (id, partner, api, version, kind, result, sha256, uri, environment, "commit", produced_at, expires_at, report, report_sha256, created_at, created_by) VALUES (?, ?, ?, ?, ?, 'pass', ?, 'https://ci.example/run', 'staging', 'abcdef1', ?, NULL, NULL, NULL, ?, 'bench')`);
      const kinds = ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook'];
      // 1,000 of the 100,000 rows belong to the version under test (older runs, some for other content).
      for (let i = 0; i < 1_000; i++) {
        const at = new Date(1_750_000_000_000 + i * 1000).toISOString();
        ev.run(`evd_${hex(8)}`, 'bluestem-mutual', 'p2p-exchange', '1.1.0', kinds[i % kinds.length], hex(32), at, at);
      }
      for (let i = 0; i < 10_000; i++) {
        const partner = `payer-${i % 100}`;
        const v = `${Math.floor(i / 100)}.${i % 10}.0`;
        const at = new Date(1_750_000_000_000 + i * 1000).toISOString();
        version.run(partner, 'p2p-exchange', v, versionKey(v), hex(32), hex(20), `${partner}/p2p-exchange/v${v}`, at);
        change.run(`chg_${hex(8)}`, partner, 'p2p-exchange', v, hex(32), hex(32), at);
        if (i < 9_900) for (let k = 0; k < 10; k++) ev.run(`evd_${hex(8)}`, partner, 'p2p-exchange', v, kinds[k % kinds.length], hex(32), at, at);
      }
    })();
    const counts = db.prepare('SELECT (SELECT count(*) FROM contract_versions), (SELECT count(*) FROM evidence), (SELECT count(*) FROM change_requests)').raw().get() as number[];

    // The version under test, with a real change request, approval and evidence.
    const admin = { tokenId: 'bench', name: 'bench-author', role: 'admin' as const, partner: null };
    const approver = { tokenId: 'bench2', name: 'bench-approver', role: 'approver' as const, partner: null };
    const row = (await findVersion(svc.deps, 'bluestem-mutual', 'p2p-exchange', '1.1.0'))!;
    // 1.1.0 adds finalizeExchangeById, which the reference matrix does not cover: cover it so the gate can pass.
    const finalisation = fs.readFileSync(path.join(PACKAGE_ROOT, 'control-matrix/finalisation.yaml'), 'utf8')
      .replace('flow: finalisation', 'flow: finalisation-by-id')
      .replace("partner: '*'", 'partner: bluestem-mutual')
      .replace(">=1.0.0 <3.0.0", ">=1.1.0 <2.0.0")
      .replace('operationId: finalizeExchange', 'operationId: finalizeExchangeById');
    await putMatrixDocument(svc.deps, admin, { kind: 'flow', name: 'finalisation-by-id', body: finalisation, format: 'yaml' });
    const change = await createChange(svc.deps, admin, { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', summary: 'bench change' });
    await reviewChange(svc.deps, approver, change.id, { decision: 'approve' });
    for (const kind of JSON.parse(change.requiredEvidence) as EvidenceRecord['kind'][]) {
      await addEvidence(svc.deps, admin, { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', kind, result: 'pass', sha256: row.sha256, uri: 'https://ci.example/x', environment: 'staging', commit: 'abcdef1', producedAt: '2026-11-27T00:00:00Z' });
    }
    const input = { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.1.0', environment: 'production' };
    let verdict = '';
    for (let i = 0; i < 10; i++) verdict = (await checkGate(svc.deps, admin, input)).verdict;
    const inProcess: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await checkGate(svc.deps, admin, input);
      inProcess.push(performance.now() - t);
    }
    const ci = (await createToken(svc.deps, 'bench', { role: 'ci', name: 'bench-ci' })).token;
    const server = serve({ fetch: svc.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/gate/check`;
    const overHttp: number[] = [];
    for (let i = 0; i < 210; i++) {
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${ci}`, 'Content-Type': 'application/json' }, body: JSON.stringify(input) });
      await res.json();
      if (i >= 10) overHttp.push(performance.now() - t);
    }
    server.close();
    const line = (name: string, xs: number[], target: number) => `${name}: p50 ${median(xs).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms (n=${xs.length}, target p95 ≤ ${target} ms)`;
    return [
      `database: ${counts[0]} versions, ${counts[1]} evidence rows, ${counts[2]} change requests; verdict ${verdict}`,
      line('gate check in-process', inProcess, 50),
      line('gate check over HTTP 127.0.0.1', overHttp, 100),
    ];
  } finally {
    await svc.cleanup();
  }
}
