// Where webhooks may be sent (SPEC section 10, SSRF): https only, and never to loopback,
// private, link-local, metadata or otherwise special addresses, unless the operator allows
// them (WEBHOOK_ALLOW_INSECURE, WEBHOOK_ALLOW_PRIVATE_NETWORKS) for local testing.
//
// The address check runs when connecting, on every address the name resolves to (a custom
// `lookup` for the socket): a name that resolved to a public address when the endpoint was
// created and to 169.254.169.254 now is refused now. An IP literal in the URL (any spelling:
// the WHATWG URL parser turns 2130706433 or 0x7f.1 into 127.0.0.1) is checked the same way.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface NetworkPolicy {
  /** Allow `http:` URLs (WEBHOOK_ALLOW_INSECURE). */
  allowInsecure: boolean;
  /** Allow loopback, private, link-local and other non-public addresses (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
}

/** A refusal: the URL or an address it resolves to is not allowed. Never retried sooner than the backoff. */
export class AddressRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

export const MAX_URL_LENGTH = 2048;

/**
 * Why an IP address is not a public unicast address, or null when it is. Pure: no DNS, no
 * connection. IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) IPv6 addresses are
 * judged by the IPv4 address they carry; NAT64, 6to4 and Teredo prefixes (which embed an IPv4
 * address a gateway would reach) are refused with the other special ranges.
 */
export function nonPublicReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (v6.parts.slice(0, 6).every((p) => p === 0) && (v6.parts[6] !== 0 || v6.parts[7]! > 1)) {
      // ::a.b.c.d (deprecated IPv4-compatible form), not :: or ::1 (judged below as IPv6).
      ip = ipaddr.IPv4.parse(`${v6.parts[6]! >> 8}.${v6.parts[6]! & 0xff}.${v6.parts[7]! >> 8}.${v6.parts[7]! & 0xff}`);
    }
  }
  const range = ip.range();
  return range === 'unicast' ? null : `${ip.toString()} is a ${range} address`;
}

/** Refuses an address the policy does not allow. */
export function checkAddress(address: string, policy: NetworkPolicy): void {
  if (policy.allowPrivateNetworks) return;
  const reason = nonPublicReason(address);
  if (reason) throw new AddressRefusedError(`refused: ${reason} (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)`);
}

/** The host of a URL as a bare address when it is an IP literal ([::1] → ::1), else null. */
export function ipLiteralOf(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : null;
}

/** Why a URL cannot be an endpoint under the policy (scheme, shape, literal address), or null. */
export function urlProblem(raw: string, policy: NetworkPolicy): string | null {
  if (raw.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecure)) {
    return policy.allowInsecure ? 'must be an http or https URL' : 'must be an https URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (!url.hostname) return 'must name a host';
  const literal = ipLiteralOf(url);
  if (literal && !policy.allowPrivateNetworks) {
    const reason = nonPublicReason(literal);
    if (reason) return `must not point at a non-public address (${reason})`;
  }
  return null;
}

/**
 * A `lookup` for sockets that resolves every address of the name and refuses the connection
 * if any of them is not allowed (a name with one public and one private address is refused:
 * the resolver, not us, would pick which one is used).
 */
export function guardedLookup(policy: NetworkPolicy, resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list: LookupAddress[] = Array.isArray(addresses) ? addresses : [];
      try {
        if (list.length === 0) throw new AddressRefusedError(`${hostname} resolved to no address`);
        for (const a of list) checkAddress(a.address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
