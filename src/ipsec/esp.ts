import {
  decodeEspTrailer,
  ESP_HEADER_LENGTH,
  ESP_NEXT_HEADER_DUMMY,
  ESP_TRAILER_LENGTH,
  encodeEspHeader,
  encodeEspTrailer,
  espPadLength,
  espPaddingValid,
  readU32,
  writeU32,
} from "../wire/esp.js";
import { isDecodeError } from "../wire/errors.js";
import {
  adjustChecksum,
  encodeIpv4Header,
  encodeIpv6Header,
  IPV4_HEADER_LENGTH,
  IPV6_HEADER_LENGTH,
  onesComplementSum,
  peekIp,
  put16,
} from "../wire/ip.js";
import type { DropReason, SecurityAssociation } from "./sad.js";
import { selectorMatches } from "./selectors.js";

/**
 * ESP processing (RFC 4303 s3): `encapsulate` turns an IP packet into an ESP packet (SPI through
 * ICV, the bytes a UDP/4500 socket or a raw protocol-50 socket sends), `decapsulate` turns an ESP
 * packet back into an IP packet for the tunnel device.
 *
 * Outbound (s3.3): next sequence number (refusing to wrap, s3.3.3), payload = the whole inner
 * packet (tunnel, next header 4 or 41) or what follows the IP header (transport), optional TFC
 * padding (s2.7), padding 1, 2, 3, ... to the cipher block and 4-byte alignment (s2.4), IV from the
 * SA's IV source, then seal: AEAD over AAD = SPI || [seq hi] || seq lo (RFC 4106 s5, RFC 7634 s2.1),
 * or encrypt-then-MAC with the ICV over SPI..ciphertext || [seq hi] (s2.2.1, s3.3.4).
 *
 * Inbound (s3.4): length checks, replay check (s3.4.3, ESN high bits inferred), ICV verified in
 * constant time BEFORE anything from the plaintext is used (s3.4.4), only then the replay window
 * advances, then the trailer and padding are checked, dummy packets (next header 59) dropped, the
 * inner packet cut to its own length (so TFC padding goes), and checked against the SA's selectors
 * (RFC 4301 s5.2).
 *
 * Results are either the bytes or a DropReason string (no result objects on the per-packet path).
 * The plaintext is assembled in one module-level scratch buffer; the output goes into `out` when
 * the caller gives one (the fast path), else into a fresh array of exactly the right length.
 */

const EMPTY = new Uint8Array(0);
const TWO32 = 0x1_0000_0000;
const MAX_PACKET = 0x10000 + 512;
let scratch = new Uint8Array(MAX_PACKET);

function scratchOf(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(n);
  return scratch;
}

/** Bytes ESP adds at most to a packet of `innerLength` bytes on this SA (for sizing output buffers). */
export function espOverhead(sa: SecurityAssociation, innerLength: number): number {
  const encr = sa.encr;
  const iv = encr?.ivLength ?? 0;
  const block = Math.max(encr?.blockSize ?? 1, 4);
  const icv = (encr?.aead ? encr.icvLength : 0) + (sa.integ?.icvLength ?? 0);
  const tfc = Math.max(0, sa.tfcPadTo - innerLength);
  return ESP_HEADER_LENGTH + iv + tfc + block + 1 + ESP_TRAILER_LENGTH + icv;
}

/**
 * Advances the SA's sequence counter. Returns false when it is exhausted (RFC 4303 s3.3.3: the
 * counter must not cycle; 2^32-1 without ESN, 2^64-1 with ESN is the last number sent).
 */
export function nextSequence(sa: SecurityAssociation): boolean {
  if (sa.exhausted) return false;
  if (sa.seqLo === 0xffffffff) {
    if (!sa.esn || sa.seqHi === 0xffffffff) {
      sa.exhausted = true;
      return false;
    }
    sa.seqHi++;
    sa.seqLo = 0;
  } else {
    sa.seqLo++;
  }
  return true;
}

/** True when the next packet would exhaust the counter: a good moment to ask IKE for a rekey. */
export function sequenceNearlyExhausted(sa: SecurityAssociation, margin = 0x10000): boolean {
  const remaining = sa.esn ? (0xffffffff - sa.seqHi) * TWO32 + (0xffffffff - sa.seqLo) : 0xffffffff - sa.seqLo;
  return remaining <= margin;
}

/**
 * ESP-protects `packet` (an IPv4 or IPv6 packet) on outbound SA `sa`.
 * Returns the ESP packet (SPI..ICV) — a view into `out` when given (it must hold
 * `packet.length + espOverhead(sa, packet.length)` bytes), else a fresh array — or a DropReason:
 * MALFORMED (not a parsable IP packet), SEQUENCE_EXHAUSTED. Lifetimes are the caller's (data plane).
 */
export function encapsulate(sa: SecurityAssociation, packet: Uint8Array, out?: Uint8Array): Uint8Array | DropReason {
  const encr = sa.encr;
  const ctx = sa.encrContext;
  if (!encr || !ctx) throw new Error("encapsulate: not an ESP SA");
  let payloadStart = 0;
  let payloadEnd = packet.length;
  let nextHeader: number;
  const sel = sa.selectorScratch;
  try {
    peekIp(packet, sel);
  } catch (e) {
    if (isDecodeError(e)) return sa.drop("MALFORMED");
    throw e;
  }
  payloadEnd = sel.totalLength;
  if (sa.mode === "tunnel") {
    nextHeader = sel.family === 4 ? 4 : 41;
  } else {
    // Transport (RFC 4303 s3.1.1): ESP goes right after the IP header; IPv6 extension headers
    // stay inside the protected payload (the IPv6 base header's next header is carried).
    payloadStart = sel.family === 4 ? (((packet[0] as number) & 0x0f) * 4) : IPV6_HEADER_LENGTH;
    nextHeader = packet[sel.family === 4 ? 9 : 6] as number;
  }
  if (!nextSequence(sa)) return sa.drop("SEQUENCE_EXHAUSTED");
  const payload = packet.subarray(payloadStart, payloadEnd);
  const tfc = sa.mode === "tunnel" && sa.tfcPadTo > payload.length ? sa.tfcPadTo - payload.length : 0;
  const r = seal(sa, payload, nextHeader, tfc, out);
  sa.counters.packets++;
  sa.counters.bytes += payloadEnd;
  return r;
}

/**
 * The transform step of ESP output (RFC 4303 s3.3.2-s3.3.4) for payload bytes already chosen by
 * the mode: takes the next sequence number, then pads, sets the IV, seals and adds the ICV.
 * Returns the ESP packet (SPI..ICV) or SEQUENCE_EXHAUSTED. `tfcLength` zero bytes of TFC padding
 * (s2.7) follow the payload. Exposed for known-answer tests that give the ESP payload directly.
 */
export function sealPayload(sa: SecurityAssociation, payload: Uint8Array, nextHeader: number, tfcLength = 0, out?: Uint8Array): Uint8Array | DropReason {
  if (!sa.encr) throw new Error("sealPayload: not an ESP SA");
  if (!nextSequence(sa)) return sa.drop("SEQUENCE_EXHAUSTED");
  return seal(sa, payload, nextHeader, tfcLength, out);
}

function seal(sa: SecurityAssociation, payload: Uint8Array, nextHeader: number, tfc: number, out: Uint8Array | undefined): Uint8Array {
  const encr = sa.encr as NonNullable<SecurityAssociation["encr"]>;
  const ctx = sa.encrContext as NonNullable<SecurityAssociation["encrContext"]>;
  const payloadLength = payload.length;
  const padLength = espPadLength(payloadLength + tfc, encr.blockSize);
  const ptLength = payloadLength + tfc + padLength + ESP_TRAILER_LENGTH;
  const pt = scratchOf(ptLength);
  pt.set(payload, 0);
  if (tfc > 0) pt.fill(0, payloadLength, payloadLength + tfc);
  encodeEspTrailer(pt, payloadLength + tfc, padLength, nextHeader);

  const ivLength = encr.ivLength;
  const iv = sa.iv;
  sa.ivSource.fill(sa.ivBuffer, 0, ivLength, sa.seqHi, sa.seqLo);
  const icvLength = sa.integ?.icvLength ?? 0;
  const sealedLength = ptLength + (encr.aead ? encr.icvLength : 0);
  const total = ESP_HEADER_LENGTH + ivLength + sealedLength + icvLength;
  const dst = out && out.length >= total ? out : new Uint8Array(total);
  encodeEspHeader(dst, 0, sa.spi, sa.seqLo);
  dst.set(iv, ESP_HEADER_LENGTH);
  const sealed = ctx.encrypt(iv, pt.subarray(0, ptLength), encr.aead ? aadOf(sa, sa.seqHi, sa.seqLo) : EMPTY);
  pt.fill(0, 0, ptLength); // no plaintext lingers in the shared scratch buffer
  dst.set(sealed, ESP_HEADER_LENGTH + ivLength);
  if (sa.integContext) {
    const covered = dst.subarray(0, ESP_HEADER_LENGTH + ivLength + sealedLength);
    const icv = sa.esn ? sa.integContext.compute(covered, seqHiOf(sa, sa.seqHi)) : sa.integContext.compute(covered);
    dst.set(icv, ESP_HEADER_LENGTH + ivLength + sealedLength);
  }
  return dst === out ? dst.subarray(0, total) : dst;
}

function aadOf(sa: SecurityAssociation, hi: number, lo: number): Uint8Array {
  const a = sa.aad;
  writeU32(a, 0, sa.spi);
  if (sa.esn) {
    writeU32(a, 4, hi);
    writeU32(a, 8, lo);
  } else {
    writeU32(a, 4, lo);
  }
  return a;
}

function seqHiOf(sa: SecurityAssociation, hi: number): Uint8Array {
  writeU32(sa.seqHiBytes, 0, hi);
  return sa.seqHiBytes;
}

/** What {@link openPayload} found: the decrypted ESP payload and its trailer fields. */
export interface OpenedEsp {
  /** Payload Data || Padding || Pad Length || Next Header. */
  readonly plaintext: Uint8Array;
  readonly payloadLength: number;
  readonly padLength: number;
  readonly nextHeader: number;
  /** The full sequence number as [hi, lo] (hi inferred for ESN, RFC 4303 Appendix A2). */
  readonly seqHi: number;
  readonly seqLo: number;
}

/**
 * The transform step of ESP input (RFC 4303 s3.4.2-s3.4.4): length checks, replay check, ICV
 * verification, decryption, replay window update, trailer and padding checks. Returns the opened
 * payload or MALFORMED, REPLAY, TOO_OLD, ICV_FAILURE, BAD_PADDING. Mode processing is the caller's.
 */
export function openPayload(sa: SecurityAssociation, esp: Uint8Array): OpenedEsp | DropReason {
  const encr = sa.encr;
  const ctx = sa.encrContext;
  if (!encr || !ctx) throw new Error("openPayload: not an ESP SA");
  const ivLength = encr.ivLength;
  const aeadIcv = encr.aead ? encr.icvLength : 0;
  const icvLength = sa.integ?.icvLength ?? 0;
  const minLength = ESP_HEADER_LENGTH + ivLength + ESP_TRAILER_LENGTH + aeadIcv + icvLength;
  if (esp.length < minLength) return sa.drop("MALFORMED");
  const ctLength = esp.length - ESP_HEADER_LENGTH - ivLength - aeadIcv - icvLength;
  if (encr.blockSize > 1 && ctLength % encr.blockSize !== 0) return sa.drop("MALFORMED");
  const seqLo = readU32(esp, 4);

  // s3.4.3: the replay check comes first (cheap), the window moves only after the ICV verified.
  const replay = sa.replay;
  let seqHi = 0;
  if (replay) {
    const verdict = replay.check(seqLo);
    seqHi = replay.lastHi;
    if (verdict !== "ok" && sa.antiReplay) return sa.drop(verdict);
  }

  const iv = esp.subarray(ESP_HEADER_LENGTH, ESP_HEADER_LENGTH + ivLength);
  const sealedEnd = esp.length - icvLength;
  if (sa.integContext) {
    const covered = esp.subarray(0, sealedEnd);
    const icv = esp.subarray(sealedEnd);
    const ok = sa.esn ? sa.integContext.verify(icv, covered, seqHiOf(sa, seqHi)) : sa.integContext.verify(icv, covered);
    if (!ok) return sa.drop("ICV_FAILURE");
  }
  const sealed = esp.subarray(ESP_HEADER_LENGTH + ivLength, sealedEnd);
  const plain = ctx.decrypt(iv, sealed, encr.aead ? aadOf(sa, seqHi, seqLo) : EMPTY);
  if (plain === null) return sa.drop(encr.aead ? "ICV_FAILURE" : "MALFORMED");
  if (replay) replay.update(seqLo);

  try {
    const t = decodeEspTrailer(plain, ESP_HEADER_LENGTH + ivLength);
    if (!espPaddingValid(plain, t)) return sa.drop("BAD_PADDING");
    return { plaintext: plain, payloadLength: t.payloadLength, padLength: t.padLength, nextHeader: t.nextHeader, seqHi, seqLo };
  } catch (e) {
    if (isDecodeError(e)) return sa.drop("BAD_PADDING");
    throw e;
  }
}

/**
 * Verifies and decrypts an ESP packet (SPI..ICV) on inbound SA `sa` (the caller found it by SPI).
 * Returns the inner IP packet — for tunnel mode a view of the decrypted bytes cut to the inner
 * packet's own length; for transport mode an IP packet rebuilt from the SA's outer addresses, in
 * `out` when given (else fresh) — or a DropReason: MALFORMED, REPLAY, TOO_OLD, ICV_FAILURE,
 * BAD_PADDING, DUMMY, SELECTOR_MISMATCH. Never throws for bad peer data.
 */
export function decapsulate(sa: SecurityAssociation, esp: Uint8Array, out?: Uint8Array): Uint8Array | DropReason {
  const opened = openPayload(sa, esp);
  if (typeof opened === "string") return opened;
  const plain = opened.plaintext;
  const payloadLength = opened.payloadLength;
  const nextHeader = opened.nextHeader;
  if (nextHeader === ESP_NEXT_HEADER_DUMMY) return sa.drop("DUMMY");

  let inner: Uint8Array;
  const sel = sa.selectorScratch;
  if (sa.mode === "tunnel") {
    if (nextHeader !== 4 && nextHeader !== 41) return sa.drop("MALFORMED");
    const payload = plain.subarray(0, payloadLength);
    try {
      peekIp(payload, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
    if ((nextHeader === 4) !== (sel.family === 4)) return sa.drop("MALFORMED");
    // The inner header's own length bounds the packet, so TFC padding (s2.7) falls away.
    inner = payload.subarray(0, sel.totalLength);
  } else {
    inner = rebuildTransport(sa, plain, payloadLength, nextHeader, out);
    try {
      peekIp(inner, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
  }
  if (sa.selectors.length > 0) {
    let match = false;
    for (let i = 0; i < sa.selectors.length && !match; i++) match = selectorMatches(sa.selectors[i]!, sel, false);
    if (!match) return sa.drop("SELECTOR_MISMATCH");
  }
  sa.counters.packets++;
  sa.counters.bytes += inner.length;
  return inner;
}

/**
 * Transport mode inbound: a new IP header (peer -> us, protocol = next header) in front of the
 * payload. With NAT-OA, TCP/UDP checksums are fixed for the address change (RFC 3948 s3.1.2).
 */
function rebuildTransport(sa: SecurityAssociation, plain: Uint8Array, payloadLength: number, nextHeader: number, out?: Uint8Array): Uint8Array {
  const hl = sa.family === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH;
  const total = hl + payloadLength;
  const dst = out && out.length >= total ? out.subarray(0, total) : new Uint8Array(total);
  if (sa.family === 4) {
    encodeIpv4Header(dst, 0, { totalLength: total, protocol: nextHeader, src: readU32(sa.remote, 0), dst: readU32(sa.local, 0) });
  } else {
    encodeIpv6Header(dst, 0, { payloadLength, nextHeader, src: sa.remote, dst: sa.local });
  }
  dst.set(plain.subarray(0, payloadLength), hl);
  const nat = sa.natOriginal;
  if (nat && (nextHeader === 6 || nextHeader === 17)) {
    const at = hl + (nextHeader === 6 ? 16 : 6);
    if (at + 2 <= total) {
      const old = ((dst[at] as number) << 8) | (dst[at + 1] as number);
      // UDP checksum 0 means "none" over IPv4 and stays so (RFC 768); else adjust incrementally (RFC 1624).
      if (!(nextHeader === 17 && old === 0 && sa.family === 4)) {
        const oldSum = onesComplementSum(nat.remote, 0, nat.remote.length, onesComplementSum(nat.local, 0, nat.local.length));
        const newSum = onesComplementSum(sa.remote, 0, sa.remote.length, onesComplementSum(sa.local, 0, sa.local.length));
        let c = adjustChecksum(old, oldSum, newSum);
        if (nextHeader === 17 && c === 0) c = 0xffff;
        put16(dst, at, c);
      }
    }
  }
  return dst;
}
