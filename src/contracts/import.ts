import fs from 'node:fs/promises';
import semver from 'semver';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { applyAtomically } from '../imports/atomic.ts';
import { findContractFiles, type ContractFile } from './files.ts';
import { isSemver } from './ids.ts';
import { registerContractVersion, type RegisterResult } from './register.ts';

/**
 * Registers every contract under `dir` in-process (used to seed an empty registry), all or
 * nothing: a seed cut short would leave the registry non-empty, and so never seeded again.
 * Importing the same folder twice changes nothing. Versions older than the newest of their
 * partner/api in the folder keep loading: their style-rule errors are reported as warnings.
 */
export async function importContracts(deps: Deps, principal: Principal, dir: string, options: { state?: 'draft' | 'released' } = {}): Promise<RegisterResult[]> {
  const files = await findContractFiles(dir);
  const bodies = await Promise.all(files.map((f) => fs.readFile(f.file, 'utf8')));
  return applyAtomically(deps, () => registerAll(deps, principal, files, bodies, options));
}

/** The newest version of each partner/api among `files` (`partner/api` → version). */
export function newestVersions(files: ReadonlyArray<{ partner: string; api: string; version: string }>): Map<string, string> {
  const newest = new Map<string, string>();
  for (const f of files) {
    const current = newest.get(`${f.partner}/${f.api}`);
    if (isSemver(f.version) && (!current || semver.gt(f.version, current))) newest.set(`${f.partner}/${f.api}`, f.version);
  }
  return newest;
}

async function registerAll(deps: Deps, principal: Principal, files: ContractFile[], bodies: string[], options: { state?: 'draft' | 'released' }): Promise<RegisterResult[]> {
  const newest = newestVersions(files);
  const results: RegisterResult[] = [];
  for (const [i, f] of files.entries()) {
    const body = bodies[i]!;
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
