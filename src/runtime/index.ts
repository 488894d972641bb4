import type { Deps } from '../context.ts';
import { RouteTable } from './routes.ts';
import { SagaEngine } from './saga.ts';

/** The exchange runtime of one service: its route table and saga engine. */
export interface Runtime {
  routes: RouteTable;
  engine: SagaEngine;
}

/** Builds the runtime over injected dependencies. */
export function createRuntime(deps: Deps): Runtime {
  const routes = new RouteTable(deps);
  return { routes, engine: new SagaEngine(deps, routes) };
}
