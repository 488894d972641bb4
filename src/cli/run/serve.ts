import { serve as listen } from '@hono/node-server';
import { publicUrlListening } from '../../lib/public-url.ts';
import { openService } from '../../server.ts';
import { CliFailure } from '../errors.ts';
import type { CommandRun } from '../command.ts';

/** What `accord serve` does (its help: src/cli/commands/serve.ts), loaded only when it runs. */
export const run: CommandRun = async ({ positionals }, { config, io }) => {
  if (positionals.length > 0) throw new CliFailure(`serve takes no arguments (got ${positionals.join(' ')}); configure it with environment variables`, 3);
  const service = await openService(config);
  const server = listen({ fetch: service.app.fetch, hostname: config.host, port: config.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((error) => {
    throw new CliFailure(`Cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, 3);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // PORT=0 without ACCORD_PUBLIC_URL: links must name the port the system chose.
  service.deps.config.publicUrl = publicUrlListening(service.deps.config.publicUrl, port);
  io.out(`Accord listening on http://${config.host}:${port}  (data: ${config.dataDir})`);
  io.out(`Console: ${service.deps.config.publicUrl}/console  (sign in with a token)`);
  if (service.seeded.contracts + service.seeded.matrix > 0) {
    io.out(`Seeded the reference network: ${service.seeded.contracts} contract versions, ${service.seeded.matrix} control-matrix documents.`);
  }
  // On stderr as plain text: stdout carries the JSON log stream, which log collectors keep.
  if (service.initialAdminToken) {
    io.err('');
    io.err('Initial admin token (shown once; store it now):');
    io.err(`  ${service.initialAdminToken}`);
    io.err('');
  }
  await service.startJobs();
  // New connections stop at once; close() waits for the jobs run in progress, then anchors the audit log.
  const stop = () => {
    server.close();
    void service.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>(() => undefined);
};
