import fs from 'node:fs';
import { startServeProcess, type ServeProcess } from '../test/serve-process.ts';
import { buildConsoleDataSet, type ConsoleDataSet } from './console-data.ts';
import { median, percentile } from './util.ts';

/** Who requests a page: signed in with one of the data set's tokens, or not signed in. */
type Visitor = keyof ConsoleDataSet['tokens'] | 'anonymous';

/**
 * The console pages the bench times, as `[visitor, path]` over the data set's sample names.
 * One line per page; a page that answers 404 is reported as missing.
 */
function consolePages(s: ConsoleDataSet['sample']): Array<[Visitor, string]> {
  const api = `/console/contracts/${s.partner}/${s.api}`;
  return [
    ['anonymous', '/console/sign-in'],
    ['admin', '/console'],
    ['partner', '/console'],
    ['admin', '/console/contracts'],
    ['partner', '/console/contracts'],
    ['admin', api],
    ['admin', `${api}/versions/${s.released}`],
    ['admin', `${api}/versions/${s.draft}`],
    ['admin', `${api}/compare?from=${s.compareFrom}&to=${s.compareTo}`],
    ['admin', '/console/changes'],
    ['approver', '/console/changes?tab=review'],
    ['admin', '/console/changes?tab=acks'],
    ['admin', '/console/changes?tab=ready'],
    ['admin', '/console/changes?tab=released'],
    ['partner', '/console/changes?tab=inbox'],
    ['partner', '/console/changes?tab=own'],
    ['approver', `/console/changes/${s.changeInReview}`],
    ['admin', `/console/changes/${s.changeAwaitingAcks}`],
    ['partner', `/console/changes/${s.changeAwaitingAcks}`],
    ['admin', `/console/changes/${s.changeReleased}`],
    ['admin', '/console/notices'],
    ['partner', '/console/notices'],
    ['admin', '/console/matrix'],
    ['admin', `/console/matrix/${s.flow}`],
    ['partner', '/console/matrix'],
    ['admin', '/console/audit'],
    ['admin', '/console/audit?actor=ci&outcome=refused'],
  ];
}

const TIMED = 50;
const WARM_UP = 3;

/** `accord serve` in its own process on 127.0.0.1 (a free port) over `dir`; resolves with its URL once it listens. */
function startServer(dir: string): Promise<ServeProcess> {
  return startServeProcess({ HOME: dir, ACCORD_DATA_DIR: dir, HOST: '127.0.0.1', ACCORD_SEED_DIR: '', ACCORD_LOG_LEVEL: 'warn' });
}

/** CPU seconds a process has used so far (Linux /proc), undefined where there is no /proc. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the server is idle (under 10 % of a core for a second; at most two minutes):
 * after start its background jobs build the runtime's route table over every served contract
 * line, which with this data set takes a while and would otherwise be timed as page rendering.
 * Returns the seconds waited.
 */
async function settle(pid: number): Promise<number> {
  const started = performance.now();
  for (let before = cpuSeconds(pid); before !== undefined && performance.now() - started < 120_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = cpuSeconds(pid)!;
    if (after - before < 0.1) break;
    before = after;
  }
  return (performance.now() - started) / 1000;
}

/** Signs in through the console's form as a browser would; returns the session cookie. */
async function signIn(url: string, token: string): Promise<string> {
  const form = await fetch(`${url}/console/sign-in`);
  const signInCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: signInCookie },
    body: new URLSearchParams({ _csrf: csrf, token }).toString(),
  });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('accord_session='));
  if (res.status !== 303 || !session) throw new Error(`sign-in answered ${res.status}`);
  return session.split(';')[0]!;
}

/** One GET with the session cookie: status and milliseconds until the whole body arrived. */
async function timedGet(url: string, cookie: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { Cookie: cookie }, redirect: 'manual' });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * Console pages with the issue's data set (10,000 contract versions, 10,000 change requests,
 * 100,000 evidence records, 20,000 audit entries; see buildConsoleDataSet) served by `accord
 * serve` in its own process on 127.0.0.1, requested from this process: each page of
 * consolePages is signed in as its visitor through the form, fetched WARM_UP times untimed,
 * then TIMED times in sequence (one request at a time, so the time is the server's rendering
 * plus loopback). Prints p50/p95/max per page against the target (≤ 100 ms p95); a page that
 * answers 404 is "missing", any other non-200 answer a failure.
 */
export async function benchConsole(): Promise<string[]> {
  const started = performance.now();
  const data = await buildConsoleDataSet();
  const built = (performance.now() - started) / 1000;
  const { url, child } = await startServer(data.dir);
  try {
    const cookies = new Map<Visitor, string>([['anonymous', '']]);
    for (const [visitor, token] of Object.entries(data.tokens)) cookies.set(visitor as Visitor, await signIn(url, token));
    const busy = await settle(child.pid!);
    const lines = [
      `data set: ${Object.entries(data.counts).map(([table, n]) => `${table} ${n}`).join(', ')} (built in ${built.toFixed(0)} s)`,
      `server: accord serve in its own process, busy ${busy.toFixed(0)} s after start (background jobs building the runtime's route table) before timing; ${TIMED} sequential GETs per page after ${WARM_UP} untimed`,
    ];
    for (const [visitor, page] of consolePages(data.sample)) {
      const label = `${page} (${visitor})`;
      const cookie = cookies.get(visitor)!;
      const first = await timedGet(`${url}${page}`, cookie);
      if (first.status === 404) {
        lines.push(`${label}: missing (404)`);
        continue;
      }
      if (first.status !== 200) {
        lines.push(`${label}: FAILED (answered ${first.status})`);
        continue;
      }
      for (let i = 1; i < WARM_UP; i++) await timedGet(`${url}${page}`, cookie);
      const times: number[] = [];
      const statuses = new Set<number>();
      for (let i = 0; i < TIMED; i++) {
        const { status, ms: t } = await timedGet(`${url}${page}`, cookie);
        statuses.add(status);
        times.push(t);
      }
      const p95 = percentile(times, 95);
      const failed = [...statuses].filter((st) => st !== 200);
      lines.push(`${label}: p50 ${ms(median(times))}, p95 ${ms(p95)}, max ${ms(Math.max(...times))}, first ${ms(first.ms)} — ${failed.length > 0 ? `FAILED (answered ${failed.join(', ')})` : p95 <= 100 ? 'ok (target p95 ≤ 100 ms)' : 'OVER the target (p95 ≤ 100 ms)'}`);
    }
    return lines;
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('close', resolve));
    fs.rmSync(data.dir, { recursive: true, force: true });
  }
}
