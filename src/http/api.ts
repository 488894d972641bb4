import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { RouteConfig } from '@hono/zod-openapi';
import { requireRole, requireScope, type Principal, type Role } from '../auth/principal.ts';
import { SCOPE_NAMES, type Scope } from '../auth/scopes.ts';
import { accordVersion } from '../lib/version.ts';
import { attachExamples } from './api-examples.ts';
import { auditOperations } from './operations/audit.ts';
import { changeOperations } from './operations/changes.ts';
import { contractOperations } from './operations/contracts.ts';
import { diffOperations } from './operations/diff.ts';
import { evidenceOperations } from './operations/evidence.ts';
import { freezeOperations } from './operations/freezes.ts';
import { gateOperations } from './operations/gate.ts';
import { importOperations } from './operations/imports.ts';
import { matrixOperations } from './operations/matrix.ts';
import { metaOperations } from './operations/meta.ts';
import { noticeOperations } from './operations/notices.ts';
import { policyOperations } from './operations/policy.ts';
import { rulesetOperations } from './operations/rulesets.ts';
import { releaseOperations } from './operations/releases.ts';
import { reviewItemOperations } from './operations/review-items.ts';
import { tokenOperations } from './operations/tokens.ts';
import { webhookOperations } from './operations/webhooks.ts';
import { partnerOperations } from './operations/partners.ts';
import { certificationOperations } from './operations/certifications.ts';
import { transactionOperations } from './operations/transactions.ts';
import { faultOperations } from './operations/faults.ts';
import { slaOperations } from './operations/sla.ts';
import { syntheticOperations } from './operations/synthetic.ts';
import { scorecardOperations } from './operations/scorecards.ts';
import { operatorViewOperations } from './operations/operator-views.ts';
import { approvalOperations } from './operations/approvals.ts';
import { incidentOperations } from './operations/incidents.ts';
import { opsOverviewOperations } from './operations/ops-overview.ts';
import { failureClusterOperations } from './operations/failure-clusters.ts';

/**
 * Accord's API: every operation definition (src/http/operations/*), the OpenAPI 3.1 document
 * generated from them (served at /openapi.json) and the index authentication reads each
 * operation's roles and scope from.
 */
const OPERATIONS: readonly RouteConfig[] = [
  ...metaOperations,
  ...tokenOperations,
  ...contractOperations,
  ...diffOperations,
  ...matrixOperations,
  ...policyOperations,
  ...importOperations,
  ...rulesetOperations,
  ...noticeOperations,
  ...webhookOperations,
  ...partnerOperations,
  ...certificationOperations,
  ...changeOperations,
  ...evidenceOperations,
  ...gateOperations,
  ...reviewItemOperations,
  ...releaseOperations,
  ...freezeOperations,
  ...auditOperations,
  ...transactionOperations,
  ...faultOperations,
  ...slaOperations,
  ...syntheticOperations,
  ...scorecardOperations,
  ...operatorViewOperations,
  ...approvalOperations,
  ...incidentOperations,
  ...opsOverviewOperations,
  ...failureClusterOperations,
];

/** The document's tags (alphabetical): every operation's tag is one of them. */
const TAGS = [
  { name: 'Audit', description: 'The tamper-evident audit log.' },
  { name: 'Certifications', description: 'Accord certifies a partner’s endpoint against a contract version and its control-matrix flows; the results become release evidence.' },
  { name: 'Changes', description: 'Change requests: impact per consumer, board reviews and partner acknowledgements.' },
  { name: 'Contracts', description: 'The registry of partner contracts: versions (OpenAPI documents in Git), their lint, history, consumers and usage, deprecations.' },
  { name: 'Control matrix', description: 'Per business flow: idempotency, retries, compensations, failure modes, observability, SLAs, owner and escalation — proposed, reviewed and approved.' },
  { name: 'Diff', description: 'Breaking-change diffs between two OpenAPI documents, as JSON, Markdown, text, SARIF or GitHub Actions annotations.' },
  { name: 'Evidence', description: 'Release evidence (contract, replay, duplicate-handling, failure-injection and trace tests) bound to a version’s content.' },
  { name: 'Faults', description: 'Failure-injection experiments against the reference partners.' },
  { name: 'Freezes', description: 'Release freezes per environment.' },
  { name: 'Gate', description: 'The release gate CI calls: what changed, how breakage is detected, how to recover; pass, fail or pending.' },
  { name: 'Imports', description: 'Atomic imports of a directory of contracts and matrix entries.' },
  { name: 'Incidents', description: 'Incidents opened by SLA breaches or operators, their timelines and postmortems.' },
  { name: 'Notices', description: 'Deprecation and change notices partners read, as JSON or an Atom feed.' },
  { name: 'Observability', description: 'SLA status and interventions, synthetic checks, scorecards, operator views, the operations overview and failure clusters.' },
  { name: 'Operations', description: 'Liveness, readiness, this document and the Prometheus metrics (no token needed).' },
  { name: 'Partners', description: 'Where Accord reaches each partner’s API per environment, and how it authenticates (partner certification).' },
  { name: 'Policy', description: 'The release policy the gate applies, and the network lint ruleset.' },
  { name: 'Releases', description: 'Releases recorded against a passing gate decision.' },
  { name: 'Review items', description: 'Post-release reviews owed after a break-glass release or write.' },
  { name: 'Tokens', description: 'API tokens: roles, partners, scopes, expiry; created and revoked by admins.' },
  { name: 'Transactions', description: 'Exchange transactions: their state, path, retries, compensations and approvals.' },
  { name: 'Webhooks', description: 'Subscriptions to Accord’s events, signed with Standard Webhooks, and their deliveries.' },
];

/** The OpenAPI document of Accord's own API, generated from the operation definitions. */
export const ACCORD_API_DOCUMENT = generateDocument();

function generateDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'Accord token. Each operation names the roles (x-accord-roles) and the scope (x-accord-scope) it needs; a token limited to scopes without it gets 403. Failed authentications are limited per client address and token prefix (429 with Retry-After).',
  });
  for (const operation of OPERATIONS) registry.registerPath(operation);
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Accord',
      version: accordVersion(),
      description: 'Governance and contract registry for payer-to-payer API networks. Errors are application/problem+json (RFC 9457).',
    },
    servers: [{ url: '/' }],
    tags: TAGS,
  });
  attachExamples(document.paths as never);
  return document;
}

/**
 * The document as this deployment serves it: its public URL as the server, and its own reference
 * (/docs) as contact and licence (Accord is not published under an open licence: UNLICENSED).
 */
export function servedDocument(publicUrl: string): typeof ACCORD_API_DOCUMENT {
  const base = publicUrl.replace(/\/$/, '');
  return {
    ...ACCORD_API_DOCUMENT,
    info: {
      ...ACCORD_API_DOCUMENT.info,
      contact: { name: 'The operators of this Accord registry', url: `${base}/docs` },
      license: { name: 'Proprietary (UNLICENSED)', url: `${base}/docs` },
    },
    servers: [{ url: base, description: 'This registry' }],
  };
}

/** One secured operation: its method, path template, roles and scope. */
interface SecuredOperation {
  method: string;
  /** The OpenAPI path template, e.g. `/v1/changes/{id}/reviews`. */
  template: string;
  operationId: string | undefined;
  summary: string | undefined;
  roles: readonly Role[];
  scope: Scope;
}

const SECURED = new Map<string, SecuredOperation>();
for (const [template, item] of Object.entries(ACCORD_API_DOCUMENT.paths ?? {})) {
  for (const [method, op] of Object.entries(item as Record<string, { security?: unknown[]; operationId?: string; summary?: string; 'x-accord-roles'?: Role[]; 'x-accord-scope'?: Scope }>)) {
    if (method === 'parameters' || !op.security?.length) continue;
    SECURED.set(`${method.toUpperCase()} ${template}`, { method: method.toUpperCase(), template, operationId: op.operationId, summary: op.summary, roles: op['x-accord-roles']!, scope: op['x-accord-scope']! });
  }
}

/**
 * The secured operation a Hono route serves, or undefined for an undocumented one.
 * @param routePath Hono's route path, e.g. `/v1/changes/:id/reviews` (a trailing slash is ignored)
 */
export function securedOperation(method: string, routePath: string): SecuredOperation | undefined {
  const template = routePath.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
  return SECURED.get(`${method === 'HEAD' ? 'GET' : method} ${template}`);
}

/** Roles that may use each scope: those of the operations needing it; any role may call the exchange. */
const SCOPE_ROLES = new Map<Scope, Set<Role>>();
for (const op of SECURED.values()) {
  const roles = SCOPE_ROLES.get(op.scope) ?? new Set<Role>();
  for (const role of op.roles) roles.add(role);
  SCOPE_ROLES.set(op.scope, roles);
}

/** The scopes a token of `role` may be limited to: `exchange`, and those of some operation the role may call. */
export function scopesOfRole(role: Role): Scope[] {
  return SCOPE_NAMES.filter((scope) => scope === 'exchange' || SCOPE_ROLES.get(scope)?.has(role));
}

/**
 * Throws 403 unless the principal may call `operation`: its role is among the operation's roles
 * and its token, if limited to scopes, has the operation's scope. Authentication calls it for
 * every /v1 request; the console calls it before doing what an operation does.
 */
export function authorize(principal: Principal, operation: { method: string; path: string }): void {
  const secured = SECURED.get(`${operation.method.toUpperCase()} ${operation.path}`);
  if (!secured) throw new Error(`${operation.method} ${operation.path} is not a secured operation`);
  const name = `${secured.method} ${secured.template}`;
  requireRole(principal, secured.roles, `call ${name}`);
  requireScope(principal, secured.scope, name);
}

/** Whether the principal may call `operation` (authorize without the 403): what the console offers. */
export function mayCall(principal: Principal, operation: { method: string; path: string }): boolean {
  try {
    authorize(principal, operation);
    return true;
  } catch {
    return false;
  }
}
