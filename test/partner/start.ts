import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(REPO_ROOT, 'test/partner/test-partner.mts');
const STARTUP_TIMEOUT_MS = 20_000;

/** How to start a test partner: the argv of test/partner/test-partner.mts. */
export interface TestPartnerOptions {
  /** Path to the OpenAPI YAML the partner serves (relative to the repository, or absolute). */
  contract: string;
  /** Whose synthetic member directory answers (REFERENCE_PARTNERS); default northwind-health. */
  partner?: string;
  variant?: 'correct' | 'ignores-idempotency-key' | 'undocumented-status' | 'drops-traceparent' | 'violates-response-schema';
  /** API calls must carry `Authorization: Bearer <bearer>`. */
  bearer?: string;
  /** PEM SPKI public key of the client: the partner serves POST /token (private_key_jwt client assertions). */
  publicKey?: string;
  clientId?: string;
  /** Every API answer carries Deprecation and Sunset (this date). */
  deprecatedSunset?: string;
  /** Each processed request waits this long before its handler answers (to observe 409 while in flight). */
  latencyMs?: number;
  /** How long the access tokens of POST /token last (default 300 s). */
  tokenSeconds?: number;
}

export interface TestPartner {
  /** The partner's base URL, e.g. http://127.0.0.1:43125 (operations at their OpenAPI paths below it). */
  url: string;
  /** Its OAuth2 token endpoint (served only with `publicKey`). */
  tokenUrl: string;
  stop(): Promise<void>;
}

function argsOf(options: TestPartnerOptions): string[] {
  const args = ['--contract', path.resolve(REPO_ROOT, options.contract)];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined) args.push(`--${name}`, String(value));
  };
  add('partner', options.partner);
  add('variant', options.variant);
  add('bearer', options.bearer);
  add('public-key', options.publicKey);
  add('client-id', options.clientId);
  add('deprecated-sunset', options.deprecatedSunset);
  add('latency-ms', options.latencyMs);
  add('token-seconds', options.tokenSeconds);
  return args;
}

/**
 * Starts a test partner in its own process (node --import tsx) and resolves once it listens,
 * with its URLs and `stop` (SIGTERM, then waits for the exit). Rejects with what it printed on
 * stderr if it exits first, or after 20 s.
 */
export function startTestPartner(options: TestPartnerOptions): Promise<TestPartner> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...argsOf(options)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<TestPartner>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`test partner did not start within ${STARTUP_TIMEOUT_MS / 1000} s: ${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`test partner exited (${signal ?? `code ${code}`}) before it listened: ${stderr}`));
    };
    child.once('exit', onExit);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = /^(\{"port":\d+\})\n/.exec(stdout)?.[1];
      if (!line) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
      resolve({
        url,
        tokenUrl: `${url}/token`,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
