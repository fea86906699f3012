import { ahIcvFieldLength, AH_FIXED_LENGTH, decodeAhHeader, encodeAhHeader } from "../wire/ah.js";
import { isDecodeError } from "../wire/errors.js";
import { writeU32 } from "../wire/esp.js";
import { encodeIpv4Header, encodeIpv6Header, IPV4_HEADER_LENGTH, IPV6_HEADER_LENGTH, peekIp, put16, setIpv4HeaderChecksum } from "../wire/ip.js";
import { readU32 } from "../wire/esp.js";
import { nextSequence } from "./esp.js";
import type { DropReason, SecurityAssociation } from "./sad.js";
import { selectorMatches } from "./selectors.js";

/**
 * AH processing (RFC 4302 s3) for IPv4 and IPv6, tunnel and transport mode.
 *
 * The ICV covers the IP header with its mutable fields zeroed (s3.3.3.1: IPv4 TOS, flags, fragment
 * offset, TTL, header checksum and mutable options; IPv6 traffic class, flow label, hop limit), the
 * AH with a zero ICV (any alignment padding after it is covered as sent, s3.3.3.2.1), and the payload; with ESN the high 32 sequence bits are appended at the
 * end (s3.3.3.2 / s2.5.1). Both directions copy the packet into a scratch buffer, zero the mutable
 * fields there and hand that to `IntegContext.compute`/`verify` (constant time).
 *
 * Outputs are whole IP packets (the header is authenticated), unlike ESP's. In transport mode over
 * IPv6 the AH follows the base header directly (extension headers become part of the payload).
 */

const MAX_PACKET = 0x10000 + 512;
let scratch = new Uint8Array(MAX_PACKET);

function scratchOf(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(n);
  return scratch;
}

/** Zeroes the mutable fields of the IP header at the start of `b` (RFC 4302 s3.3.3.1). */
function zeroMutable(b: Uint8Array, family: 4 | 6): void {
  if (family === 4) {
    b[1] = 0; // TOS (DSCP/ECN)
    b[6] = 0; // flags + fragment offset
    b[7] = 0;
    b[8] = 0; // TTL
    b[10] = 0; // header checksum
    b[11] = 0;
    const ihl = ((b[0] as number) & 0x0f) * 4;
    // Options: immutable ones (EOL, NOP, security, extended security, commercial security, router
    // alert, sender directed multi-destination delivery) are covered; every other option is zeroed whole.
    let o = IPV4_HEADER_LENGTH;
    while (o < ihl) {
      const type = b[o] as number;
      if (type === 0) break;
      if (type === 1) {
        o++;
        continue;
      }
      const len = Math.max(2, (b[o + 1] as number) || 2);
      const immutable = type === 130 || type === 133 || type === 134 || type === 148 || type === 149;
      if (!immutable) b.fill(0, o, Math.min(o + len, ihl));
      o += len;
    }
  } else {
    b[0] = 0x60; // version kept, traffic class zeroed
    b[1] = 0; // traffic class + flow label
    b[2] = 0;
    b[3] = 0;
    b[7] = 0; // hop limit
  }
}

/**
 * AH-protects `packet` on outbound SA `sa`. Returns the whole outbound IP packet (in `out` when it
 * is big enough, else fresh) or a DropReason (MALFORMED, SEQUENCE_EXHAUSTED).
 */
export function encapsulate(sa: SecurityAssociation, packet: Uint8Array, out?: Uint8Array): Uint8Array | DropReason {
  const integ = sa.integContext;
  const alg = sa.integ;
  if (!integ || !alg) throw new Error("AH encapsulate: SA without INTEG");
  const sel = sa.selectorScratch;
  try {
    peekIp(packet, sel);
  } catch (e) {
    if (isDecodeError(e)) return sa.drop("MALFORMED");
    throw e;
  }
  if (!nextSequence(sa)) return sa.drop("SEQUENCE_EXHAUSTED");
  const tunnel = sa.mode === "tunnel";
  const fam: 4 | 6 = tunnel ? sa.family : sel.family;
  const icvField = ahIcvFieldLength(alg.icvLength, fam);
  const ahLength = AH_FIXED_LENGTH + icvField;
  const innerLength = sel.totalLength;
  const hl = tunnel ? (fam === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH) : fam === 4 ? ((packet[0] as number) & 0x0f) * 4 : IPV6_HEADER_LENGTH;
  const payloadStart = tunnel ? 0 : hl;
  const total = hl + ahLength + innerLength - payloadStart;
  if (total > 0xffff + (fam === 6 ? IPV6_HEADER_LENGTH : 0)) return sa.drop("MALFORMED");
  const dst = out && out.length >= total ? out.subarray(0, total) : new Uint8Array(total);
  if (tunnel) {
    if (fam === 4) encodeIpv4Header(dst, 0, { totalLength: total, protocol: 51, src: readU32(sa.local, 0), dst: readU32(sa.remote, 0) });
    else encodeIpv6Header(dst, 0, { payloadLength: total - IPV6_HEADER_LENGTH, nextHeader: 51, src: sa.local, dst: sa.remote });
    encodeAhHeader(dst, hl, sel.family === 4 ? 4 : 41, icvField, sa.spi, sa.seqLo);
  } else {
    dst.set(packet.subarray(0, hl), 0);
    const nh = packet[fam === 4 ? 9 : 6] as number;
    if (fam === 4) {
      dst[9] = 51;
      put16(dst, 2, total);
    } else {
      dst[6] = 51;
      put16(dst, 4, total - IPV6_HEADER_LENGTH);
    }
    encodeAhHeader(dst, hl, nh, icvField, sa.spi, sa.seqLo);
  }
  dst.set(packet.subarray(payloadStart, innerLength), hl + ahLength);
  const s = scratchOf(total);
  s.set(dst);
  zeroMutable(s, fam);
  const covered = s.subarray(0, total);
  const icv = sa.esn ? integ.compute(covered, hiBytes(sa, sa.seqHi)) : integ.compute(covered);
  dst.set(icv, hl + AH_FIXED_LENGTH);
  if (fam === 4) setIpv4HeaderChecksum(dst, 0);
  sa.counters.packets++;
  sa.counters.bytes += innerLength;
  return dst;
}

function hiBytes(sa: SecurityAssociation, hi: number): Uint8Array {
  writeU32(sa.seqHiBytes, 0, hi);
  return sa.seqHiBytes;
}

/**
 * Verifies an AH-protected IP packet on inbound SA `sa`. Returns the inner IP packet (tunnel) or
 * the packet with the AH removed (transport), or a DropReason: MALFORMED, REPLAY, TOO_OLD,
 * ICV_FAILURE, SELECTOR_MISMATCH.
 */
export function decapsulate(sa: SecurityAssociation, packet: Uint8Array): Uint8Array | DropReason {
  const integ = sa.integContext;
  const alg = sa.integ;
  if (!integ || !alg) throw new Error("AH decapsulate: SA without INTEG");
  const sel = sa.selectorScratch;
  let ahAt: number;
  let ah;
  try {
    peekIp(packet, sel);
    const fam = sel.family;
    ahAt = fam === 4 ? ((packet[0] as number) & 0x0f) * 4 : IPV6_HEADER_LENGTH;
    if (packet[fam === 4 ? 9 : 6] !== 51) return sa.drop("MALFORMED");
    ah = decodeAhHeader(packet.subarray(0, sel.totalLength), ahAt);
  } catch (e) {
    if (isDecodeError(e)) return sa.drop("MALFORMED");
    throw e;
  }
  const fam = sel.family;
  if (ah.icvFieldLength < alg.icvLength) return sa.drop("MALFORMED");
  const total = sel.totalLength;
  const replay = sa.replay;
  let seqHi = 0;
  if (replay) {
    const verdict = replay.check(ah.seq);
    seqHi = replay.lastHi;
    if (verdict !== "ok" && sa.antiReplay) return sa.drop(verdict);
  }
  const s = scratchOf(total);
  s.set(packet.subarray(0, total));
  zeroMutable(s, fam);
  // RFC 4302 s3.3.3.2.1: the ICV is zeroed, its alignment padding is covered as sent.
  s.fill(0, ahAt + AH_FIXED_LENGTH, ahAt + AH_FIXED_LENGTH + alg.icvLength);
  const icv = packet.subarray(ahAt + AH_FIXED_LENGTH, ahAt + AH_FIXED_LENGTH + alg.icvLength);
  const covered = s.subarray(0, total);
  const ok = sa.esn ? integ.verify(icv, covered, hiBytes(sa, seqHi)) : integ.verify(icv, covered);
  if (!ok) return sa.drop("ICV_FAILURE");
  if (replay) replay.update(ah.seq);

  let inner: Uint8Array;
  const payloadStart = ahAt + ah.length;
  if (sa.mode === "tunnel") {
    if (ah.nextHeader !== 4 && ah.nextHeader !== 41) return sa.drop("MALFORMED");
    const payload = packet.subarray(payloadStart, total);
    try {
      peekIp(payload, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
    inner = payload.subarray(0, sel.totalLength);
  } else {
    const len = total - ah.length;
    inner = new Uint8Array(len);
    inner.set(packet.subarray(0, ahAt), 0);
    inner.set(packet.subarray(payloadStart, total), ahAt);
    if (fam === 4) {
      inner[9] = ah.nextHeader;
      put16(inner, 2, len);
      setIpv4HeaderChecksum(inner, 0);
    } else {
      inner[6] = ah.nextHeader;
      put16(inner, 4, len - IPV6_HEADER_LENGTH);
    }
    try {
      peekIp(inner, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
  }
  if (sa.selectors.length > 0) {
    let match = false;
    for (const ts of sa.selectors) if (selectorMatches(ts, sel, false)) match = true;
    if (!match) return sa.drop("SELECTOR_MISMATCH");
  }
  sa.counters.packets++;
  sa.counters.bytes += inner.length;
  return inner;
}
