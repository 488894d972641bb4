import type { RouteConfig } from '@hono/zod-openapi';

/** Incidents and postmortems: /v1/incidents (issue 18). */
export const incidentOperations: RouteConfig[] = [];
