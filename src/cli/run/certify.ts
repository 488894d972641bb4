import fs from 'node:fs/promises';
import type { Config } from '../../config.ts';
import { missingFlags } from '../args.ts';
import { callServer } from '../client.ts';
import type { CommandArgs, CommandRun } from '../command.ts';
import { certifyExitCode, certifyText, progressLine, withoutExchanges, type CertificationRun } from '../certify-report.ts';
import { CliFailure, usageFailure } from '../errors.ts';

/** What `accord certify` was asked for, checked. */
interface CertifyOptions {
  body: { partner: string; api: string; version: string; environment?: string; target: 'endpoint' | 'reference'; seed?: number };
  junit: string | undefined;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** The options of a run, or a usage failure (exit 3) naming what is missing or wrong. */
function certifyOptions(values: CommandArgs['values'], positionals: string[], synopsis: { synopsis: string }): CertifyOptions {
  if (values.environment === undefined && typeof values.env === 'string') values.environment = values.env;
  const target = values.target ?? 'endpoint';
  // The reference partner runs in the server's own runtime environment: --environment is optional for it.
  const missing = missingFlags(values, ['partner', 'api', 'version', ...(target === 'reference' ? [] : ['environment'])]);
  if (missing) throw usageFailure(synopsis, missing);
  if (positionals.length > 0) throw usageFailure(synopsis, `Unexpected argument "${positionals[0]}"`);
  if (target !== 'endpoint' && target !== 'reference') throw usageFailure(synopsis, '--target must be endpoint or reference');
  const wholeNumber = (name: string, fallback: number | undefined, min: number): number | undefined => {
    const value = values[name];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (typeof value !== 'string' || !/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw usageFailure(synopsis, `--${name} takes a whole number${min > 0 ? ` of at least ${min}` : ''}`);
    return n;
  };
  const seed = wholeNumber('seed', undefined, 0);
  return {
    body: { partner: values.partner as string, api: values.api as string, version: values.version as string, ...(values.environment !== undefined ? { environment: values.environment as string } : {}), target, ...(seed !== undefined ? { seed } : {}) },
    junit: typeof values.junit === 'string' && values.junit !== '' ? values.junit : undefined,
    timeoutMs: wholeNumber('timeout', 600, 1)! * 1000,
    pollIntervalMs: wholeNumber('poll-interval', 1000, 0)!,
  };
}

/** The path of the run to poll: the Location the server answered (made relative when it is absolute), else the run's own. */
function runPath(location: string | null, id: string): string {
  if (location) {
    if (location.startsWith('/')) return location;
    try {
      const url = new URL(location);
      return `${url.pathname}${url.search}`;
    } catch {
      // not a URL: fall back to the id
    }
  }
  return `/v1/certifications/${encodeURIComponent(id)}`;
}

/** A request the server refused or could not answer is an error here (exit 3): exit 1 means the certification failed. */
async function ask(config: Config, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ json: unknown; headers: Headers }> {
  try {
    return await callServer(config, method, path, body === undefined ? undefined : { text: JSON.stringify(body), contentType: 'application/json' }, headers);
  } catch (error) {
    throw error instanceof CliFailure ? new CliFailure(error.message, 3, error) : error;
  }
}

/** Whether an answer looks like a certification run (so a wrong server is an error, not a crash). */
function asRun(json: unknown, what: string): CertificationRun {
  const run = json as Partial<CertificationRun> | null;
  if (!run || typeof run !== 'object' || typeof run.id !== 'string' || typeof run.status !== 'string' || !run.progress || !Array.isArray(run.cases) || !Array.isArray(run.evidence)) {
    throw new CliFailure(`${what} did not answer a certification run: ${JSON.stringify(json)?.slice(0, 200)}`, 3);
  }
  return run as CertificationRun;
}

/** Fetches the run's JUnit report and writes it to `file`; the failure's message when it could not. */
async function writeJunit(config: Config, path: string, file: string): Promise<string | undefined> {
  try {
    const answer = await ask(config, 'GET', `${path}/junit`, undefined, { Accept: 'application/xml' });
    if (typeof answer.json !== 'string') return `the JUnit report of ${path} is not XML`;
    await fs.writeFile(file, answer.json);
    return undefined;
  } catch (error) {
    return `could not write the JUnit report to ${file}: ${(error as Error).message}`;
  }
}

/** `accord certify`: starts a certification run, polls it until it finishes, prints its summary (see src/cli/commands/certify.ts). */
export const run: CommandRun = async ({ values, positionals }, { config, io, print }, command) => {
  const options = certifyOptions(values, positionals, command);
  const created = await ask(config, 'POST', '/v1/certifications', options.body);
  let current = asRun(created.json, 'POST /v1/certifications');
  const path = runPath(created.headers.get('location'), current.id);
  const url = `${config.url}${path}`;
  const deadline = Date.now() + options.timeoutMs;
  let shown = '';
  const showProgress = (): void => {
    const line = progressLine(current);
    if (line !== shown) io.err((shown = line));
  };
  while (current.status === 'running') {
    showProgress();
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliFailure(`certification run ${current.id} did not finish within ${options.timeoutMs / 1000} s (${current.progress.done}/${current.progress.total} cases done); it goes on on the server: ${url}`, 3);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.pollIntervalMs, left)));
    current = asRun((await ask(config, 'GET', path)).json, `GET ${path}`);
  }
  const junitFailure = options.junit ? await writeJunit(config, path, options.junit) : undefined;
  print(withoutExchanges(current), (summary) => certifyText(summary, url) + (options.junit && !junitFailure ? `\nJUnit report: ${options.junit}` : ''));
  if (junitFailure) {
    io.err(`accord: ${junitFailure}`);
    return 3;
  }
  return certifyExitCode(current.status);
};
