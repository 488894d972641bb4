import type { Logger } from 'pino';
import type { AuditChain } from './audit/chain.ts';
import type { DiffEngine } from './changes/snapshot.ts';
import type { Config } from './config.ts';
import type { Db } from './db/index.ts';
import type { Metrics } from './observability/metrics.ts';
import type { GitRegistry } from './registry/git-registry.ts';

/** Current time; tests inject a fixed or stepping clock. */
export type Clock = () => Date;

/** Everything a domain function may touch, passed down explicitly. */
export interface Deps {
  db: Db;
  registry: GitRegistry;
  clock: Clock;
  logger: Logger;
  config: Config;
  metrics: Metrics;
  /** The audit log's key and anchors (appendAudit chains with it). */
  audit: AuditChain;
  /** The contract diff change requests are judged with (default Accord's; tests inject a newer engine, ADR 0022). */
  diffEngine?: DiffEngine;
}
