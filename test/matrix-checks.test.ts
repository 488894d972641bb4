import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { checkRuleset } from '../src/lint/check.ts';
import { checkFlow, checkPolicy, worstCaseStepMs, type ContractSource } from '../src/matrix/checks.ts';
import { durationMs } from '../src/matrix/durations.ts';
import { directorySource } from '../src/matrix/sources.ts';
import { REPO_ROOT } from './harness.ts';

const load = (file: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'control-matrix', file), 'utf8'), { maxAliases: 100 }) as Record<string, any>;

let source: ContractSource;
let tmp: string;

beforeAll(async () => {
  // The reference contracts plus a partner whose acknowledgeReceipt takes no Idempotency-Key.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-matrix-'));
  fs.cpSync(path.join(REPO_ROOT, 'contracts'), path.join(tmp, 'contracts'), { recursive: true });
  const unkeyed = fs
    .readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml'), 'utf8')
    .replace(/(operationId: acknowledgeReceipt[\s\S]*?parameters:\n)\s+- \$ref: '#\/components\/parameters\/IdempotencyKey'\n/, '$1');
  fs.mkdirSync(path.join(tmp, 'contracts/legacy-payer/p2p-exchange/1.0.0'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'contracts/legacy-payer/p2p-exchange/1.0.0/openapi.yaml'), unkeyed);
  source = await directorySource(tmp);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the reference control matrix', () => {
  const flowFiles = fs.readdirSync(path.join(REPO_ROOT, 'control-matrix')).filter((f) => f !== 'policy.yaml' && f !== 'ruleset.yaml');

  it.each(flowFiles)('%s passes every check', async (file) => {
    const reference = await directorySource(REPO_ROOT);
    expect(await checkFlow(load(file), reference, file.replace('.yaml', ''))).toEqual([]);
  });

  it('policy.yaml passes its schema', () => {
    expect(checkPolicy(load('policy.yaml'))).toEqual([]);
  });

  it('ruleset.yaml loads and runs as the network ruleset', async () => {
    expect(await checkRuleset(load('ruleset.yaml'))).toEqual([]);
  });

  it('covers member match, consent capture, data export, acknowledgement and finalisation', () => {
    const ops = flowFiles.flatMap((f) => load(f).steps.map((s: { operationId: string }) => s.operationId));
    for (const op of ['memberMatch', 'captureConsent', 'requestDataExport', 'acknowledgeReceipt', 'finalizeExchange']) expect(ops).toContain(op);
  });
});

/** Each case breaks exactly one rule of a valid entry; the finding names that rule and location. */
const cases: Array<[string, string, string, (e: Record<string, any>) => void]> = [
  ['unknown field', 'matrix/schema', '/steps/0', (e) => (e.steps[0].retries = 3)],
  ['wrong type', 'matrix/schema', '/steps/0/retry/maxAttempts', (e) => (e.steps[0].retry.maxAttempts = 'three')],
  ['missing required field', 'matrix/schema', '/owner/contact', (e) => delete e.owner.contact],
  ['bad duration', 'matrix/schema', '/idempotency/dedupeWindow', (e) => (e.idempotency.dedupeWindow = '1 day')],
  ['unknown replay policy', 'matrix/schema', '/idempotency/replayPolicy', (e) => (e.idempotency.replayPolicy = 'ignore')],
  ['compensation none without justification', 'matrix/schema', '/steps/0/compensation', (e) => (e.steps[0].compensation = { strategy: 'none' })],
  ['unknown failure mode', 'matrix/schema', '/failureModes', (e) => (e.failureModes['cosmic-ray'] = e.failureModes['partner-timeout'])],
  ['flow id differs from its name', 'matrix/flow-name', '/flow', (e) => (e.flow = 'other-flow')],
  ['duplicate step id', 'matrix/duplicate-step', '/steps/1/id', (e) => e.steps.push(structuredClone(e.steps[0]))],
  ['max backoff below initial', 'matrix/retry-backoff', '/steps/0/retry/max', (e) => (e.steps[0].retry.max = 'PT0.5S')],
  ['a failure mode missing', 'matrix/failure-modes', '/failureModes', (e) => delete e.failureModes['partial-write']],
  ['acknowledge slower than finalise', 'matrix/sla-order', '/sla/timeToAcknowledge/target', (e) => (e.sla.timeToAcknowledge.target = 'PT2M')],
  ['errorRate threshold as a duration', 'matrix/intervention-threshold', '/sla/interventions/1/above', (e) => (e.sla.interventions[1].above = 'PT5S')],
  ['escalation out of order', 'matrix/escalation-order', '/escalation/1/after', (e) => (e.escalation[1].after = 'PT10M')],
  ['no traceparent required', 'matrix/observability', '/observability/requiredFields', (e) => (e.observability.requiredFields = ['correlation-id'])],
  ['dedupe window shorter than the slowest retrying step', 'matrix/dedupe-window', '/idempotency/dedupeWindow', (e) => (e.idempotency.dedupeWindow = 'PT20S')],
  ['not a semver range', 'matrix/contract-range', '/contract/versions', (e) => (e.contract.versions = 'latest please')],
  ['no contract satisfies the range', 'matrix/contract-missing', '/contract', (e) => (e.contract.versions = '^7.0.0')],
  ['operation not in the contract', 'matrix/operation-missing', '/steps/0/operationId', (e) => (e.steps[0].operationId = 'matchMemberV9')],
  ['compensation operation not in the contract', 'matrix/compensation-missing', '/steps/0/compensation/operationId', (e) => (e.steps[0].compensation = { operationId: 'undoMatch' })],
  ['failure-mode compensation not in the contract', 'matrix/compensation-missing', '/failureModes/partial-write/compensation', (e) => (e.failureModes['partial-write'].compensation = 'undoEverything')],
  ['fingerprint pointer not in the request schema', 'matrix/pointer-missing', '/idempotency/fingerprint/pointers/0', (e) => (e.idempotency.fingerprint = { pointers: ['/parameter/0/resource/shoeSize'] })],
  ['business key not in the request schema', 'matrix/pointer-missing', '/idempotency/businessKeys/1', (e) => (e.idempotency.businessKeys = ['/parameter/0/resource/birthDate', '/memberNumber'])],
  ['key source pointer not in the request schema', 'matrix/pointer-missing', '/idempotency/keySource/bodyPointers/0', (e) => (e.idempotency.keySource = { bodyPointers: ['/requestId'] })],
];

describe('each rule, broken on its own', () => {
  it.each(cases)('%s → %s at %s', async (_, rule, location, breakIt) => {
    const entry = structuredClone(load('member-match.yaml'));
    breakIt(entry);
    const findings = await checkFlow(entry, source, 'member-match');
    expect(findings.length, JSON.stringify(findings, null, 2)).toBeGreaterThan(0);
    expect(findings.every((f) => f.rule === rule), JSON.stringify(findings, null, 2)).toBe(true);
    expect(findings.map((f) => f.location)).toContain(location);
    for (const f of findings) expect(f.message.length).toBeGreaterThan(5);
  });

  it('retries on an operation that takes no Idempotency-Key → matrix/retry-unkeyed', async () => {
    const entry = structuredClone(load('acknowledgement.yaml'));
    entry.contract.partner = 'legacy-payer';
    entry.idempotency.keySource = { bodyPointers: ['/exportJobId'] };
    const findings = await checkFlow(entry, source, 'acknowledgement');
    expect(findings).toEqual([
      { rule: 'matrix/retry-unkeyed', location: '/steps/0/retry/maxAttempts', message: expect.stringContaining('legacy-payer/p2p-exchange@1.0.0') },
    ]);
    entry.steps[0].retry.maxAttempts = 1;
    expect(await checkFlow(entry, source, 'acknowledgement')).toEqual([]);
  });

  it('an Idempotency-Key key source on an operation without that header → matrix/key-source', async () => {
    const entry = structuredClone(load('acknowledgement.yaml'));
    entry.contract.partner = 'legacy-payer';
    entry.steps[0].retry.maxAttempts = 1;
    const findings = await checkFlow(entry, source, 'acknowledgement');
    expect(findings).toEqual([{ rule: 'matrix/key-source', location: '/idempotency/keySource/header', message: expect.stringContaining('acknowledgeReceipt') }]);
  });

  it('checks every partner implementing the API when the partner is *', async () => {
    const entry = structuredClone(load('acknowledgement.yaml'));
    entry.steps[0].retry.maxAttempts = 1;
    const findings = await checkFlow(entry, source, 'acknowledgement');
    expect(findings.map((f) => f.rule)).toEqual(['matrix/key-source']);
    expect(findings[0]!.message).toContain('legacy-payer');
    expect(findings[0]!.message).not.toContain('northwind-health');
  });

  it('a policy with wrong types or unknown fields → policy/schema with locations', () => {
    const policy = load('policy.yaml');
    policy.approvals.breaking = 0;
    policy.evidence.breaking.push('vibes');
    policy.extra = true;
    const findings = checkPolicy(policy);
    expect(findings.every((f) => f.rule === 'policy/schema')).toBe(true);
    expect(findings.map((f) => f.location).sort()).toEqual(['', '/approvals/breaking', '/evidence/breaking/6']);
  });
});

describe('durations and worst-case retry time', () => {
  it('parses ISO 8601 durations', () => {
    expect(durationMs('PT30S')).toBe(30_000);
    expect(durationMs('P1DT2H')).toBe(26 * 3_600_000);
    expect(durationMs('PT0.5S')).toBe(500);
    expect(() => durationMs('P1M')).toThrow();
  });

  it('adds every attempt timeout and every capped backoff at full jitter', () => {
    // 3 × 10 s + (1 s + 2 s) × 1.2 = 33.6 s
    expect(worstCaseStepMs({ timeout: 'PT10S', retry: { maxAttempts: 3, initial: 'PT1S', multiplier: 2, max: 'PT8S', jitter: 0.2 } })).toBe(33_600);
    // backoffs 1, 2, 4, 4 (capped) s, no jitter: 5 × 1 s + 11 s = 16 s
    expect(worstCaseStepMs({ timeout: 'PT1S', retry: { maxAttempts: 5, initial: 'PT1S', multiplier: 2, max: 'PT4S', jitter: 0 } })).toBe(16_000);
  });
});
