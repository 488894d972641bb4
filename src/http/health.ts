import { Hono } from 'hono';
import type { Deps } from '../context.ts';
import type { AppEnv } from './types.ts';

/** Liveness and readiness probes (no token needed). */
export function healthRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks: Record<string, string> = {};
    try {
      deps.db.$client.prepare('SELECT 1').get();
      checks.database = 'ok';
    } catch (error) {
      checks.database = `failed: ${(error as Error).message}`;
    }
    try {
      await deps.registry.ping();
      checks.registry = 'ok';
    } catch (error) {
      checks.registry = `failed: ${(error as Error).message}`;
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    return c.json({ status: ready ? 'ready' : 'not ready', checks }, ready ? 200 : 503);
  });
  return app;
}
