/**
 * The memory benchmark's server: the real service behind a real HTTP server on 127.0.0.1, in
 * its own process (run with `--expose-gc`) so that its RSS is the service's alone. It prints
 * `{"url": …, "token": …}` once listening, then answers one JSON line per command read from
 * stdin: `measure` (RSS and V8 heap in MB, idle and after full collections), `clear-caches`,
 * `exit`. The optional argument is ACCORD_CACHE_MAX_BYTES.
 */
import type { AddressInfo } from 'node:net';
import readline from 'node:readline';
import { serve } from '@hono/node-server';
import { contractSchemasCache } from '../src/contracts/schema.ts';
import { parsedDocuments } from '../src/contracts/versions.ts';
import { parsedMatrixDocuments } from '../src/matrix/store.ts';
import { startBenchService } from './util.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const cacheMaxBytes = process.argv[2];

/**
 * RSS and V8 heap in MB once the service is idle (work a request left behind, e.g. its Git
 * child processes' output, settles within a few hundred ms) and after full collections (twice:
 * finalisers of the first free more).
 */
async function settled(): Promise<{ rss: number; heap: number }> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  gc!();
  gc!();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / 1048576, heap: heapUsed / 1048576 };
}

const svc = await startBenchService({ env: cacheMaxBytes ? { ACCORD_CACHE_MAX_BYTES: cacheMaxBytes } : {} });
const server = serve({ fetch: svc.app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((resolve) => server.once('listening', resolve));
console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: svc.token }));
for await (const command of readline.createInterface({ input: process.stdin })) {
  if (command === 'measure') console.log(JSON.stringify(await settled()));
  else if (command === 'clear-caches') {
    for (const cache of [parsedDocuments, contractSchemasCache, parsedMatrixDocuments]) cache(svc.deps.config).clear();
    console.log('{}');
  } else break;
}
server.close();
await svc.cleanup();
