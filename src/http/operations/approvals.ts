import type { RouteConfig } from '@hono/zod-openapi';

/** Compensations awaiting approval: approve or reject (issue 18). */
export const approvalOperations: RouteConfig[] = [];
