import { execFileSync, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkResponse, checking } from './conformance.ts';
import pino from 'pino';
import { expect } from 'vitest';
import type { Role } from '../src/auth/principal.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openService, type Service } from '../src/server.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const NORTHWIND_1_0 = path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml');

/** A fixed clock that advances one second per call, so timestamps are deterministic. */
export function steppingClock(start = '2026-11-27T12:00:00.000Z'): () => Date {
  let t = Date.parse(start);
  return () => new Date((t += 1000));
}

export interface TestService extends Service {
  dir: string;
  /** What a CLI process needs besides ACCORD_DATA_DIR to use this service's storage (see storageEnvFor). */
  storageEnv: Record<string, string>;
  /** Serves the app over real HTTP on 127.0.0.1 (a free port); returns its base URL. */
  listen(): Promise<string>;
  config: Config;
  /** In-process request with a bearer token (admin unless given). */
  call(method: string, url: string, options?: { token?: string | null; body?: string; type?: string; headers?: Record<string, string> }): Promise<Response>;
  /** Creates a token of the role and returns its secret. */
  token(role: Role, partner?: string): Promise<string>;
  /** Git, run in the (bare) registry repository. */
  git(...args: string[]): string;
  /** Asserts the SQLite indexes (contracts and control matrix) and the Git tags list exactly the same versions. */
  expectIndexMatchesTags(): Promise<void>;
  cleanup(): Promise<void>;
}

/** The storage test services use: `sqlite` (the data dir's file) or, in the `postgres` test project, a fresh PostgreSQL database each. */
export const TEST_STORAGE = process.env.ACCORD_TEST_STORAGE === 'postgres' ? 'postgres' : 'sqlite';

/** The audit key test services share on PostgreSQL (where ACCORD_AUDIT_KEY is required). */
export const TEST_AUDIT_KEY = 'a1'.repeat(32);

// A service reopened on the same data dir (a restart) finds the same PostgreSQL database.
const postgresOfDir = new Map<string, PostgresDatabase>();

/**
 * The environment that points Accord (a service or a CLI process) at a data dir's storage: none
 * for SQLite (the data dir's file); in the `postgres` project, the database kept for that dir
 * (made on first use) and the shared audit key.
 */
export async function storageEnvFor(dir: string): Promise<Record<string, string>> {
  if (TEST_STORAGE !== 'postgres') return {};
  let database = postgresOfDir.get(dir);
  if (!database) postgresOfDir.set(dir, (database = await freshPostgresDatabase({ migrated: true })));
  return { ACCORD_DATABASE_URL: database.url, ACCORD_AUDIT_KEY: TEST_AUDIT_KEY };
}

/**
 * Opens a real service on a temp data dir: real Git repository, and a real SQLite file with the
 * real migrations or (project `postgres`) a real PostgreSQL database of its own, migrated. No
 * seeding unless `seed` is set.
 */
export async function startTestService(options: { seed?: boolean; env?: Record<string, string>; dir?: string; clock?: () => Date; logger?: pino.Logger } = {}): Promise<TestService> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'accord-test-'));
  const storageEnv = await storageEnvFor(dir);
  const config = loadConfig({
    ACCORD_DATA_DIR: dir,
    ACCORD_ADMIN_TOKEN: ADMIN_TOKEN,
    ACCORD_SEED_DIR: options.seed ? REPO_ROOT : '',
    ACCORD_LOG_LEVEL: 'silent',
    ...storageEnv,
    ...options.env,
  });
  const service = await openService(config, { clock: options.clock ?? steppingClock(), logger: options.logger ?? pino({ level: 'silent' }) });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: path.join(dir, 'registry'), encoding: 'utf8' });
  const servers: Array<ReturnType<typeof serve>> = [];
  return {
    ...service,
    dir,
    storageEnv,
    config,
    call(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      if (o.type) headers['Content-Type'] = o.type;
      const answered = Promise.resolve(service.app.request(url, { method, headers, ...(o.body !== undefined ? { body: o.body } : {}) }));
      return answered.then((response) => (checkResponse(method, url, response, typeof o.body === 'string' ? o.body : undefined), response));
    },
    async token(role, partner) {
      return (await createToken(service.deps, 'test', { role, partner, name: `${role}${partner ? `-${partner}` : ''}-${Math.random().toString(36).slice(2, 8)}` })).token;
    },
    git,
    async listen() {
      const server = serve({ fetch: checking(service.app.fetch), hostname: '127.0.0.1', port: 0 });
      await new Promise((resolve) => server.once('listening', resolve));
      servers.push(server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async expectIndexMatchesTags() {
      const tags = git('tag', '--list').split('\n').filter(Boolean).sort();
      const rows = (await service.deps.db.$sql.all('SELECT tag, "commit" FROM contract_versions UNION ALL SELECT tag, "commit" FROM matrix_versions')) as Array<{ tag: string; commit: string }>;
      expect(rows.map((r) => r.tag).sort()).toEqual(tags);
      for (const row of rows) expect(git('rev-list', '-n', '1', row.tag).trim()).toBe(row.commit);
    },
    async cleanup() {
      for (const server of servers) server.close();
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
      await postgresOfDir.get(dir)?.drop();
      postgresOfDir.delete(dir);
    },
  };
}

/** A minimal valid OpenAPI 3.1 document as YAML. */
export function minimalSpec(version = '1.0.0', extraPaths = ''): string {
  return `openapi: 3.1.0
info:
  title: Test API
  version: ${version}
paths:
  /members/{id}:
    get:
      operationId: getMember
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: ok
${extraPaths}`;
}

/**
 * A minimal OpenAPI 3.1 document that also follows the reference network's style rules
 * (control-matrix/ruleset.yaml, in force in a seeded service): operationId, summary and tags,
 * a declared and applied bearer scheme, an example that fits its schema.
 */
export function networkSpec(version = '1.0.0'): string {
  return `openapi: 3.1.0
info:
  title: Member API
  version: ${version}
  description: Members of the network.
  contact:
    name: Member team
    email: members@acme.example
servers:
  - url: https://api.acme.example
tags:
  - name: members
security:
  - bearerAuth: []
paths:
  /members/{memberId}:
    get:
      operationId: getMember
      summary: Read one member
      tags: [members]
      parameters:
        - name: memberId
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The member
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Member'
              example:
                memberId: m-1
                birthDate: '1970-01-01'
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
  schemas:
    Member:
      type: object
      required: [memberId]
      properties:
        memberId:
          type: string
        birthDate:
          type: string
          format: date
`;
}

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `accord` CLI (bin/accord.js) in a child process with only the given environment. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runProcess(process.execPath, [path.join(REPO_ROOT, 'bin/accord.js'), ...args], { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env }, os.tmpdir());
}

/** Runs a program in a child process with exactly `env`, in `cwd`; resolves with its exit code and what it printed. */
export function runProcess(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
