import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { AccordError } from './errors.ts';
import { durationMs } from './matrix/durations.ts';
import { PACKAGE_ROOT } from './package-root.ts';

export { PACKAGE_ROOT };

export interface Config {
  /** Where accord.db and the Git registry live. */
  dataDir: string;
  /** PostgreSQL to store in instead of the data dir's SQLite file (scale-out mode), if set. */
  databaseUrl: string | undefined;
  /** This process's name among the replicas sharing the database: it holds saga leases and writes its own SLA rollups and rate counts under it. */
  replicaId: string;
  /** How long a replica's claim on a saga lasts without renewal (another replica takes the saga over after it), in ms. */
  leaseMs: number;
  /** Bare Git repository (path or URL) that is the registry of record, pushed to and fetched from; '' = none (the data dir's registry alone). */
  registryRemote: string;
  host: string;
  port: number;
  /** Maximum request body in bytes. */
  bodyLimit: number;
  /** Admin token to install on first start instead of a generated one. */
  adminToken: string | undefined;
  /** Folder whose contracts/ and control-matrix/ seed an empty registry; '' disables seeding. */
  seedDir: string;
  logLevel: string;
  /** How log lines are written: JSON lines, or pino-pretty's lines for a terminal. */
  logFormat: 'json' | 'pretty';
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
  /** How long the SLA monitor's per-minute rollups are kept, in ms. */
  slaRollupRetentionMs: number;
  /** How often synthetic transactions run per flow and partner, in ms; 0 = only on demand. */
  syntheticIntervalMs: number;
  /** Base URL of a running Accord, for CLI commands that talk to the server. */
  url: string;
  /** Bearer token the CLI sends. */
  token: string | undefined;
  /** Base of every absolute URL Accord writes (Atom links, Location, Link); never the request's Host. */
  publicUrl: string;
  /** Outbound calls (webhooks, later partner endpoints) may reach private, loopback and link-local addresses. */
  outboundAllowPrivate: boolean;
  /** Private ranges outbound calls may reach even without outboundAllowPrivate (CIDR notation). */
  outboundAllowCidrs: string[];
  /** Most active webhook subscriptions one owner (a partner, or the staff) may hold. */
  webhooksPerOwner: number;
  /** Webhook deliveries in flight at once, across all subscribers. */
  webhookConcurrency: number;
  /** Webhook deliveries in flight at once to one subscriber. */
  webhookSubscriberConcurrency: number;
  /** Time budget of one webhook delivery attempt (connect, send, answer), in ms. */
  webhookTimeoutMs: number;
  /** A subscription whose attempts have all failed for this long (ms)… */
  webhookDisableAfterMs: number;
  /** …and at least this many times in a row is disabled, with a notice to its owner. */
  webhookDisableFailures: number;
  /** Key of the audit log's HMAC chain (raw bytes); undefined → `<dataDir>/audit.key`. */
  auditKey: Buffer | undefined;
  /** Key that encrypts the credentials Accord holds for partner endpoints (raw bytes); undefined → none may be stored. */
  secretsKey: Buffer | undefined;
  /** The audit log's head is anchored in the Git registry at least every this many entries. */
  auditAnchorEvery: number;
  /** Failed authentications per minute from one client address (or for one token prefix) before 429. */
  authFailureLimit: number;
  /** Requests per minute per authenticated token; 0 = no limit. */
  tokenRateLimit: number;
  /** Peers whose X-Forwarded-For is believed (CIDR notation). */
  trustedProxies: string[];
  /** Lifetime of new tokens when the request names none, in ms; undefined = no expiry. */
  tokenDefaultTtlMs: number | undefined;
  /** `full`: SQLite fsyncs every commit; `normal`: WAL default (a power cut may lose the last commits, a crash never). */
  durability: 'normal' | 'full';
  /** Bytes of parsed documents and compiled validators kept in memory (estimated), per cache. */
  cacheMaxBytes: number;
  /** A console session ends after this long without a request… */
  sessionIdleMs: number;
  /** …and this long after sign-in, whatever happens. */
  sessionMaxMs: number;
  /** How far back a consumer's calls through the exchange count as its observed usage of an API, in ms. */
  usageWindowMs: number;
  /** How long the operations rollups are kept per tier (ACCORD_OPS_ROLLUP_MINUTES / _HOURS / _DAYS). */
  opsRollupRetention: { minuteMs: number; hourMs: number; dayMs: number };
}

/** ACCORD_DATABASE_URL: a postgres:// URL; with it the audit key must come from ACCORD_AUDIT_KEY (replicas share it). */
function databaseUrlSetting(raw: string | undefined, auditKey: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AccordError('bad_request', 'ACCORD_DATABASE_URL is not a URL (expected postgres://user:password@host:5432/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new AccordError('bad_request', `ACCORD_DATABASE_URL must be a postgres:// URL, got a ${url.protocol}// one`);
  // Every replica must chain audit entries with the same key: a generated per-host key file would fork the chain.
  if (!auditKey) throw new AccordError('bad_request', 'ACCORD_AUDIT_KEY is required with ACCORD_DATABASE_URL: every replica must use the same audit key');
  return raw;
}

/**
 * The replica's name: as set, else `embedded` (one process owns a SQLite file, and takes its
 * leases back at once after a restart), else unique per process on PostgreSQL.
 */
function replicaIdSetting(raw: string | undefined, shared: boolean): string {
  if (raw) {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) throw new AccordError('bad_request', `ACCORD_REPLICA_ID must be 1 to 100 letters, digits, '.', '_' or '-'; got "${raw}"`);
    return raw;
  }
  return shared ? `${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}-${process.pid}-${randomBytes(3).toString('hex')}` : 'embedded';
}

/** Every setting: environment variable, default and description (the README's table). */
export const SETTINGS = [
  ['ACCORD_DATA_DIR', './data', 'Data directory: `accord.db` (SQLite, WAL) and `registry/` (Git).'],
  ['ACCORD_DATABASE_URL', '(unset: SQLite)', 'A `postgres://` URL: store in that PostgreSQL database instead of `<data>/accord.db` (scale-out mode; requires `ACCORD_AUDIT_KEY`).'],
  ['ACCORD_REPLICA_ID', '(embedded, or host-pid-random)', 'This process\'s name among replicas sharing one PostgreSQL (saga leases, its SLA rollups and rate counts); unique per process. A replica restarted under the same name takes its own sagas back at once instead of after the lease.'],
  ['ACCORD_LEASE_MS', '30000', 'How long a replica\'s claim on a saga lasts unless renewed (it renews every third of it); after it another replica takes the saga over.'],
  ['ACCORD_REGISTRY_REMOTE', '(none)', 'A bare Git repository (a path, `file://` or any URL `git push` accepts) that is the registry of record: each version is pushed to it (commit and tag atomically) before it is indexed, and every replica fetches what the others pushed; `<data>/registry` becomes a local mirror.'],
  ['HOST', '127.0.0.1', 'Address the server listens on.'],
  ['PORT', '8080', 'Port the server listens on.'],
  ['ACCORD_BODY_LIMIT', '5242880', 'Largest accepted request body in bytes (5 MiB); larger → 413.'],
  ['ACCORD_ADMIN_TOKEN', '(generated)', 'Admin token installed on first start with an empty database; if unset one is generated and printed once.'],
  ['ACCORD_SEED_DIR', '(package root)', 'Folder with `contracts/` and `control-matrix/` imported into an empty registry at start; empty string disables seeding.'],
  ['ACCORD_LOG_LEVEL', 'info', 'pino log level (`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`).'],
  ['ACCORD_LOG_FORMAT', 'auto', '`json` (one JSON object per line, for log collectors), `pretty` (colourised lines for people, pino-pretty) or `auto`: pretty when stdout is a terminal, JSON otherwise.'],
  ['ACCORD_YAML_MAX_ALIASES', '100', 'Most YAML aliases expanded in one document (guards against alias bombs).'],
  ['ACCORD_OPENAPI_DIFF_TIMEOUT_MS', '5000', 'Time budget of the openapi-diff second opinion on diff requests and `accord diff` (in a worker thread, 1 GB heap cap); 0 turns it off.'],
  ['ACCORD_RUNTIME_ENV', 'sandbox', 'Environment the exchange runtime serves: released versions, and in `sandbox` approved ones too.'],
  ['ACCORD_JOBS_INTERVAL_MS', '1000', 'How often the server publishes the transaction outbox, retires versions past their sunset, purges Idempotency-Keys past their window, evaluates SLAs, writes aggregated authentication refusals, anchors the audit log when due and starts due scheduled certifications (on several replicas, the leader); on every replica, how often it writes its SLA rollups, shares rate-limit counts and takes over sagas whose lease has passed; also how often the webhook dispatcher looks for due deliveries.'],
  ['ACCORD_SAGA_TIME_SCALE', '1', 'Multiplies the saga engine\'s retry backoff and step timeouts from the control matrix (e.g. `0.01` in a sandbox demo or test run); between 0.0001 and 1.'],
  ['ACCORD_FAULTS', '(none)', 'YAML or JSON file listing faults to inject at start-up (sandbox only): `[{partner, step, kind, status?, delayMs?, remaining?, flow?}]`.'],
  ['ACCORD_TELEMETRY', 'on', '`off` disables metrics, SLA monitor samples and scorecard counters (for measuring their cost); the operations overview then counts no duplicates.'],
  ['ACCORD_SLA_ROLLUP_RETENTION', 'P30D', 'How long the SLA monitor\'s per-minute rollups (`sla_rollups`) are kept (ISO 8601 duration, at least `P1D`, the longest window `GET /v1/sla` reads).'],
  ['ACCORD_SYNTHETIC_INTERVAL_MS', '0', 'How often synthetic transactions run for every flow and partner (ms); 0 runs them only on demand (`POST /v1/synthetic/run`).'],
  ['ACCORD_URL', 'http://127.0.0.1:8080', 'CLI: base URL of the running Accord server.'],
  ['ACCORD_TOKEN', '(none)', 'CLI: bearer token sent to the server.'],
  ['ACCORD_PUBLIC_URL', 'http://<HOST>:<PORT>', 'Base of every absolute URL Accord writes (Atom links, `Location`, `Link`); the request\'s Host header is never used.'],
  ['ACCORD_OUTBOUND_ALLOW_PRIVATE', 'false', '`true` lets outbound calls (webhooks) reach loopback, private, link-local and other non-public addresses.'],
  ['ACCORD_OUTBOUND_ALLOW_CIDRS', '(none)', 'Comma-separated CIDR ranges outbound calls may reach even when they are not public (e.g. `10.20.0.0/16`).'],
  ['ACCORD_WEBHOOKS_PER_OWNER', '10', 'Most active webhook subscriptions one partner (or the staff, together) may hold.'],
  ['ACCORD_WEBHOOK_CONCURRENCY', '16', 'Webhook deliveries in flight at once, across all subscribers.'],
  ['ACCORD_WEBHOOK_SUBSCRIBER_CONCURRENCY', '1', 'Webhook deliveries in flight at once to one subscriber (1 keeps its events in order).'],
  ['ACCORD_WEBHOOK_TIMEOUT_MS', '5000', 'Time budget of one delivery attempt (resolve, connect, send, answer).'],
  ['ACCORD_WEBHOOK_DISABLE_AFTER', 'P3D', 'A subscription whose delivery attempts have all failed for this long (ISO 8601 duration)…'],
  ['ACCORD_WEBHOOK_DISABLE_FAILURES', '20', '…and at least this many times in a row is disabled, with a notice to its owner.'],
  ['ACCORD_AUDIT_KEY', '(`<data>/audit.key`)', 'Key of the audit log\'s HMAC chain, hex or base64, at least 32 bytes; unset: a random key is kept in `<data>/audit.key` (mode 0600).'],
  ['ACCORD_SECRETS_KEY', '(none)', 'Key (hex or base64, at least 32 bytes; e.g. `openssl rand -hex 32`) that encrypts at rest the credentials Accord uses to call partner endpoints (bearer tokens, private keys); every replica needs the same one. Unset: endpoints without credentials only (a credential → 503).'],
  ['ACCORD_AUDIT_ANCHOR_EVERY', '100', 'The audit log\'s head HMAC and entry count are anchored on `refs/accord/audit` in the Git registry at least every this many entries (and every minute with new entries, and at shutdown).'],
  ['ACCORD_AUTH_FAILURE_LIMIT', '20', 'Failed authentications per minute from one client address, or with one token prefix, before further attempts get 429 with `Retry-After`.'],
  ['ACCORD_TOKEN_RATE_LIMIT', '0', 'Requests per minute per authenticated token before 429; `0` turns the limit off.'],
  ['ACCORD_TRUSTED_PROXIES', '(none)', 'Comma-separated CIDR ranges of load balancers whose `X-Forwarded-For` names the client address.'],
  ['ACCORD_TOKEN_DEFAULT_TTL', '(none)', 'Lifetime (ISO 8601 duration, e.g. `P90D`, at most `P36500D`) of tokens created without `expiresIn`; unset: such tokens do not expire.'],
  ['ACCORD_DURABILITY', 'normal', '`full` makes SQLite fsync every commit (`synchronous=FULL`); `normal` (WAL) may lose the last commits on a power failure, never on a process crash.'],
  ['ACCORD_CACHE_MAX_BYTES', '67108864', 'Bytes (estimated) each in-memory cache of parsed documents and compiled validators may hold (64 MiB).'],
  ['ACCORD_SESSION_IDLE', 'PT30M', 'A console session ends after this long (ISO 8601 duration) without a request.'],
  ['ACCORD_SESSION_MAX', 'PT12H', 'A console session ends this long after sign-in, however active.'],
  ['ACCORD_OPS_ROLLUP_MINUTES', 'P2D', 'How long the operations overview keeps its per-minute rollups (`ops_rollups`, ISO 8601 duration, at least `PT2H`: windows up to two hours are drawn per minute).'],
  ['ACCORD_OPS_ROLLUP_HOURS', 'P90D', 'How long the operations overview keeps its hourly rollups (at least `P7D`: windows up to a week are drawn per hour).'],
  ['ACCORD_OPS_ROLLUP_DAYS', 'P730D', 'How long the operations overview keeps its daily rollups (at least `P30D`, the longest window).'],
  ['ACCORD_USAGE_WINDOW', 'P30D', 'How far back (ISO 8601 duration) the operations a consumer called through the exchange runtime count as its observed usage of an API (partner-scoped impact of a change).'],
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

function durabilitySetting(raw: string | undefined): 'normal' | 'full' {
  if (raw === undefined || raw === '' || raw === 'normal') return 'normal';
  if (raw === 'full') return 'full';
  throw new AccordError('bad_request', `ACCORD_DURABILITY must be normal or full, got "${raw}"`);
}

/** ACCORD_PUBLIC_URL (an http(s) origin with an optional path prefix), else http://HOST:PORT. */
function publicUrlSetting(raw: string | undefined, host: string, port: number): string {
  if (!raw) return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AccordError('bad_request', `ACCORD_PUBLIC_URL is not a URL: "${raw}"`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new AccordError('bad_request', `ACCORD_PUBLIC_URL must be an http(s) URL without credentials, query or fragment, got "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

function floatSetting(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new AccordError('bad_request', `${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

function booleanSetting(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new AccordError('bad_request', `${name} must be true or false, got "${raw}"`);
}

/** A comma-separated list of CIDR ranges (a bare address is its own /32 or /128), normalised. */
function cidrsSetting(name: string, raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      try {
        const [address, bits] = part.includes('/') ? ipaddr.parseCIDR(part) : (() => { const a = ipaddr.parse(part); return [a, a.kind() === 'ipv4' ? 32 : 128] as const; })();
        return `${address.toString()}/${bits}`;
      } catch {
        throw new AccordError('bad_request', `${name} must list CIDR ranges such as 10.0.0.0/8 or fd00::/8, got "${part}"`);
      }
    });
}

const MAX_DURATION_MS = 36_500 * 24 * 3600 * 1000;

function durationSetting(name: string, raw: string | undefined, fallback: string | undefined): number | undefined {
  const value = raw || fallback;
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = durationMs(value);
  } catch {
    throw new AccordError('bad_request', `${name} must be an ISO 8601 duration such as P90D or PT12H, got "${value}"`);
  }
  if (ms <= 0) throw new AccordError('bad_request', `${name} must be longer than zero, got "${value}"`);
  // A hundred years: beyond it a date overflows (and no lifetime or window needs more).
  if (ms > MAX_DURATION_MS) throw new AccordError('bad_request', `${name} must be at most P36500D, got "${value}"`);
  return ms;
}

/** ACCORD_SLA_ROLLUP_RETENTION: at least a day, the remediation window GET /v1/sla reads. */
function rollupRetentionSetting(raw: string | undefined): number {
  const ms = durationSetting('ACCORD_SLA_ROLLUP_RETENTION', raw, 'P30D')!;
  if (ms < 86_400_000) throw new AccordError('bad_request', `ACCORD_SLA_ROLLUP_RETENTION must be at least P1D, got "${raw}"`);
  return ms;
}

/** ACCORD_OPS_ROLLUP_*: how long each tier of the operations rollups is kept, at least as long as the longest window drawn from it. */
function opsRollupRetentionSetting(env: Record<string, string | undefined>): { minuteMs: number; hourMs: number; dayMs: number } {
  const tier = (name: string, raw: string | undefined, fallback: string, min: number, minText: string) => {
    const ms = durationSetting(name, raw, fallback)!;
    if (ms < min) throw new AccordError('bad_request', `${name} must be at least ${minText}, got "${raw}"`);
    return ms;
  };
  return {
    minuteMs: tier('ACCORD_OPS_ROLLUP_MINUTES', env.ACCORD_OPS_ROLLUP_MINUTES, 'P2D', 2 * 3_600_000, 'PT2H'),
    hourMs: tier('ACCORD_OPS_ROLLUP_HOURS', env.ACCORD_OPS_ROLLUP_HOURS, 'P90D', 7 * 86_400_000, 'P7D'),
    dayMs: tier('ACCORD_OPS_ROLLUP_DAYS', env.ACCORD_OPS_ROLLUP_DAYS, 'P730D', 30 * 86_400_000, 'P30D'),
  };
}

/** A secret key given as hex or base64, at least 32 bytes. */
function keySetting(name: string, value: string | undefined): Buffer | undefined {
  // A key pasted from a file often carries its line break.
  const raw = value?.trim();
  if (!raw) return undefined;
  const key = /^[0-9a-fA-F]+$/.test(raw) && raw.length % 2 === 0 ? Buffer.from(raw, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : undefined;
  if (!key || key.length < 32) throw new AccordError('bad_request', `${name} must be at least 32 bytes, hex or base64 encoded (e.g. openssl rand -hex 32)`);
  return key;
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
  const logFormatSetting = env.ACCORD_LOG_FORMAT || 'auto';
  if (!['auto', 'json', 'pretty'].includes(logFormatSetting)) throw new AccordError('bad_request', `ACCORD_LOG_FORMAT must be auto, json or pretty; got "${logFormatSetting}"`);
  const logFormat = logFormatSetting === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : (logFormatSetting as 'json' | 'pretty');
  const url = env.ACCORD_URL || 'http://127.0.0.1:8080';
  try {
    new URL(url);
  } catch {
    throw new AccordError('bad_request', `ACCORD_URL is not a URL: "${url}"`);
  }
  const host = env.HOST || '127.0.0.1';
  const port = intSetting('PORT', env.PORT, 8080, 0, 65535);
  return {
    dataDir: path.resolve(env.ACCORD_DATA_DIR || './data'),
    databaseUrl: databaseUrlSetting(env.ACCORD_DATABASE_URL, env.ACCORD_AUDIT_KEY),
    replicaId: replicaIdSetting(env.ACCORD_REPLICA_ID, Boolean(env.ACCORD_DATABASE_URL)),
    leaseMs: intSetting('ACCORD_LEASE_MS', env.ACCORD_LEASE_MS, 30_000, 500, 3_600_000),
    registryRemote: env.ACCORD_REGISTRY_REMOTE ?? '',
    host,
    port,
    bodyLimit: intSetting('ACCORD_BODY_LIMIT', env.ACCORD_BODY_LIMIT, 5 * 1024 * 1024),
    adminToken: env.ACCORD_ADMIN_TOKEN || undefined,
    seedDir: env.ACCORD_SEED_DIR === undefined ? PACKAGE_ROOT : env.ACCORD_SEED_DIR && path.resolve(env.ACCORD_SEED_DIR),
    logLevel,
    logFormat,
    yamlMaxAliases: intSetting('ACCORD_YAML_MAX_ALIASES', env.ACCORD_YAML_MAX_ALIASES, 100, 0, 100_000),
    openapiDiffTimeoutMs: intSetting('ACCORD_OPENAPI_DIFF_TIMEOUT_MS', env.ACCORD_OPENAPI_DIFF_TIMEOUT_MS, 5000, 0, 600_000),
    runtimeEnvironment: env.ACCORD_RUNTIME_ENV || 'sandbox',
    jobsIntervalMs: intSetting('ACCORD_JOBS_INTERVAL_MS', env.ACCORD_JOBS_INTERVAL_MS, 1000, 50, 3_600_000),
    sagaTimeScale: floatSetting('ACCORD_SAGA_TIME_SCALE', env.ACCORD_SAGA_TIME_SCALE, 1, 0.0001, 1),
    faultsFile: env.ACCORD_FAULTS ? path.resolve(env.ACCORD_FAULTS) : undefined,
    telemetry: telemetrySetting(env.ACCORD_TELEMETRY),
    slaRollupRetentionMs: rollupRetentionSetting(env.ACCORD_SLA_ROLLUP_RETENTION),
    syntheticIntervalMs: intSetting('ACCORD_SYNTHETIC_INTERVAL_MS', env.ACCORD_SYNTHETIC_INTERVAL_MS, 0, 0, 86_400_000),
    url: url.replace(/\/+$/, ''),
    token: env.ACCORD_TOKEN || undefined,
    publicUrl: publicUrlSetting(env.ACCORD_PUBLIC_URL, host, port),
    outboundAllowPrivate: booleanSetting('ACCORD_OUTBOUND_ALLOW_PRIVATE', env.ACCORD_OUTBOUND_ALLOW_PRIVATE, false),
    outboundAllowCidrs: cidrsSetting('ACCORD_OUTBOUND_ALLOW_CIDRS', env.ACCORD_OUTBOUND_ALLOW_CIDRS),
    webhooksPerOwner: intSetting('ACCORD_WEBHOOKS_PER_OWNER', env.ACCORD_WEBHOOKS_PER_OWNER, 10, 1, 10_000),
    webhookConcurrency: intSetting('ACCORD_WEBHOOK_CONCURRENCY', env.ACCORD_WEBHOOK_CONCURRENCY, 16, 1, 1000),
    webhookSubscriberConcurrency: intSetting('ACCORD_WEBHOOK_SUBSCRIBER_CONCURRENCY', env.ACCORD_WEBHOOK_SUBSCRIBER_CONCURRENCY, 1, 1, 100),
    webhookTimeoutMs: intSetting('ACCORD_WEBHOOK_TIMEOUT_MS', env.ACCORD_WEBHOOK_TIMEOUT_MS, 5000, 100, 120_000),
    webhookDisableAfterMs: durationSetting('ACCORD_WEBHOOK_DISABLE_AFTER', env.ACCORD_WEBHOOK_DISABLE_AFTER, 'P3D')!,
    webhookDisableFailures: intSetting('ACCORD_WEBHOOK_DISABLE_FAILURES', env.ACCORD_WEBHOOK_DISABLE_FAILURES, 20, 1, 1_000_000),
    auditKey: keySetting('ACCORD_AUDIT_KEY', env.ACCORD_AUDIT_KEY),
    secretsKey: keySetting('ACCORD_SECRETS_KEY', env.ACCORD_SECRETS_KEY),
    auditAnchorEvery: intSetting('ACCORD_AUDIT_ANCHOR_EVERY', env.ACCORD_AUDIT_ANCHOR_EVERY, 100, 1, 1_000_000),
    authFailureLimit: intSetting('ACCORD_AUTH_FAILURE_LIMIT', env.ACCORD_AUTH_FAILURE_LIMIT, 20, 1, 1_000_000),
    tokenRateLimit: intSetting('ACCORD_TOKEN_RATE_LIMIT', env.ACCORD_TOKEN_RATE_LIMIT, 0, 0, 10_000_000),
    trustedProxies: cidrsSetting('ACCORD_TRUSTED_PROXIES', env.ACCORD_TRUSTED_PROXIES),
    tokenDefaultTtlMs: durationSetting('ACCORD_TOKEN_DEFAULT_TTL', env.ACCORD_TOKEN_DEFAULT_TTL, undefined),
    durability: durabilitySetting(env.ACCORD_DURABILITY),
    cacheMaxBytes: intSetting('ACCORD_CACHE_MAX_BYTES', env.ACCORD_CACHE_MAX_BYTES, 64 * 1024 * 1024, 1024 * 1024),
    sessionIdleMs: durationSetting('ACCORD_SESSION_IDLE', env.ACCORD_SESSION_IDLE, 'PT30M')!,
    sessionMaxMs: durationSetting('ACCORD_SESSION_MAX', env.ACCORD_SESSION_MAX, 'PT12H')!,
    usageWindowMs: durationSetting('ACCORD_USAGE_WINDOW', env.ACCORD_USAGE_WINDOW, 'P30D')!,
    opsRollupRetention: opsRollupRetentionSetting(env),
  };
}
