import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits (from Node's pooled UUID
 * randomness). Ids made close in time sort close together, so the B-tree indexes they are
 * stored in take appends near the right edge instead of writes to random pages.
 */
export function timeOrderedUuid(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

/** A new business transaction id (from Node's pooled UUID randomness: cheaper than randomBytes per call). */
export function newTransactionId(): string {
  return `txn_${timeOrderedUuid().replace(/-/g, '').slice(0, 24)}`;
}

/** The exchange id a transaction uses in acknowledgement and finalisation (a contract-valid id). */
export function exchangeId(transactionId: string): string {
  return `xch-${transactionId.slice(4)}`;
}
