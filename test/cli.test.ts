import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands/index.ts';
import { findContractFiles } from '../src/contracts/files.ts';
import { programUsage } from '../src/cli/usage.ts';
import { main } from '../src/main.ts';
import { findMatrixFiles } from '../src/matrix/files.ts';
import { ADMIN_TOKEN, minimalSpec, NORTHWIND_1_0, REPO_ROOT, runCli, startTestService, storageEnvFor, type TestService } from './harness.ts';

const BIN = path.join(REPO_ROOT, 'bin/accord.js');

const accord = runCli;

describe('accord CLI', () => {
  let s: TestService;
  let env: Record<string, string>;
  let work: string;

  beforeAll(async () => {
    s = await startTestService();
    env = { ACCORD_URL: await s.listen(), ACCORD_TOKEN: ADMIN_TOKEN };
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-cli-'));
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('prints help for the program and each command', async () => {
    const top = await accord(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['serve', 'token create', 'import', 'contract register']) expect(top.stdout).toContain(`accord ${command}`);
    for (const args of [['serve', '--help'], ['token', 'create', '--help'], ['import', '--help'], ['contract', 'register', '--help']]) {
      const run = await accord(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout).toContain(`accord ${args.filter((a) => a !== '--help').join(' ')}`);
    }
  });

  it('registers a contract through the server, then says when it is already registered', async () => {
    const first = await accord(['contract', 'register', NORTHWIND_1_0, '--partner', 'acme', '--api', 'member-api'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Registered acme\/member-api@1\.0\.0 \[draft\] commit [0-9a-f]{12} sha256 [0-9a-f]{64}\n {2}Diff: none \(the first version of this API\)\n {2}Lint: 8 warnings\n(?: {4}- \S+ \(line \d+:\d+\): .+ \[operation-description\]\n){8}Next: open a change request for it: accord change open --partner acme --api member-api --version 1\.0\.0 --summary "what changes and why"\n$/);
    const again = await accord(['contract', 'register', NORTHWIND_1_0, '--partner', 'acme', '--api', 'member-api', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ partner: 'acme', api: 'member-api', version: '1.0.0' });
    expect(s.git('tag', '--list').trim()).toBe('acme/member-api/v1.0.0');
  });

  it('exits 1 with the problem when the server refuses, 3 on usage and connection errors', async () => {
    const changed = path.join(work, 'changed.yaml');
    fs.writeFileSync(changed, minimalSpec('1.0.0'));
    const conflict = await accord(['contract', 'register', changed, '--partner', 'acme', '--api', 'member-api'], env);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('HTTP 409');

    const invalid = path.join(work, 'invalid.yaml');
    fs.writeFileSync(invalid, 'openapi: 3.1.0\ninfo: {title: x, version: 1.0.0}\npaths:\n  /a:\n    get: {responses: 17}\n');
    const refused = await accord(['contract', 'register', invalid, '--partner', 'acme', '--api', 'other-api'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 422[\s\S]*\/paths\/~1a\/get/);

    const forbidden = await accord(['contract', 'register', changed, '--partner', 'acme', '--api', 'x'], { ...env, ACCORD_TOKEN: await s.token('approver') });
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('HTTP 403');

    expect((await accord(['contract', 'register', '--partner', 'acme', '--api', 'x'], env)).code).toBe(3);
    expect((await accord(['contract', 'register', path.join(work, 'missing.yaml'), '--partner', 'acme', '--api', 'x'], env)).code).toBe(3);
    expect((await accord(['contract', 'register', changed, '--partner', 'acme', '--api', 'x', '--bogus'], env)).code).toBe(3);
    expect((await accord(['frobnicate'])).code).toBe(3);
    const unreachable = await accord(['contract', 'register', changed, '--partner', 'acme', '--api', 'x'], { ...env, ACCORD_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Cannot reach Accord');
    const noToken = await accord(['contract', 'register', changed, '--partner', 'acme', '--api', 'x'], { ACCORD_URL: env.ACCORD_URL! });
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toContain('ACCORD_TOKEN');
  });

  it('imports a folder of the registry layout; importing twice changes nothing', async () => {
    const contracts = (await findContractFiles(REPO_ROOT)).length;
    const matrix = await findMatrixFiles(REPO_ROOT);
    const flows = matrix.filter((f) => f.kind === 'flow').length;
    const first = await accord(['import', REPO_ROOT], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // Contracts and the admin's documents are stored; flows are proposals until approvers approve them (ADR 0018).
    expect(first.stdout).toContain(`${contracts + matrix.length - flows} registered, ${flows} proposed, 0 unchanged.`);
    expect(first.stdout).toMatch(/proposed +control-matrix\/payer-data-export/);
    const head = s.git('rev-parse', 'HEAD');
    const second = await accord(['import', REPO_ROOT], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`0 registered, ${contracts + matrix.length} unchanged.`);
    const contractsOnly = await accord(['import', path.join(REPO_ROOT, 'contracts')], env);
    expect(contractsOnly.stdout).toContain(`0 registered, ${contracts} unchanged.`);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect((await accord(['import', work], env)).code).toBe(3);
  });

  it('creates tokens in the local data dir and shows the secret once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-cli-data-'));
    try {
      const storage = { ACCORD_DATA_DIR: dataDir, ...(await storageEnvFor(dataDir)) };
      const run = await accord(['token', 'create', '--role', 'partner', '--partner', 'bluestem-mutual', '--name', 'Bluestem CI'], storage);
      expect(run.code).toBe(0);
      const secret = run.stdout.trim().split('\n').pop()!;
      expect(secret).toMatch(/^acc_/);
      expect(run.stdout).toContain('partner token');
      const bad = await accord(['token', 'create', '--role', 'partner'], storage);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('/partner');
      expect((await accord(['token', 'create'], storage)).code).toBe(3);
      // the token works against a service on that data dir
      const svc = await startTestService({ dir: dataDir });
      expect((await svc.call('GET', '/v1/contracts', { token: secret })).status).toBe(200);
      await svc.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Runs the CLI in-process (for what needs no server: help and usage errors). */
async function accordHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('accord help and usage (one text per command)', () => {
  it('lists every command in the program usage, for --help, -h, help and no arguments alike', async () => {
    const top = await accordHere(['--help']);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command.synopsis.split('\n')[0]}`);
    for (const args of [[], ['-h'], ['help']]) expect(await accordHere(args)).toEqual(top);
  });

  it('prints its release for --version, -v and version, with no configuration needed', async () => {
    const release = (JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
    for (const args of [['--version'], ['-v'], ['version']]) {
      const run = await accordHere(args);
      expect(run, args[0]).toMatchObject({ code: 0, stdout: `accord ${release}` });
    }
    expect((await accordHere(['--help'])).stdout).toContain('accord --version');
  });

  it('prints a command summary beside a short synopsis and under a long one', () => {
    const usage = programUsage([
      { name: 'short', synopsis: 'accord short', summary: 'does a thing\nin two lines', help: '', run: async () => 0 },
      { name: 'long', synopsis: `accord long ${'--flag X '.repeat(5)}`.trim(), summary: 'does another', help: '', run: async () => 0 },
    ]);
    const lines = usage.split('\n');
    expect(lines).toContain(`${'  accord short'.padEnd(50)}does a thing`);
    expect(lines).toContain(`${' '.repeat(50)}in two lines`);
    expect(lines[lines.indexOf('  accord long --flag X --flag X --flag X --flag X --flag X') + 1]).toBe(`${' '.repeat(50)}does another`);
  });

  it('answers --help and help <command> for every command with its help, before checking its arguments', async () => {
    for (const command of COMMANDS) {
      const words = command.name.split(' ');
      const help = await accordHere([...words, '--help']);
      expect(help, command.name).toEqual({ code: 0, stdout: command.help, stderr: '' });
      expect(help.stdout.startsWith(`accord ${command.name}`)).toBe(true);
      expect(await accordHere(['help', ...words])).toEqual(help);
    }
    const audit = await accordHere(['help', 'audit']);
    expect(audit.code).toBe(0);
    for (const name of ['audit verify', 'audit reanchor']) expect(audit.stdout).toContain(COMMANDS.find((c) => c.name === name)!.help);
  });

  it('answers help and names an unknown command even when the configuration is invalid; running a command reports it', async () => {
    const badEnv = { PORT: 'abc' };
    const help = await runCli(['serve', '--help'], badEnv);
    expect(help).toEqual({ code: 0, stdout: `${COMMANDS.find((c) => c.name === 'serve')!.help}\n`, stderr: '' });
    const unknown = await runCli(['frobnicate'], badEnv);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/^accord: Unknown command "frobnicate"/);
    const serve = await runCli(['serve'], badEnv);
    expect(serve.code).toBe(3);
    expect(serve.stderr).toMatch(/^accord: configuration: .*PORT/);
  });

  it('exits 3 with the usage on a group without its command, an unknown command or a usage mistake', async () => {
    const gate = await accordHere(['gate']);
    expect(gate.code).toBe(3);
    expect(gate.stderr).toBe('accord: Usage: accord gate check --partner P --api A --version V --env E [--format text|json|markdown|junit]');
    const audit = await accordHere(['audit', 'frobnicate']);
    expect(audit.code).toBe(3);
    expect(audit.stderr).toBe('accord: Usage: accord audit verify | accord audit reanchor --reason TEXT');
    for (const args of [['frobnicate'], ['help', 'frobnicate']]) {
      const unknown = await accordHere(args);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toBe(`accord: Unknown command "frobnicate"\n\n${(await accordHere(['--help'])).stdout}`);
    }
    expect(await accordHere(['import'])).toEqual({ code: 3, stdout: '', stderr: 'accord: Usage: accord import <dir> [--dry-run] [--allow-revert] [--format text|json]' });
    expect(await accordHere(['serve', '--port', '8080'])).toEqual({ code: 3, stdout: '', stderr: 'accord: serve takes no arguments (got --port 8080); configure it with environment variables' });
    const bogus = await accordHere(['diff', 'a', 'b', '--bogus']);
    expect(bogus.code).toBe(3);
    expect(bogus.stderr).toMatch(/^accord: Unknown option '--bogus'[\s\S]*\nRun with --help for usage\.$/);
  });
});

describe('accord matrix validate (offline, for CI)', () => {
  it('passes the reference matrix and exits 0', async () => {
    const run = await accord(['matrix', 'validate', path.join(REPO_ROOT, 'control-matrix')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('9 files checked, 0 findings.');
  });

  it('prints each finding with rule id and location and exits 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-matrix-cli-'));
    try {
      fs.mkdirSync(path.join(dir, 'control-matrix'));
      const broken = fs
        .readFileSync(path.join(REPO_ROOT, 'control-matrix/consent-capture.yaml'), 'utf8')
        .replace('operationId: revokeConsent', 'operationId: eraseConsent')
        .replace('dedupeWindow: P7D', 'dedupeWindow: PT10S');
      fs.writeFileSync(path.join(dir, 'control-matrix/consent-capture.yaml'), broken);
      const run = await accord(['matrix', 'validate', path.join(dir, 'control-matrix'), '--contracts', path.join(REPO_ROOT, 'contracts')]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/error \S*consent-capture\.yaml \/steps\/0\/compensation\/operationId \[matrix\/compensation-missing\] operation "eraseConsent" is not in /);
      expect(run.stdout).toMatch(/\/idempotency\/dedupeWindow \[matrix\/dedupe-window\]/);
      const json = await accord(['matrix', 'validate', path.join(dir, 'control-matrix', 'consent-capture.yaml'), '--contracts', path.join(REPO_ROOT, 'contracts'), '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).files[0].findings.map((f: { rule: string }) => f.rule).sort()).toEqual(['matrix/compensation-missing', 'matrix/dedupe-window']);
      // without contracts it refuses to pretend; with --no-contracts the other rules still run
      expect((await accord(['matrix', 'validate', path.join(dir, 'control-matrix')])).code).toBe(3);
      const offline = await accord(['matrix', 'validate', path.join(dir, 'control-matrix'), '--no-contracts']);
      expect(offline.code).toBe(1);
      expect(offline.stderr).toContain('cross-checks skipped');
      expect(offline.stdout).toContain('[matrix/dedupe-window]');
      expect(offline.stdout).not.toContain('[matrix/compensation-missing]');
      expect((await accord(['matrix', 'validate', path.join(dir, 'nothing-here')])).code).toBe(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('accord serve (what npm start runs)', () => {
  it('starts on an empty data dir: ready, seeded, admin token printed once', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-serve-'));
    const start = () =>
      new Promise<{ child: ReturnType<typeof spawn>; url: string; out: () => string; stdout: () => string; stderr: () => string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'serve'], { env: { PATH: process.env.PATH ?? '', ACCORD_DATA_DIR: dataDir, PORT: '0', ACCORD_LOG_LEVEL: 'warn' }, cwd: os.tmpdir() });
        let out = '';
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => {
          out += d;
          stdout += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) setTimeout(() => resolve({ child, url: m[1]!, out: () => out, stdout: () => stdout, stderr: () => stderr }), 50);
        });
        child.stderr!.on('data', (d) => {
          out += d;
          stderr += d;
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
    const stop = (child: ReturnType<typeof spawn>) => new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    const children: Array<ReturnType<typeof spawn>> = [];
    try {
      const first = await start();
      children.push(first.child);
      // The token goes to stderr as plain text, never into stdout (the JSON log stream).
      const token = /Initial admin token[^\n]*\n\s+(acc_\S+)/.exec(first.stderr())?.[1];
      expect(token).toBeDefined();
      expect(first.stdout()).not.toContain(token!);
      expect(first.out()).toContain('Seeded the reference network: 7 contract versions, 9 control-matrix documents.');
      expect(first.out()).toContain(`Console: ${first.url}/console  (sign in with a token)`);
      expect((await fetch(`${first.url}/console/sign-in`)).status).toBe(200);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
      const list = await (await fetch(`${first.url}/v1/contracts`, { headers: { Authorization: `Bearer ${token}` } })).json();
      expect(list.map((c: { partner: string }) => c.partner)).toEqual(['bluestem-mutual', 'northwind-health']);
      expect(fs.existsSync(path.join(dataDir, 'accord.db'))).toBe(true);
      await stop(first.child);

      const second = await start();
      children.push(second.child);
      expect(second.out()).not.toContain('Initial admin token');
      expect(second.out()).not.toContain('Seeded');
      expect((await fetch(`${second.url}/v1/contracts`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
      await stop(second.child);
    } finally {
      // never leave a server behind, even when an assertion failed
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
