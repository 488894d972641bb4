import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { incidentDetail, incidentMarkdown } from '../incidents/detail.ts';
import { closeIncident, listIncidents, openIncident } from '../incidents/incidents.ts';
import { writePostmortem } from '../incidents/postmortem.ts';
import type { Runtime } from '../runtime/index.ts';
import { chooseRepresentation } from './formats.ts';
import { REPRESENTATIONS } from '../lib/representations.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/incidents.ts';
import { principalOf, type AppEnv } from './env.ts';

/** Incidents and postmortems: /v1/incidents (issue 18). */
export function incidentsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  void runtime;
  const app = operationsRouter();

  serve(app, op.listIncidents, async (c, { query: { limit, cursor, ...filter } }) => sendPage(c, deps.config, 'incidents', await listIncidents(deps, filter, pageFrom('incidents', ['number', 'string', 'number'], { limit, cursor }))));

  serve(app, op.createIncident, async (c, { body }) => c.json(await openIncident(deps, principalOf(c), body), 201));

  serve(app, op.getIncident, async (c, { params, query }) => {
    const detail = await incidentDetail(deps, params.id);
    if (chooseRepresentation(c, query.format, op.INCIDENT_FORMATS) === 'markdown') return c.body(incidentMarkdown(detail, deps.config.publicUrl), 200, { 'Content-Type': REPRESENTATIONS.markdown.type });
    return c.json(detail);
  });

  serve(app, op.putIncidentPostmortem, async (c, { params, body }) => c.json(await writePostmortem(deps, principalOf(c), params.id, body)));

  serve(app, op.closeIncident, async (c, { params }) => c.json(await closeIncident(deps, principalOf(c), params.id)));

  return app;
}
