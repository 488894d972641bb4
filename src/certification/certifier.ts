import { randomBytes } from 'node:crypto';
import { and, eq, gt } from 'drizzle-orm';
import semver from 'semver';
import type { Principal } from '../auth/principal.ts';
import { createToken, revokeToken } from '../auth/tokens.ts';
import { findVersion } from '../contracts/versions.ts';
import { certificationRuns, lockKey } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { currentFlows } from '../matrix/store.ts';
import { outboundPolicy } from '../outbound/address-policy.ts';
import { OUTBOUND_FAILURES, sendOutbound } from '../outbound/http-client.ts';
import { partnerAuthorization } from '../partners/credentials.ts';
import { endpointCredential } from '../partners/endpoints.ts';
import { versionRoutes, type Route, type RouteTable } from '../runtime/route-table.ts';
import { finishRun } from './finish.ts';
import { ABANDONED_AFTER_MS, type CertificationRequest, type RunRow } from './runs.ts';
import { Session, type Transport } from './session.ts';
import { planSuite, type CaseGroup, type CaseResult } from './suite.ts';

/**
 * Runs certifications: plans the suite of a version, stores the run, then calls the partner in
 * the background (this replica), writing each case's result as it ends so every replica can
 * show the progress. A run against Accord's own reference partner goes through the exchange
 * in-process with a token minted for it and revoked when it ends.
 */

/** The longest a run may take; cases not started by then end as errors. */
const RUN_DEADLINE_MS = 10 * 60_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** How often a running run tells the other replicas it is alive (a run silent for ABANDONED_AFTER_MS is reported abandoned). */
const HEARTBEAT_MS = 30_000;

type SelfFetch = (request: Request) => Response | Promise<Response>;

export class Certifier {
  private readonly running = new Set<Promise<void>>();
  private selfFetch: SelfFetch | undefined;
  private stopping = false;

  constructor(
    private readonly deps: Deps,
    private readonly routes: RouteTable,
  ) {}

  /** How the reference target reaches Accord's own exchange: the app's fetch (set once the app is built). */
  serveSelf(fetch: SelfFetch): void {
    this.selfFetch = fetch;
  }

  /** Plans, stores and starts a run (202 for the caller); the calls happen in the background. */
  async start(principal: Principal, input: CertificationRequest, trigger: 'request' | 'schedule' = 'request'): Promise<RunRow> {
    const deps = this.deps;
    if (principal.role === 'partner' && principal.partner !== input.partner) throw new AccordError('forbidden', `A partner certifies its own endpoints only (this token speaks for ${principal.partner})`);
    const version = await findVersion(deps, input.partner, input.api, input.version);
    if (!version) throw new AccordError('not_found', `No contract version ${input.partner}/${input.api}@${input.version}`);
    const id = `crt_${randomBytes(8).toString('hex')}`;
    const target = input.target === 'reference' ? await this.referenceTarget(input, id) : await this.endpointTarget(input);
    let routes: Route[];
    let groups: CaseGroup[];
    let planned: CaseResult[];
    let row: RunRow;
    const notes: string[] = [];
    try {
      routes = await versionRoutes(deps, version, (await currentFlows(deps)).map((f) => f.entry));
      groups = planSuite(routes, input.seed);
      planned = groups.flatMap((g) => g.cases.map((c) => ({ ...c, verdict: 'pending' as const, findings: [], exchanges: [] })));
      if (planned.length === 0) throw new AccordError('invalid_document', `${input.partner}/${input.api}@${input.version} has no operations to certify`);
      const now = deps.clock().toISOString();
      notes.push(`Dedupe windows (${[...new Set(routes.flatMap((r) => (r.idempotencyFlowEntry ? [`${r.idempotencyFlowEntry.flow} ${r.idempotencyFlowEntry.idempotency.dedupeWindow}`] : [])))].join(', ') || 'none'}) are longer than a run: a key's expiry is not waited out.`);
      const values = { id, partner: input.partner, api: input.api, version: input.version, environment: target.environment, target: input.target, contentSha256: version.sha256, seed: input.seed, status: 'running', total: planned.length, done: 0, failures: 0, report: JSON.stringify({ cases: planned }), summary: JSON.stringify({ evidence: [], notes }), error: null, trigger, createdAt: now, createdBy: principal.name, heartbeatAt: now, finishedAt: null };
      // One run at a time per partner, API, environment and target (across replicas): a partner is not load-tested by accident.
      row = await deps.db.transaction(async (tx) => {
        await tx.$serialize(lockKey(`certification ${input.partner}/${input.api} ${target.environment} ${input.target}`));
        const busy = await tx
          .select({ id: certificationRuns.id })
          .from(certificationRuns)
          .where(and(eq(certificationRuns.partner, input.partner), eq(certificationRuns.api, input.api), eq(certificationRuns.environment, target.environment), eq(certificationRuns.target, input.target), eq(certificationRuns.status, 'running'), gt(certificationRuns.heartbeatAt, new Date(deps.clock().getTime() - ABANDONED_AFTER_MS).toISOString())))
          .get();
        if (busy) throw new AccordError('conflict', `Certification ${busy.id} of ${input.partner}/${input.api} in ${target.environment} is still running: wait for it (GET /v1/certifications/${busy.id})`);
        return await tx.insert(certificationRuns).values(values).returning().get();
      });
    } catch (error) {
      await target.release();
      throw error;
    }
    deps.logger.info({ certification: id, partner: input.partner, api: input.api, version: input.version, environment: target.environment, target: input.target, cases: planned.length, by: principal.name }, 'certification started');
    const session = new Session(target.transport, target.base, routes, id, target.authenticated);
    const run = this.execute(row, groups, planned, notes, session)
      .catch((error) => deps.logger.error({ err: error, certification: id }, 'certification run failed'))
      .finally(() => target.release());
    const tracked = run.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return row;
  }

  /** Resolves when every run of this replica has ended. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Ends the runs in progress (their remaining cases become errors) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  private async execute(row: RunRow, groups: CaseGroup[], cases: CaseResult[], notes: string[], session: Session): Promise<void> {
    const deps = this.deps;
    // Alive while a slow case waits on the partner: other replicas tell a running run from an abandoned one by this.
    const heartbeat = setInterval(() => {
      deps.db.update(certificationRuns).set({ heartbeatAt: deps.clock().toISOString() }).where(eq(certificationRuns.id, row.id)).run().catch(() => {});
    }, HEARTBEAT_MS);
    heartbeat.unref();
    let interrupted: string | undefined;
    try {
      interrupted = await this.runGroups(row, groups, cases, notes, session);
    } finally {
      clearInterval(heartbeat);
    }
    await finishRun(deps, row, cases, notes, interrupted);
  }

  /** Runs the groups in order, storing each one's results; answers why the run was cut short, if it was. */
  private async runGroups(row: RunRow, groups: CaseGroup[], cases: CaseResult[], notes: string[], session: Session): Promise<string | undefined> {
    const deps = this.deps;
    const deadline = Date.now() + RUN_DEADLINE_MS;
    let done = 0;
    let interrupted: string | undefined;
    for (const group of groups) {
      let results: CaseResult[];
      if (this.stopping || Date.now() > deadline) {
        interrupted ??= this.stopping ? 'the server stopped during the run' : `the run passed its ${RUN_DEADLINE_MS / 60_000}-minute deadline`;
        results = group.cases.map((c) => ({ ...c, verdict: 'error', findings: [`not run: ${interrupted}`], exchanges: [] }));
      } else {
        try {
          results = await group.run(session);
        } catch (error) {
          results = group.cases.map((c) => ({ ...c, verdict: 'error', findings: [`the case could not run: ${(error as Error).message}`], exchanges: [] }));
        }
      }
      for (const r of results) cases[cases.findIndex((c) => c.id === r.id)] = r;
      done += results.length;
      await deps.db
        .update(certificationRuns)
        .set({ done, failures: cases.filter((c) => c.verdict === 'fail' || c.verdict === 'error').length, report: JSON.stringify({ cases }), heartbeatAt: deps.clock().toISOString() })
        .where(eq(certificationRuns.id, row.id))
        .run();
    }
    return interrupted;
  }

  /** The partner's registered endpoint for the environment, and the credential it is called with. */
  private async endpointTarget(input: CertificationRequest) {
    const deps = this.deps;
    if (!input.environment) throw new AccordError('invalid_document', 'Invalid certification request', { errors: [{ location: '/environment', message: 'is required for target endpoint: the partner environment to certify' }] });
    const environment = input.environment;
    const endpoint = await endpointCredential(deps, input.partner, environment);
    if (!endpoint) throw new AccordError('not_found', `${input.partner} has no endpoint for ${environment}: PUT /v1/partners/${input.partner}/endpoints`);
    // Asked up front: a token endpoint that refuses makes the request fail (503), not every case.
    const authorization = await partnerAuthorization(deps, input.partner, environment);
    const base = endpoint.row.baseUrl.replace(/\/+$/, '');
    const policy = outboundPolicy(deps.config);
    const transport: Transport = async (call) => {
      // Per call (cached until 30 s before it expires): a run may outlive an access token.
      let current: Record<string, string>;
      try {
        current = await partnerAuthorization(deps, input.partner, environment);
      } catch (error) {
        return { error: `no credential for the call: ${(error as Error).message}` };
      }
      const result = await sendOutbound(policy, { url: `${base}${call.path}`, method: call.method, headers: { ...call.headers, ...current }, body: call.body, timeoutMs: call.timeoutMs, maxResponseBytes: MAX_RESPONSE_BYTES });
      if (result.outcome === 'failed') return { error: OUTBOUND_FAILURES[result.failure] };
      return { answer: { status: result.status, headers: result.headers, body: result.body.toString('utf8') } };
    };
    return { environment, base, transport, authenticated: Object.keys(authorization).length > 0, release: async () => {} };
  }

  /** Accord's own reference partner through its exchange (the line must serve this version), with a token minted for the run. */
  private async referenceTarget(input: CertificationRequest, id: string) {
    const deps = this.deps;
    const environment = deps.config.runtimeEnvironment;
    if (input.environment !== undefined && input.environment !== environment) {
      throw new AccordError('invalid_document', 'Invalid certification request', { errors: [{ location: '/environment', message: `the reference partner runs in this server's runtime environment, ${environment} (ACCORD_RUNTIME_ENV); leave it out or say ${environment}` }] });
    }
    const line = `${input.partner}/${input.api}/v${semver.major(input.version)}`;
    const served = (await this.routes.line(line))[0];
    if (!served || served.version !== input.version) {
      throw new AccordError('conflict', `The exchange does not serve ${input.partner}/${input.api}@${input.version}: ${served ? `the v${semver.major(input.version)} line serves ${served.version}` : 'no version of that line is released or approved for it'}`);
    }
    const selfFetch = this.selfFetch;
    if (!selfFetch) throw new AccordError('unavailable', 'The exchange is not available in this process');
    const token = await createToken(deps, 'accord', { role: 'operator', name: `certification ${id}`, expiresIn: 'PT15M', scopes: ['exchange'] });
    const base = `/exchange/${line}`;
    const transport: Transport = async (call) => {
      const request = new Request(`http://accord.internal${base}${call.path}`, { method: call.method, headers: { ...call.headers, Authorization: `Bearer ${token.token}` }, body: call.body });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<{ error: string }>((resolve) => (timer = setTimeout(() => resolve({ error: `no answer within ${call.timeoutMs} ms` }), call.timeoutMs)));
      const answered = (async () => {
        const res = await selfFetch(request);
        const headers: Record<string, string> = {};
        res.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
        return { answer: { status: res.status, headers, body: await res.text() } };
      })();
      try {
        return await Promise.race([answered, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };
    return {
      environment,
      base: `${deps.config.publicUrl}${base}`,
      transport,
      authenticated: true,
      release: async () => void (await revokeToken(deps, token.id, { role: 'admin' }).catch((error) => deps.logger.warn({ err: error, certification: id }, 'could not revoke the certification token'))),
    };
  }
}
