import { addressRange, portRange, trafficSelector, type TrafficSelector as SpdSelector } from "../ipsec/selectors.js";
import { formatIpAddress, type PacketSelector } from "../wire/ip.js";
import { TsType } from "../wire/ike/constants.js";
import type { TrafficSelector as IkeTs } from "../wire/ike/types.js";
import { bigIntToBytes, bytesToBigInt } from "../wire/hex.js";

/**
 * Translations between the IKE engine's traffic selectors (RFC 7296 s3.13.1: one side's address
 * range, protocol and port range, as sent in TSi/TSr) and what the data plane and the kernel need:
 * SPD selectors (RFC 4301 s4.4.1: local AND remote side in one selector) and routes (CIDR blocks
 * into the TUN device).
 */

/** True for the IKE TS types the data plane can carry (IPv4/IPv6 address ranges). */
function isIpRange(ts: IkeTs): boolean {
  return (ts.type === TsType.TS_IPV4_ADDR_RANGE && ts.startAddress.length === 4) || (ts.type === TsType.TS_IPV6_ADDR_RANGE && ts.startAddress.length === 16);
}

/**
 * SPD selectors for a Child SA with local selectors `localTs` (TSi when we initiated) and remote
 * selectors `remoteTs`: every same-family pair whose protocols agree (RFC 4301 s4.4.1: a selector
 * set is the cross product). A protocol of 0 (ANY) on one side takes the other side's protocol.
 * Selector types other than IPv4/IPv6 ranges are skipped (they cannot match an IP packet).
 */
export function spdSelectors(localTs: readonly IkeTs[], remoteTs: readonly IkeTs[]): SpdSelector[] {
  const out: SpdSelector[] = [];
  for (const l of localTs) {
    if (!isIpRange(l)) continue;
    for (const r of remoteTs) {
      if (!isIpRange(r) || r.type !== l.type) continue;
      if (l.ipProtocol !== 0 && r.ipProtocol !== 0 && l.ipProtocol !== r.ipProtocol) continue;
      // An OPAQUE range (start > end, RFC 7296 s3.13.1) or any other inverted range carries no
      // concrete ports; such a pair protects nothing we can match, so it is left out.
      if (l.startPort > l.endPort || r.startPort > r.endPort) continue;
      out.push(
        trafficSelector({
          local: addressRange(l.startAddress, l.endAddress),
          remote: addressRange(r.startAddress, r.endAddress),
          protocol: l.ipProtocol !== 0 ? l.ipProtocol : r.ipProtocol,
          localPort: portRange(l.startPort, l.endPort),
          remotePort: portRange(r.startPort, r.endPort),
        }),
      );
    }
  }
  return out;
}

/** True when `a` and `b` are the same traffic selectors in the same order (field by field). */
export function sameTsList(a: readonly IkeTs[], b: readonly IkeTs[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as IkeTs;
    const y = b[i] as IkeTs;
    if (x.type !== y.type || x.ipProtocol !== y.ipProtocol || x.startPort !== y.startPort || x.endPort !== y.endPort) return false;
    if (!sameBytes(x.startAddress, y.startAddress) || !sameBytes(x.endAddress, y.endAddress)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The smallest list of CIDR blocks covering exactly the inclusive address range start..end (both 4
 * or both 16 bytes), e.g. 198.18.2.0..198.18.2.255 -> ["198.18.2.0/24"]; 10.0.0.1..10.0.0.6 ->
 * ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]. Throws RangeError for mixed
 * families or start > end.
 */
export function rangeToCidrs(start: Uint8Array, end: Uint8Array): string[] {
  if (start.length !== end.length || (start.length !== 4 && start.length !== 16)) throw new RangeError("range bounds must both be IPv4 or both IPv6");
  const bits = start.length * 8;
  let s = bytesToBigInt(start);
  const e = bytesToBigInt(end);
  if (s > e) throw new RangeError("range start is after its end");
  const out: string[] = [];
  while (s <= e) {
    // Largest block aligned at s that does not pass e.
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const mask = (1n << BigInt(next)) - 1n;
      if ((s & mask) !== 0n || s + mask > e) break;
      size = next;
    }
    out.push(`${formatIpAddress(bigIntToBytes(s, start.length))}/${bits - size}`);
    s += 1n << BigInt(size);
  }
  return out;
}

/** CIDR blocks covering the address ranges of `ts` (IP ranges only), deduplicated, in order. */
export function routesFor(ts: readonly IkeTs[]): string[] {
  const out: string[] = [];
  for (const t of ts) {
    if (!isIpRange(t)) continue;
    for (const c of rangeToCidrs(t.startAddress, t.endAddress)) if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** True when `address` (text) lies inside one of the ranges of `ts`. */
export function addressInTs(address: Uint8Array, ts: readonly IkeTs[]): boolean {
  const a = bytesToBigInt(address);
  return ts.some((t) => isIpRange(t) && t.startAddress.length === address.length && bytesToBigInt(t.startAddress) <= a && a <= bytesToBigInt(t.endAddress));
}

/** Address bytes (4 or 16) of a packet selector's 32-bit words. */
function wordsToBytes(words: Uint32Array, family: 4 | 6): Uint8Array {
  const len = family === 4 ? 4 : 16;
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len / 4; i++) {
    const w = words[i] as number;
    bytes[4 * i] = w >>> 24;
    bytes[4 * i + 1] = (w >>> 16) & 0xff;
    bytes[4 * i + 2] = (w >>> 8) & 0xff;
    bytes[4 * i + 3] = w & 0xff;
  }
  return bytes;
}

/** Text form of a packet selector's source or destination address (for logs). */
export function selectorAddress(words: Uint32Array, family: 4 | 6): string {
  return formatIpAddress(wordsToBytes(words, family));
}

/**
 * The TSi an acquire puts first (RFC 7296 s2.9: "the first traffic selector of TSi and TSr
 * SHOULD describe the packet that caused the request"): the packet's source address, protocol and
 * source port (all ports when the packet has none, e.g. a non-first fragment).
 */
export function triggeringTs(sel: PacketSelector): IkeTs {
  const bytes = wordsToBytes(sel.src, sel.family);
  const port = sel.srcPort >= 0 ? sel.srcPort : undefined;
  return {
    type: sel.family === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: sel.protocol,
    startPort: port ?? 0,
    endPort: port ?? 0xffff,
    startAddress: bytes,
    endAddress: bytes.slice(),
  };
}
