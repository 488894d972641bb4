import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccordError } from './errors.ts';

/** Root of the installed package (holds contracts/, control-matrix/, migrations/). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Config {
  /** Where accord.db and the Git registry live. */
  dataDir: string;
  host: string;
  port: number;
  /** Maximum request body in bytes. */
  bodyLimit: number;
  /** Admin token to install on first start instead of a generated one. */
  adminToken: string | undefined;
  /** Folder whose contracts/ and control-matrix/ seed an empty registry; '' disables seeding. */
  seedDir: string;
  logLevel: string;
  /** Maximum YAML aliases expanded in one document (alias-bomb guard). */
  yamlMaxAliases: number;
  /** Time budget for the openapi-diff second opinion on diff requests; 0 disables it. */
  openapiDiffTimeoutMs: number;
  /** The runtime's environment: in `sandbox` approved versions are served too. */
  runtimeEnvironment: string;
  /** How often background jobs run (webhook deliveries, sunsets), in ms. */
  jobsIntervalMs: number;
  /** Multiplies saga retry backoff and step timeouts (1 = as the control matrix says). */
  sagaTimeScale: number;
  /** YAML/JSON file of faults to inject at start-up (sandbox only), if any. */
  faultsFile: string | undefined;
  /** Metrics, SLA monitor samples and scorecard counters (ACCORD_TELEMETRY=off turns them off). */
  telemetry: boolean;
  /** How often synthetic transactions run per flow and partner, in ms; 0 = only on demand. */
  syntheticIntervalMs: number;
  /** Base URL of a running Accord, for CLI commands that talk to the server. */
  url: string;
  /** Bearer token the CLI sends. */
  token: string | undefined;
}

/** Every setting: environment variable, default and description (the README's table). */
export const SETTINGS = [
  ['ACCORD_DATA_DIR', './data', 'Data directory: `accord.db` (SQLite, WAL) and `registry/` (Git).'],
  ['HOST', '127.0.0.1', 'Address the server listens on.'],
  ['PORT', '8080', 'Port the server listens on.'],
  ['ACCORD_BODY_LIMIT', '5242880', 'Largest accepted request body in bytes (5 MiB); larger → 413.'],
  ['ACCORD_ADMIN_TOKEN', '(generated)', 'Admin token installed on first start with an empty database; if unset one is generated and printed once.'],
  ['ACCORD_SEED_DIR', '(package root)', 'Folder with `contracts/` and `control-matrix/` imported into an empty registry at start; empty string disables seeding.'],
  ['ACCORD_LOG_LEVEL', 'info', 'pino log level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`).'],
  ['ACCORD_YAML_MAX_ALIASES', '100', 'Most YAML aliases expanded in one document (guards against alias bombs).'],
  ['ACCORD_OPENAPI_DIFF_TIMEOUT_MS', '5000', 'Time budget of the openapi-diff second opinion on diff requests and `accord diff` (in a worker thread, 1 GB heap cap); 0 turns it off.'],
  ['ACCORD_RUNTIME_ENV', 'sandbox', 'Environment the exchange runtime serves: released versions, and in `sandbox` approved ones too.'],
  ['ACCORD_JOBS_INTERVAL_MS', '1000', 'How often the server publishes the transaction outbox, delivers due webhooks (with retries and backoff), retires versions past their sunset, purges Idempotency-Keys past their window and evaluates SLAs.'],
  ['ACCORD_SAGA_TIME_SCALE', '1', 'Multiplies the saga engine\'s retry backoff and step timeouts from the control matrix (e.g. `0.01` in a sandbox demo or test run); between 0.0001 and 1.'],
  ['ACCORD_FAULTS', '(none)', 'YAML or JSON file listing faults to inject at start-up (sandbox only): `[{partner, step, kind, status?, delayMs?, remaining?, flow?}]`.'],
  ['ACCORD_TELEMETRY', 'on', '`off` disables metrics, SLA monitor samples and scorecard counters (for measuring their cost).'],
  ['ACCORD_SYNTHETIC_INTERVAL_MS', '0', 'How often synthetic transactions run for every flow and partner (ms); 0 runs them only on demand (`POST /v1/synthetic/run`).'],
  ['ACCORD_URL', 'http://127.0.0.1:8080', 'CLI: base URL of the running Accord server.'],
  ['ACCORD_TOKEN', '(none)', 'CLI: bearer token sent to the server.'],
] as const;

function intSetting(name: string, raw: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AccordError('bad_request', `${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

function telemetrySetting(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new AccordError('bad_request', `ACCORD_TELEMETRY must be on or off, got "${raw}"`);
}

function floatSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new AccordError('bad_request', `${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

/**
 * Reads the environment once and validates it. Nothing else in Accord reads process.env.
 * @param env the environment (defaults to process.env)
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const logLevel = env.ACCORD_LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new AccordError('bad_request', `ACCORD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }
  const url = env.ACCORD_URL || 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    throw new AccordError('bad_request', `ACCORD_URL is not a URL: "${url}"`);
  }
  return {
    dataDir: path.resolve(env.ACCORD_DATA_DIR || './data'),
    host: env.HOST || '127.0.0.1',
    port: intSetting('PORT', env.PORT, 8080, 0, 65535),
    bodyLimit: intSetting('ACCORD_BODY_LIMIT', env.ACCORD_BODY_LIMIT, 5 * 1024 * 1024),
    adminToken: env.ACCORD_ADMIN_TOKEN || undefined,
    seedDir: env.ACCORD_SEED_DIR === undefined ? PACKAGE_ROOT : env.ACCORD_SEED_DIR && path.resolve(env.ACCORD_SEED_DIR),
    logLevel,
    yamlMaxAliases: intSetting('ACCORD_YAML_MAX_ALIASES', env.ACCORD_YAML_MAX_ALIASES, 100, 0, 100_000),
    openapiDiffTimeoutMs: intSetting('ACCORD_OPENAPI_DIFF_TIMEOUT_MS', env.ACCORD_OPENAPI_DIFF_TIMEOUT_MS, 5000, 0, 600_000),
    runtimeEnvironment: env.ACCORD_RUNTIME_ENV || 'sandbox',
    jobsIntervalMs: intSetting('ACCORD_JOBS_INTERVAL_MS', env.ACCORD_JOBS_INTERVAL_MS, 1000, 50, 3_600_000),
    sagaTimeScale: floatSetting('ACCORD_SAGA_TIME_SCALE', env.ACCORD_SAGA_TIME_SCALE, 1, 0.0001, 1),
    faultsFile: env.ACCORD_FAULTS ? path.resolve(env.ACCORD_FAULTS) : undefined,
    telemetry: telemetrySetting(env.ACCORD_TELEMETRY),
    syntheticIntervalMs: intSetting('ACCORD_SYNTHETIC_INTERVAL_MS', env.ACCORD_SYNTHETIC_INTERVAL_MS, 0, 0, 86_400_000),
    url: url.replace(/\/+$/, ''),
    token: env.ACCORD_TOKEN || undefined,
  };
}
