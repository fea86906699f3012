import { addressWords, parseIpAddress, PORT_OPAQUE, type IpAddress, type PacketSelector } from "../wire/ip.js";
import { DecodeError } from "../wire/errors.js";

/**
 * Traffic selectors (RFC 4301 s4.4.1): local and remote address ranges, next-layer protocol and
 * port ranges (for ICMP/ICMPv6 the 16-bit type<<8 | code value in the local port field, the
 * RFC 4301 s4.4.1.1 / IKEv2 convention; the remote port is then usually ANY).
 *
 * Representation for fast matching: addresses are 32-bit words (`Uint32Array`, IPv4 uses word
 * 0), ranges are inclusive [start, end] pairs, and ANY is simply the full range, so a match is a
 * few integer comparisons with no branches on "ANY".
 */

/** Next-layer protocol 0 = ANY (RFC 4301 s4.4.1.1). */
export const PROTOCOL_ANY = 0;

export interface AddressRange {
  readonly family: 4 | 6;
  /** Inclusive bounds as words (IPv4: word 0 only). */
  readonly start: Uint32Array;
  readonly end: Uint32Array;
}

export interface PortRange {
  /** Inclusive 0..65535. */
  readonly start: number;
  readonly end: number;
}

export const PORT_ANY: PortRange = Object.freeze({ start: 0, end: 0xffff });

/** One selector set, seen from this host: local = source of outbound traffic. */
export interface TrafficSelector {
  readonly local: AddressRange;
  readonly remote: AddressRange;
  /** IP protocol number, or PROTOCOL_ANY. */
  readonly protocol: number;
  readonly localPort: PortRange;
  readonly remotePort: PortRange;
}

/** Compares two word arrays of `width` words: <0, 0, >0. */
export function compareWords(a: Uint32Array, b: Uint32Array, width: number, bOffset = 0): number {
  for (let i = 0; i < width; i++) {
    const x = a[i] as number;
    const y = b[bOffset + i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Word width of a family: 1 for IPv4, 4 for IPv6. */
export function familyWidth(family: 4 | 6): number {
  return family === 4 ? 1 : 4;
}

export function addressInRange(addr: Uint32Array, r: AddressRange): boolean {
  if (r.family === 4) {
    const a = addr[0] as number;
    return a >= (r.start[0] as number) && a <= (r.end[0] as number);
  }
  const w = 4;
  return compareWords(addr, r.start, w) >= 0 && compareWords(addr, r.end, w) <= 0;
}

function portInRange(port: number, r: PortRange): boolean {
  // An OPAQUE port (non-first fragment) matches only ANY (RFC 4301 s4.4.1.1 / s7).
  if (port === PORT_OPAQUE) return r.start === 0 && r.end === 0xffff;
  return port >= r.start && port <= r.end;
}

/**
 * True when the packet matches `ts`. `outbound` says which side is local: for outbound packets
 * local = source; for inbound packets local = destination.
 */
export function selectorMatches(ts: TrafficSelector, p: PacketSelector, outbound: boolean): boolean {
  if (ts.local.family !== p.family) return false;
  if (ts.protocol !== PROTOCOL_ANY && ts.protocol !== p.protocol) return false;
  const localAddr = outbound ? p.src : p.dst;
  const remoteAddr = outbound ? p.dst : p.src;
  if (!addressInRange(remoteAddr, ts.remote) || !addressInRange(localAddr, ts.local)) return false;
  const localPort = outbound ? p.srcPort : p.dstPort;
  const remotePort = outbound ? p.dstPort : p.srcPort;
  return portInRange(localPort, ts.localPort) && portInRange(remotePort, ts.remotePort);
}

/* ---------------------------------------------------------------- construction helpers */

/** An address range from two addresses of the same family (inclusive). Throws DecodeError otherwise. */
export function addressRange(start: IpAddress, end: IpAddress): AddressRange {
  if (start.length !== end.length || (start.length !== 4 && start.length !== 16)) {
    throw new DecodeError("selector.address", 0, "start and end must both be IPv4 or both IPv6");
  }
  const family = start.length === 4 ? 4 : 6;
  const s = addressWords(start);
  const e = addressWords(end);
  if (compareWords(s, e, familyWidth(family)) > 0) throw new DecodeError("selector.address", 0, "start above end");
  return { family, start: s, end: e };
}

/** An address range from CIDR text such as `198.18.1.0/24`, `2001:db8::/32` or a bare address. */
export function cidr(text: string): AddressRange {
  const [addrText, lenText] = text.split("/");
  const addr = parseIpAddress(addrText ?? "", "selector.cidr");
  const bits = addr.length * 8;
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits) throw new DecodeError("selector.cidr", 0, `bad prefix length in ${text}`);
  const start = new Uint8Array(addr);
  const end = new Uint8Array(addr);
  for (let i = 0; i < addr.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    const m = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    start[i] = (addr[i] as number) & m;
    end[i] = ((addr[i] as number) & m) | (~m & 0xff);
  }
  return addressRange(start, end);
}

/** The whole address space of a family (ANY). */
export function anyAddress(family: 4 | 6): AddressRange {
  return family === 4 ? cidr("0.0.0.0/0") : cidr("::/0");
}

export function portRange(start: number, end = start): PortRange {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > 0xffff || start > end) {
    throw new DecodeError("selector.port", 0, `bad port range ${start}-${end}`);
  }
  return { start, end };
}

/** ICMP type (and optionally code) as a local-port range (RFC 4301 s4.4.1.1). */
export function icmpTypeCode(type: number, code?: number): PortRange {
  return code === undefined ? portRange(type << 8, (type << 8) | 0xff) : portRange((type << 8) | code);
}

/** A selector with defaults: protocol ANY and ports ANY. */
export function trafficSelector(p: {
  local: AddressRange;
  remote: AddressRange;
  protocol?: number;
  localPort?: PortRange;
  remotePort?: PortRange;
}): TrafficSelector {
  if (p.local.family !== p.remote.family) throw new DecodeError("selector.family", 0, "local and remote must be the same family");
  return {
    local: p.local,
    remote: p.remote,
    protocol: p.protocol ?? PROTOCOL_ANY,
    localPort: p.localPort ?? PORT_ANY,
    remotePort: p.remotePort ?? PORT_ANY,
  };
}
