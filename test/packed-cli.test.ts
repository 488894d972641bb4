import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runProcess, type CliRun } from './harness.ts';

/**
 * The package as users get it (issue 19): `npm pack` of the built dist/, the tarball
 * installed into an empty directory from npm's cache (`--prefer-offline`: CI's `npm ci` fills
 * it), then `npx accord` there. npm 11 runs no dependency's install script in that directory, so
 * better-sqlite3 has no native build: diff, --help and --version must not need it.
 */
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// npm's cache is under the real HOME; npm and npx need node on PATH.
const ENV = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? os.homedir() };

const BASE = `openapi: 3.0.3
info: { title: Items, version: 1.0.0 }
paths:
  /items:
    get:
      operationId: listItems
      responses: { '200': { description: the items } }
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: one item } }
`;
// /items removed without a deprecation first: breaking.
const REVISION = `openapi: 3.0.3
info: { title: Items, version: 2.0.0 }
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: one item } }
`;

/** Runs a command in `cwd` with node on PATH and npm's cache. */
async function run(cwd: string, command: string, args: string[]): Promise<CliRun> {
  return runProcess(command, args, ENV, cwd);
}

describe('the packed CLI', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-pack-'));
    project = path.join(work, 'project');
    fs.mkdirSync(project);
    // Built only if stale (npm test's pretest has built it), and packed without running prepare
    // again: a rebuild would rewrite dist/ under the other test files' CLI processes.
    const built = await run(REPO_ROOT, process.execPath, ['scripts/build.mjs', '--if-stale']);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const packed = await run(REPO_ROOT, 'npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent']);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = path.join(work, packed.stdout.trim().split('\n').pop()!);
    expect(fs.existsSync(tarball)).toBe(true);
    const installed = await run(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball]);
    expect(installed.code, installed.stderr).toBe(0);
    fs.writeFileSync(path.join(project, 'a.yaml'), BASE);
    fs.writeFileSync(path.join(project, 'b.yaml'), REVISION);
  }, 600_000);

  afterAll(async () => {
    if (work) await fs.promises.rm(work, { recursive: true, force: true });
  }, 300_000);

  it('holds the compiled CLI and what it reads at run time, no TypeScript and no tests', () => {
    const root = path.join(project, 'node_modules/accord');
    for (const file of ['bin/accord.js', 'dist/main.js', 'dist/lint/lint.worker.mjs', 'dist/diff/openapi-diff.worker.mjs', 'migrations/meta/_journal.json', 'contracts', 'control-matrix/ruleset.yaml', 'src/web/assets/console.css']) {
      expect(fs.existsSync(path.join(root, file)), file).toBe(true);
    }
    expect(fs.existsSync(path.join(root, 'src/main.ts'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'test'))).toBe(false);
    const worker = fs.readFileSync(path.join(root, 'dist/lint/lint.worker.mjs'), 'utf8');
    expect(worker).toContain("await import('./worker.js');");
    expect(worker).not.toMatch(/['"]tsx\b|\.ts'/);
  });

  it('accord diff names the breaking change and exits 1, as the README says', async () => {
    const diff = await run(project, 'npx', ['--no-install', 'accord', 'diff', 'a.yaml', 'b.yaml']);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toContain('1 breaking');
    expect(diff.stdout).toMatch(/BREAKING\s+GET \/items removed without deprecation\s+\[api-path-removed-without-deprecation\]/);
    expect(diff.code).toBe(1);
    const same = await run(project, 'npx', ['--no-install', 'accord', 'diff', 'a.yaml', 'a.yaml']);
    expect(same.code, same.stdout + same.stderr).toBe(0);
  });

  it('accord --version prints the package version, and --help the commands', async () => {
    const version = await run(project, 'npx', ['--no-install', 'accord', '--version']);
    expect(version).toMatchObject({ code: 0, stdout: `accord ${VERSION}\n` });
    const help = await run(project, 'npx', ['--no-install', 'accord', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('accord diff <base> <revision>');
  });
});
