import type { Deps } from '../deps.ts';
import { PartnerStats } from '../observability/partner-stats.ts';
import { SlaMonitor } from '../observability/sla.ts';
import { Certifier } from '../certification/certifier.ts';
import { RouteTable } from './route-table.ts';
import { SagaEngine } from './saga/engine.ts';

/** The exchange runtime of one service: route table, saga engine, SLA monitor and partner counters. */
export interface Runtime {
  routes: RouteTable;
  engine: SagaEngine;
  sla: SlaMonitor;
  stats: PartnerStats;
  /** Certification runs against partners' endpoints and the reference partner (issue 20). */
  certifier: Certifier;
}

/** Builds the runtime over injected dependencies. */
export async function createRuntime(deps: Deps): Promise<Runtime> {
  const routes = new RouteTable(deps);
  const sla = await SlaMonitor.open(deps, () => routes.allFlows());
  return { routes, sla, stats: new PartnerStats(deps), engine: new SagaEngine(deps, routes, sla), certifier: new Certifier(deps, routes) };
}
