import { createHash } from 'node:crypto';

/**
 * Every PostgreSQL advisory lock Accord takes, in one place so that no two share a key. Fixed
 * keys are four ASCII letters as a 32-bit number; keys of named things (`lockKey`) are 48 bits of
 * a hash, so they cannot equal a fixed one by accident of choice.
 */
export const LOCKS = {
  /** Applying migrations-pg/ at start-up ('accd'). */
  migrations: 0x61636364,
  /** Appending to the audit log's hash chain ('acca'). */
  auditAppend: 0x61636361,
  /** Applying or lifting an SLA intervention ('accs'). */
  slaIntervention: 0x61636373,
  /** The leader of the singleton duties, a session lock ('lead'). */
  leader: 0x6c656164,
  /** First-start work: the first admin token, seeding ('seed'). */
  firstStart: 0x73656564,
  /** Direct-request inserts (shared) against the outbox publisher (exclusive) ('outb'). */
  outboxFence: 0x6f757462,
} as const;

/** An advisory-lock key for a named thing (`change <id>`, `version <partner>/<api>@<version>`): 48 bits of its SHA-256, exact as a JS number and a PostgreSQL bigint. */
export function lockKey(name: string): number {
  return Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 12), 16);
}
