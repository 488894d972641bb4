import semver from 'semver';
import type { OpenApiDocument } from '../contracts/document.ts';
import { acceptsIdempotencyKey, isIdempotentMethod, operationsById, requestBodySchema, schemaHasPointer, type LocatedOperation } from '../contracts/operations.ts';
import { boundedValidate, newAjv2020, type ErrorObject } from '../lib/ajv.ts';
import { durationMs, formatMs } from './durations.ts';
import { FAILURE_MODES, FLOW_SCHEMA, POLICY_SCHEMA } from './schema.ts';

/** One finding of a check: a stable rule id, where (JSON pointer into the entry) and what. */
export interface Finding {
  rule: string;
  location: string;
  message: string;
}

/** A contract version a matrix entry refers to, parsed. */
export interface ContractDoc {
  partner: string;
  api: string;
  version: string;
  doc: OpenApiDocument;
}

/** Where the checks find the contracts an entry references (registry or a folder). */
export interface ContractSource {
  /** Versions of `api` (of `partner`, or of every partner for `*`), all of them. */
  versions(partner: string, api: string): Promise<ContractDoc[]>;
}

// The shapes the schema guarantees, for the checks that run after it passes.
interface Retry {
  maxAttempts: number;
  initial: string;
  multiplier: number;
  max: string;
  jitter: number;
}
export interface Step {
  id: string;
  operationId: string;
  timeout: string;
  retry: Retry;
  compensation: { operationId?: string; strategy?: string; approval?: 'required' | 'none' };
}
export interface FlowEntry {
  flow: string;
  title: string;
  requestType: string;
  owner: { team: string; contact: string };
  escalation: Array<{ after: string; contact: string; channel?: string }>;
  contract: { partner: string; api: string; versions: string };
  steps: Step[];
  idempotency: {
    keySource: { header?: string; bodyPointers?: string[] };
    fingerprint: { body?: 'whole'; pointers?: string[] };
    dedupeWindow: string;
    replayPolicy: string;
    businessKeys: string[];
  };
  failureModes: Record<string, { action: string; retryThreshold: number; compensation: string; supportOwner: string }>;
  observability: { requiredFields: string[]; metrics: string[] };
  sla: Record<string, { target: string; percentile: number }> & {
    interventions: Array<{ metric: string; percentile?: number; above: string | number; window: string; for: string; actions: string[] }>;
  };
}

// Each schema twice: stopping at the first problem, and listing every problem (boundedValidate).
const AJV_OPTIONS = { strict: true, strictRequired: false, allowUnionTypes: true } as const;
const quickAjv = newAjv2020({ ...AJV_OPTIONS, allErrors: false }, true);
const detailedAjv = newAjv2020({ ...AJV_OPTIONS, allErrors: true }, true);
const flowSchema = { quick: quickAjv.compile(FLOW_SCHEMA), detailed: detailedAjv.compile(FLOW_SCHEMA) };
const policySchema = { quick: quickAjv.compile(POLICY_SCHEMA), detailed: detailedAjv.compile(POLICY_SCHEMA) };

function schemaFindings(errors: ErrorObject[] | null | undefined): Finding[] {
  const findings = (errors ?? [])
    // oneOf/anyOf report every failing branch; the branch errors below them say more.
    .filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword) || (errors ?? []).length === 1)
    .map((e) => {
      let message = e.message ?? 'is invalid';
      if (e.keyword === 'required') {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        return { rule: 'matrix/schema', location: `${e.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: 'is required' };
      }
      if (e.keyword === 'additionalProperties') message = `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'enum') message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      if (e.keyword === 'propertyNames') message = `unknown key "${(e.params as { propertyName: string }).propertyName}"`;
      return { rule: 'matrix/schema', location: e.instancePath, message };
    });
  const unique = new Map(findings.map((f) => [`${f.location}|${f.message}`, f]));
  return [...unique.values()];
}

/** Schema findings for a governance policy document (empty when valid). */
export function checkPolicy(data: unknown): Finding[] {
  const problems = boundedValidate(policySchema.quick, () => policySchema.detailed, data);
  return problems ? schemaFindings(problems).map((f) => ({ ...f, rule: 'policy/schema' })) : [];
}

/** Worst-case time a step can take with every retry: attempts × timeout + every backoff at full jitter. */
export function worstCaseStepMs(step: Pick<Step, 'timeout' | 'retry'>): number {
  const { maxAttempts, initial, multiplier, max, jitter } = step.retry;
  let total = maxAttempts * durationMs(step.timeout);
  for (let retry = 0; retry < maxAttempts - 1; retry++) {
    total += Math.min(durationMs(initial) * multiplier ** retry, durationMs(max)) * (1 + jitter);
  }
  return total;
}

const STRATEGIES = new Set(['mark-inactive', 'reversal-event', 'none']);

/**
 * Checks one control-matrix entry: the JSON Schema first, then the rules that need the
 * referenced contracts and arithmetic. Pure apart from reading contracts from `source`.
 * @param expectedFlow the flow id the entry is stored under (file name or URL)
 */
export async function checkFlow(data: unknown, source: ContractSource | undefined, expectedFlow?: string): Promise<Finding[]> {
  const problems = boundedValidate(flowSchema.quick, () => flowSchema.detailed, data);
  if (problems) return schemaFindings(problems);
  const entry = data as unknown as FlowEntry;
  const findings: Finding[] = [];
  const add = (rule: string, location: string, message: string) => findings.push({ rule, location, message });

  if (expectedFlow !== undefined && entry.flow !== expectedFlow) add('matrix/flow-name', '/flow', `flow is "${entry.flow}" but the entry is stored as "${expectedFlow}"`);

  const stepIds = new Set<string>();
  entry.steps.forEach((step, i) => {
    if (stepIds.has(step.id)) add('matrix/duplicate-step', `/steps/${i}/id`, `step id "${step.id}" is used twice`);
    stepIds.add(step.id);
    if (durationMs(step.retry.initial) > durationMs(step.retry.max)) add('matrix/retry-backoff', `/steps/${i}/retry/max`, `max backoff ${step.retry.max} is below the initial ${step.retry.initial}`);
    if (step.compensation.approval === 'required' && !step.compensation.operationId && step.compensation.strategy !== 'reversal-event') {
      add('matrix/approval-without-compensation', `/steps/${i}/compensation/approval`, `step "${step.id}" asks for approval of a compensation it does not have (strategy ${step.compensation.strategy ?? 'none'} runs nothing): declare a compensating operation or drop the approval`);
    }
  });

  const missingModes = FAILURE_MODES.filter((m) => !Object.hasOwn(entry.failureModes, m));
  if (missingModes.length > 0) add('matrix/failure-modes', '/failureModes', `missing failure modes: ${missingModes.join(', ')}`);

  const ack = durationMs(entry.sla.timeToAcknowledge!.target);
  const fin = durationMs(entry.sla.timeToFinalize!.target);
  if (ack > fin) add('matrix/sla-order', '/sla/timeToAcknowledge/target', `timeToAcknowledge (${entry.sla.timeToAcknowledge!.target}) is longer than timeToFinalize (${entry.sla.timeToFinalize!.target})`);

  entry.sla.interventions.forEach((rule, i) => {
    const isRate = rule.metric === 'errorRate';
    if (isRate !== (typeof rule.above === 'number')) add('matrix/intervention-threshold', `/sla/interventions/${i}/above`, isRate ? 'errorRate thresholds are a fraction between 0 and 1' : `${rule.metric} thresholds are durations such as PT30S`);
  });

  let previous = -1;
  entry.escalation.forEach((step, i) => {
    const after = durationMs(step.after);
    if (after <= previous) add('matrix/escalation-order', `/escalation/${i}/after`, `escalation steps must start later than the one before (${step.after})`);
    previous = after;
  });

  for (const field of ['correlation-id', 'traceparent']) {
    if (!entry.observability.requiredFields.includes(field)) add('matrix/observability', '/observability/requiredFields', `must include "${field}"`);
  }

  const slowest = entry.steps.reduce((worst, step, i) => {
    const ms = worstCaseStepMs(step);
    return ms > worst.ms ? { ms, i } : worst;
  }, { ms: 0, i: 0 });
  const window = durationMs(entry.idempotency.dedupeWindow);
  if (window < slowest.ms) {
    add('matrix/dedupe-window', '/idempotency/dedupeWindow', `dedupe window ${entry.idempotency.dedupeWindow} is shorter than the slowest step's worst case (${entry.steps[slowest.i]!.id}: ${formatMs(Math.ceil(slowest.ms))} with every retry)`);
  }

  if (source) for (const f of await contractFindings(entry, source)) findings.push(f);
  return findings;
}

async function contractFindings(entry: FlowEntry, source: ContractSource): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (rule: string, location: string, message: string) => findings.push({ rule, location, message });
  const { partner, api, versions: range } = entry.contract;
  if (semver.validRange(range) === null) {
    add('matrix/contract-range', '/contract/versions', `"${range}" is not a semver range`);
    return findings;
  }
  const docs = (await source.versions(partner, api)).filter((c) => semver.satisfies(c.version, range));
  if (docs.length === 0) {
    add('matrix/contract-missing', '/contract', `no registered version of ${partner === '*' ? 'any partner\'s' : partner} ${api} satisfies ${range}`);
    return findings;
  }
  const indexed = docs.map((c) => ({ ...c, ops: operationsById(c.doc) }));
  const label = (c: ContractDoc) => `${c.partner}/${c.api}@${c.version}`;
  /** Versions lacking an operation, as a finding; the operations found otherwise. */
  const locate = (operationId: string, rule: string, location: string): Array<{ c: (typeof indexed)[number]; op: LocatedOperation }> => {
    const missing = indexed.filter((c) => !c.ops.has(operationId));
    if (missing.length > 0) add(rule, location, `operation "${operationId}" is not in ${missing.map(label).join(', ')}`);
    return indexed.filter((c) => c.ops.has(operationId)).map((c) => ({ c, op: c.ops.get(operationId)! }));
  };

  entry.steps.forEach((step, i) => {
    const found = locate(step.operationId, 'matrix/operation-missing', `/steps/${i}/operationId`);
    if (step.compensation.operationId) locate(step.compensation.operationId, 'matrix/compensation-missing', `/steps/${i}/compensation/operationId`);
    if (step.retry.maxAttempts > 1) {
      const unkeyed = found.filter(({ op }) => !isIdempotentMethod(op) && !acceptsIdempotencyKey(op));
      if (unkeyed.length > 0) {
        add('matrix/retry-unkeyed', `/steps/${i}/retry/maxAttempts`, `step "${step.id}" retries ${step.retry.maxAttempts} times but ${step.operationId} (${unkeyed[0]!.op.method.toUpperCase()}) takes no Idempotency-Key in ${unkeyed.map(({ c }) => label(c)).join(', ')}`);
      }
    }
  });

  for (const [mode, handling] of Object.entries(entry.failureModes)) {
    if (!STRATEGIES.has(handling.compensation)) locate(handling.compensation, 'matrix/compensation-missing', `/failureModes/${mode}/compensation`);
  }

  // The flow's idempotency describes its inbound request, i.e. the first step's operation.
  const entryStep = entry.steps[0]!;
  const entryOps = indexed.filter((c) => c.ops.has(entryStep.operationId)).map((c) => ({ c, op: c.ops.get(entryStep.operationId)! }));
  const { keySource, fingerprint, businessKeys } = entry.idempotency;
  if (keySource.header) {
    const without = entryOps.filter(({ op }) => !acceptsIdempotencyKey(op));
    if (without.length > 0) add('matrix/key-source', '/idempotency/keySource/header', `${entryStep.operationId} takes no Idempotency-Key header in ${without.map(({ c }) => label(c)).join(', ')}`);
  }
  const pointers: Array<[string, string]> = [
    ...(keySource.bodyPointers ?? []).map((p, i): [string, string] => [p, `/idempotency/keySource/bodyPointers/${i}`]),
    ...(fingerprint.pointers ?? []).map((p, i): [string, string] => [p, `/idempotency/fingerprint/pointers/${i}`]),
    ...businessKeys.map((p, i): [string, string] => [p, `/idempotency/businessKeys/${i}`]),
  ];
  for (const [pointer, location] of pointers) {
    const lacking = entryOps.filter(({ c, op }) => !schemaHasPointer(c.doc, requestBodySchema(c.doc, op), pointer));
    if (lacking.length > 0) add('matrix/pointer-missing', location, `${pointer} is not in the request schema of ${entryStep.operationId} in ${lacking.map(({ c }) => label(c)).join(', ')}`);
  }
  return findings;
}
