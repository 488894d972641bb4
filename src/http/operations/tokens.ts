import { z } from '@hono/zod-openapi';
import { TokenRequest } from '../../auth/token-request.ts';
import { ROLES } from '../../auth/principal.ts';
import { SCOPE_NAMES } from '../../auth/scopes.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

const Token = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    partner: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().nullable(),
    expiresAt: z.string().nullable().meta({ description: 'When the token stops working; null = never' }),
    scopes: z.array(z.enum(SCOPE_NAMES)).nullable().meta({ description: 'The scopes the token is limited to; null = everything its role allows' }),
  })
  .meta({ id: 'Token' });

const CreatedToken = Token.extend({ token: z.string().meta({ description: 'The secret, shown once' }) }).meta({ id: 'CreatedToken' });

export const listTokens = defineOperation({
  operationId: 'listTokens',
  method: 'get',
  path: '/v1/tokens',
  tags: ['Tokens'],
  summary: 'List tokens (never secrets)',
  description: 'Every token, newest first (pages of `limit`, `Link: rel="next"` while more follow), with its role, partner, expiry, scopes and revocation; never a secret or its hash.',
  roles: ['admin'],
  scope: 'tokens',
  request: { query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(Token)), 400: problem },
});

export const createToken = defineOperation({
  operationId: 'createToken',
  method: 'post',
  path: '/v1/tokens',
  tags: ['Tokens'],
  summary: 'Create a token; the secret is shown once',
  description: "The answer carries the secret (Cache-Control: no-store); Accord keeps only its hash. A token limited in scopes or time creates only tokens within its own scopes and expiring by its own expiry (422).",
  roles: ['admin'],
  scope: 'tokens',
  request: { body: jsonBodyOf(TokenRequest) },
  invalid: { detail: 'Invalid token request' },
  responses: { 201: json(CreatedToken, 'Created'), 422: problem },
});

export const revokeToken = defineOperation({
  operationId: 'revokeToken',
  method: 'delete',
  path: '/v1/tokens/{id}',
  tags: ['Tokens'],
  summary: 'Revoke a token',
  description: 'A full admin token (unlimited in scopes and time) only by a full admin (403), and only while another full admin remains (409). Revoking takes effect at once; revoking twice is harmless.',
  roles: ['admin'],
  scope: 'tokens',
  request: { params: z.object({ id: pathParam('Token id') }) },
  responses: { 204: { description: 'Revoked' }, 404: problem, 409: problem },
});

export const tokenOperations = [listTokens, createToken, revokeToken];
