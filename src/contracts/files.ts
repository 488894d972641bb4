import fs from 'node:fs/promises';
import path from 'node:path';
import { isSemver, sortBySemver } from './ids.ts';

/** A contract document found in a folder of the registry layout. */
export interface ContractFile {
  partner: string;
  api: string;
  version: string;
  file: string;
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * Finds `contracts/<partner>/<api>/<version>/openapi.yaml` (or `.json`) under `dir`, which may
 * be the folder holding `contracts/` or the `contracts/` folder itself. Versions of each API
 * come in semver order so that imports replay history in order.
 */
export async function findContractFiles(dir: string): Promise<ContractFile[]> {
  const root = (await subdirs(dir)).includes('contracts') ? path.join(dir, 'contracts') : dir;
  const found: ContractFile[] = [];
  for (const partner of await subdirs(root)) {
    for (const api of await subdirs(path.join(root, partner))) {
      const versions: ContractFile[] = [];
      for (const version of await subdirs(path.join(root, partner, api))) {
        for (const name of ['openapi.yaml', 'openapi.yml', 'openapi.json']) {
          const file = path.join(root, partner, api, version, name);
          if (await fs.stat(file).then((s) => s.isFile(), () => false)) {
            versions.push({ partner, api, version, file });
            break;
          }
        }
      }
      // Non-semver folders come last and are refused by registration with a clear error.
      found.push(...sortBySemver(versions.filter((v) => isSemver(v.version)), (v) => v.version), ...versions.filter((v) => !isSemver(v.version)));
    }
  }
  return found;
}
