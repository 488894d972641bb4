import ipaddr from 'ipaddr.js';

/** The address given to requests that arrive without a socket (in-process `app.request()` calls). */
export const IN_PROCESS = 'in-process';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
const parsedRanges = new WeakMap<readonly string[], Range[]>();

function ranges(cidrs: readonly string[]): Range[] {
  let parsed = parsedRanges.get(cidrs);
  if (!parsed) {
    parsed = cidrs.map((cidr) => ipaddr.parseCIDR(cidr));
    parsedRanges.set(cidrs, parsed);
  }
  return parsed;
}

/** An address in canonical form (IPv4-mapped IPv6 as IPv4), or undefined when it is none (IPv4 only as four decimal parts). */
function parse(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = text.trim();
  return ipaddr.IPv4.isValidFourPartDecimal(trimmed) || ipaddr.IPv6.isValid(trimmed) ? ipaddr.process(trimmed) : undefined;
}

const IPV4_WITH_PORT = /^([0-9.]+):(\d{1,5})$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/;
/** Most characters of an unreadable X-Forwarded-For entry kept as the client's key. */
export const UNREADABLE_ENTRY_MAX = 64;

/**
 * An X-Forwarded-For entry's address: a bare address, or the forms load balancers write with a
 * port (`a.b.c.d:port`, `[v6]`, `[v6]:port`, port 0–65535). Undefined when it is none of these.
 */
function parseForwarded(entry: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const trimmed = entry.trim();
  const withPort = IPV4_WITH_PORT.exec(trimmed) ?? BRACKETED_IPV6.exec(trimmed);
  if (!withPort) return parse(trimmed);
  if (withPort[2] !== undefined && Number(withPort[2]) > 65_535) return undefined;
  const host = withPort[1]!;
  return trimmed.startsWith('[') ? (ipaddr.IPv6.isValid(host) ? ipaddr.process(host) : undefined) : parse(host);
}

/** The key of a client a trusted proxy named in a form Accord cannot read: the entry itself, bounded. */
function unreadable(entry: string): string {
  return `unreadable ${JSON.stringify(entry.trim().slice(0, UNREADABLE_ENTRY_MAX))}`;
}

function within(address: ipaddr.IPv4 | ipaddr.IPv6, cidrs: Range[]): boolean {
  return cidrs.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy
 * (ACCORD_TRUSTED_PROXIES), in which case the right-most `X-Forwarded-For` entry that is not
 * itself a trusted proxy. Entries left of that one were written by the client and are ignored.
 * An entry the walk reaches was written by a trusted proxy about its peer; when Accord cannot read
 * it as an address, that client is keyed by the entry's text (`unreadable "<entry>"`, at most
 * UNREADABLE_ENTRY_MAX characters), never by the proxy's own address, which every client behind
 * the proxy would share.
 * @param peer the socket's remote address; undefined for in-process requests
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trustedProxies: readonly string[]): string {
  if (peer === undefined) return IN_PROCESS;
  const peerAddress = parse(peer);
  if (!peerAddress) return peer;
  const trusted = ranges(trustedProxies);
  if (!forwardedFor || trusted.length === 0 || !within(peerAddress, trusted)) return peerAddress.toString();
  let client = peerAddress;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseForwarded(hops[i]!);
    if (!hop) return unreadable(hops[i]!);
    client = hop;
    if (!within(hop, trusted)) break;
  }
  return client.toString();
}

/**
 * The key abuse limits count an address under: an IPv6 client by its /64 (one subscriber's
 * usual allocation, so rotating through it does not escape the limit), IPv4 by its address.
 */
export function limitKey(address: string): string {
  const parsed = parse(address);
  if (!parsed || parsed.kind() === 'ipv4') return address;
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/64`);
  return `${network.toString()}/64`;
}
