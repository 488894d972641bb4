import fs from 'node:fs/promises';
import path from 'node:path';
import type { MatrixKind } from './store.ts';

/** A control-matrix file: the policy, the network ruleset or one flow entry. */
export interface MatrixFile {
  kind: MatrixKind;
  name: string;
  file: string;
}

/**
 * Finds `control-matrix/*.yaml` (or `.json`) under `target`, which may be the folder holding
 * `control-matrix/`, that folder itself, or a single file; with `anyFolder`, any folder's YAML
 * files count. The policy comes first, then the ruleset (ruleset.yaml, never a flow), then flows by name.
 */
export async function findMatrixFiles(target: string, options: { anyFolder?: boolean } = {}): Promise<MatrixFile[]> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) return [];
  let files: string[];
  if (stat.isFile()) files = [target];
  else {
    const nested = path.join(target, 'control-matrix');
    const hasNested = await fs.stat(nested).then((s) => s.isDirectory(), () => false);
    if (!hasNested && !options.anyFolder && path.basename(target) !== 'control-matrix') return [];
    const dir = hasNested ? nested : target;
    files = (await fs.readdir(dir)).filter((f) => /\.(ya?ml|json)$/i.test(f)).sort().map((f) => path.join(dir, f));
  }
  const order: MatrixKind[] = ['policy', 'ruleset', 'flow'];
  return files
    .map((file) => {
      const name = path.basename(file).replace(/\.(ya?ml|json)$/i, '');
      return { kind: (name === 'policy' || name === 'ruleset' ? name : 'flow') as MatrixKind, name, file };
    })
    .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.name.localeCompare(b.name));
}
