import type { OpenAPIHono } from '@hono/zod-openapi';
import { recordRelease } from '../changes/releases.ts';
import type { Deps } from '../deps.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/releases.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/releases: recorded releases, each on a passing gate decision. */
export function releasesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.recordRelease, async (c, { body }) => c.json(await recordRelease(deps, principalOf(c), body), 201));
  return app;
}
