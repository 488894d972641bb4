import type { RouteConfig } from '@hono/zod-openapi';

/** The operations overview: rollup time series per flow and partner (issue 18). */
export const opsOverviewOperations: RouteConfig[] = [];
