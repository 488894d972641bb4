import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseStoredAnchor } from '../../audit/anchor.ts';
import { reanchorAudit } from '../../audit/chain.ts';
import { verifyAudit } from '../../audit/log.ts';
import { GitRegistry } from '../../registry/git-registry.ts';
import { CliFailure } from '../errors.ts';
import { localAuditKey, localDatabaseFile, localRegistryDir, withDatabase } from '../local-data.ts';
import type { CommandRun } from '../command.ts';

/** What `accord audit reanchor` does (its help: src/cli/commands/audit-reanchor.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values }, { config, io }) => {
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (!reason) throw new CliFailure('--reason is required: say why the current log is accepted (it is recorded in the log and in the anchor)', 3);
  const file = localDatabaseFile(config, { existing: true });
  const key = localAuditKey(config);
  return withDatabase(config, file, async (db) => {
    const registryDir = localRegistryDir(config);
    // With a remote the data dir's registry is only a mirror: opening fetches it.
    if (!config.registryRemote && !existsSync(path.join(registryDir, 'HEAD'))) throw new CliFailure(`No Git registry at ${registryDir} (set ACCORD_DATA_DIR, or restore the registry first)`, 3);
    const registry = await GitRegistry.open(registryDir, undefined, { durability: config.durability, remote: config.registryRemote });
    const before = await verifyAudit(db, key, parseStoredAnchor(await registry.readAuditAnchor()));
    if (before.ok) {
      io.out('The audit log verifies against its anchor; nothing to re-anchor.');
      return 1;
    }
    const { anchor, commit, replaced } = await reanchorAudit({ db, registry, key }, reason);
    io.out(`Re-anchored the audit log: ${anchor.count} entries up to entry ${anchor.head.seq}, anchor ${commit.slice(0, 12)} (replaced ${replaced ?? 'no anchor'}).`);
    const after = await verifyAudit(db, key, parseStoredAnchor(await registry.readAuditAnchor()));
    for (const p of after.problems) io.out(`  still reported by verify: ${p.message}.`);
    return 0;
  });
};
