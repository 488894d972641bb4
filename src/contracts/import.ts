import fs from 'node:fs/promises';
import semver from 'semver';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { findContractFiles } from './files.ts';
import { isSemver } from './ids.ts';
import { registerContractVersion, type RegisterResult } from './register.ts';

/**
 * Registers every contract under `dir` in-process (used to seed an empty registry).
 * Importing the same folder twice changes nothing. Versions older than the newest of their
 * partner/api in the folder keep loading: their style-rule errors are reported as warnings.
 */
export async function importContracts(deps: Deps, principal: Principal, dir: string, options: { state?: 'draft' | 'released' } = {}): Promise<RegisterResult[]> {
  const files = await findContractFiles(dir);
  const newest = new Map<string, string>();
  for (const f of files) {
    const current = newest.get(`${f.partner}/${f.api}`);
    if (isSemver(f.version) && (!current || semver.gt(f.version, current))) newest.set(`${f.partner}/${f.api}`, f.version);
  }
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
        lintErrorsAsWarnings: newest.get(`${f.partner}/${f.api}`) !== f.version,
      }),
    );
  }
  return results;
}
