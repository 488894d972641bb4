/**
 * The runtime benchmark's load generator, in its own process (neither the servers' event loop
 * nor the benchmark's): reads one JSON run per stdin line — `{url, headers, body, connections,
 * duration, keyPrefix?}` — runs autocannon and prints one JSON line: throughput, p50 and p99
 * latency (ms), non-2xx answers and errors. With `keyPrefix`, every request carries a new
 * Idempotency-Key. Exits when stdin ends.
 */
import readline from 'node:readline';
import autocannon from 'autocannon';

interface Run {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  keyPrefix?: string;
}

let n = 0;
for await (const line of readline.createInterface({ input: process.stdin })) {
  const run = JSON.parse(line) as Run;
  const options: autocannon.Options = { url: run.url, method: 'POST', headers: run.headers, body: run.body, connections: run.connections, duration: run.duration };
  if (run.keyPrefix) {
    const prefix = run.keyPrefix;
    options.requests = [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `${prefix}-${process.pid}-${n++}` } }) }];
  }
  const result = await new Promise<autocannon.Result>((resolve, reject) => autocannon(options, (error, r) => (error ? reject(error) : resolve(r))));
  console.log(JSON.stringify({ rate: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, failures: result.non2xx + result.errors + result.timeouts }));
}
