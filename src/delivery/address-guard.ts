// SSRF guard: destinations must be https and public, checked again at every connect so DNS rebinding cannot slip through.
import dns from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { DestinationRefusedError } from "./errors.js";

/**
 * Public addresses that still reach cloud control planes. Link-local (169.254.169.254), unique-local
 * (fd00:ec2::254) and CGNAT (Alibaba's 100.100.100.200) metadata endpoints are already refused by range.
 */
const METADATA_ADDRESSES = new Map<string, string>([["168.63.129.16", "the Azure platform endpoint"]]);

const RANGE_NAMES: Record<string, string> = {
  unspecified: "an unspecified address",
  broadcast: "a broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address (cloud metadata lives here)",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address",
  private: "a private address",
  uniqueLocal: "a unique-local (private) address",
  ipv4Mapped: "an IPv4-mapped IPv6 address",
  reserved: "a reserved address",
};

/** What kind of forbidden address this is ("a loopback address"…), or undefined for ordinary public unicast. */
function forbiddenKind(address: string): { address: string; kind: string } | undefined {
  const bare = address.replace(/^\[|\]$/g, "");
  if (!ipaddr.isValid(bare)) return { address, kind: "not an IP address" };
  const parsed = ipaddr.parse(bare);
  const normalized = parsed.toString();
  const metadata = METADATA_ADDRESSES.get(normalized);
  if (metadata) return { address: normalized, kind: metadata };
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    return { address: bare, kind: `an IPv4-mapped IPv6 address (${(parsed as ipaddr.IPv6).toIPv4Address().toString()})` };
  }
  // Allow-list rather than block-list: any range ipaddr.js knows as special (6to4, NAT64, teredo…) is refused.
  const range = parsed.range();
  if (range === "unicast") {
    // The deprecated IPv4-compatible form (::a.b.c.d, ::/96) embeds an IPv4 address too; ipaddr.js files it as unicast.
    const compatible = parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0);
    return compatible ? { address: normalized, kind: "an IPv4-compatible IPv6 address" } : undefined;
  }
  return { address: normalized, kind: RANGE_NAMES[range] ?? `a special-purpose address (${range})` };
}

/** Why an IP address must not receive deliveries ("127.0.0.1 is a loopback address"), or undefined when it is public. */
export function forbiddenAddressReason(address: string): string | undefined {
  const forbidden = forbiddenKind(address);
  return forbidden && `${forbidden.address} is ${forbidden.kind}`;
}

/**
 * Checks that need no network: scheme, and the address when the host is an IP literal.
 * Returns the reason to refuse, or undefined.
 */
export function refusedUrlReason(url: string | URL, allowPrivate: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return "the destination URL is not a valid URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `${parsed.protocol} URLs are not supported`;
  if (allowPrivate) return undefined;
  if (parsed.protocol !== "https:") {
    return "destination URLs must use https (set DEBRIEF_ALLOW_PRIVATE_DESTINATIONS=true to allow http in development)";
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) {
    const reason = forbiddenAddressReason(host);
    if (reason) return refusalMessage(reason);
  }
  return undefined;
}

function refusalMessage(reason: string): string {
  return `refused to connect: ${reason} (set DEBRIEF_ALLOW_PRIVATE_DESTINATIONS=true to allow private destinations in development)`;
}

type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for net/tls.connect that resolves, then refuses the host if any address is forbidden.
 * The socket connects to exactly the addresses checked here, so a second (rebinding) answer is never used.
 */
export function createGuardedLookup(resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      for (const { address } of addresses) {
        const forbidden = forbiddenKind(address);
        if (forbidden) {
          return callback(new DestinationRefusedError(refusalMessage(`${hostname} resolves to ${forbidden.address}, ${forbidden.kind}`)), "", 0);
        }
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no addresses`), { code: "ENOTFOUND" }), "", 0);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * The HTTP client every delivery goes through. Redirects are never followed (undici's default),
 * and unless private destinations are allowed, every connection passes the guard first.
 */
export function createDeliveryDispatcher(options: { allowPrivate: boolean; resolve?: Resolver }): Dispatcher {
  if (options.allowPrivate) return new Agent();
  const connectGuarded = buildConnector({ lookup: createGuardedLookup(options.resolve) });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    // net.connect skips `lookup` for IP literals, so those are checked here before any socket exists.
    const host = connectOptions.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host)) {
      const reason = forbiddenAddressReason(host);
      if (reason) return callback(new DestinationRefusedError(refusalMessage(reason)), null);
    }
    return connectGuarded(connectOptions, callback);
  };
  return new Agent({ connect });
}

/** The guard's refusal inside an error undici may have wrapped, or undefined. */
export function findRefusal(error: unknown): Error | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof DestinationRefusedError || (current as { code?: unknown }).code === "ERR_DESTINATION_REFUSED") return current;
    current = current.cause;
  }
  return undefined;
}
