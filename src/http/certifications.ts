import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Certifier } from '../certification/certifier.ts';
import { getRun, junitReport, listRuns, runView } from '../certification/runs.ts';
import type { Deps } from '../deps.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/certifications.ts';
import { pageFrom, sendPage } from './pages.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/certifications: partner certification runs. */
export function certificationsRouter(deps: Deps, certifier: Certifier): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.startCertification, async (c, { body }) => {
    const row = await certifier.start(principalOf(c), body);
    c.header('Location', absoluteUrl(deps.config, `/v1/certifications/${row.id}`));
    return c.json(runView(row, deps.clock(), { cases: true }), 202);
  });
  serve(app, op.listCertifications, async (c, { query }) => {
    const page = await listRuns(deps, principalOf(c), query, pageFrom('certifications', ['string', 'string'], query));
    return sendPage(c, deps.config, 'certifications', { ...page, items: page.items.map((row) => runView(row, deps.clock(), { cases: false })) });
  });
  serve(app, op.getCertification, async (c, { params }) => c.json(runView(await getRun(deps, principalOf(c), params.id), deps.clock(), { cases: true }), 200));
  serve(app, op.getCertificationJunit, async (c, { params }) => c.body(junitReport(await getRun(deps, principalOf(c), params.id)), 200, { 'Content-Type': 'application/xml; charset=utf-8' }));
  return app;
}
