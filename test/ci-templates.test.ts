import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, runCli, runProcess, startTestService, type TestService } from './harness.ts';

/**
 * The CI templates partners copy: the GitHub composite action and the GitLab job, their shell
 * steps run as the CI systems would run them (expressions and variables filled in), against a
 * real Accord server.
 */

const ACTION = path.join(REPO_ROOT, '.github/actions/gate/action.yml');
const GITLAB = path.join(REPO_ROOT, 'ci/gitlab/accord-gate.gitlab-ci.yml');
const PATH_WITH_NODE = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

interface Step {
  id?: string;
  name: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
}

function shell(command: string, args: string[], env: Record<string, string>, cwd: string) {
  return runProcess(command, args, { PATH: PATH_WITH_NODE, HOME: cwd, ...env }, cwd);
}

/** Runs the composite action's bash steps in order, as GitHub's runner does: expressions filled in, outputs through $GITHUB_OUTPUT. */
async function runAction(inputs: Record<string, string>, work: string) {
  const action = parseYaml(fs.readFileSync(ACTION, 'utf8'), { maxAliases: 0 }) as { inputs: Record<string, { default?: string }>; runs: { steps: Step[] } };
  const values: Record<string, string> = Object.fromEntries(Object.entries(action.inputs).map(([name, input]) => [name, inputs[name] ?? input.default ?? '']));
  const outputs: Record<string, Record<string, string>> = {};
  const expression = (text: string) =>
    text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      if (expr.startsWith('inputs.')) return values[expr.slice('inputs.'.length)] ?? '';
      if (expr === 'github.action_path') return path.dirname(ACTION);
      if (expr === 'runner.temp') return work;
      const step = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
      if (step) return outputs[step[1]!]?.[step[2]!] ?? '';
      throw new Error(`the test does not know the expression ${expr}`);
    });
  const ran: Array<{ name: string; code: number | null; stdout: string; stderr: string }> = [];
  const uses: Step[] = [];
  for (const step of action.runs.steps) {
    if (step.uses) {
      uses.push({ ...step, with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expression(String(v))])) });
      continue;
    }
    expect(step.shell, step.name).toBe('bash');
    const file = path.join(work, `output-${ran.length}`);
    fs.writeFileSync(file, '');
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expression(String(v))]));
    const result = await shell('bash', ['-c', step.run!], { ...env, GITHUB_OUTPUT: file }, work);
    ran.push({ name: step.name, ...result });
    if (step.id) outputs[step.id] = Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    if (result.code !== 0) break; // a failing step stops the job
  }
  return { ran, outputs, uses, last: ran.at(-1)! };
}

/** Runs the GitLab job's script with sh, its variables and the job's own on top, in a fresh project directory. */
async function runGitlab(variables: Record<string, string>, work: string) {
  const template = parseYaml(fs.readFileSync(GITLAB, 'utf8'), { maxAliases: 0 }) as Record<string, { variables: Record<string, string>; script: string[]; artifacts: { reports: { junit: string } } }>;
  const job = template['.accord-gate']!;
  const env = { ...job.variables, ACCORD_CLI: `node ${path.join(REPO_ROOT, 'bin/accord.js')}`, CI_PROJECT_DIR: work, ...variables };
  return { job, result: await shell('sh', ['-c', job.script.join('\n')], env, work) };
}

// Each step spawns the CLI (a second or more of start-up each): minutes, not the default budget.
const BUDGET = 240_000;

describe('CI templates against a real server', () => {
  let s: TestService;
  let url: string;
  let ci: string;
  let work: string;
  const target = { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.2.0', environment: 'production' };
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    url = await s.listen();
    ci = await s.token('ci');
  });
  afterAll(async () => await s.cleanup());
  const fresh = () => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-ci-')));
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const inputs = () => ({ 'accord-url': url, token: ci, ...target, base: 'bluestem-mutual/p2p-exchange@1.1.0', revision: 'bluestem-mutual/p2p-exchange@1.2.0', retries: '1', 'retry-interval': '0' });

  it('GitHub action: the diff as SARIF for code scanning; a gate still pending after its retries fails the job with exit 2 and a JUnit report', async () => {
    fresh();
    const run = await runAction(inputs(), work);
    expect(run.ran.map((r) => `${r.name}: ${r.code}`)).toEqual(['Install the Accord CLI: 0', 'Diff the contract (SARIF): 0', 'Ask the release gate (JUnit): 0', 'Verdict: 2']);
    expect(run.outputs.diff).toMatchObject({ 'exit-code': '0', 'sarif-file': path.join(work, 'accord-diff.sarif') });
    const sarif = JSON.parse(fs.readFileSync(run.outputs.diff!['sarif-file']!, 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].tool.driver.name).toBe('accord-diff');
    expect(run.outputs.gate!['exit-code']).toBe('2');
    const junit = fs.readFileSync(run.outputs.gate!['junit-file']!, 'utf8');
    expect(junit).toContain('<testsuite');
    expect(junit).toContain('change-request');
    expect(run.last.stdout).toContain('::error::Gate: still pending after the retries');
    // The uploads get the files the steps wrote.
    expect(run.uses.map((u) => [u.uses, u.with?.sarif_file ?? u.with?.path])).toEqual([
      ['github/codeql-action/upload-sarif@v3', path.join(work, 'accord-diff.sarif')],
      ['actions/upload-artifact@v4', path.join(work, 'accord-gate.xml')],
    ]);
  }, BUDGET);

  it('GitLab job: the same pending gate fails with exit 2, the JUnit report and the SARIF kept as artifacts', async () => {
    fresh();
    const { job, result } = await runGitlab({ ACCORD_URL: url, ACCORD_TOKEN: ci, ACCORD_PARTNER: target.partner, ACCORD_API: target.api, ACCORD_VERSION: target.version, ACCORD_ENVIRONMENT: target.environment, ACCORD_BASE: 'bluestem-mutual/p2p-exchange@1.1.0', ACCORD_REVISION: 'bluestem-mutual/p2p-exchange@1.2.0', ACCORD_RETRIES: '1', ACCORD_RETRY_INTERVAL: '0' }, work);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain('Gate: still pending after the retries');
    expect(job.artifacts.reports.junit).toBe('accord-gate.xml');
    expect(fs.readFileSync(path.join(work, 'accord-gate.xml'), 'utf8')).toContain('<testsuite');
    expect(JSON.parse(fs.readFileSync(path.join(work, 'accord-diff.sarif'), 'utf8')).version).toBe('2.1.0');
  }, BUDGET);

  it('both pass once the change is approved and the evidence recorded; a breaking diff still fails the job', async () => {
    const change = await (await json('POST', '/v1/changes', { partner: target.partner, api: target.api, version: target.version, summary: 'Consent-aware export, no breaking change' }, await s.token('author'))).json();
    for (let i = 0; i < 2; i++) expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, await s.token('approver'))).status).toBe(201);
    for (const kind of ['contract-test', 'duplicate-handling-test']) {
      const added = await runCli(['evidence', 'add', '--partner', target.partner, '--api', target.api, '--version', target.version, '--kind', kind, '--result', 'pass', '--uri', `https://ci.example/${kind}`, '--env', target.environment, '--commit', 'a1b2c3d4e5f6', '--produced-at', '2026-11-27T11:00:00Z'], { ACCORD_URL: url, ACCORD_TOKEN: ci });
      expect(added.code, added.stderr).toBe(0);
    }
    fresh();
    const passed = await runAction(inputs(), work);
    expect(passed.ran.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(passed.last.stdout).toContain('Gate: pass');
    expect(passed.outputs.gate!['exit-code']).toBe('0');

    fresh();
    const gitlab = await runGitlab({ ACCORD_URL: url, ACCORD_TOKEN: ci, ACCORD_PARTNER: target.partner, ACCORD_API: target.api, ACCORD_VERSION: target.version, ACCORD_ENVIRONMENT: target.environment, ACCORD_RETRIES: '0' }, work);
    expect(gitlab.result.code, gitlab.result.stderr).toBe(0);
    expect(gitlab.result.stdout).toContain('No ACCORD_BASE or ACCORD_REVISION: diff skipped.');

    // A breaking diff (files this time) fails the job although the gate passes.
    fresh();
    const breaking = await runAction({ ...inputs(), base: path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/1.1.0/openapi.yaml'), revision: path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml') }, work);
    expect(breaking.outputs.diff!['exit-code']).toBe('1');
    expect(breaking.ran[1]!.stdout).toMatch(/^::(error|warning) file=/m);
    expect(breaking.last).toMatchObject({ name: 'Verdict', code: 1 });
    expect(breaking.last.stdout).toContain('::error::The diff found changes at or above fail-on');
  }, BUDGET);
});
