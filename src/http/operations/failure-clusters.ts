import type { RouteConfig } from '@hono/zod-openapi';

/** Failure clusters: transactions failing the same way, by partner, step and error taxonomy (issue 18). */
export const failureClusterOperations: RouteConfig[] = [];
