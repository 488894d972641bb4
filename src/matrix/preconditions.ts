import { AccordError } from '../errors.ts';

/**
 * Optimistic concurrency for control-matrix writes (ADR 0018): reads of a flow carry an ETag
 * naming its approved version; a write may send it back as If-Match and is refused with 412 when
 * another version has been approved since. If-None-Match: * asks that the flow have no approved
 * version yet (a new flow). Without either header the write is unconditional.
 */

/** The preconditions of a write, as the request sent them. */
export interface MatrixPreconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** The ETag of a flow's approved version (a strong validator: an approved version's content never changes). */
export function matrixEtag(version: number): string {
  return `"v${version}"`;
}

/** The entity tags of an If-Match / If-None-Match value (`*` kept as is); weak tags never match a strong comparison. */
function entityTags(value: string): string[] {
  return value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

/**
 * Throws 412 (nothing is written) unless the preconditions hold for the approved version
 * `approved` of flow `name` (undefined: none yet). RFC 9110 §13.1.1–2: `If-Match: *` holds when
 * there is an approved version, a list holds when one tag equals its ETag (strong comparison);
 * `If-None-Match: *` holds when there is none, a list when no tag equals its ETag.
 */
export function checkPreconditions(name: string, approved: { version: number } | undefined, preconditions: MatrixPreconditions = {}): void {
  const current = approved ? matrixEtag(approved.version) : undefined;
  const now = approved ? `version ${approved.version} is approved now (ETag ${current})` : 'it has no approved version yet';
  const extra = { currentVersion: approved?.version ?? null, etag: current ?? null };
  if (preconditions.ifMatch !== undefined) {
    const tags = entityTags(preconditions.ifMatch);
    const holds = current !== undefined && (tags.includes('*') || tags.includes(current));
    if (!holds) {
      const fix = approved ? `GET /v1/control-matrix/${name} again, reapply your change and send If-Match: ${current}` : 'send If-None-Match: * (or no If-Match) to propose its first version';
      throw new AccordError('precondition_failed', `If-Match ${preconditions.ifMatch} does not match control-matrix entry "${name}": ${now}. Nothing was stored; ${fix}.`, { extra });
    }
  }
  if (preconditions.ifNoneMatch !== undefined && current !== undefined) {
    const tags = entityTags(preconditions.ifNoneMatch);
    if (tags.includes('*') || tags.includes(current)) {
      throw new AccordError('precondition_failed', `If-None-Match ${preconditions.ifNoneMatch} fails for control-matrix entry "${name}": ${now}. Nothing was stored; send If-Match: ${current} to propose a change to it.`, { extra });
    }
  }
}
