import fs from 'node:fs/promises';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { findMatrixFiles } from './files.ts';
import { putMatrixDocument } from './store.ts';

/** Stores every control-matrix file under `dir` in-process (seeding); unchanged files are no-ops. */
export async function importMatrix(deps: Deps, principal: Principal, dir: string): Promise<Array<{ name: string; created: boolean }>> {
  const results: Array<{ name: string; created: boolean }> = [];
  for (const f of await findMatrixFiles(dir)) {
    const body = await fs.readFile(f.file, 'utf8');
    const { created } = await putMatrixDocument(deps, principal, { kind: f.kind, name: f.name, body, format: f.file.endsWith('.json') ? 'json' : 'yaml' });
    results.push({ name: f.name, created });
  }
  return results;
}
