import { z } from '@hono/zod-openapi';
import { OPENAPI_DOCUMENT_JSON } from './diff.ts';
import { defineOperation, json } from '../operation.ts';

/** Liveness, readiness, this document and the metrics: no token needed. */

export const getLiveness = defineOperation({
  operationId: 'getLiveness',
  method: 'get',
  path: '/healthz',
  tags: ['Operations'],
  summary: 'Liveness',
  description: 'Answers 200 while the process serves requests.',
  roles: 'public',
  responses: { 200: json(z.object({ status: z.literal('ok') })) },
});

const Readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.record(z.string(), z.string()).meta({ description: 'Per dependency (database, registry): "ok" or "failed: <reason>"' }),
});

export const getReadiness = defineOperation({
  operationId: 'getReadiness',
  method: 'get',
  path: '/readyz',
  tags: ['Operations'],
  summary: 'Readiness: database and Git registry usable',
  description: 'Answers 200 when the database and the Git registry answer, 503 naming what failed otherwise.',
  roles: 'public',
  responses: { 200: json(Readiness), 503: json(Readiness, 'Not ready') },
});

export const getOpenApiDocument = defineOperation({
  operationId: 'getOpenApiDocument',
  method: 'get',
  path: '/openapi.json',
  tags: ['Operations'],
  summary: 'This document',
  description: "Accord's own API in OpenAPI 3.1, generated from its operation definitions.",
  roles: 'public',
  responses: { 200: { description: 'OK', content: { 'application/json': { schema: OPENAPI_DOCUMENT_JSON } } } },
});

export const getMetrics = defineOperation({
  operationId: 'getMetrics',
  method: 'get',
  path: '/metrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics (text format 0.0.4); no ids as labels',
  description: 'Base units, `_total` on counters; HTTP server duration as http_server_request_duration_seconds by method, route template and status.',
  roles: 'public',
  responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
});

export const metaOperations = [getLiveness, getReadiness, getOpenApiDocument, getMetrics];
