import { parseStoredAnchor } from '../../audit/anchor.ts';
import { verifyAudit, type AuditVerification } from '../../audit/log.ts';
import { GitRegistry } from '../../registry/git-registry.ts';
import { localAuditKey, localDatabaseFile, localRegistryDir, withDatabase } from '../local-data.ts';
import type { CommandRun } from '../command.ts';

function describeAnchor(result: AuditVerification): string {
  const a = result.anchor;
  if (!a) return 'no trusted anchor';
  return `anchor ${a.commit.slice(0, 12)} (${a.writtenAt}) covers ${a.count} entries up to entry ${a.head.seq}; ${result.unanchored} newer ${result.unanchored === 1 ? 'entry is' : 'entries are'} not anchored yet`;
}

/** What `accord audit verify` does (its help: src/cli/commands/audit-verify.ts), loaded only when it runs. */
export const run: CommandRun = async (_args, { config, io }) => {
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
};
