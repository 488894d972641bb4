import { lazyCommand, type Command } from '../command.ts';

/** `accord serve`: starts the server and runs until SIGINT or SIGTERM. */
export const serve: Command = lazyCommand({
  name: 'serve',
  synopsis: 'accord serve',
  summary: 'start the HTTP service',
  help: `accord serve

Starts Accord on HOST:PORT (default 127.0.0.1:8080) with data under ACCORD_DATA_DIR (default ./data).
On first start it creates the database, the Git registry and an admin token (printed once on
stderr, never into the log stream on stdout; or ACCORD_ADMIN_TOKEN), and imports the reference network from ACCORD_SEED_DIR.`,
}, () => import('../run/serve.ts'));
