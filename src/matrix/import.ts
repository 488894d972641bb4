import fs from 'node:fs/promises';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { applyAtomically } from '../imports/atomic.ts';
import { findMatrixFiles } from './files.ts';
import { putMatrixDocument } from './store.ts';

/** Stores every control-matrix file under `dir` in-process (seeding), all or nothing (see importContracts); unchanged files are no-ops. */
export async function importMatrix(deps: Deps, principal: Principal, dir: string): Promise<Array<{ name: string; created: boolean }>> {
  const files = await findMatrixFiles(dir);
  const bodies = await Promise.all(files.map((f) => fs.readFile(f.file, 'utf8')));
  return applyAtomically(deps, async () => {
    const results: Array<{ name: string; created: boolean }> = [];
    for (const [i, f] of files.entries()) {
      const { created } = await putMatrixDocument(deps, principal, { kind: f.kind, name: f.name, body: bodies[i]!, format: f.file.endsWith('.json') ? 'json' : 'yaml' });
      results.push({ name: f.name, created });
    }
    return results;
  });
}
