/**
 * `npm run bench`: every benchmark, printing one line per measurement. Run by hand, never as a
 * timed unit test.
 */
import { benchCli } from './cli.ts';
import { benchConsole } from './console.ts';
import { benchStripeDiff } from './diff.ts';
import { benchDurability } from './durability.ts';
import { benchGate } from './gate.ts';
import { benchLint } from './lint.ts';
import { benchMemory } from './memory.ts';
import { benchOperations } from './operations.ts';
import { benchListVersions, benchRegister } from './registry.ts';
import { benchReplicas } from './replicas.ts';
import { benchRuntime } from './runtime.ts';
import { benchStorageSqlite } from './storage/sqlite.ts';

const suites: Array<[string, () => Promise<string[]>]> = [
  ['registry: register', benchRegister],
  ['registry: list versions', benchListVersions],
  ['diff: stripe', benchStripeDiff],
  ['cli: start-up and Stripe diff, compiled', benchCli],
  ['gate', benchGate],
  ['lint: registration', benchLint],
  ['runtime: member-match', benchRuntime],
  ['replicas: member-match on SQLite, one and two PostgreSQL replicas', benchReplicas],
  ['durability: consent capture', benchDurability],
  ['storage: exchange pattern on SQLite, app storage vs raw statements', () => benchStorageSqlite()],
  ['memory: registrations', benchMemory],
  ['console: pages', benchConsole],
  ['operations: overview', benchOperations],
];

const only = process.argv[2];
for (const [name, run] of suites) {
  if (only && !name.includes(only)) continue;
  const lines = await run();
  for (const line of lines) console.log(`${name} | ${line}`);
}
