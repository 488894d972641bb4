import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { Id, ID_PATTERN } from '../contracts/ids.ts';
import { faultInjections, changesOf } from '../db/index.ts';
import { onSignal } from '../db/signals.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { isObject } from '../lib/json.ts';
import { fieldErrors } from '../lib/validate.ts';
import { parseYaml } from '../lib/yaml.ts';

/** What an injected fault does to a partner call. */
export const FAULT_KINDS = ['timeout', 'error-status', 'validation-error', 'partial-write', 'delayed-event', 'duplicate-delivery'] as const;
/** Where a fault came from: the API, or the ACCORD_FAULTS file at start-up. */
export const FAULT_SOURCES = ['api', 'config'] as const;
export type Fault = typeof faultInjections.$inferSelect;

const STEP_RULE = 'must name a step id or an operationId';
const FLOW_RULE = 'must be a flow id';
const STATUS_RULE = 'must be an HTTP error status (400–599)';
const DELAY_RULE = 'must be the delay in milliseconds (1–600000)';
const REMAINING_RULE = 'must be a positive integer (how many calls it affects), or null for all';

/** A fault to inject (API, ACCORD_FAULTS file, fault experiments): its shape. */
export const FaultRequest = z
  .object({
    partner: Id.meta({ description: 'The partner whose calls fail' }),
    step: z
      .string({ error: STEP_RULE })
      .regex(/^[A-Za-z0-9_-]{1,128}$/, STEP_RULE)
      .meta({ description: 'Step id or operationId (compensation operations too)' }),
    kind: z.enum(FAULT_KINDS, { error: `must be one of ${FAULT_KINDS.join(', ')}` }),
    flow: z.string({ error: FLOW_RULE }).regex(ID_PATTERN, FLOW_RULE).optional().meta({ description: 'Only in this flow' }),
    transactionId: z.string({ error: 'must be a transaction id' }).optional().meta({ description: 'Only in this transaction' }),
    status: z.number({ error: STATUS_RULE }).int(STATUS_RULE).min(400, STATUS_RULE).max(599, STATUS_RULE).optional().meta({ description: 'error-status: the status answered (default 503)' }),
    delayMs: z.number({ error: DELAY_RULE }).int(DELAY_RULE).min(1, DELAY_RULE).max(600_000, DELAY_RULE).optional().meta({ description: 'delayed-event (required there): the delay' }),
    remaining: z
      .number({ error: REMAINING_RULE })
      .int(REMAINING_RULE)
      .min(1, REMAINING_RULE)
      .nullish()
      .meta({ description: 'How many calls it affects; null = until removed' }),
  })
  .superRefine((fault, ctx) => {
    if (fault.kind === 'delayed-event' && fault.delayMs === undefined) ctx.addIssue({ code: 'custom', path: ['delayMs'], message: DELAY_RULE });
  })
  .meta({ id: 'FaultRequest' });

export type FaultRequest = z.output<typeof FaultRequest>;

/** A fault for one transaction (fault experiments): its partner and transaction id come from the transaction. */
export type TransactionFault = Omit<z.input<typeof FaultRequest>, 'partner' | 'transactionId'>;

/** What a problem with a fault says. */
export const FAULT_PROBLEM = 'The fault is invalid';

// Faults change rarely and are read on every runtime call: keep them in memory per database,
// reloaded after any change (the generation counter).
let generation = 0;
const cache = new WeakMap<object, { generation: number; faults: Fault[] }>();

async function all(deps: Pick<Deps, 'db'>): Promise<Fault[]> {
  let cached = cache.get(deps.db);
  if (cached?.generation !== generation) {
    cached = { generation, faults: await deps.db.select().from(faultInjections).orderBy(desc(faultInjections.createdAt)).all() };
    cache.set(deps.db, cached);
  }
  return cached.faults;
}

// Any replica's change (signals.ts): reload on the next read.
onSignal('faults', () => void generation++);

function row(input: FaultRequest, source: (typeof FAULT_SOURCES)[number], by: string, now: Date): Fault {
  return {
    id: `flt_${randomBytes(8).toString('hex')}`,
    partner: input.partner,
    step: input.step,
    kind: input.kind,
    flow: input.flow ?? null,
    transactionId: input.transactionId ?? null,
    status: input.kind === 'error-status' ? (input.status ?? 503) : input.kind === 'validation-error' ? 400 : null,
    delayMs: input.delayMs ?? null,
    remaining: input.remaining ?? null,
    source,
    createdBy: by,
    createdAt: now.toISOString(),
  };
}

function sandboxOnly(deps: Pick<Deps, 'config'>): void {
  if (deps.config.runtimeEnvironment !== 'sandbox') throw new AccordError('conflict', `Fault injection is only available in the sandbox environment (ACCORD_RUNTIME_ENV is "${deps.config.runtimeEnvironment}")`);
}

/** Injects a fault (sandbox only). */
export async function createFault(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, input: FaultRequest): Promise<Fault> {
  sandboxOnly(deps);
  const fault = row(input, 'api', principal.name, deps.clock());
  // The signal commits with the fault: every replica drops its cache at that commit.
  await deps.db.transaction(async (tx) => {
    await tx.insert(faultInjections).values(fault).run();
    await tx.$signal('faults');
  });
  return fault;
}

/** Stores a fault inside the caller's SQLite transaction (engine: transaction-scoped experiment faults); throws 400 on an invalid one. */
export async function insertFault(dbTx: Pick<Deps['db'], 'insert' | '$signal'>, principal: Principal, input: z.input<typeof FaultRequest>, now: Date): Promise<Fault> {
  const parsed = FaultRequest.safeParse(input);
  if (!parsed.success) throw new AccordError('bad_request', FAULT_PROBLEM, { errors: fieldErrors(parsed.error, 'body') });
  const fault = row(parsed.data, 'api', principal.name, now);
  await dbTx.insert(faultInjections).values(fault).run();
  await dbTx.$signal('faults');
  return fault;
}

/** Every active fault, newest first. */
export async function listFaults(deps: Pick<Deps, 'db'>): Promise<Fault[]> {
  return await all(deps);
}

/** Removes a fault. */
export async function deleteFault(deps: Pick<Deps, 'db'>, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (changesOf(await tx.delete(faultInjections).where(eq(faultInjections.id, id)).run()) === 0) throw new AccordError('not_found', `No fault ${id}`);
    await tx.$signal('faults');
  });
}

/**
 * Replaces the faults from configuration with those in `file` (YAML or JSON: a list of faults),
 * at start-up. Throws with every problem if the file is invalid, before changing anything.
 */
export async function loadConfiguredFaults(deps: Pick<Deps, 'db' | 'clock' | 'config'>, file: string): Promise<Fault[]> {
  let data: unknown;
  try {
    data = parseYaml(fs.readFileSync(file, 'utf8'), { maxAliases: 0 });
  } catch (error) {
    throw new AccordError('bad_request', `ACCORD_FAULTS: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!Array.isArray(data)) throw new AccordError('bad_request', `ACCORD_FAULTS: ${file} must hold a list of faults`);
  const errors: FieldError[] = [];
  const requests: FaultRequest[] = [];
  data.forEach((f, i) => {
    const parsed = FaultRequest.safeParse(f);
    if (parsed.success) requests.push(parsed.data);
    else if (!isObject(f)) errors.push({ location: `/${i}`, message: 'must be an object' });
    else errors.push(...fieldErrors(parsed.error, 'body').map((e) => ({ ...e, location: `/${i}${e.location}` })));
  });
  if (errors.length > 0) throw new AccordError('bad_request', `ACCORD_FAULTS: ${file} is invalid: ${errors.map((e) => `${e.location} ${e.message}`).join('; ')}`, { errors });
  if (data.length > 0) sandboxOnly(deps);
  const faults = requests.map((f) => row(f, 'config', 'config', deps.clock()));
  await deps.db.transaction(async (dbTx) => {
    await dbTx.delete(faultInjections).where(eq(faultInjections.source, 'config')).run();
    for (const fault of faults) await dbTx.insert(faultInjections).values(fault).run();
    await dbTx.$signal('faults');
  });
  return faults;
}

/**
 * The fault that applies to one partner call, if any, and uses it up (`remaining`).
 * Transaction-scoped faults win over flow-scoped ones, which win over partner-wide ones.
 */
export async function takeFault(deps: Pick<Deps, 'db'>, call: { partner: string; flow: string | undefined; step: string | undefined; operationId: string | undefined; transactionId: string | undefined }): Promise<Fault | undefined> {
  const faults = await all(deps);
  if (faults.length === 0) return undefined;
  const applies = faults.filter(
    (f) =>
      f.partner === call.partner &&
      (f.step === call.step || f.step === call.operationId) &&
      (!f.flow || f.flow === call.flow) &&
      (!f.transactionId || f.transactionId === call.transactionId),
  );
  const fault = applies.find((f) => f.transactionId) ?? applies.find((f) => f.flow) ?? applies[0];
  if (!fault || fault.remaining === null) return fault;
  if (fault.remaining <= 1) await deps.db.delete(faultInjections).where(eq(faultInjections.id, fault.id)).run();
  else await deps.db.update(faultInjections).set({ remaining: fault.remaining - 1 }).where(eq(faultInjections.id, fault.id)).run();
  await deps.db.$signal('faults');
  return fault;
}
