import { createHmac, timingSafeEqual } from 'node:crypto';

/** The Git ref whose commits carry the audit anchors (never on main, never a tag). */
export const ANCHOR_REF = 'refs/accord/audit';
/** The file each anchor commit holds. */
export const ANCHOR_FILE = 'audit-anchor.json';
const FORMAT = 'accord-audit-anchor/1';

/** What an anchor records about the audit log. */
export interface AnchorState {
  /** Entries in the log up to and including the head. */
  count: number;
  /** The newest entry covered: its seq and stored hash (seq 0 and the genesis hash for an empty log). */
  head: { seq: number; hash: string };
  /** The unkeyed entries written before the upgrade: how many, the last one's seq and its hash. */
  legacy: { count: number; headSeq: number; head: string };
  /** Present when an operator re-established the anchor (`accord audit reanchor`). */
  reanchored?: { reason: string; replaced: string | null };
}

/** The content of `audit-anchor.json`: the state, when and with which key it was written, and its MAC. */
export interface AuditAnchor extends AnchorState {
  format: typeof FORMAT;
  writtenAt: string;
  /** Identifies the key without revealing it, so a wrong key can be told from a forged anchor. */
  keyId: string;
  /** HMAC-SHA256 with the audit key over every other field. */
  mac: string;
}

/** An anchor as read from the ref: its commit and, if the file parses as an anchor, the anchor. */
export interface StoredAnchor {
  commit: string;
  anchor: AuditAnchor | undefined;
}

/** A short, non-secret identifier of the key (an HMAC of a fixed label). */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('accord-audit-key-id').digest('hex').slice(0, 16);
}

function anchorMac(key: Buffer, a: Omit<AuditAnchor, 'mac'>): string {
  const fields = [a.format, a.count, a.head.seq, a.head.hash, a.legacy.count, a.legacy.headSeq, a.legacy.head, a.writtenAt, a.keyId, a.reanchored ? [a.reanchored.reason, a.reanchored.replaced] : null];
  return createHmac('sha256', key).update(`${FORMAT}\n${JSON.stringify(fields)}`).digest('hex');
}

/** Builds the anchor for `state`, sealed with the key. */
export function sealAnchor(key: Buffer, state: AnchorState, writtenAt: Date): AuditAnchor {
  const unsealed: Omit<AuditAnchor, 'mac'> = {
    format: FORMAT,
    count: state.count,
    head: { seq: state.head.seq, hash: state.head.hash },
    legacy: { count: state.legacy.count, headSeq: state.legacy.headSeq, head: state.legacy.head },
    ...(state.reanchored ? { reanchored: { reason: state.reanchored.reason, replaced: state.reanchored.replaced } } : {}),
    writtenAt: writtenAt.toISOString(),
    keyId: auditKeyId(key),
  };
  return { ...unsealed, mac: anchorMac(key, unsealed) };
}

/** The anchor file's text. */
export function anchorText(anchor: AuditAnchor): string {
  return `${JSON.stringify(anchor, null, 2)}\n`;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** Parses an anchor file; undefined when it is not one. */
function parseAnchor(text: string): AuditAnchor | undefined {
  let a: Record<string, any>;
  try {
    a = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ok =
    a !== null &&
    typeof a === 'object' &&
    a.format === FORMAT &&
    isCount(a.count) &&
    isCount(a.head?.seq) &&
    isHash(a.head?.hash) &&
    isCount(a.legacy?.count) &&
    isCount(a.legacy?.headSeq) &&
    isHash(a.legacy?.head) &&
    typeof a.writtenAt === 'string' &&
    typeof a.keyId === 'string' &&
    typeof a.mac === 'string' &&
    (a.reanchored === undefined || (typeof a.reanchored?.reason === 'string' && (a.reanchored.replaced === null || typeof a.reanchored.replaced === 'string')));
  return ok ? (a as AuditAnchor) : undefined;
}

/** The anchor read from the ref (`GitRegistry.readAuditAnchor`), parsed; undefined when the ref does not exist. */
export function parseStoredAnchor(raw: { commit: string; text: string | undefined } | undefined): StoredAnchor | undefined {
  return raw && { commit: raw.commit, anchor: raw.text === undefined ? undefined : parseAnchor(raw.text) };
}

/** Why a stored anchor cannot be trusted with this key, or undefined when it can. */
export function anchorProblem(key: Buffer, stored: StoredAnchor): string | undefined {
  const { commit, anchor } = stored;
  if (!anchor) return `${ANCHOR_REF} (commit ${commit}) holds no readable ${ANCHOR_FILE}: it was replaced`;
  const expected = Buffer.from(anchorMac(key, anchor), 'hex');
  const actual = Buffer.from(anchor.mac, 'hex');
  if (actual.length === expected.length && timingSafeEqual(actual, expected)) return undefined;
  const keyId = auditKeyId(key);
  return anchor.keyId === keyId
    ? `the anchor (commit ${commit}) does not match its MAC: it was forged or edited`
    : `the anchor (commit ${commit}) was not written with this key (its key id ${anchor.keyId}, this key's ${keyId}): it was forged, or this is not the key the data dir uses`;
}
