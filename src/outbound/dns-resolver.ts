import dns from 'node:dns';

/** One address a host name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to every address it has (a DNS answer is a remote party's word).
 * `signal` aborts the lookup when the caller's budget (`timeoutMs`) is spent; a lookup must
 * then let go of whatever it holds.
 */
export type ResolveHost = (name: string, options: { signal: AbortSignal; timeoutMs: number }) => Promise<ResolvedAddress[]>;

/** How long to wait for the other address family once one has answered (RFC 8305 §3 "Resolution Delay"). */
const RESOLUTION_DELAY_MS = 50;

/**
 * A resolver that asks DNS servers directly (c-ares: `resolve4` and `resolve6` on sockets of
 * the event loop), never getaddrinfo: getaddrinfo runs on libuv's small shared thread pool and
 * a timeout cannot free its thread, so a few names whose server never answers would hold up
 * every other lookup (and `fs`, `crypto`, `zlib` work) of the process. Each lookup has its own
 * channel, cancelled when the caller's signal aborts, so a stalled lookup holds one socket and
 * nothing anyone else waits for.
 *
 * `servers` (`host:port`) replaces the system's name servers (from /etc/resolv.conf). The hosts
 * file is not read and search domains are not applied: a name is resolved as written. IPv4
 * addresses come first (the one connected to is the first), then IPv6.
 */
export function dnsResolver(options: { servers?: string[] } = {}): ResolveHost {
  return (name, { signal, timeoutMs }) => {
    // Two tries per server: one lost UDP packet does not fail the lookup.
    const resolver = new dns.promises.Resolver({ timeout: Math.max(1, Math.ceil(timeoutMs / 2)), tries: 2 });
    if (options.servers) resolver.setServers(options.servers);
    const cancel = () => resolver.cancel();
    return new Promise<ResolvedAddress[]>((resolve, reject) => {
      const found: ResolvedAddress[][] = [[], []];
      const errors: NodeJS.ErrnoException[] = [];
      let pending = 2;
      let delay: NodeJS.Timeout | undefined;
      const settle = () => {
        if (--pending > 0) return;
        clearTimeout(delay);
        signal.removeEventListener('abort', cancel);
        const addresses = found.flat();
        if (addresses.length > 0) resolve(addresses);
        else reject(errors.find((e) => e.code !== 'ENODATA') ?? errors[0] ?? new Error(`${name} has no address`));
      };
      const families = [
        resolver.resolve4(name).then((list) => list.map((address): ResolvedAddress => ({ address, family: 4 }))),
        resolver.resolve6(name).then((list) => list.map((address): ResolvedAddress => ({ address, family: 6 }))),
      ];
      families.forEach((query, i) => {
        void query
          .then(
            (addresses) => {
              found[i] = addresses;
              if (addresses.length > 0 && pending === 2) delay = setTimeout(cancel, RESOLUTION_DELAY_MS);
            },
            (error: NodeJS.ErrnoException) => void errors.push(error),
          )
          .finally(settle);
      });
      signal.addEventListener('abort', cancel, { once: true });
      if (signal.aborted) cancel();
    });
  };
}

/** Resolves with the system's name servers. */
export const defaultResolver: ResolveHost = dnsResolver();
