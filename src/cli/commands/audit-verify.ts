import { parseStoredAnchor } from '../../audit/anchor.ts';
import { verifyAudit, type AuditVerification } from '../../audit/log.ts';
import { GitRegistry } from '../../registry/git-registry.ts';
import type { Command } from '../command.ts';
import { localAuditKey, localDatabaseFile, localRegistryDir, withDatabase } from '../local-data.ts';

function describeAnchor(result: AuditVerification): string {
  const a = result.anchor;
  if (!a) return 'no trusted anchor';
  return `anchor ${a.commit.slice(0, 12)} (${a.writtenAt}) covers ${a.count} entries up to entry ${a.head.seq}; ${result.unanchored} newer ${result.unanchored === 1 ? 'entry is' : 'entries are'} not anchored yet`;
}

/** `accord audit verify`: checks the local audit log against its key and its anchor (exit 0 intact, 1 broken, 3 error). */
export const auditVerify: Command = {
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
  async run(_args, { config, io }) {
    const file = localDatabaseFile(config, { existing: true });
    const key = localAuditKey(config);
    const stored = parseStoredAnchor(await GitRegistry.readAuditAnchorAt(localRegistryDir(config), config.registryRemote));
    return withDatabase(config, file, async (db) => {
      const result = await verifyAudit(db, key, stored);
      const kinds = `${result.legacy.count} unkeyed from before the upgrade, ${result.checked - result.legacy.count} keyed`;
      if (result.ok) {
        io.out(`Audit log intact: ${result.checked} entries checked (${kinds}). Head: entry ${result.head.seq} ${result.head.hash}.`);
        io.out(`Anchored in the registry: ${describeAnchor(result)}.`);
        if (result.anchor?.reanchored) io.out(`Note: an operator re-established this anchor (replacing ${result.anchor.reanchored.replaced ?? 'no anchor'}): ${result.anchor.reanchored.reason}`);
        return 0;
      }
      const [first, ...others] = result.problems;
      io.out(`Audit log BROKEN${first!.seq ? ` at entry ${first!.seq}` : ''}: ${first!.message}.`);
      for (const p of others) io.out(`  also: ${p.message}.`);
      io.out(`${result.checked} entries checked (${kinds}); ${describeAnchor(result)}; audit key id ${result.keyId}.`);
      return 1;
    });
  },
};
