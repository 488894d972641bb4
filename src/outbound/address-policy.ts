import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.ts';
import { defaultResolver, type ResolvedAddress, type ResolveHost } from './dns-resolver.ts';

/** Which destinations outbound calls (webhooks, later partner endpoints) may reach besides public addresses. */
export interface OutboundPolicy {
  /** Every non-public address is allowed (ACCORD_OUTBOUND_ALLOW_PRIVATE=true). */
  allowPrivate: boolean;
  /** Non-public ranges that are allowed anyway (ACCORD_OUTBOUND_ALLOW_CIDRS). */
  allowCidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

/** One address and what it is: `range` is ipaddr.js's range name (`unicast` is the only public one). */
export interface AddressVerdict {
  /** The address itself (what a connection goes to). */
  address: string;
  /** What was classified: the address, or the IPv4 address an IPv4-mapped or NAT64 IPv6 address carries. */
  classified: string;
  range: string;
  allowed: boolean;
}

/** What a destination check concluded. `unresolved` and `not-allowed` carry a reason fit for the caller to read. */
export type DestinationCheck =
  | { ok: true; url: URL; addresses: AddressVerdict[] }
  | { ok: false; failure: 'not-allowed' | 'unresolved'; reason: string; error?: unknown };

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
/** The only IPv6 block global unicast addresses are allocated from (RFC 4291 §2.4, IANA). */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
/** Longest URL an outbound call accepts (it is stored, logged and quoted in notices). */
export const MAX_URL_LENGTH = 2048;
/** What `localhost` and names under it are (RFC 6761), IPv4 first. */
const LOOPBACK_ADDRESSES: ResolvedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** The outbound policy the settings describe. */
export function outboundPolicy(config: Pick<Config, 'outboundAllowPrivate' | 'outboundAllowCidrs'>): OutboundPolicy {
  return { allowPrivate: config.outboundAllowPrivate, allowCidrs: config.outboundAllowCidrs.map((cidr) => ipaddr.parseCIDR(cidr)) };
}

/**
 * Classifies one IP address with ipaddr.js. Only `unicast` is public; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) and a NAT64 address of the well-known prefix (64:ff9b::/96) are
 * classified as the IPv4 address they carry. An IPv6 address ipaddr.js calls unicast outside
 * 2000::/3 is `reserved` (the IETF-reserved ::/8 with its IPv4-compatible ::/96, and space
 * never allocated). Anything else non-public (loopback, RFC 1918, link-local and cloud
 * metadata, unique-local, unspecified, carrier-grade NAT, multicast, broadcast, reserved,
 * 6to4, Teredo, …) is allowed only by the policy's opt-ins.
 */
function classifyAddress(address: string, policy: OutboundPolicy): AddressVerdict {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return { address, classified: address, range: 'invalid', allowed: false };
  }
  let ip = parsed;
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (v6.match(NAT64_WELL_KNOWN)) ip = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  let range = ip.range();
  if (range === 'unicast' && ip.kind() === 'ipv6' && !ip.match(IPV6_GLOBAL_UNICAST)) range = 'reserved';
  const inAllowedCidr = policy.allowCidrs.some(([network, bits]) => network.kind() === ip.kind() && ip.match(network, bits));
  return { address: parsed.toString(), classified: ip.toString(), range, allowed: range === 'unicast' || policy.allowPrivate || inAllowedCidr };
}

/** `localhost` and every name under it are loopback by definition (RFC 6761), whatever a resolver says. */
function isLocalhostName(name: string): boolean {
  const bare = name.toLowerCase().replace(/\.$/, '');
  return bare === 'localhost' || bare.endsWith('.localhost');
}

/**
 * What can be known about a URL without DNS: an http(s) URL of at most MAX_URL_LENGTH
 * characters (as given and once normalised) without credentials whose host, if it is an
 * address (in any spelling WHATWG URL parsing normalises: decimal, hex, octal, short IPv4
 * forms, IPv4-mapped IPv6), is allowed; a `localhost` name is refused unless every private
 * address is allowed. `name` is set when the host is a name still to resolve.
 */
export function checkUrl(raw: string, policy: OutboundPolicy): { ok: true; url: URL; address?: AddressVerdict; name?: string } | { ok: false; reason: string } {
  const tooLong = { ok: false, reason: `must be at most ${MAX_URL_LENGTH} characters` } as const;
  if (raw.length > MAX_URL_LENGTH) return tooLong;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an http(s) URL' };
  }
  if (url.href.length > MAX_URL_LENGTH) return tooLong;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `must be an http(s) URL, not ${url.protocol}` };
  if (url.username || url.password) return { ok: false, reason: 'must not carry credentials (user:password@); authenticate deliveries with the signing secret' };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host)) {
    const address = classifyAddress(host, policy);
    return address.allowed ? { ok: true, url, address } : { ok: false, reason: `is a private address (${address.classified}, ${address.range})` };
  }
  if (isLocalhostName(host) && !policy.allowPrivate) return { ok: false, reason: `is a loopback name (${host})` };
  return { ok: true, url, name: host };
}

/** The resolver's answer, or a rejection once `timeoutMs` has passed; the resolver is then told to let go (its signal aborts). */
async function resolveWithin(resolve: ResolveHost, name: string, timeoutMs: number): Promise<ResolvedAddress[]> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([resolve(name, { signal: controller.signal, timeoutMs }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks a destination completely: the URL rules of `checkUrl`, then, for a host name, every
 * address it resolves to (within `timeoutMs`) must be allowed. `localhost` names are loopback
 * without asking anyone (RFC 6761); other names go to `resolve` (DNS, `defaultResolver`). The
 * addresses returned are the ones to connect to: connecting anywhere else would let a second
 * DNS answer rebind the name.
 */
export async function checkDestination(raw: string, policy: OutboundPolicy, options: { resolve?: ResolveHost; timeoutMs: number }): Promise<DestinationCheck> {
  const checked = checkUrl(raw, policy);
  if (!checked.ok) return { ok: false, failure: 'not-allowed', reason: checked.reason };
  if (checked.address) return { ok: true, url: checked.url, addresses: [checked.address] };
  const name = checked.name!;
  let answers: ResolvedAddress[];
  try {
    answers = isLocalhostName(name) ? LOOPBACK_ADDRESSES : await resolveWithin(options.resolve ?? defaultResolver, name, options.timeoutMs);
  } catch (error) {
    return { ok: false, failure: 'unresolved', reason: `${name} could not be resolved`, error };
  }
  if (answers.length === 0) return { ok: false, failure: 'unresolved', reason: `${name} could not be resolved` };
  const addresses = answers.map((a) => classifyAddress(a.address, policy));
  const refused = addresses.find((a) => !a.allowed);
  if (refused) return { ok: false, failure: 'not-allowed', reason: `resolves to a private address (${refused.classified}, ${refused.range})` };
  return { ok: true, url: checked.url, addresses };
}

/** How long a registration waits for DNS before accepting a name it could not resolve (it is checked again at every call). */
const REGISTRATION_RESOLVE_TIMEOUT_MS = 2000;

/**
 * A URL's verdict under the outbound address policy when it is registered (a webhook, a partner
 * endpoint), as the 422 message, or undefined if it may be used. A name that cannot be resolved
 * now is accepted. A partner is not told which address a name resolved to: that would let it
 * read Accord's internal DNS.
 */
export async function destinationRefusal(config: Pick<Config, 'outboundAllowPrivate' | 'outboundAllowCidrs'>, forPartner: boolean, url: string, options: { resolve?: ResolveHost; timeoutMs: number }): Promise<string | undefined> {
  const policy = outboundPolicy(config);
  const literal = checkUrl(url, policy);
  if (!literal.ok) return literal.reason;
  const check = await checkDestination(url, policy, { resolve: options.resolve, timeoutMs: Math.min(REGISTRATION_RESOLVE_TIMEOUT_MS, options.timeoutMs) });
  if (check.ok || check.failure !== 'not-allowed') return undefined;
  return forPartner ? 'resolves to an address that is not public' : check.reason;
}
