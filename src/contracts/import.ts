import fs from 'node:fs/promises';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { findContractFiles } from './files.ts';
import { registerContractVersion, type RegisterResult } from './register.ts';

/**
 * Registers every contract under `dir` in-process (used to seed an empty registry).
 * Importing the same folder twice changes nothing.
 */
export async function importContracts(deps: Deps, principal: Principal, dir: string, options: { state?: 'draft' | 'released' } = {}): Promise<RegisterResult[]> {
  const files = await findContractFiles(dir);
  const results: RegisterResult[] = [];
  for (const f of files) {
    const body = await fs.readFile(f.file, 'utf8');
    results.push(
      await registerContractVersion(deps, principal, {
        partner: f.partner,
        api: f.api,
        version: f.version,
        body,
        format: f.file.endsWith('.json') ? 'json' : 'yaml',
        ...(options.state ? { state: options.state } : {}),
      }),
    );
  }
  return results;
}
