import { lazyCommand, type Command } from '../command.ts';

/** `accord audit verify`: checks the local audit log against its key and its anchor (exit 0 intact, 1 broken, 3 error). */
export const auditVerify: Command = lazyCommand({
  name: 'audit verify',
  synopsis: 'accord audit verify',
  summary: `check the audit log in the local data dir against its key
and its anchor in the registry (exit 0 intact, 1 broken, 3 error)`,
  help: `accord audit verify

Checks the audit log in the local data dir (ACCORD_DATA_DIR; in ACCORD_DATABASE_URL's PostgreSQL when
set, the registry staying in the data dir) with the audit key (ACCORD_AUDIT_KEY,
else <data>/audit.key) against the latest anchor on refs/accord/audit in the registry (the one on
ACCORD_REGISTRY_REMOTE when set): every keyed
entry's HMAC, link and sequence, the unkeyed entries from before the upgrade, and that the log still
holds the anchored count, head entry and legacy segment. Reports each edited, deleted, truncated or
re-chained stretch and a missing or forged anchor. Entries newer than the anchor are checked but
could be dropped unnoticed (a running service anchors them within a minute, every
ACCORD_AUDIT_ANCHOR_EVERY entries and at shutdown). Exit 0 intact, 1 broken, 3 error (no key, no data).`,
  options: {},
}, () => import('../run/audit-verify.ts'));
