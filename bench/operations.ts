import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { countsText, emptyCell, histogramsText, observe, OPS_TIERS, type OpsCell, type OpsTier } from '../src/observability/ops-cells.ts';
import { openService } from '../src/server.ts';
import { startServeProcess } from '../test/serve-process.ts';
import { median, percentile } from './util.ts';

const PARTNERS = 20;
const FLOWS = 5;
const TIMED = 50;
const WARM_UP = 3;
const TARGET_MS = 150;
const ADMIN = 'bench-admin-token-0123456789abcdef';

/** A small deterministic PRNG (mulberry32), so every run seeds the same rollups. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One bucket of one flow and partner: `scale` minutes of traffic (a few requests a minute), with
 * latency samples spread over ~15 histogram buckets, as a real minute of the reference network.
 */
function randomCell(random: () => number, scale: number): OpsCell {
  const cell = emptyCell();
  const initiated = Math.round((2 + random() * 6) * scale);
  cell.counts.initiated = initiated;
  cell.counts.duplicates = Math.round(initiated * random() * 0.05);
  cell.counts.accepted = Math.round(initiated * (0.9 + random() * 0.1));
  cell.counts.refused = initiated - cell.counts.accepted;
  cell.counts.identityAttempts = Math.round(initiated * 0.5);
  cell.counts.identityMatched = Math.round(cell.counts.identityAttempts * 0.95);
  cell.counts.compensations = random() < 0.1 ? 1 : 0;
  cell.counts.manualInterventions = random() < 0.03 ? 1 : 0;
  cell.inFlight = Math.round(random() * 5);
  for (let i = 0; i < Math.min(initiated, 40); i++) {
    observe(cell.histograms.timeToAcknowledge, 0.02 + random() * random() * 2);
    observe(cell.histograms.timeToFinalise, 0.5 + random() * random() * 60);
  }
  return cell;
}

function add(into: OpsCell, from: OpsCell): void {
  for (const k of Object.keys(into.counts) as Array<keyof OpsCell['counts']>) into.counts[k] += from.counts[k];
  for (const l of ['timeToAcknowledge', 'timeToFinalise'] as const) {
    const a = into.histograms[l];
    const b = from.histograms[l];
    a.count += b.count;
    a.sum += b.sum;
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
    for (const [k, n] of b.buckets!) a.buckets!.set(k, (a.buckets!.get(k) ?? 0) + n);
  }
  into.inFlight += from.inFlight;
}

/**
 * Seeds ops_rollups as the retention keeps 30 days of traffic of 20 partners × 5 flows: per minute
 * for the last 2 days (ACCORD_OPS_ROLLUP_MINUTES default), per hour for the 30 days, per day for
 * the 30 days; each bucket also has the totals rows (flow '*', partner '*', both) the fold writes.
 * Returns the rows written per tier.
 */
async function seed(dir: string, now: number): Promise<{ rows: Record<OpsTier, number>; partner: string; tokens: { admin: string; partner: string } }> {
  const config = loadConfig({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: ADMIN, ACCORD_SEED_DIR: '', ACCORD_LOG_LEVEL: 'silent' });
  const service = await openService(config, { logger: pino({ level: 'silent' }) });
  const partner = 'partner-03';
  const partnerToken = (await createToken(service.deps, 'bench', { role: 'partner', partner, name: 'bench partner' })).token;
  const sqlite = service.deps.db.$sqlite!;
  const insert = sqlite.prepare('INSERT INTO ops_rollups (tier, bucket, flow, partner, counts, histograms, in_flight) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const random = prng(18);
  const flows = Array.from({ length: FLOWS }, (_, i) => `flow-${i + 1}`);
  const partners = Array.from({ length: PARTNERS }, (_, i) => `partner-${String(i + 1).padStart(2, '0')}`);
  const rows = { minute: 0, hour: 0, day: 0 } as Record<OpsTier, number>;
  const spans: Array<[OpsTier, number]> = [
    ['minute', 2 * 86_400_000],
    ['hour', 30 * 86_400_000],
    ['day', 30 * 86_400_000],
  ];
  for (const [tier, span] of spans) {
    const step = OPS_TIERS[tier];
    const last = Math.floor(now / step) * step;
    const write = sqlite.transaction((bucket: string) => {
      const totals = new Map<string, OpsCell>();
      const total = (key: string) => totals.get(key) ?? (totals.set(key, emptyCell()), totals.get(key)!);
      for (const flow of flows) {
        for (const p of partners) {
          const cell = randomCell(random, step / 60_000);
          insert.run(tier, bucket, flow, p, countsText(cell), histogramsText(cell), cell.inFlight);
          for (const key of [`${flow}|*`, `*|${p}`, '*|*']) add(total(key), cell);
        }
      }
      for (const [key, cell] of totals) {
        const [flow, p] = key.split('|');
        insert.run(tier, bucket, flow, p, countsText(cell), histogramsText(cell), cell.inFlight);
      }
      rows[tier] += FLOWS * PARTNERS + totals.size;
    });
    for (let t = last - span + step; t <= last; t += step) write(new Date(t).toISOString());
  }
  await service.close();
  return { rows, partner, tokens: { admin: ADMIN, partner: partnerToken } };
}

/** Signs in through the console's form as a browser would; returns the session cookie. */
async function signIn(url: string, token: string): Promise<string> {
  const form = await fetch(`${url}/console/sign-in`);
  const signInCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${url}/console/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: signInCookie }, body: new URLSearchParams({ _csrf: csrf, token }).toString() });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('accord_session='));
  if (res.status !== 303 || !session) throw new Error(`sign-in answered ${res.status}`);
  return session.split(';')[0]!;
}

async function timedGet(url: string, headers: Record<string, string>): Promise<{ status: number; ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers, redirect: 'manual' });
  const body = await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started, bytes: body.byteLength };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * The operations overview (issue 18) over 30 days of rollups of 20 partners × 5 flows, shaped as
 * the default retention keeps them (see seed), served by `accord serve` in its own process and
 * requested from this one: per case WARM_UP untimed then TIMED sequential GETs; p50/p95 against
 * the target (p95 ≤ 150 ms).
 */
export async function benchOperations(): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-bench-ops-'));
  const started = performance.now();
  const seeded = await seed(dir, Date.now());
  const built = (performance.now() - started) / 1000;
  const { url, child } = await startServeProcess({ HOME: dir, ACCORD_DATA_DIR: dir, HOST: '127.0.0.1', ACCORD_SEED_DIR: '', ACCORD_LOG_LEVEL: 'warn', ACCORD_ADMIN_TOKEN: ADMIN });
  try {
    const admin = { Cookie: await signIn(url, seeded.tokens.admin) };
    const partner = { Cookie: await signIn(url, seeded.tokens.partner) };
    const cases: Array<[string, string, Record<string, string>]> = [
      ['page PT1H (admin)', '/console/operations?window=PT1H', admin],
      ['page P1D (admin)', '/console/operations?window=P1D', admin],
      ['page P7D (admin)', '/console/operations?window=P7D', admin],
      ['page P30D (admin)', '/console/operations?window=P30D', admin],
      ['page P7D flow=flow-2 (admin)', '/console/operations?window=P7D&flow=flow-2', admin],
      ['page P30D flow=flow-1 partner=partner-07 (admin)', '/console/operations?window=P30D&flow=flow-1&partner=partner-07', admin],
      ['page PT1H partner=partner-12 (admin)', '/console/operations?window=PT1H&partner=partner-12', admin],
      [`page P7D (partner ${seeded.partner})`, '/console/operations?window=P7D', partner],
      ['API P30D (admin)', '/v1/operator/overview?window=P30D', { Authorization: `Bearer ${ADMIN}` }],
    ];
    const lines = [
      `data set: ops_rollups minute ${seeded.rows.minute}, hour ${seeded.rows.hour}, day ${seeded.rows.day} rows (30 days of 20 partners × 5 flows as the default retention keeps them: minutes for 2 days, hours and days for 30; totals rows included; built in ${built.toFixed(0)} s)`,
      `server: accord serve in its own process; ${TIMED} sequential GETs per case after ${WARM_UP} untimed`,
    ];
    for (const [label, page, headers] of cases) {
      for (let i = 0; i < WARM_UP; i++) await timedGet(`${url}${page}`, headers);
      const times: number[] = [];
      const statuses = new Set<number>();
      let bytes = 0;
      for (let i = 0; i < TIMED; i++) {
        const r = await timedGet(`${url}${page}`, headers);
        statuses.add(r.status);
        times.push(r.ms);
        bytes = r.bytes;
      }
      const p95 = percentile(times, 95);
      const failed = [...statuses].filter((st) => st !== 200);
      lines.push(`${label}: p50 ${ms(median(times))}, p95 ${ms(p95)}, max ${ms(Math.max(...times))}, ${Math.round(bytes / 1024)} KiB — ${failed.length > 0 ? `FAILED (answered ${failed.join(', ')})` : p95 <= TARGET_MS ? `ok (target p95 ≤ ${TARGET_MS} ms)` : `OVER the target (p95 ≤ ${TARGET_MS} ms)`}`);
    }
    return lines;
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('close', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
