import { DecodeError } from "./errors.js";

/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) header peek for the data plane: the fields RFC 4301 s4.4.1
 * selectors need (addresses, next-layer protocol after IPv6 extension headers, ports or ICMP
 * type/code), plus header builders and Internet checksum helpers (RFC 1071, RFC 1624).
 *
 * Addresses are kept as 32-bit words (`Uint32Array(4)`; IPv4 uses word 0 only) so that selector
 * matching compares numbers, never strings. {@link peekIp} fills a caller-owned
 * {@link PacketSelector} so the per-packet path allocates nothing.
 */

export const IPV4_HEADER_LENGTH = 20;
export const IPV6_HEADER_LENGTH = 40;

/** Port value meaning "not available" (non-first fragment, truncated header): RFC 4301 OPAQUE. */
export const PORT_OPAQUE = -1;

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;
const PROTO_SCTP = 132;
const PROTO_UDPLITE = 136;
const PROTO_AH = 51;
const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_DEST_OPTS = 60;
const EXT_MOBILITY = 135;

/** What a packet offers to SPD/SA selector matching (RFC 4301 s4.4.1.1), in a reusable object. */
export interface PacketSelector {
  family: 4 | 6;
  /** Source address as 32-bit words (IPv4: word 0). */
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  /** Next-layer protocol (after IPv6 extension headers). */
  protocol: number;
  /**
   * TCP/UDP/SCTP source port; for ICMP/ICMPv6 the 16-bit value type<<8 | code (RFC 4301 s4.4.1.1,
   * the IKEv2 convention); PORT_OPAQUE when not available.
   */
  srcPort: number;
  /** Destination port; for ICMP the same type<<8 | code; PORT_OPAQUE when not available. */
  dstPort: number;
  /** IPv4 Total Length or 40 + IPv6 Payload Length, in bytes. */
  totalLength: number;
  /** Offset of the next-layer header (after IPv4 options / IPv6 extension headers), bytes. */
  payloadOffset: number;
  /** Offset of the byte holding the protocol field that names `protocol` (IPv4: 9; IPv6: the last next-header field). */
  nextHeaderFieldOffset: number;
}

/** A fresh selector object to reuse across {@link peekIp} calls. */
export function newPacketSelector(): PacketSelector {
  return {
    family: 4,
    src: new Uint32Array(4),
    dst: new Uint32Array(4),
    protocol: 0,
    srcPort: PORT_OPAQUE,
    dstPort: PORT_OPAQUE,
    totalLength: 0,
    payloadOffset: 0,
    nextHeaderFieldOffset: 0,
  };
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number);
}

/** IP version nibble of the first byte, or 0 for an empty buffer. */
export function ipVersion(packet: Uint8Array): number {
  return packet.length === 0 ? 0 : (packet[0] as number) >>> 4;
}

/**
 * Reads the selector fields of an IPv4 or IPv6 packet into `out` (allocated when omitted).
 * Throws DecodeError for a truncated header, a version other than 4/6, an IHL < 5, a length field
 * beyond the buffer, or a truncated extension header. Ports become PORT_OPAQUE for non-first
 * fragments and for a next-layer header too short to hold them.
 */
export function peekIp(packet: Uint8Array, out: PacketSelector = newPacketSelector()): PacketSelector {
  const v = ipVersion(packet);
  if (v === 4) return peekIpv4(packet, out);
  if (v === 6) return peekIpv6(packet, out);
  throw new DecodeError("IP.version", 0, packet.length === 0 ? "empty packet" : `version ${v} is neither 4 nor 6`);
}

function peekIpv4(p: Uint8Array, out: PacketSelector): PacketSelector {
  if (p.length < IPV4_HEADER_LENGTH) throw new DecodeError("IPv4.header", 0, `needs 20 bytes, got ${p.length}`);
  const ihl = ((p[0] as number) & 0x0f) * 4;
  if (ihl < IPV4_HEADER_LENGTH) throw new DecodeError("IPv4.IHL", 0, `header length ${ihl} < 20`);
  const total = u16(p, 2);
  if (total < ihl || total > p.length) throw new DecodeError("IPv4.totalLength", 2, `total length ${total} outside ${ihl}..${p.length}`);
  out.family = 4;
  // Element stores, not fill(0): this runs per packet, and fill's call showed in the ESP profile.
  const src = out.src;
  const dst = out.dst;
  src[0] = u32(p, 12);
  src[1] = 0;
  src[2] = 0;
  src[3] = 0;
  dst[0] = u32(p, 16);
  dst[1] = 0;
  dst[2] = 0;
  dst[3] = 0;
  out.protocol = p[9] as number;
  out.totalLength = total;
  out.payloadOffset = ihl;
  out.nextHeaderFieldOffset = 9;
  const fragOffset = u16(p, 6) & 0x1fff;
  readPorts(p, ihl, total, fragOffset !== 0, out);
  return out;
}

function peekIpv6(p: Uint8Array, out: PacketSelector): PacketSelector {
  if (p.length < IPV6_HEADER_LENGTH) throw new DecodeError("IPv6.header", 0, `needs 40 bytes, got ${p.length}`);
  const total = IPV6_HEADER_LENGTH + u16(p, 4);
  if (total > p.length) throw new DecodeError("IPv6.payloadLength", 4, `payload length ${total - 40} beyond the ${p.length - 40} bytes given`);
  out.family = 6;
  for (let i = 0; i < 4; i++) {
    out.src[i] = u32(p, 8 + 4 * i);
    out.dst[i] = u32(p, 24 + 4 * i);
  }
  out.totalLength = total;
  let nh = p[6] as number;
  let nhField = 6;
  let off = IPV6_HEADER_LENGTH;
  let laterFragment = false;
  // Walk extension headers (RFC 8200 s4) to the next-layer protocol (RFC 4301 s4.4.1.1 wants it).
  for (;;) {
    if (nh === EXT_HOP_BY_HOP || nh === EXT_ROUTING || nh === EXT_DEST_OPTS || nh === EXT_MOBILITY) {
      if (off + 2 > total) throw new DecodeError("IPv6.extensionHeader", off, "truncated");
      const len = ((p[off + 1] as number) + 1) * 8;
      if (off + len > total) throw new DecodeError("IPv6.extensionHeader.length", off + 1, `length ${len} beyond the packet`);
      if (nh === EXT_MOBILITY) break; // Mobility Header is itself a next-layer protocol (RFC 4301 s4.4.1.1).
      nhField = off;
      nh = p[off] as number;
      off += len;
    } else if (nh === EXT_FRAGMENT) {
      if (off + 8 > total) throw new DecodeError("IPv6.fragmentHeader", off, "truncated");
      if ((u16(p, off + 2) & 0xfff8) !== 0) laterFragment = true;
      nhField = off;
      nh = p[off] as number;
      off += 8;
    } else if (nh === PROTO_AH) {
      if (off + 2 > total) throw new DecodeError("IPv6.AH", off, "truncated");
      const len = ((p[off + 1] as number) + 2) * 4;
      if (off + len > total) throw new DecodeError("IPv6.AH.payloadLen", off + 1, `length ${len} beyond the packet`);
      nhField = off;
      nh = p[off] as number;
      off += len;
    } else {
      break;
    }
  }
  out.protocol = nh;
  out.payloadOffset = off;
  out.nextHeaderFieldOffset = nhField;
  readPorts(p, off, total, laterFragment, out);
  return out;
}

function readPorts(p: Uint8Array, off: number, end: number, laterFragment: boolean, out: PacketSelector): void {
  out.srcPort = PORT_OPAQUE;
  out.dstPort = PORT_OPAQUE;
  if (laterFragment) return;
  const proto = out.protocol;
  if (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_UDPLITE) {
    if (off + 4 <= end) {
      out.srcPort = u16(p, off);
      out.dstPort = u16(p, off + 2);
    }
  } else if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
    if (off + 2 <= end) {
      const tc = u16(p, off);
      out.srcPort = tc;
      out.dstPort = tc;
    }
  }
}

/* ---------------------------------------------------------------- checksums (RFC 1071/1624) */

/** One's-complement sum of the 16-bit words in b[start, end) added to `initial`, not folded. */
export function onesComplementSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  let i = start;
  for (; i + 1 < end; i += 2) s += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < end) s += (b[i] as number) << 8;
  return s;
}

/** Folds a sum to 16 bits and complements it: the Internet checksum. */
export function foldChecksum(sum: number): number {
  return ~foldSumRaw(sum) & 0xffff;
}

/** The IPv4 header checksum of the header at `offset` (checksum field treated as zero). */
export function ipv4HeaderChecksum(packet: Uint8Array, offset = 0): number {
  const ihl = ((packet[offset] as number) & 0x0f) * 4;
  const s = onesComplementSum(packet, offset, offset + ihl) - u16(packet, offset + 10);
  return foldChecksum(s);
}

/** Recomputes and stores the IPv4 header checksum at `offset`. */
export function setIpv4HeaderChecksum(packet: Uint8Array, offset = 0): void {
  packet[offset + 10] = 0;
  packet[offset + 11] = 0;
  const c = ipv4HeaderChecksum(packet, offset);
  packet[offset + 10] = c >>> 8;
  packet[offset + 11] = c & 0xff;
}

/** True when the IPv4 header checksum at `offset` verifies. */
export function ipv4HeaderChecksumValid(packet: Uint8Array, offset = 0): boolean {
  const ihl = ((packet[offset] as number) & 0x0f) * 4;
  return foldChecksum(onesComplementSum(packet, offset, offset + ihl)) === 0;
}

/**
 * Incrementally updates a 16-bit checksum when covered data changes (RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m')). `oldSum`/`newSum` are unfolded one's-complement sums of the old and new
 * covered words (e.g. the pseudo-header addresses).
 */
export function adjustChecksum(checksum: number, oldSum: number, newSum: number): number {
  const s = (~checksum & 0xffff) + (~foldSumRaw(oldSum) & 0xffff) + foldSumRaw(newSum);
  return ~foldSumRaw(s) & 0xffff;
}

function foldSumRaw(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/* ---------------------------------------------------------------- builders */

export interface Ipv4HeaderFields {
  readonly tos?: number;
  readonly totalLength: number;
  readonly identification?: number;
  /** Flags (3 bits) << 13 | fragment offset; default 0. */
  readonly flagsFragment?: number;
  readonly ttl?: number;
  readonly protocol: number;
  /** Address as a 32-bit unsigned number. */
  readonly src: number;
  readonly dst: number;
}

/** Writes a 20-byte IPv4 header (no options) at `offset` with a valid checksum. */
export function encodeIpv4Header(out: Uint8Array, offset: number, f: Ipv4HeaderFields): void {
  out[offset] = 0x45;
  out[offset + 1] = f.tos ?? 0;
  put16(out, offset + 2, f.totalLength);
  put16(out, offset + 4, f.identification ?? 0);
  put16(out, offset + 6, f.flagsFragment ?? 0);
  out[offset + 8] = f.ttl ?? 64;
  out[offset + 9] = f.protocol;
  put16(out, offset + 10, 0);
  put32(out, offset + 12, f.src);
  put32(out, offset + 16, f.dst);
  setIpv4HeaderChecksum(out, offset);
}

export interface Ipv6HeaderFields {
  readonly trafficClass?: number;
  readonly flowLabel?: number;
  /** Bytes after the 40-byte header. */
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit?: number;
  /** 16-byte addresses. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

/** Writes a 40-byte IPv6 header at `offset`. */
export function encodeIpv6Header(out: Uint8Array, offset: number, f: Ipv6HeaderFields): void {
  const tc = f.trafficClass ?? 0;
  const fl = f.flowLabel ?? 0;
  out[offset] = 0x60 | (tc >>> 4);
  out[offset + 1] = ((tc & 0x0f) << 4) | ((fl >>> 16) & 0x0f);
  put16(out, offset + 2, fl & 0xffff);
  put16(out, offset + 4, f.payloadLength);
  out[offset + 6] = f.nextHeader;
  out[offset + 7] = f.hopLimit ?? 64;
  out.set(f.src.subarray(0, 16), offset + 8);
  out.set(f.dst.subarray(0, 16), offset + 24);
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/* ---------------------------------------------------------------- addresses */

/** An IP address as bytes (4 or 16). */
export type IpAddress = Uint8Array;

/**
 * Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::`; no zone, no embedded IPv4) into 4 or 16
 * bytes. Throws DecodeError naming `field` for anything else. For configuration and tests, not the
 * per-packet path.
 */
export function parseIpAddress(text: string, field = "address"): IpAddress {
  if (text.includes(":")) return parseIpv6(text, field);
  const parts = text.split(".");
  if (parts.length !== 4) throw new DecodeError(field, 0, `not an IP address: ${text}`);
  const out = new Uint8Array(4);
  parts.forEach((s, i) => {
    if (!/^\d{1,3}$/.test(s) || Number(s) > 255) throw new DecodeError(field, 0, `not an IPv4 address: ${text}`);
    out[i] = Number(s);
  });
  return out;
}

function parseIpv6(text: string, field: string): IpAddress {
  const halves = text.split("::");
  if (halves.length > 2) throw new DecodeError(field, 0, `not an IPv6 address: ${text}`);
  const groups = (s: string | undefined): string[] => (s === undefined || s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) throw new DecodeError(field, 0, `not an IPv6 address: ${text}`);
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new DecodeError(field, 0, `not an IPv6 address: ${text}`);
    const v = parseInt(g, 16);
    out[2 * i] = v >>> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Text form of a 4- or 16-byte address (IPv6 with the longest zero run compressed). */
export function formatIpAddress(a: IpAddress): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i] as number) << 8) | (a[i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Address bytes -> 32-bit words (1 word for IPv4, 4 for IPv6) in a Uint32Array(4). */
export function addressWords(a: IpAddress, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  out.fill(0);
  for (let i = 0; i < a.length / 4; i++) out[i] = u32(a, 4 * i);
  return out;
}
