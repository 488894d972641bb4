import { lazyCommand, type Command } from '../command.ts';

/** `accord audit reanchor`: accepts the local audit log as it is after a failed verify was investigated. */
export const auditReanchor: Command = lazyCommand({
  name: 'audit reanchor',
  synopsis: 'accord audit reanchor --reason TEXT',
  summary: 'accept the current audit log after investigating a failed verify',
  help: `accord audit reanchor --reason TEXT

After a failed \`accord audit verify\` has been investigated (a lost registry, a database restored from
an older backup), accepts the audit log as it is now: appends an audit.reanchored entry and writes a
new anchor over the current log, recording the reason and the anchor it replaces; verify mentions it
from then on. Entries that do not match their HMACs stay reported. Needs the audit key; run it with
the service stopped. Exit 0 re-anchored, 1 nothing to do (the log verifies), 3 error.`,
  options: { reason: { type: 'string' } },
}, () => import('../run/audit-reanchor.ts'));
