import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SYSTEM } from '../src/auth/principal.ts';
import { PACKAGE_ROOT } from '../src/config.ts';
import { registerContractVersion } from '../src/contracts/register.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { workerRequests } from '../src/lint/pool.ts';
import { contractOfSize } from './fixtures.ts';
import { median, percentile, startBenchService } from './util.ts';

/**
 * What style rules cost a registration: a seeded start (every reference contract linted), then
 * new versions of the reference contract under the network ruleset (each linted once), the same
 * content again (answered from the lint cache), and lint alone on a ~200 KB contract.
 */
export async function benchLint(): Promise<string[]> {
  const started = performance.now();
  const svc = await startBenchService({ seed: true });
  const startMs = performance.now() - started;
  try {
    const base = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as Record<string, any>;
    const body = (i: number) => JSON.stringify({ ...base, info: { ...base.info, version: `2.${i + 2}.0`, description: `Revision ${i}` } }, null, 2);
    const register = (i: number) => registerContractVersion(svc.deps, SYSTEM, { partner: 'northwind-health', api: 'p2p-exchange', body: body(i), format: 'json' });
    const fresh: number[] = [];
    // How long the service's event loop was blocked while registering (Spectral runs in the lint worker).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      if (!(await register(i)).created) throw new Error('not created');
      fresh.push(performance.now() - t);
    }
    loop.disable();
    const runs = workerRequests.count;
    const again: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await register(i);
      again.push(performance.now() - t);
    }
    const rerun = workerRequests.count - runs;
    const { lintContractVersion } = await import('../src/lint/network.ts');
    const large = contractOfSize(200 * 1024);
    const alone: number[] = [];
    const largeLoop = monitorEventLoopDelay({ resolution: 10 });
    largeLoop.enable();
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await lintContractVersion(svc.deps, { partner: 'bench', api: 'member-api', version: `1.${i}.0`, text: `${large}\n# ${i}\n`, format: 'yaml' });
      alone.push(performance.now() - t);
    }
    largeLoop.disable();
    return [
      `seeded start (7 contracts and the matrix, Spectral loaded on first use): ${startMs.toFixed(0)} ms`,
      `register a new reference-contract version under the network ruleset: median ${median(fresh).toFixed(0)} ms, p95 ${percentile(fresh, 95).toFixed(0)} ms; event loop blocked at most ${(loop.max / 1e6).toFixed(0)} ms (n=20)`,
      `register the same content again (lint cached, ${rerun} lint runs): median ${median(again).toFixed(1)} ms (n=20)`,
      `lint alone, ${Math.round(Buffer.byteLength(large) / 1024)} KB contract (spectral:oas): median ${median(alone).toFixed(0)} ms, event loop blocked at most ${(largeLoop.max / 1e6).toFixed(0)} ms (n=5)`,
    ];
  } finally {
    await svc.cleanup();
  }
}
