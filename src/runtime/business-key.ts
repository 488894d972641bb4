import { valueAt } from '../lib/json.ts';
import type { FlowEntry } from '../matrix/checks.ts';

/** At most this many characters of a business key are kept (a key is for finding, not for storing data). */
const MAX_KEY = 512;

/** One business-key part, normalised: trimmed, lower case, inner whitespace collapsed. */
function normalisePart(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * A transaction's business key: the values at the flow's declared `idempotency.businessKeys`
 * pointers in its first request's body (member-match: the member's birth date and subscriber
 * id), normalised and joined with `|`; null when the flow declares none or the body has none of them.
 */
export function businessKeyOf(flowEntry: Pick<FlowEntry, 'idempotency'>, body: unknown): string | null {
  const pointers = flowEntry.idempotency.businessKeys;
  if (pointers.length === 0 || body === undefined || body === null) return null;
  const parts = pointers.map((p) => normalisePart(valueAt(body, p)));
  if (parts.every((p) => p === '')) return null;
  return parts.join('|').slice(0, MAX_KEY);
}

/** What an operator typed as a business key, normalised the way keys are stored (`1984-03-12 | NWH-100234` → `1984-03-12|nwh-100234`). */
export function normaliseBusinessKey(text: string): string {
  return text
    .split('|')
    .map((p) => normalisePart(p))
    .join('|');
}
