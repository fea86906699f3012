/**
 * API
 *   narrowTrafficSelectors(offered: TrafficSelector[], allowed: TrafficSelector[],
 *                          opts?: { triggerFirst?: boolean }): TrafficSelector[]
 *       RFC 7296 s2.9: the intersection, per selector type, of what the peer offered with what our
 *       policy allows (address range, port range incl. ICMP type/code and OPAQUE, protocol).
 *       Result order follows `offered`; duplicates and selectors covered by an earlier result are
 *       dropped. Empty result -> the caller sends TS_UNACCEPTABLE. With triggerFirst, offered[0] is
 *       the packet that triggered the acquire (s2.9): only results containing it are returned when
 *       any does.
 *   tsFromCidr(cidr: string, proto?: number, ports?: number | readonly [number, number]): TrafficSelector
 *       "198.18.1.0/24", "2001:db8::/64", "0.0.0.0/0", "198.18.1.7" (host). Throws TsParseError.
 *   tsFromRange(start: string, end: string, proto?: number, ports?: number | readonly [number, number]): TrafficSelector
 *   parseTs(s: string): TrafficSelector     // formatTs syntax: "198.18.1.0/24[tcp/443]", "a..b[udp/1000-2000]", "[icmp/8]"
 *   formatTs(ts: TrafficSelector): string   // "198.18.1.0/24[tcp/443]", "198.18.1.5..198.18.1.9", "0.0.0.0/0"
 *   formatTsList(list: TrafficSelector[]): string
 *   icmpPorts(type: number, code?: number): [number, number]   // RFC 4301 s4.4.1.1 / RFC 7296 s3.13.1
 *   tsContains(outer: TrafficSelector, inner: TrafficSelector): boolean
 *   tsEquals(a: TrafficSelector, b: TrafficSelector): boolean
 *   tsIntersect(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined
 *   tsForPacket(address: Uint8Array, proto: number, port: number): TrafficSelector  // the s2.9 trigger selector
 *   class TsParseError extends Error
 *
 * Model: a selector is three independent ranges (addresses, ports, protocol), so the intersection
 * of two selectors of the same type is the per-field intersection, and empty if any field is.
 * Ports carry ICMP type (high byte) and code (low byte) for ICMP/ICMPv6 (RFC 4301 s4.4.1.1), so
 * the same range arithmetic applies. OPAQUE ports (start 65535, end 0, s3.13.1) only intersect
 * OPAQUE or ANY (0..65535).
 */
import { formatIpAddress, parseIpAddress } from "../../wire/ip.js";
import { IpProto, TsType } from "../../wire/ike/constants.js";
import type { TrafficSelector } from "../../wire/ike/types.js";
import { bigIntToBytes, bytesToBigInt } from "../../wire/hex.js";

export class TsParseError extends Error {
  override readonly name = "TsParseError";
}

const OPAQUE_START = 65535;
const OPAQUE_END = 0;

function isOpaque(ts: TrafficSelector): boolean {
  return ts.startPort === OPAQUE_START && ts.endPort === OPAQUE_END;
}

function isAnyPort(ts: TrafficSelector): boolean {
  return ts.startPort === 0 && ts.endPort === 65535;
}



function addrLen(type: number): number | undefined {
  return type === TsType.TS_IPV4_ADDR_RANGE ? 4 : type === TsType.TS_IPV6_ADDR_RANGE ? 16 : undefined;
}

/** A selector we can reason about: known type and addresses of the right size. */
function wellFormed(ts: TrafficSelector): boolean {
  const n = addrLen(ts.type);
  return n !== undefined && ts.startAddress.length === n && ts.endAddress.length === n;
}

/** The intersection of two selectors, or undefined when it is empty or the types differ. */
export function tsIntersect(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined {
  if (a.type !== b.type || !wellFormed(a) || !wellFormed(b)) return undefined;
  const len = addrLen(a.type) as number;
  // Protocol: 0 is ANY.
  let proto: number;
  if (a.ipProtocol === 0) proto = b.ipProtocol;
  else if (b.ipProtocol === 0 || b.ipProtocol === a.ipProtocol) proto = a.ipProtocol;
  else return undefined;
  // Addresses.
  const lo = maxBig(bytesToBigInt(a.startAddress), bytesToBigInt(b.startAddress));
  const hi = minBig(bytesToBigInt(a.endAddress), bytesToBigInt(b.endAddress));
  if (lo > hi) return undefined;
  // Ports (or ICMP type/code).
  let sp: number;
  let ep: number;
  if (isOpaque(a) || isOpaque(b)) {
    const other = isOpaque(a) ? b : a;
    if (!isOpaque(other) && !isAnyPort(other)) return undefined;
    sp = OPAQUE_START;
    ep = OPAQUE_END;
  } else {
    sp = Math.max(a.startPort, b.startPort);
    ep = Math.min(a.endPort, b.endPort);
    if (sp > ep) return undefined;
  }
  return {
    type: a.type,
    ipProtocol: proto,
    startPort: sp,
    endPort: ep,
    startAddress: bigIntToBytes(lo, len),
    endAddress: bigIntToBytes(hi, len),
  };
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** True when every packet `inner` matches also matches `outer`. */
export function tsContains(outer: TrafficSelector, inner: TrafficSelector): boolean {
  const x = tsIntersect(outer, inner);
  return x !== undefined && tsEquals(x, inner);
}

export function tsEquals(a: TrafficSelector, b: TrafficSelector): boolean {
  return (
    a.type === b.type &&
    a.ipProtocol === b.ipProtocol &&
    a.startPort === b.startPort &&
    a.endPort === b.endPort &&
    bytesToBigInt(a.startAddress) === bytesToBigInt(b.startAddress) &&
    bytesToBigInt(a.endAddress) === bytesToBigInt(b.endAddress) &&
    a.startAddress.length === b.startAddress.length
  );
}

/**
 * RFC 7296 s2.9 narrowing, run by the responder on TSi and on TSr separately: every non-empty
 * intersection of an offered selector with an allowed one, in offered order, without selectors
 * already covered by an earlier result. The result is always a subset of what was offered.
 */
export function narrowTrafficSelectors(
  offered: TrafficSelector[],
  allowed: TrafficSelector[],
  opts: { triggerFirst?: boolean } = {},
): TrafficSelector[] {
  const trigger = opts.triggerFirst && offered.length > 1 ? offered[0] : undefined;
  // The trigger selector is a sample packet, not a range the initiator asks for (s2.9).
  const ranges = trigger ? offered.slice(1) : offered;
  const out: TrafficSelector[] = [];
  for (const o of ranges) {
    for (const a of allowed) {
      const x = tsIntersect(o, a);
      if (!x) continue;
      if (out.some((r) => tsContains(r, x))) continue;
      // A later, wider result replaces narrower earlier ones it covers.
      for (let i = out.length - 1; i >= 0; i--) if (tsContains(x, out[i] as TrafficSelector)) out.splice(i, 1);
      out.push(x);
    }
  }
  if (trigger) {
    const withPacket = out.filter((r) => tsContains(r, trigger));
    if (withPacket.length > 0) return withPacket;
  }
  return out;
}

/** RFC 4301 s4.4.1.1: ICMP type in the high byte, code in the low byte; no code means all codes. */
export function icmpPorts(type: number, code?: number): [number, number] {
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new TsParseError(`ICMP type ${type} is not 0..255`);
  if (code === undefined) return [type << 8, (type << 8) | 0xff];
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new TsParseError(`ICMP code ${code} is not 0..255`);
  return [(type << 8) | code, (type << 8) | code];
}

function portRange(ports: number | readonly [number, number] | undefined): [number, number] {
  if (ports === undefined) return [0, 65535];
  const [s, e] = typeof ports === "number" ? [ports, ports] : ports;
  for (const p of [s, e]) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new TsParseError(`port ${p} is not 0..65535`);
  }
  if (s > e && !(s === OPAQUE_START && e === OPAQUE_END)) throw new TsParseError(`port range ${s}-${e} is empty`);
  return [s, e];
}

function parseAddr(text: string): Uint8Array {
  try {
    return parseIpAddress(text, "traffic selector");
  } catch {
    throw new TsParseError(`'${text}' is not an IPv4 or IPv6 address`);
  }
}

/** A selector for a CIDR block (or a single address) with an optional protocol and port (range). */
export function tsFromCidr(cidr: string, proto = 0, ports?: number | readonly [number, number]): TrafficSelector {
  const [addrText, lenText, extra] = cidr.trim().split("/");
  if (extra !== undefined || addrText === undefined) throw new TsParseError(`'${cidr}' is not address/prefix`);
  const addr = parseAddr(addrText);
  const bits = addr.length * 8;
  const prefix = lenText === undefined ? bits : Number(lenText);
  if (!/^\d+$/.test(lenText ?? String(bits)) || prefix > bits) {
    throw new TsParseError(`prefix length '${lenText ?? ""}' in '${cidr}' is not 0..${bits}`);
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const a = bytesToBigInt(addr);
  const start = a & ~hostMask & ((1n << BigInt(bits)) - 1n);
  return makeTs(addr.length, start, start | hostMask, proto, ports);
}

/** A selector for an address range `start`..`end` (inclusive, same family). */
export function tsFromRange(start: string, end: string, proto = 0, ports?: number | readonly [number, number]): TrafficSelector {
  const s = parseAddr(start);
  const e = parseAddr(end);
  if (s.length !== e.length) throw new TsParseError(`range ${start}..${end} mixes IPv4 and IPv6`);
  if (bytesToBigInt(s) > bytesToBigInt(e)) throw new TsParseError(`range ${start}..${end} is empty (start after end)`);
  return makeTs(s.length, bytesToBigInt(s), bytesToBigInt(e), proto, ports);
}

/** The selector of one packet (s2.9: the initiator may put it first in TSi/TSr). */
export function tsForPacket(address: Uint8Array, proto: number, port: number): TrafficSelector {
  return {
    type: address.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: proto,
    startPort: port,
    endPort: port,
    startAddress: address.slice(),
    endAddress: address.slice(),
  };
}

function makeTs(len: number, start: bigint, end: bigint, proto: number, ports: number | readonly [number, number] | undefined): TrafficSelector {
  if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new TsParseError(`IP protocol ${proto} is not 0..255`);
  const [sp, ep] = portRange(ports);
  return {
    type: len === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: proto,
    startPort: sp,
    endPort: ep,
    startAddress: bigIntToBytes(start, len),
    endAddress: bigIntToBytes(end, len),
  };
}

const PROTO_NAMES: Readonly<Record<number, string>> = {
  [IpProto.ICMP]: "icmp",
  [IpProto.TCP]: "tcp",
  [IpProto.UDP]: "udp",
  [IpProto.ICMPV6]: "ipv6-icmp",
  [IpProto.ESP]: "esp",
  [IpProto.AH]: "ah",
  132: "sctp",
  47: "gre",
};
const PROTO_BY_NAME: ReadonlyMap<string, number> = new Map([
  ...Object.entries(PROTO_NAMES).map(([k, v]) => [v, Number(k)] as [string, number]),
  ["icmpv6", IpProto.ICMPV6],
  ["any", 0],
]);

function isIcmp(proto: number): boolean {
  return proto === IpProto.ICMP || proto === IpProto.ICMPV6;
}

/** If [start, end] is exactly a CIDR block, its prefix length; else undefined. */
function prefixOf(start: bigint, end: bigint, bits: number): number | undefined {
  const size = end - start + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  if ((start & (size - 1n)) !== 0n) return undefined;
  let p = bits;
  for (let s = size; s > 1n; s >>= 1n) p--;
  return p;
}

function formatPorts(ts: TrafficSelector): string {
  if (isOpaque(ts)) return "OPAQUE";
  if (isIcmp(ts.ipProtocol)) {
    const t1 = ts.startPort >> 8;
    const t2 = ts.endPort >> 8;
    const c1 = ts.startPort & 0xff;
    const c2 = ts.endPort & 0xff;
    if (t1 === t2 && c1 === 0 && c2 === 0xff) return `${t1}`;
    if (t1 === t2 && c1 === c2) return `${t1}/${c1}`;
  }
  return ts.startPort === ts.endPort ? `${ts.startPort}` : `${ts.startPort}-${ts.endPort}`;
}

/** strongSwan-style: `198.18.1.0/24[tcp/443]`, `198.18.1.5..198.18.1.9`, `2001:db8::/64[udp]`, `0.0.0.0/0`. */
export function formatTs(ts: TrafficSelector): string {
  let addr: string;
  if (!wellFormed(ts)) {
    addr = `TS(${ts.type})`;
  } else {
    const s = bytesToBigInt(ts.startAddress);
    const e = bytesToBigInt(ts.endAddress);
    const p = prefixOf(s, e, ts.startAddress.length * 8);
    addr = p !== undefined ? `${formatIpAddress(ts.startAddress)}/${p}` : `${formatIpAddress(ts.startAddress)}..${formatIpAddress(ts.endAddress)}`;
  }
  if (ts.ipProtocol === 0 && isAnyPort(ts)) return addr;
  const proto = ts.ipProtocol === 0 ? "any" : (PROTO_NAMES[ts.ipProtocol] ?? String(ts.ipProtocol));
  if (isAnyPort(ts)) return `${addr}[${proto}]`;
  return `${addr}[${proto}/${formatPorts(ts)}]`;
}

export function formatTsList(list: readonly TrafficSelector[]): string {
  return list.length === 0 ? "(none)" : list.map(formatTs).join(", ");
}

/**
 * Parses the formatTs syntax (for configuration and tests): `addr[/len]` or `start..end`, then an
 * optional `[proto]`, `[proto/port]`, `[proto/start-end]`, `[icmp/type]`, `[icmp/type/code]`,
 * `[proto/OPAQUE]`. Protocol names: tcp, udp, icmp, ipv6-icmp (icmpv6), sctp, gre, esp, ah, any, or a number.
 */
export function parseTs(s: string): TrafficSelector {
  const m = /^([^[\]]+?)(?:\[([^\]]*)\])?$/.exec(s.trim());
  if (!m) throw new TsParseError(`'${s}' is not a traffic selector (e.g. 198.18.1.0/24[tcp/443])`);
  const addrPart = (m[1] as string).trim();
  let proto = 0;
  let ports: number | [number, number] | undefined;
  if (m[2] !== undefined) {
    const [protoText, ...rest] = m[2].split("/");
    const pt = (protoText ?? "").toLowerCase();
    const byName = PROTO_BY_NAME.get(pt);
    proto = byName ?? (/^\d+$/.test(pt) ? Number(pt) : NaN);
    if (Number.isNaN(proto)) throw new TsParseError(`unknown protocol '${protoText ?? ""}' in '${s}' (use tcp, udp, icmp, ipv6-icmp, a number or any)`);
    if (rest.length > 0) {
      const num = (x: string): number => {
        if (!/^\d+$/.test(x)) throw new TsParseError(`'${x}' in '${s}' is not a number`);
        return Number(x);
      };
      if (rest.length === 1 && rest[0]?.toUpperCase() === "OPAQUE") ports = [OPAQUE_START, OPAQUE_END];
      else if (isIcmp(proto) && rest.length <= 2 && !(rest[0] ?? "").includes("-")) {
        ports = icmpPorts(num(rest[0] ?? ""), rest[1] === undefined ? undefined : num(rest[1]));
      } else if (rest.length === 1) {
        const [a, b] = (rest[0] ?? "").split("-");
        ports = b === undefined ? num(a ?? "") : [num(a ?? ""), num(b)];
      } else {
        throw new TsParseError(`'${m[2]}' in '${s}' is not proto/port`);
      }
    }
  }
  if (addrPart.includes("..")) {
    const [a, b] = addrPart.split("..");
    return tsFromRange(a ?? "", b ?? "", proto, ports);
  }
  return tsFromCidr(addrPart, proto, ports);
}
