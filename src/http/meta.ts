import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { servedDocument } from './api.ts';
import { operationsRouter, serve } from './operation.ts';
import { getLiveness, getMetrics, getOpenApiDocument, getReadiness } from './operations/meta.ts';
import type { AppEnv } from './env.ts';

/** Liveness and readiness probes, this API's document and the metrics (no token needed). */
export function metaRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, getLiveness, (c) => c.json({ status: 'ok' }));
  serve(app, getReadiness, async (c) => {
    const checks: Record<string, string> = {};
    try {
      await deps.db.$sql.get('SELECT 1');
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
  const document = servedDocument(deps.config.publicUrl);
  serve(app, getOpenApiDocument, (c) => c.json(document));
  serve(app, getMetrics, async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType }));
  return app;
}
