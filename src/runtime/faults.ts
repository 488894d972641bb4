import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { desc, eq } from 'drizzle-orm';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { checkIds } from '../contracts/ids.ts';
import { faultInjections } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { isObject } from '../lib/json.ts';
import { parseYaml } from '../lib/yaml.ts';

export const FAULT_KINDS = ['timeout', 'error-status', 'validation-error', 'partial-write', 'delayed-event', 'duplicate-delivery'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type Fault = typeof faultInjections.$inferSelect;

export interface FaultInput {
  partner?: unknown;
  step?: unknown;
  kind?: unknown;
  flow?: unknown;
  transactionId?: unknown;
  status?: unknown;
  delayMs?: unknown;
  remaining?: unknown;
}

// Faults change rarely and are read on every runtime call: keep them in memory per database,
// reloaded after any change (the generation counter).
let generation = 0;
const cache = new WeakMap<object, { generation: number; faults: Fault[] }>();

function all(deps: Pick<Deps, 'db'>): Fault[] {
  let cached = cache.get(deps.db.$client);
  if (cached?.generation !== generation) {
    cached = { generation, faults: deps.db.select().from(faultInjections).orderBy(desc(faultInjections.createdAt)).all() };
    cache.set(deps.db.$client, cached);
  }
  return cached.faults;
}

function changed(): void {
  generation++;
}

function check(input: FaultInput, at: string): FieldError[] {
  const errors: FieldError[] = checkIds({ [`${at}/partner`]: input.partner as string }).map((e) => ({ ...e }));
  if (typeof input.step !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(input.step)) errors.push({ location: `${at}/step`, message: 'must name a step id or an operationId' });
  if (!(FAULT_KINDS as readonly unknown[]).includes(input.kind)) errors.push({ location: `${at}/kind`, message: `must be one of ${FAULT_KINDS.join(', ')}` });
  if (input.flow !== undefined && (typeof input.flow !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.flow))) errors.push({ location: `${at}/flow`, message: 'must be a flow id' });
  if (input.transactionId !== undefined && typeof input.transactionId !== 'string') errors.push({ location: `${at}/transactionId`, message: 'must be a transaction id' });
  if (input.status !== undefined && (!Number.isInteger(input.status) || (input.status as number) < 400 || (input.status as number) > 599)) errors.push({ location: `${at}/status`, message: 'must be an HTTP error status (400–599)' });
  if (input.kind === 'delayed-event' && (!Number.isInteger(input.delayMs) || (input.delayMs as number) < 1 || (input.delayMs as number) > 600_000)) errors.push({ location: `${at}/delayMs`, message: 'must be the delay in milliseconds (1–600000)' });
  if (input.remaining !== undefined && input.remaining !== null && (!Number.isInteger(input.remaining) || (input.remaining as number) < 1)) errors.push({ location: `${at}/remaining`, message: 'must be a positive integer (how many calls it affects), or null for all' });
  return errors;
}

function row(input: FaultInput, source: 'api' | 'config', by: string, now: Date): Fault {
  return {
    id: `flt_${randomBytes(8).toString('hex')}`,
    partner: input.partner as string,
    step: input.step as string,
    kind: input.kind as string,
    flow: (input.flow as string | undefined) ?? null,
    transactionId: (input.transactionId as string | undefined) ?? null,
    status: input.kind === 'error-status' ? ((input.status as number | undefined) ?? 503) : input.kind === 'validation-error' ? 400 : null,
    delayMs: (input.delayMs as number | undefined) ?? null,
    remaining: (input.remaining as number | null | undefined) ?? null,
    source,
    createdBy: by,
    createdAt: now.toISOString(),
  };
}

function sandboxOnly(deps: Pick<Deps, 'config'>): void {
  if (deps.config.runtimeEnvironment !== 'sandbox') throw new AccordError('conflict', `Fault injection is only available in the sandbox environment (ACCORD_RUNTIME_ENV is "${deps.config.runtimeEnvironment}")`);
}

/** Injects a fault (admin or ci, sandbox only). */
export function createFault(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, input: FaultInput): Fault {
  requireRole(principal, ['admin', 'ci'], 'inject faults');
  sandboxOnly(deps);
  const errors = check(input, '');
  if (errors.length > 0) throw new AccordError('bad_request', 'The fault is invalid', { errors });
  const fault = row(input, 'api', principal.name, deps.clock());
  deps.db.insert(faultInjections).values(fault).run();
  changed();
  return fault;
}

/** Stores a fault inside the caller's SQLite transaction (engine: transaction-scoped experiment faults); throws on an invalid one. */
export function insertFault(dbTx: Pick<Deps['db'], 'insert'>, principal: Principal, input: FaultInput, now: Date): Fault {
  const errors = check(input, '');
  if (errors.length > 0) throw new AccordError('bad_request', 'The fault is invalid', { errors });
  const fault = row(input, 'api', principal.name, now);
  dbTx.insert(faultInjections).values(fault).run();
  changed();
  return fault;
}

/** Every active fault, newest first. */
export function listFaults(deps: Pick<Deps, 'db'>, principal: Principal): Fault[] {
  requireRole(principal, ['admin', 'ci', 'author', 'approver'], 'read injected faults');
  return all(deps);
}

/** Removes a fault. */
export function deleteFault(deps: Pick<Deps, 'db'>, principal: Principal, id: string): void {
  requireRole(principal, ['admin', 'ci'], 'remove faults');
  if (deps.db.delete(faultInjections).where(eq(faultInjections.id, id)).run().changes === 0) throw new AccordError('not_found', `No fault ${id}`);
  changed();
}

/**
 * Replaces the faults from configuration with those in `file` (YAML or JSON: a list of faults),
 * at start-up. Throws with every problem if the file is invalid, before changing anything.
 */
export function loadConfiguredFaults(deps: Pick<Deps, 'db' | 'clock' | 'config'>, file: string): Fault[] {
  let data: unknown;
  try {
    data = parseYaml(fs.readFileSync(file, 'utf8'), { maxAliases: 0 });
  } catch (error) {
    throw new AccordError('bad_request', `ACCORD_FAULTS: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!Array.isArray(data)) throw new AccordError('bad_request', `ACCORD_FAULTS: ${file} must hold a list of faults`);
  const errors = data.flatMap((f, i) => (isObject(f) ? check(f as FaultInput, `/${i}`) : [{ location: `/${i}`, message: 'must be an object' }]));
  if (errors.length > 0) throw new AccordError('bad_request', `ACCORD_FAULTS: ${file} is invalid: ${errors.map((e) => `${e.location} ${e.message}`).join('; ')}`, { errors });
  if (data.length > 0) sandboxOnly(deps);
  const faults = data.map((f) => row(f as FaultInput, 'config', 'config', deps.clock()));
  deps.db.transaction((dbTx) => {
    dbTx.delete(faultInjections).where(eq(faultInjections.source, 'config')).run();
    for (const fault of faults) dbTx.insert(faultInjections).values(fault).run();
  });
  changed();
  return faults;
}

/**
 * The fault that applies to one partner call, if any, and uses it up (`remaining`).
 * Transaction-scoped faults win over flow-scoped ones, which win over partner-wide ones.
 */
export function takeFault(deps: Pick<Deps, 'db'>, call: { partner: string; flow: string | undefined; step: string | undefined; operationId: string | undefined; transactionId: string | undefined }): Fault | undefined {
  const faults = all(deps);
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
  if (fault.remaining <= 1) deps.db.delete(faultInjections).where(eq(faultInjections.id, fault.id)).run();
  else deps.db.update(faultInjections).set({ remaining: fault.remaining - 1 }).where(eq(faultInjections.id, fault.id)).run();
  changed();
  return fault;
}
