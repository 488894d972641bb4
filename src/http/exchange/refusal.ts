import type { Context } from 'hono';
import { AccordError, errorCodeOf } from '../../errors.ts';
import type { DirectRefusal } from '../../runtime/direct-requests/serve.ts';
import type { AppEnv } from '../env.ts';

/**
 * Renders a direct request's refusal in the contract's dialect: a FHIR OperationOutcome, or
 * problem+json (with the request's path and id, like every Accord problem).
 */
export function renderRefusal(c: Context<AppEnv>, refusal: DirectRefusal): Response {
  const { status, code, detail, errors } = refusal;
  if (refusal.fhir) {
    const outcome = { resourceType: 'OperationOutcome', issue: (errors.length ? errors : [{ location: '', message: detail }]).map((e) => ({ severity: 'error', code, diagnostics: e.message, ...(e.location ? { expression: [e.location] } : {}) })) };
    return c.body(JSON.stringify(outcome), status as 400, { ...refusal.headers, 'Content-Type': 'application/fhir+json' });
  }
  const problem = new AccordError(errorCodeOf(status), detail, { errors }).toProblem({ instance: c.req.path, requestId: c.get('requestId') });
  return c.body(JSON.stringify({ ...problem, status }), status as 400, { ...refusal.headers, 'Content-Type': 'application/problem+json' });
}
