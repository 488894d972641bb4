import { count } from 'drizzle-orm';
import pino, { type Logger } from 'pino';
import { createApp } from './app.ts';
import { AuthGuard } from './auth/abuse.ts';
import { AuditChain } from './audit/chain.ts';
import { SYSTEM } from './auth/principal.ts';
import { ensureAdminToken } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Clock, Deps } from './deps.ts';
import { importContracts } from './contracts/import.ts';
import { startCheckpointer } from './db/checkpointer.ts';
import { contractVersions, LOCKS, matrixVersions } from './db/index.ts';
import { openStorage } from './db/open.ts';
import { importMatrix } from './matrix/import.ts';
import { processSunsets } from './notices/notices.ts';
import { disableDisallowedWebhooks, WebhookDispatcher } from './notices/webhook-dispatcher.ts';
import { Metrics } from './observability/metrics.ts';
import { OpsRollups } from './observability/ops-rollups.ts';
import { runSynthetic } from './observability/synthetic.ts';
import { certifyDue } from './certification/schedule.ts';

import { GitRegistry } from './registry/git-registry.ts';
import { loadConfiguredFaults } from './runtime/faults.ts';
import { IdempotencyStore } from './runtime/idempotency.ts';
import { createRuntime, type Runtime } from './runtime/index.ts';
import { publishTransactionEvents } from './runtime/outbox.ts';
import { awaitingApprovals } from './runtime/compensation-approvals.ts';
import { purgeSessions } from './web/sessions.ts';
import { dataDirLayout } from './data-dir.ts';

/** How often the leader looks for scheduled certifications that are due (certifyEvery is at least PT5M). */
const CERTIFICATION_CHECK_MS = 60_000;

/** A started service: its dependencies and what start-up produced. */
export interface Service {
  deps: Deps;
  app: ReturnType<typeof createApp>;
  /** The admin token created on first start (shown once), if one was generated. */
  initialAdminToken: string | undefined;
  /** What start-up imported into an empty registry. */
  seeded: { contracts: number; matrix: number };
  /** The exchange runtime (route table, saga engine). */
  runtime: Runtime;
  /** Abuse limits of authentication: failure and request counters, aggregated refusal rows. */
  guard: AuthGuard;
  /**
   * Resumes unfinished transactions and starts the background jobs (transaction outbox, sunsets)
   * and the webhook dispatcher; returns a stop function that waits for the run in progress.
   */
  startJobs(): Promise<() => Promise<void>>;
  /**
   * Stops the jobs (waiting for the run in progress), writes the pending aggregated refusal rows
   * to the audit log, stops the webhook dispatcher
   * (waiting for attempts in flight, each bounded by ACCORD_WEBHOOK_TIMEOUT_MS) and the saga
   * engine (unfinished transactions stay for the next start), anchors the audit log and closes
   * the database.
   */
  close(): Promise<void>;
}

/**
 * Every ACCORD_JOBS_INTERVAL_MS, one run at a time. On every replica: scorecard counters, the
 * audit rows of refused authentications whose minute has ended, and taking over the sagas no
 * live replica drives. On the leader only (always the one process on SQLite; on PostgreSQL the
 * holder of an advisory lock, ADR 0016): the operations rollups (ADR 0025; every replica adds its
 * duplicates), sunsets, purge of idempotency keys past their window
 * and of ended sessions, SLA evaluation, the transaction outbox, and an audit anchor when an
 * entry has waited a minute for one. Webhook deliveries run in their own dispatcher, never
 * awaited here: a slow endpoint cannot hold these up.
 */
async function startJobs(deps: Deps, runtime: Runtime, webhookDispatcher: WebhookDispatcher, guard: AuthGuard): Promise<() => Promise<void>> {
  await deps.db.$listen();
  await runtime.engine.resume({ startUp: true });
  await webhookDispatcher.start();
  const idempotency = new IdempotencyStore(deps);
  // The operations overview's rollups (ADR 0025): every replica adds its duplicates, the leader folds the outbox.
  const opsRollups = new OpsRollups(deps);
  let leading = false;
  let certificationsCheckedAt = 0;
  const leaderDuties = async () => {
    await processSunsets(deps);
    await idempotency.purgeExpired();
    await purgeSessions(deps);
    await runtime.sla.evaluate();
    await runtime.sla.purge();
    await publishTransactionEvents(deps);
    await deps.audit.anchorIfDue();
    // Periodic partner certification (partner endpoints' certifyEvery, at least PT5M): looked for once a minute, not every tick; the runs continue in the background.
    if (deps.clock().getTime() - certificationsCheckedAt >= CERTIFICATION_CHECK_MS) {
      certificationsCheckedAt = deps.clock().getTime();
      await certifyDue(deps, runtime.certifier).catch((error) => deps.logger.error({ err: error }, 'scheduled certifications failed'));
    }
    // Last, and on its own: a failing fold is logged and never holds up the duties above.
    await opsRollups.fold().catch((error) => deps.logger.error({ err: error }, 'operations rollups failed'));
  };
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = (async () => {
      await runtime.stats.flush();
      await runtime.sla.flush();
      await opsRollups.collectDuplicates().catch((error) => deps.logger.error({ err: error }, 'operations rollups (duplicates) failed'));
      await guard.flushEnded();
      // Rate-limit counts to and from the other replicas (nothing on SQLite).
      await guard.sync();
      await runtime.engine.resume();
      const lead = await deps.db.$lead();
      if (lead !== leading && deps.db.$dialect === 'postgres') deps.logger.info({ replica: deps.config.replicaId }, lead ? 'this replica now leads the singleton duties' : 'this replica no longer leads the singleton duties');
      leading = lead;
      if (lead) await leaderDuties();
    })()
      .catch((error) => deps.logger.error({ err: error }, 'background job failed'))
      .finally(() => (running = undefined));
  }, deps.config.jobsIntervalMs);
  timer.unref();
  // Synthetic transactions on their own schedule (ACCORD_SYNTHETIC_INTERVAL_MS; 0 = on demand only).
  let synthetic: NodeJS.Timeout | undefined;
  let runningSynthetic: Promise<unknown> | undefined;
  if (deps.config.syntheticIntervalMs > 0) {
    synthetic = setInterval(() => {
      if (runningSynthetic) return;
      runningSynthetic = runSynthetic(deps, runtime, SYSTEM)
        .catch((error) => deps.logger.error({ err: error }, 'synthetic transactions failed'))
        .finally(() => (runningSynthetic = undefined));
    }, deps.config.syntheticIntervalMs);
    synthetic.unref();
  }
  // Stopping waits for the run in progress, so nothing writes after the final audit anchor.
  return async () => {
    clearInterval(timer);
    if (synthetic) clearInterval(synthetic);
    await Promise.all([running, runningSynthetic, webhookDispatcher.stop()]);
  };
}

/**
 * Opens storage under the data dir (migrations, WAL, Git registry with crash recovery), loads the
 * audit key and anchors the audit log (refusing to start over a tampered one), installs the first
 * admin token and seeds an empty registry with the reference network.
 */
export async function openService(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<Service> {
  const logger = options.logger ?? pino({ level: config.logLevel }, config.logFormat === 'pretty' ? pino.transport({ target: 'pino-pretty', options: { destination: 1 } }) : undefined);
  const clock = options.clock ?? (() => new Date());
  const layout = dataDirLayout(config.dataDir);
  const db = await openStorage(config, layout.database);
  const indexedTag = async (tag: string) => (await db.$sql.value('SELECT 1 FROM contract_versions WHERE tag = @tag UNION ALL SELECT 1 FROM matrix_versions WHERE tag = @tag', { tag })) !== undefined;
  const registry = await GitRegistry.open(layout.registry, indexedTag, { durability: config.durability, remote: config.registryRemote });
  const metrics = new Metrics(config.telemetry, {
    inFlight: async () => (await db.$sql.all("SELECT partner, flow, count(*) AS count FROM transactions WHERE state NOT IN ('completed', 'compensated') GROUP BY partner, flow")) as Array<{ partner: string; flow: string; count: number }>,
    interventions: async () =>
      ((await db.$sql.all('SELECT partner, flow, actions FROM sla_interventions WHERE lifted_at IS NULL')) as Array<{ partner: string; flow: string; actions: string }>).flatMap((r) =>
        (JSON.parse(r.actions) as string[]).map((action) => ({ partner: r.partner, flow: r.flow, action })),
      ),
    awaitingApproval: async () => await awaitingApprovals(db),
  });
  const audit = await AuditChain.open({ db, registry, logger, config }).catch(async (error) => {
    await db.$close();
    throw error;
  });
  const deps: Deps = { db, registry, clock, logger, config, metrics, audit };

  // Replicas starting together on an empty PostgreSQL database: one installs the first token and seeds, the others then find it done.
  const { admin, seeded } = await db.$exclusively(LOCKS.firstStart, async () => {
    const admin = await ensureAdminToken(deps, config.adminToken);
    const seeded = { contracts: 0, matrix: 0 };
    if (config.seedDir) {
      // Contracts first: the matrix is checked against them.
      if ((await db.select({ n: count() }).from(contractVersions).get())!.n === 0) {
        seeded.contracts = (await importContracts(deps, SYSTEM, config.seedDir, { state: 'released' })).filter((r) => r.created).length;
      }
      if ((await db.select({ n: count() }).from(matrixVersions).get())!.n === 0) {
        seeded.matrix = (await importMatrix(deps, SYSTEM, config.seedDir)).filter((r) => r.created).length;
      }
      if (seeded.contracts + seeded.matrix > 0) logger.info({ ...seeded, from: config.seedDir }, 'seeded the reference network');
    }
    return { admin, seeded };
  });
  if (config.faultsFile) {
    const faults = await loadConfiguredFaults(deps, config.faultsFile);
    logger.warn({ count: faults.length, file: config.faultsFile }, 'fault injection from ACCORD_FAULTS is active');
  }
  await disableDisallowedWebhooks(deps);
  const webhookDispatcher = new WebhookDispatcher(deps);
  const runtime = await createRuntime(deps);
  const guard = new AuthGuard(deps);
  const checkpointer = db.$sqlite ? startCheckpointer(db.$sqlite, layout.database, logger) : undefined;
  let stopJobs: (() => Promise<void>) | undefined;
  return {
    deps,
    runtime,
    guard,
    app: createApp(deps, runtime, guard),
    startJobs: async () => (stopJobs = await startJobs(deps, runtime, webhookDispatcher, guard)),
    initialAdminToken: admin?.generated ? admin.token : undefined,
    seeded,
    close: async () => {
      await stopJobs?.();
      // The last minute's aggregated refusals (401s, 429s) reach the audit log before it closes.
      await guard.flush();
      await webhookDispatcher.stop();
      // Runs in progress end (their remaining cases as errors) before the database closes.
      await runtime.certifier.stop();
      await runtime.engine.stop();
      // This replica's SLA samples of the last seconds reach sla_rollups before the database closes.
      await runtime.sla.flush();
      await audit.close();
      await checkpointer?.stop();
      await db.$close();
    },
  };
}
