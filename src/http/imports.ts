import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { importFiles } from '../imports/import.ts';
import { principalOf, type AppEnv } from './env.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/imports.ts';

/** /v1/imports: registry-layout files applied all or nothing. */
export function importsRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.importRegistryFiles, async (c, { body }) => {
    const result = await importFiles(deps, principalOf(c), body);
    return c.json(result, result.applied ? 201 : 200);
  });
  return app;
}
