import { durationMs } from '../matrix/durations.ts';
import type { FlowEntry, Step } from '../matrix/checks.ts';
import type { Route } from '../runtime/route-table.ts';
import { acceptsIdempotencyKey } from '../contracts/operations.ts';
import { fingerprintPointers, invalidBodies, otherValidBody, requestBody, seededRandom, validVariants } from './inputs.ts';
import { conformanceFindings, deprecationFindings, describe, sameAnswer, traceFindings, type Answer } from './judge.ts';
import type { CaseCategory, CaseVerdict } from './cases.ts';
import type { Exchange, Sent, Session } from './session.ts';

/**
 * The certification suite of one contract version, generated from its operations and the
 * control-matrix flows covering them. Each group of cases makes its calls through the session
 * and judges the answers; some exchanges are judged several ways (the example call of an
 * operation is a contract, trace and deprecation case at once).
 */


export interface CaseResult {
  id: string;
  category: CaseCategory;
  operationId: string | null;
  flow: string | null;
  name: string;
  verdict: CaseVerdict;
  findings: string[];
  exchanges: Exchange[];
}

/** A planned case: what the report lists before it runs. */
export type PlannedCase = Omit<CaseResult, 'verdict' | 'findings' | 'exchanges'>;

/** Cases that run together (they share calls); `run` answers one result per planned case, in order. */
export interface CaseGroup {
  cases: PlannedCase[];
  run(session: Session): Promise<CaseResult[]>;
}

/** Seeded schema-valid variants per operation, besides its example and its minimal form. */
const VALID_VARIANTS = 2;
/** Concurrent requests with one key. */
const CONCURRENT = 3;
/** Longest wait between retries, whatever the retry policy says (a run stays short). */
const MAX_BACKOFF_MS = 2000;
const DEFAULT_TIMEOUT_MS = 10_000;

const opName = (route: Route) => route.op.operationId ?? `${route.method} ${route.template}`;
const isSafe = (route: Route) => route.method === 'GET' || route.method === 'HEAD';
const result = (c: PlannedCase, findings: string[], exchanges: Exchange[], verdict?: CaseVerdict): CaseResult => ({ ...c, verdict: verdict ?? (findings.length === 0 ? 'pass' : 'fail'), findings, exchanges });

/** Findings of an answer that is missing or a server error, else []. */
function answered(sent: Sent, op: string): string[] {
  if (!sent.answer) return [`${op}: no answer (${sent.exchange.error})`];
  return sent.answer.status >= 500 ? [`${op} answered ${describe(sent.answer)}`] : [];
}

/** The step of a flow that runs this operation, with its flow, for the timeout and retry policy. */
function stepOf(route: Route): { flow: FlowEntry; step: Step } | undefined {
  const flow = route.idempotencyFlowEntry;
  const step = flow?.steps.find((s) => s.operationId === route.op.operationId);
  return flow && step ? { flow, step } : undefined;
}

const timeoutOf = (route: Route) => {
  const s = stepOf(route);
  return s ? Math.min(durationMs(s.step.timeout), 60_000) : DEFAULT_TIMEOUT_MS;
};

/** Which trace fields the operation owes: its flow's required observability fields, else what its contract documents. */
function traceWants(route: Route): { correlation: boolean; traceparent: boolean } {
  const fields = route.idempotencyFlowEntry?.observability.requiredFields ?? route.flowEntry?.observability.requiredFields;
  const documented = (name: string) => route.op.parameters.some((p) => p.in === 'header' && String(p.name).toLowerCase() === name);
  return fields ? { correlation: fields.includes('correlation-id'), traceparent: fields.includes('traceparent') } : { correlation: documented('x-correlation-id'), traceparent: documented('traceparent') };
}

/** The example call of an operation, judged as contract, trace and (for a deprecated version) deprecation cases, then its schema-derived inputs. */
function contractGroups(route: Route, random: () => number): CaseGroup[] {
  const op = opName(route);
  const base = { operationId: route.op.operationId ?? null, flow: route.flowEntry?.flow ?? null };
  const keyed = acceptsIdempotencyKey(route.op);
  const timeoutMs = timeoutOf(route);
  const wants = traceWants(route);
  const example: PlannedCase = { ...base, id: `contract/${op}/example`, category: 'contract', name: `${op} with its documented example: the answer conforms to the contract` };
  const trace: PlannedCase = { ...base, id: `trace/${op}`, category: 'trace', name: `${op} echoes X-Correlation-Id and continues traceparent` };
  const deprecation: PlannedCase = { ...base, id: `deprecation/${op}`, category: 'deprecation', name: `${op} of a deprecated version answers with Deprecation and Sunset headers` };
  const groups: CaseGroup[] = [
    {
      cases: [example, ...(wants.correlation || wants.traceparent ? [trace] : []), ...(route.deprecation ? [deprecation] : [])],
      async run(session) {
        const sent = await session.send(route, { key: keyed ? session.key() : undefined, timeoutMs });
        const out = [result(example, [...answered(sent, op), ...(sent.answer ? conformanceFindings(route, sent.answer) : [])], [sent.exchange])];
        if (wants.correlation || wants.traceparent) out.push(result(trace, sent.answer ? traceFindings(sent, sent.answer, wants) : answered(sent, op), [sent.exchange]));
        if (route.deprecation) out.push(result(deprecation, sent.answer ? deprecationFindings(route, sent.answer) : answered(sent, op), [sent.exchange]));
        return out;
      },
    },
  ];
  const media = requestBody(route);
  if (!media || media.example === undefined) return groups;
  validVariants(route, media.media, media.example, random, VALID_VARIANTS).forEach((body, i) => {
    const c: PlannedCase = { ...base, id: `contract/${op}/valid-${i + 1}`, category: 'contract', name: `${op} with a schema-valid variant of its example (${i === 0 ? 'optional members left out' : 'seeded change'}): the answer conforms` };
    groups.push({
      cases: [c],
      async run(session) {
        const sent = await session.send(route, { body, key: keyed ? session.key() : undefined, timeoutMs });
        return [result(c, [...answered(sent, op), ...(sent.answer ? conformanceFindings(route, sent.answer) : [])], [sent.exchange])];
      },
    });
  });
  invalidBodies(route, media.media, media.example).forEach(({ body, why }, i) => {
    const c: PlannedCase = { ...base, id: `contract/${op}/invalid-${i + 1}`, category: 'contract', name: `${op} with ${why}: refused with a documented 4xx` };
    groups.push({
      cases: [c],
      async run(session) {
        const sent = await session.send(route, { body, key: keyed ? session.key() : undefined, timeoutMs });
        const refused = sent.answer && (sent.answer.status < 400 || sent.answer.status >= 500) ? [`${op} accepted a request with ${why}: ${describe(sent.answer)} (expected a documented 4xx)`] : [];
        return [result(c, sent.answer ? [...refused, ...conformanceFindings(route, sent.answer)] : answered(sent, op), [sent.exchange])];
      },
    });
  });
  return groups;
}

/** Idempotency judged from outside, and the flow's replay policy: replay, another payload with the key, concurrent requests with one key. */
function idempotencyGroups(route: Route, random: () => number): CaseGroup[] {
  const flow = route.idempotencyFlowEntry;
  const media = requestBody(route);
  if (!flow?.idempotency.keySource.header || isSafe(route) || !acceptsIdempotencyKey(route.op) || (media && media.example === undefined)) return [];
  const op = opName(route);
  const policy = flow.idempotency.replayPolicy;
  const base = { operationId: route.op.operationId ?? null, flow: flow.flow };
  const timeoutMs = timeoutOf(route);
  const replay: PlannedCase = { ...base, id: `idempotency/${op}/replay`, category: 'idempotency', name: `${op} replayed with the same Idempotency-Key: the same status and byte-identical body (or the same Location)` };
  const duplicate: PlannedCase = { ...base, id: `duplicate-handling/${flow.flow}/${op}`, category: 'duplicate-handling', name: `${op} delivered twice is handled as the ${flow.flow} flow's replay policy says (${policy})` };
  const groups: CaseGroup[] = [
    {
      cases: policy === 'reject' ? [duplicate] : [replay, duplicate],
      async run(session) {
        const key = session.key();
        const first = await session.send(route, { key, timeoutMs });
        const second = await session.send(route, { key, timeoutMs });
        const exchanges = [first.exchange, second.exchange];
        const problems = [...answered(first, op), ...answered(second, op)];
        if (problems.length > 0) return (policy === 'reject' ? [duplicate] : [replay, duplicate]).map((c) => result(c, problems, exchanges));
        const a = first.answer!;
        const b = second.answer!;
        const same = sameAnswer(a, b) ? [] : [`the replay answered ${describe(b)}; the first request ${describe(a)}`];
        const handled =
          policy === 'reject'
            ? b.status >= 400 && b.status < 500 ? [] : [`the replay policy is reject, but the duplicate was answered ${describe(b)} (expected a refusal: 409)`]
            : policy === 'merge'
              ? b.status < 300 ? [] : [`the replay policy is merge, but the duplicate was answered ${describe(b)}`]
              : same.length === 0 ? [] : [`the replay policy is return-original, but the duplicate did not get the original answer: ${same[0]}`];
        return policy === 'reject' ? [result(duplicate, handled, exchanges)] : [result(replay, same, exchanges), result(duplicate, handled, exchanges)];
      },
    },
  ];
  const other = media ? otherValidBody(route, media.media, media.example, random, fingerprintPointers(route)) : undefined;
  if (other !== undefined) {
    const c: PlannedCase = { ...base, id: `idempotency/${op}/other-payload`, category: 'idempotency', name: `${op} with a used Idempotency-Key and another payload: refused with 422` };
    groups.push({
      cases: [c],
      async run(session) {
        const key = session.key();
        const first = await session.send(route, { key, timeoutMs });
        const second = await session.send(route, { key, body: other, timeoutMs });
        const problems = [...answered(first, op), ...answered(second, op)];
        if (problems.length === 0 && second.answer!.status !== 422) problems.push(`another payload with a used Idempotency-Key was answered ${describe(second.answer!)} (expected 422): the key does not guard the request`);
        return [result(c, problems, [first.exchange, second.exchange])];
      },
    });
  }
  const concurrent: PlannedCase = { ...base, id: `idempotency/${op}/concurrent`, category: 'idempotency', name: `${CONCURRENT} concurrent ${op} requests with one Idempotency-Key: one distinct answer (409s aside: in flight)` };
  groups.push({
    cases: [concurrent],
    async run(session) {
      const key = session.key();
      const sent = await Promise.all(Array.from({ length: CONCURRENT }, () => session.send(route, { key, timeoutMs })));
      const problems = sent.flatMap((s) => answered(s, op));
      const answers = sent.flatMap((s) => (s.answer && s.answer.status !== 409 ? [s.answer] : []));
      const distinct = answers.filter((a, i) => answers.findIndex((b) => sameAnswer(a, b)) === i);
      // Every answer 409 proves no double effect either (a business conflict replayed, or still in flight): only several different answers do.
      if (problems.length === 0 && distinct.length > 1) problems.push(`concurrent requests with one key got ${distinct.length} different answers: ${distinct.map(describe).join(' | ')}`);
      return [result(concurrent, problems, sent.map((s) => s.exchange))];
    },
  });
  return groups;
}

const retryable = (a: Answer | undefined) => !a || a.status === 409 || a.status === 429 || a.status >= 500;

/** Failure behaviour of a flow step: an abandoned attempt retried with its key as the retry policy says, and its compensation callable and idempotent. */
function failureGroups(route: Route, byId: Map<string, Route>, done: Set<string>): CaseGroup[] {
  const at = stepOf(route);
  if (!at || isSafe(route) || !acceptsIdempotencyKey(route.op) || done.has(opName(route))) return [];
  done.add(opName(route));
  const { flow, step } = at;
  const op = opName(route);
  const base = { operationId: route.op.operationId ?? null, flow: flow.flow };
  const timeoutMs = Math.min(durationMs(step.timeout), 60_000);
  const retry: PlannedCase = { ...base, id: `failure/${flow.flow}/${step.id}/retry`, category: 'failure', name: `${op}: an attempt abandoned and retried at once with its Idempotency-Key (then up to ${step.retry.maxAttempts - 1} more, backoff from ${step.retry.initial}) gets one answer, each within the ${step.timeout} timeout` };
  const groups: CaseGroup[] = [
    {
      cases: [retry],
      async run(session) {
        const key = session.key();
        // The first attempt is not waited for: a client whose timeout fired retries at once.
        const abandoned = session.send(route, { key, timeoutMs });
        const attempts: Sent[] = [await session.send(route, { key, timeoutMs })];
        const first = await abandoned;
        // Under a reject policy a 409 once the first attempt has answered is the duplicate's refusal, not "in flight": nothing to retry.
        const settled = (a: Answer | undefined) => !retryable(a) || (flow.idempotency.replayPolicy === 'reject' && a?.status === 409 && first.answer !== undefined && first.answer.status !== 409);
        for (let n = 1; n < step.retry.maxAttempts && !settled(attempts.at(-1)!.answer); n++) {
          await new Promise((r) => setTimeout(r, Math.min(durationMs(step.retry.initial) * step.retry.multiplier ** (n - 1), durationMs(step.retry.max), MAX_BACKOFF_MS)));
          attempts.push(await session.send(route, { key, timeoutMs }));
        }
        const findings: string[] = [];
        for (const s of [first, ...attempts]) if (s.exchange.durationMs > timeoutMs) findings.push(`an attempt took ${s.exchange.durationMs} ms; the ${flow.flow} flow's timeout for ${step.id} is ${step.timeout}`);
        const last = attempts.at(-1)!;
        if (!first.answer || first.answer.status >= 500) findings.push(...answered(first, op));
        else if (retryable(last.answer) && !(flow.idempotency.replayPolicy === 'reject' && last.answer?.status === 409)) findings.push(`after ${attempts.length} retries the answer was still ${last.answer ? describe(last.answer) : `missing (${last.exchange.error})`}`);
        // Whichever attempt arrived second may have been told 409 (in flight): only two answers of effect must agree.
        else if (flow.idempotency.replayPolicy !== 'reject' && first.answer.status !== 409 && !sameAnswer(first.answer, last.answer!)) findings.push(`the retry got ${describe(last.answer!)}, the abandoned attempt ${describe(first.answer)}: the request took effect twice`);
        return [result(retry, findings, [first.exchange, ...attempts.map((s) => s.exchange)])];
      },
    },
  ];
  const compensation = step.compensation.operationId ? byId.get(step.compensation.operationId) : undefined;
  if (compensation) {
    const c: PlannedCase = { ...base, id: `failure/${flow.flow}/${step.id}/compensation`, category: 'failure', name: `${op}'s compensation ${opName(compensation)} is callable and idempotent` };
    groups.push({
      cases: [c],
      async run(session) {
        const done = await session.send(route, { key: session.key(), timeoutMs });
        if (!done.answer || done.answer.status >= 300) return [result(c, [`${op} did not succeed, so there was nothing to compensate: ${done.answer ? describe(done.answer) : done.exchange.error}`], [done.exchange], 'error')];
        const key = acceptsIdempotencyKey(compensation.op) ? session.key() : undefined;
        const once = await session.send(compensation, { key, timeoutMs: timeoutOf(compensation) });
        const twice = await session.send(compensation, { key, timeoutMs: timeoutOf(compensation) });
        const findings = [...answered(once, opName(compensation)), ...answered(twice, opName(compensation))];
        if (findings.length === 0 && once.answer!.status >= 300) findings.push(`${opName(compensation)} answered ${describe(once.answer!)}: the compensation is not callable`);
        // Idempotent as HTTP means it (RFC 9110 §9.2.2): the same effect again; a DELETE of what is already gone may answer 404 or 410.
        else if (findings.length === 0 && twice.answer!.status >= 300 && !sameAnswer(once.answer!, twice.answer!) && !(compensation.method === 'DELETE' && [404, 410].includes(twice.answer!.status))) findings.push(`${opName(compensation)} called again${key ? ' with the same Idempotency-Key' : ''} answered ${describe(twice.answer!)}: the compensation is not idempotent`);
        for (const s of [once, twice]) if (s.answer) findings.push(...conformanceFindings(compensation, s.answer));
        return [result(c, findings, [done.exchange, once.exchange, twice.exchange])];
      },
    });
  }
  return groups;
}

/** The whole suite of a version: every operation's contract cases, then idempotency and duplicate handling, then failure behaviour. */
export function planSuite(routes: Route[], seed: number): CaseGroup[] {
  const random = seededRandom(seed);
  const byId = new Map(routes.filter((r) => r.op.operationId).map((r) => [r.op.operationId!, r]));
  const done = new Set<string>();
  const failures = routes.flatMap((r) => failureGroups(r, byId, done));
  // Compensations last: a cancelled export would leave later steps nothing to act on.
  const compensating = (g: CaseGroup) => g.cases.some((c) => c.id.endsWith('/compensation'));
  return [...routes.flatMap((r) => contractGroups(r, random)), ...routes.flatMap((r) => idempotencyGroups(r, random)), ...failures.filter((g) => !compensating(g)), ...failures.filter(compensating)];
}
