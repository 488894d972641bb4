import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { serve } from '@hono/node-server';
import { SCOPE_NAMES } from './auth/scopes.ts';
import { createToken } from './auth/tokens.ts';
import { CliFailure, callServer } from './cli/client.ts';
import { forTerminal } from './cli/terminal.ts';
import { oneLine } from './lib/text.ts';
import { gateJunit, gateMarkdown, gateText } from './cli/gate.ts';
import { parseStoredAnchor } from './audit/anchor.ts';
import { reanchorAudit } from './audit/chain.ts';
import { loadAuditKey } from './audit/key.ts';
import { verifyAudit, type AuditVerification } from './audit/log.ts';
import type { GateDecision } from './gate/check.ts';
import { loadConfig, type Config } from './config.ts';
import { findExternalRefs, parseText } from './contracts/document.ts';
import { diffContracts } from './diff/contract-diff.ts';
import { diffMatrixEntries, keyedOperations } from './diff/matrix-diff.ts';
import { mergeOpenApiDiff, runOpenApiDiff } from './diff/openapi-diff.ts';
import { renderDiff, type DiffFormat } from './diff/render.ts';
import type { DiffResult } from './diff/types.ts';
import { findContractFiles } from './contracts/files.ts';
import { openDb } from './db/index.ts';
import { publicUrlListening } from './lib/public-url.ts';
import { AccordError } from './errors.ts';
import { checkFlow, checkPolicy, type Finding, type FlowEntry } from './matrix/checks.ts';
import { findMatrixFiles } from './matrix/files.ts';
import { directorySource } from './matrix/sources.ts';
import { GitRegistry } from './registry/git-registry.ts';
import { openService } from './server.ts';

/** Where the CLI writes; tests may pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = `accord — governance and contract registry for payer-to-payer API networks

Usage:
  accord serve                                    start the HTTP service
  accord token create --role R [--partner P] [--name N] [--expires-in P30D] [--scopes S,S]
                                                  create a token in the local data dir (shown once)
  accord import <dir>                             register every contracts/<partner>/<api>/<version>/openapi.yaml
                                                  under <dir> through the running server
  accord contract register <file> --partner P --api A [--version V]
                                                  register one contract version through the running server
  accord matrix validate <file|dir> [--contracts <dir>] [--json]
                                                  check control-matrix entries offline (CI)
  accord gate check --partner P --api A --version V --env E [--format text|json|markdown|junit]
                   [--retry-while-pending N --retry-interval S] [--break-glass REASON]
                                                  ask the release gate (exit 0 pass, 1 fail, 2 pending, 3 error)
  accord evidence add --partner P --api A --version V --kind K --result pass|fail --uri U --env E --commit C
  accord evidence junit <report.xml> --partner P --api A --version V --kind K --uri U --env E --commit C
                                                  record release evidence (sha256 defaults to the registered content's)
  accord audit verify                             check the audit log in the local data dir against its key
                                                  and its anchor in the registry (exit 0 intact, 1 broken, 3 error)
  accord audit reanchor --reason TEXT             accept the current audit log after investigating a failed verify
  accord diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning]
                                                  classify the changes between two contracts (files or
                                                  partner/api@version) or two control-matrix entries
  accord <command> --help                         help for one command

Environment: ACCORD_URL and ACCORD_TOKEN for commands that talk to the server; ACCORD_DATA_DIR,
HOST, PORT and the rest for the service (see README).
Exit codes: 0 done, 1 refused by the server (bad input, conflict, forbidden), 3 error (usage,
configuration, server unreachable or failing).`;

const HELP: Record<string, string> = {
  serve: `accord serve

Starts Accord on HOST:PORT (default 127.0.0.1:8080) with data under ACCORD_DATA_DIR (default ./data).
On first start it creates the database, the Git registry and an admin token (printed once, or
ACCORD_ADMIN_TOKEN), and imports the reference network from ACCORD_SEED_DIR.`,
  'token create': `accord token create --role <admin|author|approver|ci|partner> [--partner <id>] [--name <name>]
                    [--expires-in <ISO 8601 duration>] [--scopes <scope,scope,…>]

Creates a token directly in the local data dir (ACCORD_DATA_DIR) and prints the secret once.
Use it on the server host to bootstrap or recover access. --partner is required for --role partner.
--expires-in sets its lifetime (e.g. P30D, PT12H, or never; default ACCORD_TOKEN_DEFAULT_TTL, else none).
--scopes limits it to some of the scopes its role allows (e.g. notices:read,exchange); scopes:
${SCOPE_NAMES.join(', ')}.`,
  import: `accord import <dir>

Registers every contracts/<partner>/<api>/<version>/openapi.yaml (or .json) under <dir>, in
semver order, then every control-matrix/<flow>.yaml and control-matrix/policy.yaml, through the
server at ACCORD_URL with ACCORD_TOKEN (role author or admin; the policy needs admin).
Documents already registered with identical content are left as they are.`,
  'gate check': `accord gate check --partner P --api A --version V --env E [--format text|json|markdown|junit]
                  [--retry-while-pending N --retry-interval S] [--break-glass REASON]

Asks the release gate of the server at ACCORD_URL (ACCORD_TOKEN: ci, author, approver or admin)
whether P/A@V may be released to E. Prints a one-line verdict, then each unmet requirement and
how to meet it, what changed, how breakage is detected and how to recover. With
--retry-while-pending N it asks again up to N more times, S seconds apart (default 30), while
the answer is pending. --break-glass REASON (admin) passes regardless and opens a review item.
Exit 0 pass, 1 fail, 2 still pending, 3 error.`,
  'evidence add': `accord evidence add --partner P --api A --version V --kind K --result pass|fail --uri U --env E --commit C
                    [--sha256 S] [--produced-at ISO] [--expires-at ISO]

Records release evidence (kinds: contract-test, replay-test, duplicate-handling-test,
failure-injection, trace-completeness, rollback-plan, runbook, synthetic-check). --sha256 is the
contract content the evidence was produced for (the document's ETag); it defaults to the
registered content's. Exit 0 recorded, 1 refused, 3 error.`,
  'evidence junit': `accord evidence junit <report.xml> --partner P --api A --version V --kind K --uri U --env E --commit C
                      [--sha256 S] [--produced-at ISO] [--expires-at ISO]

Records evidence from a JUnit XML report: Accord counts tests, failures, errors and skipped and
stores the summary and the report's sha256; it passes when tests ran and none failed.`,
  'audit verify': `accord audit verify

Checks the audit log in the local data dir (ACCORD_DATA_DIR) with the audit key (ACCORD_AUDIT_KEY,
else <data>/audit.key) against the latest anchor on refs/accord/audit in the registry: every keyed
entry's HMAC, link and sequence, the unkeyed entries from before the upgrade, and that the log still
holds the anchored count, head entry and legacy segment. Reports each edited, deleted, truncated or
re-chained stretch and a missing or forged anchor. Entries newer than the anchor are checked but
could be dropped unnoticed (a running service anchors them within a minute, every
ACCORD_AUDIT_ANCHOR_EVERY entries and at shutdown). Exit 0 intact, 1 broken, 3 error (no key, no data).`,
  'audit reanchor': `accord audit reanchor --reason TEXT

After a failed \`accord audit verify\` has been investigated (a lost registry, a database restored from
an older backup), accepts the audit log as it is now: appends an audit.reanchored entry and writes a
new anchor over the current log, recording the reason and the anchor it replaces; verify mentions it
from then on. Entries that do not match their HMACs stay reported. Needs the audit key; run it with
the service stopped. Exit 0 re-anchored, 1 nothing to do (the log verifies), 3 error.`,
  diff: `accord diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning] [--no-openapi-diff]

Compares two OpenAPI documents — files (YAML or JSON) or registry refs such as
northwind-health/p2p-exchange@1.1.0 (fetched from ACCORD_URL with ACCORD_TOKEN) — or two
control-matrix entries, and prints every change classified breaking, warning or info, with
the version bump it requires. openapi-diff runs as a second opinion within
ACCORD_OPENAPI_DIFF_TIMEOUT_MS unless --no-openapi-diff.
Exit 0 when nothing is at or above --fail-on (default breaking), 1 when something is, 3 on error.`,
  'matrix validate': `accord matrix validate <file|dir> [--contracts <dir> | --no-contracts] [--json]

Checks control-matrix entries (and policy.yaml) offline: the JSON Schema, then the cross-checks
against the contracts in --contracts (default: the contracts/ folder next to control-matrix/;
without one, pass --no-contracts to run only the other checks). Prints each finding with its
rule id and location. Exit 0 clean, 1 findings, 3 usage error.`,
  'contract register': `accord contract register <file> --partner <id> --api <id> [--version <semver>]

Registers one OpenAPI 3.0/3.1 document (YAML or JSON, by file extension) through the server at
ACCORD_URL with ACCORD_TOKEN. The version defaults to the document's info.version.`,
};

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    throw new CliFailure(`${(error as Error).message}\nRun with --help for usage.`, 3);
  }
}

function contentTypeOf(file: string): string {
  return /\.json$/i.test(file) ? 'application/json' : 'application/yaml';
}

async function readFile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`Cannot read ${file}: ${(error as Error).message}`, 3);
  }
}

async function serveCommand(config: Config, io: Io): Promise<number> {
  const service = await openService(config);
  const server = serve({ fetch: service.app.fetch, hostname: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((error) => {
    throw new CliFailure(`Cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, 3);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // PORT=0 without ACCORD_PUBLIC_URL: links must name the port the system chose.
  service.deps.config.publicUrl = publicUrlListening(service.deps.config.publicUrl, port);
  io.out(`Accord listening on http://${config.host}:${port}  (data: ${config.dataDir})`);
  io.out(`Console: ${service.deps.config.publicUrl}/console  (sign in with a token)`);
  if (service.seeded.contracts + service.seeded.matrix > 0) {
    io.out(`Seeded the reference network: ${service.seeded.contracts} contract versions, ${service.seeded.matrix} control-matrix documents.`);
  }
  if (service.initialAdminToken) {
    io.out('');
    io.out('Initial admin token (shown once; store it now):');
    io.out(`  ${service.initialAdminToken}`);
    io.out('');
  }
  service.startJobs();
  // New connections stop at once; close() waits for the jobs run in progress, then anchors the audit log.
  const stop = () => {
    server.close();
    void service.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
}

async function tokenCreate(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values } = parse(argv, { role: { type: 'string' }, partner: { type: 'string' }, name: { type: 'string' }, 'expires-in': { type: 'string' }, scopes: { type: 'string' } });
  if (values.help) return help(io, 'token create');
  if (!values.role) throw new CliFailure('--role is required (admin, author, approver, ci or partner)', 3);
  const db = openDb(path.join(config.dataDir, 'accord.db'), { durability: config.durability });
  try {
    const role = values.role as string;
    const scopes = values.scopes === undefined ? undefined : (values.scopes as string).split(',').map((scope) => scope.trim());
    const created = createToken({ db, clock: () => new Date(), config }, 'accord-cli', {
      role,
      partner: values.partner,
      name: (values.name as string | undefined) ?? `${role}${values.partner ? ` ${values.partner}` : ''} (cli)`,
      expiresIn: values['expires-in'],
      scopes,
    });
    io.out(`Created ${created.role} token ${created.id} "${created.name}"${created.partner ? ` for partner ${created.partner}` : ''}.`);
    io.out(`Expires: ${created.expiresAt ?? 'never'}. Scopes: ${created.scopes?.join(', ') ?? `everything the ${created.role} role allows`}.`);
    io.out('Secret (shown once):');
    io.out(created.token);
    return 0;
  } finally {
    db.$client.close();
  }
}

async function importCommand(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) return help(io, 'import');
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw new CliFailure('Usage: accord import <dir>', 3);
  const files = await findContractFiles(path.resolve(dir));
  const matrixFiles = await findMatrixFiles(path.resolve(dir));
  if (files.length === 0 && matrixFiles.length === 0) throw new CliFailure(`No contracts/<partner>/<api>/<version>/openapi.yaml or control-matrix/*.yaml under ${dir}`, 3);
  let created = 0;
  for (const f of files) {
    const query = `?version=${encodeURIComponent(f.version)}`;
    const result = await callServer(config, 'POST', `/v1/contracts/${f.partner}/${f.api}/versions${query}`, {
      text: await readFile(f.file),
      contentType: contentTypeOf(f.file),
    });
    if (result.status === 201) created++;
    io.out(`${result.status === 201 ? 'registered' : 'unchanged '} ${f.partner}/${f.api}@${f.version}`);
  }
  for (const f of matrixFiles) {
    const url = f.kind === 'policy' ? '/v1/policy' : `/v1/control-matrix/${encodeURIComponent(f.name)}`;
    const result = await callServer(config, 'PUT', url, { text: await readFile(f.file), contentType: contentTypeOf(f.file) });
    if (result.status === 201) created++;
    io.out(`${result.status === 201 ? 'stored    ' : 'unchanged '} control-matrix/${f.name}`);
  }
  const total = files.length + matrixFiles.length;
  io.out(`${created} registered, ${total - created} unchanged.`);
  return 0;
}

async function contractRegister(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return help(io, 'contract register');
  const file = positionals[0];
  if (!file || positionals.length > 1 || !values.partner || !values.api) {
    throw new CliFailure('Usage: accord contract register <file> --partner <id> --api <id> [--version <semver>]', 3);
  }
  const query = values.version ? `?version=${encodeURIComponent(values.version as string)}` : '';
  const result = await callServer(config, 'POST', `/v1/contracts/${encodeURIComponent(values.partner as string)}/${encodeURIComponent(values.api as string)}/versions${query}`, {
    text: await readFile(file),
    contentType: contentTypeOf(file),
  });
  const v = result.json as { partner: string; api: string; version: string; state: string; sha256: string; commit: string };
  if (values.json) io.out(JSON.stringify(v, null, 2));
  else io.out(`${result.status === 201 ? 'Registered' : 'Already registered (identical)'} ${v.partner}/${v.api}@${v.version} [${v.state}] commit ${v.commit.slice(0, 12)} sha256 ${v.sha256}`);
  return 0;
}

const REF = /^([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,62})@(\S+)$/;

/** Loads one side of a diff: a registry ref through the server, else a file. */
async function loadDiffSide(config: Config, arg: string): Promise<unknown> {
  const ref = REF.exec(arg);
  const isFile = await fs.stat(arg).then((s) => s.isFile(), () => false);
  if (ref && !isFile) {
    const [, partner, api, version] = ref;
    try {
      return (await callServer(config, 'GET', `/v1/contracts/${partner}/${api}/versions/${encodeURIComponent(version!)}/document`, undefined, { Accept: 'application/json' })).json;
    } catch (error) {
      // For diff, exit 1 means "changes found"; a ref that cannot be fetched is an error.
      throw error instanceof CliFailure ? new CliFailure(`${arg}: ${error.message}`, 3) : error;
    }
  }
  const text = await readFile(arg);
  try {
    return parseText(text, /\.json$/i.test(arg) ? 'json' : 'yaml', { maxAliases: config.yamlMaxAliases });
  } catch (error) {
    throw new CliFailure(`${arg}: ${(error as Error).message}${error instanceof AccordError && error.errors ? ` (${error.errors[0]?.location}: ${error.errors[0]?.message})` : ''}`, 3);
  }
}

async function diffCommand(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { format: { type: 'string' }, 'fail-on': { type: 'string' }, 'no-openapi-diff': { type: 'boolean' }, contracts: { type: 'string' } });
  if (values.help) return help(io, 'diff');
  const format = (values.format as string | undefined) ?? 'text';
  const failOn = (values['fail-on'] as string | undefined) ?? 'breaking';
  if (positionals.length !== 2) throw new CliFailure('Usage: accord diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning]', 3);
  if (!['text', 'json', 'markdown'].includes(format)) throw new CliFailure('--format must be text, json or markdown', 3);
  if (!['breaking', 'warning'].includes(failOn)) throw new CliFailure('--fail-on must be breaking or warning', 3);
  const [base, revision] = await Promise.all(positionals.map((p) => loadDiffSide(config, p)));
  const isMatrix = (d: unknown) => typeof d === 'object' && d !== null && 'flow' in d && 'steps' in d && !('openapi' in d);
  let result: DiffResult;
  if (isMatrix(base) && isMatrix(revision)) {
    for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
      const findings = await checkFlow(doc, undefined);
      if (findings.some((f) => f.rule === 'matrix/schema')) throw new CliFailure(`${name} is not a valid control-matrix entry: ${findings[0]!.location} ${findings[0]!.message}`, 3);
    }
    // Whether a step's operation is keyed comes from the contracts: --contracts, else contracts/ next to the entry.
    const contractsDir = (values.contracts as string | undefined) ?? path.join(path.dirname(path.dirname(path.resolve(positionals[1]!))), 'contracts');
    const hasContracts = await fs.stat(contractsDir).then((s) => s.isDirectory(), () => false);
    if (!hasContracts) io.err('accord: no contracts folder found (pass --contracts <dir>): retries added to a step are reported as warnings, not checked against the contract');
    const keyed = hasContracts ? await keyedOperations(await directorySource(path.resolve(contractsDir)), revision as FlowEntry) : undefined;
    result = diffMatrixEntries(base as FlowEntry, revision as FlowEntry, keyed ? { keyed } : {});
  } else {
    for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
      const external = findExternalRefs(doc);
      if (external.length > 0) throw new CliFailure(`${name} has external $refs (never fetched): ${external[0]!.location}`, 3);
    }
    const accord = diffContracts(base, revision);
    result = values['no-openapi-diff'] ? accord : mergeOpenApiDiff(accord, await runOpenApiDiff(base, revision, { timeoutMs: config.openapiDiffTimeoutMs }));
  }
  io.out(renderDiff(result, format as DiffFormat, `${positionals[0]} → ${positionals[1]}`).replace(/\n$/, ''));
  const failing = failOn === 'warning' ? result.summary.breaking + result.summary.warning : result.summary.breaking;
  return failing > 0 ? 1 : 0;
}

const EVIDENCE_OPTIONS = {
  partner: { type: 'string' },
  api: { type: 'string' },
  version: { type: 'string' },
  kind: { type: 'string' },
  result: { type: 'string' },
  sha256: { type: 'string' },
  uri: { type: 'string' },
  env: { type: 'string' },
  commit: { type: 'string' },
  'produced-at': { type: 'string' },
  'expires-at': { type: 'string' },
} as const;

async function evidenceCommand(config: Config, io: Io, argv: string[], junit: boolean): Promise<number> {
  const { values, positionals } = parse(argv, EVIDENCE_OPTIONS);
  if (values.help) return help(io, junit ? 'evidence junit' : 'evidence add');
  const required = ['partner', 'api', 'version', 'kind', 'uri', 'env', 'commit', ...(junit ? [] : ['result'])];
  const missing = required.filter((k) => !values[k]);
  if (missing.length > 0 || (junit ? positionals.length !== 1 : positionals.length !== 0)) {
    throw new CliFailure(`Usage: ${HELP[junit ? 'evidence junit' : 'evidence add']!.split('\n')[0]}${missing.length ? `\nMissing: ${missing.map((m) => `--${m}`).join(', ')}` : ''}`, 3);
  }
  let sha = values.sha256 as string | undefined;
  if (!sha) {
    const meta = await callServer(config, 'GET', `/v1/contracts/${values.partner}/${values.api}/versions/${encodeURIComponent(values.version as string)}`);
    sha = (meta.json as { sha256: string }).sha256;
  }
  const fields = {
    partner: values.partner,
    api: values.api,
    version: values.version,
    kind: values.kind,
    sha256: sha,
    uri: values.uri,
    environment: values.env,
    commit: values.commit,
    producedAt: (values['produced-at'] as string | undefined) ?? new Date().toISOString(),
    ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
  };
  const result = junit
    ? await callServer(config, 'POST', `/v1/evidence/junit?${new URLSearchParams(fields as Record<string, string>)}`, { text: await readFile(positionals[0]!), contentType: 'application/xml' })
    : await callServer(config, 'POST', '/v1/evidence', { text: JSON.stringify({ ...fields, result: values.result }), contentType: 'application/json' });
  const e = result.json as { id: string; kind: string; result: string; boundToContent: boolean; report: { tests: number; failures: number; errors: number; skipped: number } | null };
  io.out(`Recorded ${e.kind} evidence ${e.id}: ${e.result}${e.report ? ` (${e.report.tests} tests, ${e.report.failures} failures, ${e.report.errors} errors, ${e.report.skipped} skipped)` : ''}${e.boundToContent ? '' : ' — WARNING: not bound to the registered content, it will not count'}`);
  return 0;
}

async function gateCheck(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    partner: { type: 'string' },
    api: { type: 'string' },
    version: { type: 'string' },
    env: { type: 'string' },
    format: { type: 'string' },
    'retry-while-pending': { type: 'string' },
    'retry-interval': { type: 'string' },
    'break-glass': { type: 'string' },
  });
  if (values.help) return help(io, 'gate check');
  const missing = ['partner', 'api', 'version', 'env'].filter((k) => !values[k]);
  if (missing.length > 0) throw new CliFailure(`Missing ${missing.map((m) => `--${m}`).join(', ')}\n${HELP['gate check']!.split('\n\n')[0]}`, 3);
  const format = (values.format as string | undefined) ?? 'text';
  if (!['text', 'json', 'markdown', 'junit'].includes(format)) throw new CliFailure('--format must be text, json, markdown or junit', 3);
  const retries = Number(values['retry-while-pending'] ?? 0);
  const interval = Number(values['retry-interval'] ?? 30);
  if (!Number.isInteger(retries) || retries < 0 || !(interval >= 0)) throw new CliFailure('--retry-while-pending takes a whole number, --retry-interval seconds', 3);
  const body = JSON.stringify({ partner: values.partner, api: values.api, version: values.version, environment: values.env, ...(values['break-glass'] ? { breakGlass: values['break-glass'] } : {}) });
  let decision: GateDecision;
  for (let attempt = 0; ; attempt++) {
    try {
      decision = (await callServer(config, 'POST', '/v1/gate/check', { text: body, contentType: 'application/json' })).json as GateDecision;
    } catch (error) {
      // Exit 1 means "the gate failed"; a request the server refused is an error.
      throw error instanceof CliFailure ? new CliFailure(error.message, 3) : error;
    }
    if (decision.verdict !== 'pending' || attempt >= retries) break;
    io.err(`accord: gate pending (${attempt + 1}/${retries}); asking again in ${interval} s`);
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  }
  io.out(format === 'json' ? JSON.stringify(decision, null, 2) : format === 'markdown' ? gateMarkdown(decision) : format === 'junit' ? gateJunit(decision) : gateText(decision));
  return decision.verdict === 'pass' ? 0 : decision.verdict === 'fail' ? 1 : 2;
}

/** The audit key for a CLI command (ACCORD_AUDIT_KEY or the data dir's key file); never creates one. */
function cliAuditKey(config: Config): Buffer {
  try {
    return loadAuditKey(config, { create: false }).key;
  } catch (error) {
    throw new CliFailure(`${(error as Error).message} (the service creates the key file at its first start; on another host set ACCORD_AUDIT_KEY to the key file's content)`, 3);
  }
}

function auditDatabase(config: Config): string {
  const file = path.join(config.dataDir, 'accord.db');
  if (!existsSync(file)) throw new CliFailure(`No database at ${file} (set ACCORD_DATA_DIR)`, 3);
  return file;
}

function describeAnchor(result: AuditVerification): string {
  const a = result.anchor;
  if (!a) return 'no trusted anchor';
  return `anchor ${a.commit.slice(0, 12)} (${a.writtenAt}) covers ${a.count} entries up to entry ${a.head.seq}; ${result.unanchored} newer ${result.unanchored === 1 ? 'entry is' : 'entries are'} not anchored yet`;
}

async function auditVerify(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values } = parse(argv, {});
  if (values.help) return help(io, 'audit verify');
  const file = auditDatabase(config);
  const key = cliAuditKey(config);
  const stored = parseStoredAnchor(await GitRegistry.readAuditAnchorAt(path.join(config.dataDir, 'registry')));
  const db = openDb(file, { durability: config.durability });
  try {
    const result = verifyAudit(db, key, stored);
    const kinds = `${result.legacy.count} unkeyed from before the upgrade, ${result.checked - result.legacy.count} keyed`;
    if (result.ok) {
      io.out(`Audit log intact: ${result.checked} entries checked (${kinds}). Head: entry ${result.head.seq} ${result.head.hash}.`);
      io.out(`Anchored in the registry: ${describeAnchor(result)}.`);
      if (result.anchor?.reanchored) io.out(`Note: an operator re-established this anchor (replacing ${result.anchor.reanchored.replaced ?? 'no anchor'}): ${result.anchor.reanchored.reason}`);
      return 0;
    }
    const [first, ...others] = result.problems;
    io.out(`Audit log BROKEN${first!.seq ? ` at entry ${first!.seq}` : ''}: ${first!.message}.`);
    for (const p of others) io.out(`  also: ${p.message}.`);
    io.out(`${result.checked} entries checked (${kinds}); ${describeAnchor(result)}; audit key id ${result.keyId}.`);
    return 1;
  } finally {
    db.$client.close();
  }
}

async function auditReanchor(config: Config, io: Io, argv: string[]): Promise<number> {
  const { values } = parse(argv, { reason: { type: 'string' } });
  if (values.help) return help(io, 'audit reanchor');
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (!reason) throw new CliFailure('--reason is required: say why the current log is accepted (it is recorded in the log and in the anchor)', 3);
  const file = auditDatabase(config);
  const key = cliAuditKey(config);
  const db = openDb(file, { durability: config.durability });
  try {
    const registryDir = path.join(config.dataDir, 'registry');
    if (!existsSync(path.join(registryDir, 'HEAD'))) throw new CliFailure(`No Git registry at ${registryDir} (set ACCORD_DATA_DIR, or restore the registry first)`, 3);
    const registry = await GitRegistry.open(registryDir, undefined, { durability: config.durability });
    const before = verifyAudit(db, key, parseStoredAnchor(await registry.readAuditAnchor()));
    if (before.ok) {
      io.out('The audit log verifies against its anchor; nothing to re-anchor.');
      return 1;
    }
    const { anchor, commit, replaced } = await reanchorAudit({ db, registry, key }, reason);
    io.out(`Re-anchored the audit log: ${anchor.count} entries up to entry ${anchor.head.seq}, anchor ${commit.slice(0, 12)} (replaced ${replaced ?? 'no anchor'}).`);
    const after = verifyAudit(db, key, parseStoredAnchor(await registry.readAuditAnchor()));
    for (const p of after.problems) io.out(`  still reported by verify: ${p.message}.`);
    return 0;
  } finally {
    db.$client.close();
  }
}

async function matrixValidate(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { contracts: { type: 'string' }, json: { type: 'boolean' }, 'no-contracts': { type: 'boolean' } });
  if (values.help) return help(io, 'matrix validate');
  const target = positionals[0];
  if (!target || positionals.length > 1) throw new CliFailure('Usage: accord matrix validate <file|dir> [--contracts <dir>]', 3);
  const files = await findMatrixFiles(path.resolve(target), { anyFolder: true });
  if (files.length === 0) throw new CliFailure(`No control-matrix .yaml or .json files at ${target}`, 3);
  let contractsDir = values.contracts as string | undefined;
  if (contractsDir === undefined) {
    const matrixDir = path.dirname(files[0]!.file);
    const guess = path.join(path.basename(matrixDir) === 'control-matrix' ? path.dirname(matrixDir) : matrixDir, 'contracts');
    if (await fs.stat(guess).then((s) => s.isDirectory(), () => false)) contractsDir = guess;
  } else if (!(await fs.stat(contractsDir).then((s) => s.isDirectory(), () => false))) {
    throw new CliFailure(`--contracts ${contractsDir} is not a folder`, 3);
  }
  if (!contractsDir && !values['no-contracts']) throw new CliFailure('No contracts/ folder next to the control matrix: pass --contracts <dir>, or --no-contracts to run only the checks that need no contracts', 3);
  const source = contractsDir && !values['no-contracts'] ? await directorySource(path.resolve(contractsDir)) : undefined;
  if (!source) io.err('accord: contract cross-checks skipped (--no-contracts)');
  const report: Array<{ file: string; findings: Finding[] }> = [];
  for (const f of files) {
    const text = await readFile(f.file);
    let findings: Finding[];
    try {
      const data = parseText(text, f.file.endsWith('.json') ? 'json' : 'yaml', { maxAliases: 100 });
      findings = f.kind === 'policy' ? checkPolicy(data) : await checkFlow(data, source, f.name);
    } catch (error) {
      if (!(error instanceof AccordError)) throw error;
      findings = (error.errors ?? [{ location: '', message: error.message }]).map((e) => ({ rule: 'matrix/parse', location: e.location, message: e.message }));
    }
    report.push({ file: path.relative(process.cwd(), f.file) || f.file, findings });
  }
  const count = report.reduce((n, r) => n + r.findings.length, 0);
  if (values.json) io.out(JSON.stringify({ valid: count === 0, files: report }, null, 2));
  else {
    for (const r of report) {
      if (r.findings.length === 0) io.out(`ok    ${r.file}`);
      for (const f of r.findings) io.out(oneLine(`error ${r.file} ${f.location || '/'} [${f.rule}] ${f.message}`));
    }
    io.out(`${report.length} file${report.length === 1 ? '' : 's'} checked, ${count} finding${count === 1 ? '' : 's'}.`);
  }
  return count === 0 ? 0 : 1;
}

function help(io: Io, command?: string): number {
  io.out(command ? HELP[command]! : USAGE);
  return 0;
}

/**
 * Runs the CLI and returns the exit code. By default it prints to stdout/stderr with control
 * characters escaped: what it prints may come from other people (names, comments, documents).
 * @param argv arguments after the program name
 */
export async function main(argv: string[], io: Io = { out: (l) => console.log(forTerminal(l)), err: (l) => console.error(forTerminal(l)) }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') return help(io);
    let config: Config;
    try {
      config = loadConfig();
    } catch (error) {
      throw new CliFailure(`configuration: ${(error as Error).message}`, 3);
    }
    switch (command) {
      case 'serve':
        if (rest.includes('--help')) return help(io, 'serve');
        if (rest.length > 0) throw new CliFailure(`serve takes no arguments (got ${rest.join(' ')}); configure it with environment variables`, 3);
        return await serveCommand(config, io);
      case 'token':
        if (rest[0] === 'create') return await tokenCreate(config, io, rest.slice(1));
        throw new CliFailure('Usage: accord token create --role R [--partner P] [--name N] [--expires-in P30D] [--scopes S,S]', 3);
      case 'import':
        return await importCommand(config, io, rest);
      case 'diff':
        return await diffCommand(config, io, rest);
      case 'gate':
        if (rest[0] === 'check') return await gateCheck(config, io, rest.slice(1));
        throw new CliFailure('Usage: accord gate check --partner P --api A --version V --env E', 3);
      case 'evidence':
        if (rest[0] === 'add') return await evidenceCommand(config, io, rest.slice(1), false);
        if (rest[0] === 'junit') return await evidenceCommand(config, io, rest.slice(1), true);
        throw new CliFailure('Usage: accord evidence add … | accord evidence junit <report.xml> …', 3);
      case 'audit':
        if (rest[0] === 'verify') return await auditVerify(config, io, rest.slice(1));
        if (rest[0] === 'reanchor') return await auditReanchor(config, io, rest.slice(1));
        throw new CliFailure('Usage: accord audit verify | accord audit reanchor --reason TEXT', 3);
      case 'matrix':
        if (rest[0] === 'validate') return await matrixValidate(io, rest.slice(1));
        throw new CliFailure('Usage: accord matrix validate <file|dir> [--contracts <dir>]', 3);
      case 'contract':
        if (rest[0] === 'register') return await contractRegister(config, io, rest.slice(1));
        throw new CliFailure('Usage: accord contract register <file> --partner P --api A [--version V]', 3);
      default:
        throw new CliFailure(`Unknown command "${command}"\n\n${USAGE}`, 3);
    }
  } catch (error) {
    if (error instanceof CliFailure) {
      io.err(`accord: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof AccordError) {
      io.err(`accord: ${oneLine(error.message)}${error.errors ? `\n${error.errors.map((e) => oneLine(`  ${e.location}: ${e.message}`)).join('\n')}` : ''}`);
      return error.status < 500 ? 1 : 3;
    }
    io.err(`accord: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return 3;
  }
}
