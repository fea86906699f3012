import {
  decodeEspTrailer,
  type EspTrailer,
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
  type PacketSelector,
} from "../wire/ip.js";
import { BATCH_STRIDE, BatchField } from "../crypto/native/addon.js";
import { nativeAeadOf, type NativeAead } from "../crypto/native/aead.js";
import { sequenceIv, type DropReason, type SecurityAssociation } from "./sad.js";
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
  if (!sa.encr || !sa.encrContext) throw new Error("encapsulate: not an ESP SA");
  const drop = choosePayload(sa, packet);
  if (drop !== undefined) return drop;
  const payload = packet.subarray(framing.start, framing.end);
  const r = seal(sa, payload, framing.nextHeader, framing.tfc, out);
  sa.counters.packets++;
  sa.counters.bytes += framing.end;
  return r;
}

/** What {@link choosePayload} chose for the packet in hand (module-level: no object per packet). */
const framing = { start: 0, end: 0, nextHeader: 0, tfc: 0 };

/**
 * The mode step of ESP output shared by the per-packet and the burst paths: peeks the IP header,
 * picks the protected bytes (tunnel: the whole packet; transport: what follows the IP header,
 * RFC 4303 s3.1.1) and the next header, takes the next sequence number and sizes the TFC padding
 * (s2.7). Leaves the choice in `framing`; returns MALFORMED or SEQUENCE_EXHAUSTED (counted) instead.
 * `peeked`: what `peekIp(packet)` already gave for this very packet (no second parse).
 */
function choosePayload(sa: SecurityAssociation, packet: Uint8Array, peeked?: PacketSelector): DropReason | undefined {
  let sel = peeked;
  if (sel === undefined) {
    sel = sa.selectorScratch;
    try {
      peekIp(packet, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
  }
  let start = 0;
  if (sa.mode === "tunnel") {
    framing.nextHeader = sel.family === 4 ? 4 : 41;
  } else {
    // Transport (RFC 4303 s3.1.1): ESP goes right after the IP header; IPv6 extension headers
    // stay inside the protected payload (the IPv6 base header's next header is carried).
    start = sel.family === 4 ? (((packet[0] as number) & 0x0f) * 4) : IPV6_HEADER_LENGTH;
    framing.nextHeader = packet[sel.family === 4 ? 9 : 6] as number;
  }
  if (!nextSequence(sa)) return sa.drop("SEQUENCE_EXHAUSTED");
  framing.start = start;
  framing.end = sel.totalLength;
  const length = sel.totalLength - start;
  framing.tfc = sa.mode === "tunnel" && sa.tfcPadTo > length ? sa.tfcPadTo - length : 0;
  return undefined;
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
  if (!sa.encr || !sa.encrContext) throw new Error("openPayload: not an ESP SA");
  const plain = verifyAndDecrypt(sa, esp);
  if (typeof plain === "string") return plain;
  const t = trailerOf(sa, plain);
  if (typeof t === "string") return t;
  return { plaintext: plain, payloadLength: t.payloadLength, padLength: t.padLength, nextHeader: t.nextHeader, seqHi: sa.replay?.lastHi ?? 0, seqLo: readU32(esp, 4) };
}

/**
 * s3.4.2-s3.4.3 up to the window update: length checks, replay check (s3.4.3: the cheap check
 * first, the window moves only after the ICV verified), ICV, decryption. Returns the decrypted
 * Payload Data || Padding || Pad Length || Next Header, or MALFORMED, REPLAY, TOO_OLD, ICV_FAILURE.
 */
function verifyAndDecrypt(sa: SecurityAssociation, esp: Uint8Array): Uint8Array | DropReason {
  const encr = sa.encr as NonNullable<SecurityAssociation["encr"]>;
  const ctx = sa.encrContext as NonNullable<SecurityAssociation["encrContext"]>;
  const ivLength = encr.ivLength;
  const icvLength = sa.integ?.icvLength ?? 0;
  const malformed = lengthInvalid(sa, esp.length);
  if (malformed) return sa.drop("MALFORMED");
  const seqLo = readU32(esp, 4);
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
  return plain;
}

/** s3.4.2: true when an ESP packet of `length` bytes cannot be one of this SA's (too short, or not whole cipher blocks). */
function lengthInvalid(sa: SecurityAssociation, length: number): boolean {
  const encr = sa.encr as NonNullable<SecurityAssociation["encr"]>;
  const aeadIcv = encr.aead ? encr.icvLength : 0;
  const icvLength = sa.integ?.icvLength ?? 0;
  if (length < ESP_HEADER_LENGTH + encr.ivLength + ESP_TRAILER_LENGTH + aeadIcv + icvLength) return true;
  const ctLength = length - ESP_HEADER_LENGTH - encr.ivLength - aeadIcv - icvLength;
  return encr.blockSize > 1 && ctLength % encr.blockSize !== 0;
}

/** Trailer and padding of a decrypted ESP payload (s2.4), or BAD_PADDING (counted). */
function trailerOf(sa: SecurityAssociation, plain: Uint8Array): EspTrailer | DropReason {
  try {
    const t = decodeEspTrailer(plain, ESP_HEADER_LENGTH + (sa.encr?.ivLength ?? 0));
    return espPaddingValid(plain, t) ? t : sa.drop("BAD_PADDING");
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
  if (!sa.encr || !sa.encrContext) throw new Error("decapsulate: not an ESP SA");
  const plain = verifyAndDecrypt(sa, esp);
  if (typeof plain === "string") return plain;
  return deliver(sa, plain, out);
}

/**
 * What follows a verified, decrypted ESP payload (s3.4.4 onwards), shared by the per-packet and
 * burst paths: trailer and padding checks, dummy packets (next header 59) dropped, the inner
 * packet cut to its own length (tunnel; TFC padding falls away) or rebuilt (transport, into
 * `out` when given), the SA's selectors (RFC 4301 s5.2), counters. `reuse`: a view of the same
 * buffer as `plain` (the caller's promise) returned instead of a new one when it covers exactly the
 * tunnel-mode inner packet.
 */
function deliver(sa: SecurityAssociation, plain: Uint8Array, out: Uint8Array | undefined, reuse?: Uint8Array): Uint8Array | DropReason {
  const t = trailerOf(sa, plain);
  if (typeof t === "string") return t;
  const payloadLength = t.payloadLength;
  const nextHeader = t.nextHeader;
  if (nextHeader === ESP_NEXT_HEADER_DUMMY) return sa.drop("DUMMY");

  let inner: Uint8Array;
  const sel = sa.selectorScratch;
  if (sa.mode === "tunnel") {
    if (nextHeader !== 4 && nextHeader !== 41) return sa.drop("MALFORMED");
    // Peeking the whole plaintext and then bounding the inner packet by the payload length is the
    // same check as peeking a view of the payload (peekIp bounds everything by the packet's own
    // length field), one view fewer per packet.
    try {
      peekIp(plain, sel);
    } catch (e) {
      if (isDecodeError(e)) return sa.drop("MALFORMED");
      throw e;
    }
    if (sel.totalLength > payloadLength || (nextHeader === 4) !== (sel.family === 4)) return sa.drop("MALFORMED");
    // The inner header's own length bounds the packet, so TFC padding (s2.7) falls away. A burst
    // offers the view it made for the same slot last time: same place, same length, no allocation.
    inner = reuse !== undefined && reuse.byteOffset === plain.byteOffset && reuse.length === sel.totalLength ? reuse : plain.subarray(0, sel.totalLength);
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

// ---------------------------------------------------------------------------------------------
// Bursts: many packets of one SA per native AEAD call

/** One SA's packets in the burst in hand: their batch descriptors for one sealBatch/openBatch. */
interface BurstGroup {
  sa: SecurityAssociation;
  aead: NativeAead;
  desc: Int32Array<ArrayBuffer>;
  /** Packets described so far. */
  count: number;
  /** Packets already run through the addon (a mid-burst `run()` does only the rest). */
  done: number;
}

/** Before an outbound ESP packet in the burst buffer: room for the 12-byte ESN AAD. */
const OUT_PREFIX = 16;
/**
 * Before an inbound ESP packet: the 12-byte ESN AAD and room for a transport-mode IP header
 * (<= 40 bytes) in front of the plaintext (which starts 16 bytes into the ESP packet), so the
 * rebuilt packet needs no copy.
 */
const IN_PREFIX = 32;
/** Per-slot spare bytes after an inbound packet (the ICV region; a transport rebuild stays inside). */
const IN_SUFFIX = 32;
const NO_GROUP = -1;

function grow32(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

function growF64(a: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Float64Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * A reusable workspace for bursts of ESP packets (issue 7: one crossing into the addon per burst
 * instead of one per packet). Packets are added one by one in the order they would be processed
 * one at a time; `run()` then seals or opens all queued packets of each SA whose transform is on
 * the native addon with ONE `sealBatch`/`openBatch` call per SA; `result(slot)` gives each
 * packet's outcome. Every result equals, byte for byte and drop reason for drop reason, what
 * `encapsulate`/`decapsulate` would have returned for the same packets in the same order (sequence
 * numbers are taken in order; the replay window advances only after a packet's ICV verified).
 * SAs whose transform is not on the addon (the pure path, CBC+HMAC, GMAC, NULL) take the
 * per-packet functions at once, so a burst works on any SA.
 *
 * Outbound: `addEncapsulate(sa, packet)` (everything but the AEAD happens now: the IP header is
 * peeked, the sequence number taken, the packet framed into the burst buffer) -> slot or drop
 * reason; `run()`; `result(slot)` -> the ESP packet (SPI..ICV).
 *
 * Inbound: `addDecapsulate(sa, esp)` (copies the packet into the burst buffer; the replay window
 * is only read) -> slot; `run()`; then `result(slot)` for EVERY slot in slot order: that is where
 * each packet's replay check is redone against the window as it stands after the earlier packets
 * (RFC 4303 s3.4.3), the window updated when the ICV verified, and the trailer, mode and
 * selectors processed (a packet whose inferred ESN high half changed because of an earlier packet
 * of the burst, or that became acceptable, is opened again on its own: same outcome as per packet).
 *
 * Results (views into the burst buffer) stay valid until the next `reset()`; the input packets
 * must stay valid and unchanged until the last `result()` of the burst (a TUN read batch or a
 * recvmmsg buffer during its callback). Add packets, run, read results, reset: not reentrant.
 * The buffer grows to fit the largest burst seen (about the bytes of one burst plus 48-64 bytes
 * per packet).
 */
export class EspBurst {
  #buf: Uint8Array;
  #used = 0;
  #count = 0;
  /** Per slot: offset of the ESP packet in the buffer (-1: result held in #held). */
  #espAt = new Int32Array(64);
  /** Per slot: group index (NO_GROUP: per-packet path). */
  #group = new Int32Array(64);
  /** Per slot: index in the group's descriptors. */
  #index = new Int32Array(64);
  /** Per slot: outbound ESP length; inbound ESN high half assumed when the batch opened it (-1: not queued). */
  #aux = new Float64Array(64);
  /** Per slot: the view last returned (outbound) or opened (inbound), and the inner packet's, for reuse. */
  #views: (Uint8Array | undefined)[] = [];
  #inner: (Uint8Array | undefined)[] = [];
  /** Per slot: the SA. */
  #sa: (SecurityAssociation | undefined)[] = [];
  /** Per slot: the caller's inbound packet (for a packet that must be opened again on its own). */
  #input: (Uint8Array | undefined)[] = [];
  /** Per slot: a result decided at add time (drop reason, or bytes from a per-packet call). */
  #held: (Uint8Array | DropReason | undefined)[] = [];
  #groups: BurstGroup[] = [];
  #groupCount = 0;
  #ran = false;

  /** `bytes`: initial buffer size (grows on demand). */
  constructor(bytes = 128 * 1024) {
    this.#buf = new Uint8Array(bytes);
  }

  /** Packets added since the last `reset()`. */
  get count(): number {
    return this.#count;
  }

  /** Starts a new burst; the previous burst's results become invalid. */
  reset(): void {
    for (let i = 0; i < this.#count; i++) {
      this.#input[i] = undefined;
      this.#held[i] = undefined;
      this.#sa[i] = undefined;
    }
    for (let g = 0; g < this.#groupCount; g++) {
      const grp = this.#groups[g] as BurstGroup;
      grp.count = 0;
      grp.done = 0;
    }
    this.#count = 0;
    this.#used = 0;
    this.#groupCount = 0;
    this.#ran = false;
  }

  /**
   * Queues `packet` (an IPv4/IPv6 packet) for ESP on outbound SA `sa`, exactly as `encapsulate`
   * would process it now (sequence number, counters, IV source). Returns the slot of its result,
   * or the DropReason (MALFORMED, SEQUENCE_EXHAUSTED; counted on the SA, no slot used).
   * `peeked`: the selector `peekIp` filled from this very packet just before (the data plane's
   * SPD lookup), so the header is not parsed twice; it must not be reused for another packet first.
   */
  addEncapsulate(sa: SecurityAssociation, packet: Uint8Array, peeked?: PacketSelector): number | DropReason {
    const encr = sa.encr;
    if (!encr || !sa.encrContext) throw new Error("addEncapsulate: not an ESP SA");
    const aead = nativeAeadOf(sa.encrContext);
    if (aead === undefined) {
      // Per-packet path, into the burst buffer so the result lives as long as the others.
      const room = packet.length + espOverhead(sa, packet.length) + 64;
      const at = this.#reserve(room);
      const r = encapsulate(sa, packet, this.#buf.subarray(at, at + room));
      if (typeof r === "string") {
        this.#used = at;
        return r;
      }
      return this.#slot(sa, -1, NO_GROUP, 0, 0, r);
    }
    const drop = choosePayload(sa, packet, peeked);
    if (drop !== undefined) return drop;
    const payloadLength = framing.end - framing.start;
    const tfc = framing.tfc;
    const padLength = espPadLength(payloadLength + tfc, encr.blockSize);
    const ptLength = payloadLength + tfc + padLength + ESP_TRAILER_LENGTH;
    const total = ESP_HEADER_LENGTH + 8 + ptLength + aead.icvLength;
    const at = this.#reserve(OUT_PREFIX + total);
    const buf = this.#buf;
    const espAt = at + OUT_PREFIX;
    const ptAt = espAt + ESP_HEADER_LENGTH + 8;
    encodeEspHeader(buf, espAt, sa.spi, sa.seqLo);
    if (sa.ivSource === sequenceIv) {
      // What sequenceIv.fill writes for an 8-byte IV, without its call and zero fill.
      writeU32(buf, espAt + ESP_HEADER_LENGTH, sa.seqHi);
      writeU32(buf, espAt + ESP_HEADER_LENGTH + 4, sa.seqLo);
    } else {
      sa.ivSource.fill(buf, espAt + ESP_HEADER_LENGTH, 8, sa.seqHi, sa.seqLo);
    }
    buf.set(framing.start === 0 && framing.end === packet.length ? packet : packet.subarray(framing.start, framing.end), ptAt);
    if (tfc > 0) buf.fill(0, ptAt + payloadLength, ptAt + payloadLength + tfc);
    encodeEspTrailer(buf, ptAt + payloadLength + tfc, padLength, framing.nextHeader);
    // AAD = SPI || [seq hi] || seq lo (RFC 4106 s5): without ESN that is the ESP header itself.
    let aadAt = espAt;
    if (sa.esn) {
      aadAt = at;
      writeU32(buf, at, sa.spi);
      writeU32(buf, at + 4, sa.seqHi);
      writeU32(buf, at + 8, sa.seqLo);
    }
    const g = this.#queueAead(sa, aead, espAt + ESP_HEADER_LENGTH, aadAt, ptAt, ptLength);
    const i = this.#queuedIndex;
    sa.counters.packets++;
    sa.counters.bytes += framing.end;
    return this.#slot(sa, espAt, g, i, total, undefined);
  }

  /**
   * Queues ESP packet `esp` (SPI..ICV) for inbound SA `sa`. Nothing on the SA changes yet (the
   * replay window is only read); returns the slot whose `result()` will give what `decapsulate`
   * gives. Results must then be read for every slot, in slot order.
   */
  addDecapsulate(sa: SecurityAssociation, esp: Uint8Array): number {
    if (!sa.encr || !sa.encrContext) throw new Error("addDecapsulate: not an ESP SA");
    const aead = nativeAeadOf(sa.encrContext);
    if (aead === undefined || lengthInvalid(sa, esp.length)) return this.#slot(sa, -1, NO_GROUP, 0, -1, undefined, esp);
    let hi = 0;
    const replay = sa.replay;
    if (replay) {
      // A packet the window refuses now is refused or re-checked at its turn in result().
      if (replay.check(readU32(esp, 4)) !== "ok" && sa.antiReplay) return this.#slot(sa, -1, NO_GROUP, 0, -1, undefined, esp);
      hi = replay.lastHi;
    }
    const at = this.#reserve(IN_PREFIX + esp.length + IN_SUFFIX);
    const buf = this.#buf;
    const espAt = at + IN_PREFIX;
    buf.set(esp, espAt);
    // AAD = the SA's SPI || [seq hi] || seq lo (RFC 4106 s5), as decapsulate builds it: the SPI
    // from the SA, not from the packet (a caller may hand any packet to any SA).
    writeU32(buf, at, sa.spi);
    if (sa.esn) writeU32(buf, at + 4, hi);
    const seqAt = sa.esn ? at + 8 : at + 4;
    buf[seqAt] = esp[4] as number;
    buf[seqAt + 1] = esp[5] as number;
    buf[seqAt + 2] = esp[6] as number;
    buf[seqAt + 3] = esp[7] as number;
    const g = this.#queueAead(sa, aead, espAt + ESP_HEADER_LENGTH, at, espAt + ESP_HEADER_LENGTH + 8, esp.length - ESP_HEADER_LENGTH - 8);
    const i = this.#queuedIndex;
    return this.#slot(sa, espAt, g, i, hi, undefined, esp);
  }

  /**
   * Adds one AEAD operation to `sa`'s group: IV (8 bytes) at `ivAt`, AAD (SPI || [seq hi] ||
   * seq lo, RFC 4106 s5) at `aadAt`, `length` bytes at `dataAt` sealed or opened in place.
   * Returns the group; its index in the group is left in #queuedIndex (no tuple per packet).
   */
  #queueAead(sa: SecurityAssociation, aead: NativeAead, ivAt: number, aadAt: number, dataAt: number, length: number): number {
    const g = this.#groupOf(sa, aead);
    const grp = this.#groups[g] as BurstGroup;
    const i = grp.count++;
    const d = (grp.desc = grow32(grp.desc, grp.count * BATCH_STRIDE));
    const o = i * BATCH_STRIDE;
    d[o + BatchField.IV_OFFSET] = ivAt;
    d[o + BatchField.AAD_OFFSET] = aadAt;
    d[o + BatchField.AAD_LENGTH] = sa.esn ? 12 : 8;
    d[o + BatchField.INPUT_OFFSET] = dataAt;
    d[o + BatchField.INPUT_LENGTH] = length;
    d[o + BatchField.OUTPUT_OFFSET] = dataAt;
    this.#queuedIndex = i;
    return g;
  }

  /** The index #queueAead gave its last operation within its group. */
  #queuedIndex = 0;

  /**
   * Seals/opens every queued packet not yet run: one addon call per SA. May be called again after
   * more packets were added (e.g. before an SA is wiped in the middle of a burst).
   */
  run(): void {
    for (let g = 0; g < this.#groupCount; g++) {
      const grp = this.#groups[g] as BurstGroup;
      if (grp.done === grp.count) continue;
      const d = grp.done === 0 ? grp.desc : grp.desc.subarray(grp.done * BATCH_STRIDE);
      if (grp.sa.direction === "outbound") grp.aead.sealBatch(this.#buf, d, grp.count - grp.done);
      else grp.aead.openBatch(this.#buf, d, grp.count - grp.done);
      grp.done = grp.count;
    }
    this.#ran = true;
  }

  /**
   * The outcome of slot `slot` (after `run()`): the ESP packet (outbound) or the inner IP packet
   * (inbound), as a view valid until `reset()`, or the DropReason. Inbound: call once per slot,
   * in slot order (this is where the SA's replay window moves and drops are counted); a slot may
   * be skipped only when its SA is no longer used (removed from the SAD in the middle of the burst).
   */
  result(slot: number): Uint8Array | DropReason {
    if (!this.#ran) throw new Error("EspBurst.result before run()");
    const held = this.#held[slot];
    if (held !== undefined) return held;
    const g = this.#group[slot] as number;
    if (g === NO_GROUP) return this.#single(slot);
    const grp = this.#groups[g] as BurstGroup;
    const espAt = this.#espAt[slot] as number;
    if (grp.sa.direction === "outbound") return this.#view(slot, espAt, this.#aux[slot] as number);
    const sa = grp.sa;
    const esp = this.#input[slot] as Uint8Array;
    const seqLo = readU32(esp, 4);
    const replay = sa.replay;
    if (replay) {
      const verdict = replay.check(seqLo);
      if (verdict !== "ok" && sa.antiReplay) return sa.drop(verdict);
      // An earlier packet of this burst moved the window so that the ESN high half inferred for
      // this one differs from the one the batch authenticated with: open it again on its own.
      if (replay.lastHi !== this.#aux[slot]) return this.#single(slot);
    }
    const status = grp.desc[(this.#index[slot] as number) * BATCH_STRIDE + BatchField.STATUS] as number;
    if (status < 0) return sa.drop("ICV_FAILURE");
    if (replay) replay.update(seqLo);
    const ptAt = espAt + ESP_HEADER_LENGTH + 8;
    const hl = sa.family === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH;
    if (sa.mode === "transport") return deliver(sa, this.#buf.subarray(ptAt, ptAt + status), this.#buf.subarray(ptAt - hl, ptAt + status));
    const r = deliver(sa, this.#view(slot, ptAt, status), undefined, this.#inner[slot]);
    if (typeof r !== "string") this.#inner[slot] = r;
    return r;
  }

  /**
   * A view of `length` bytes at `at` of the burst buffer: the one made for this slot in an earlier
   * burst when it is the same (steady traffic repeats the layout), else a new one. Views of a
   * buffer the burst has outgrown are dropped with it (`#reserve`).
   */
  #view(slot: number, at: number, length: number): Uint8Array {
    const v = this.#views[slot];
    if (v !== undefined && v.byteOffset === at && v.length === length) return v;
    const w = this.#buf.subarray(at, at + length);
    this.#views[slot] = w;
    return w;
  }

  /** An inbound packet decided per packet, at its turn: `decapsulate`, result copied into the burst buffer. */
  #single(slot: number): Uint8Array | DropReason {
    const esp = this.#input[slot] as Uint8Array;
    const sa = this.#sa[slot] as SecurityAssociation;
    const r = decapsulate(sa, esp);
    if (typeof r === "string") return r;
    // A native context may return a view into its own scratch, overwritten by the next call.
    const at = this.#reserve(r.length);
    this.#buf.set(r, at);
    return this.#buf.subarray(at, at + r.length);
  }

  #slot(sa: SecurityAssociation, espAt: number, group: number, index: number, aux: number, held: Uint8Array | DropReason | undefined, input?: Uint8Array): number {
    const s = this.#count++;
    if (s >= this.#espAt.length) {
      this.#espAt = grow32(this.#espAt, s + 1);
      this.#group = grow32(this.#group, s + 1);
      this.#index = grow32(this.#index, s + 1);
      this.#aux = growF64(this.#aux, s + 1);
    }
    this.#espAt[s] = espAt;
    this.#group[s] = group;
    this.#index[s] = index;
    this.#aux[s] = aux;
    this.#held[s] = held;
    this.#input[s] = input;
    this.#sa[s] = sa;
    return s;
  }

  #groupOf(sa: SecurityAssociation, aead: NativeAead): number {
    const n = this.#groupCount;
    if (n > 0 && (this.#groups[n - 1] as BurstGroup).sa === sa) return n - 1;
    for (let g = 0; g < n; g++) if ((this.#groups[g] as BurstGroup).sa === sa) return g;
    let grp = this.#groups[n];
    if (grp === undefined) {
      grp = { sa, aead, desc: new Int32Array(64 * BATCH_STRIDE), count: 0, done: 0 };
      this.#groups.push(grp);
    } else {
      grp.sa = sa;
      grp.aead = aead;
    }
    this.#groupCount = n + 1;
    return n;
  }

  /** `n` bytes at a 16-byte aligned offset of the buffer; grows it (keeping the contents) when full. */
  #reserve(n: number): number {
    const at = (this.#used + 15) & ~15;
    if (at + n > this.#buf.length) {
      const b = new Uint8Array(Math.max(this.#buf.length * 2, at + n + 65536));
      b.set(this.#buf.subarray(0, this.#used));
      this.#buf = b;
      // Views of the old buffer stay valid for results already handed out, but are not reused.
      this.#views.length = 0;
      this.#inner.length = 0;
    }
    this.#used = at + n;
    return at;
  }
}

/**
 * Encapsulates `packets[0..count)` on outbound SA `sa` as one burst in `burst` (reset first): on
 * the addon, one `sealBatch` call for all of them. `results[i]` becomes what `encapsulate(sa,
 * packets[i])` would return in that order: the ESP packet (a view into the burst buffer, valid
 * until `burst` is reset) or MALFORMED / SEQUENCE_EXHAUSTED. `results` is grown as needed.
 */
export function encapsulateBurst(sa: SecurityAssociation, packets: readonly Uint8Array[], burst: EspBurst, results: (Uint8Array | DropReason)[], count = packets.length): void {
  burst.reset();
  for (let i = 0; i < count; i++) {
    const t = burst.addEncapsulate(sa, packets[i] as Uint8Array);
    results[i] = typeof t === "string" ? t : EMPTY;
  }
  burst.run();
  // Slots are handed out in order to the packets that were not dropped at once.
  let slot = 0;
  for (let i = 0; i < count; i++) if (typeof results[i] !== "string") results[i] = burst.result(slot++);
}

/**
 * Decapsulates ESP packets `esps[0..count)` (SPI..ICV) on inbound SA `sa` as one burst in `burst`
 * (reset first): on the addon, one `openBatch` call for all of them. `results[i]` becomes what
 * `decapsulate(sa, esps[i])` would return in that order: the inner IP packet (a view into the
 * burst buffer, valid until `burst` is reset) or the DropReason.
 */
export function decapsulateBurst(sa: SecurityAssociation, esps: readonly Uint8Array[], burst: EspBurst, results: (Uint8Array | DropReason)[], count = esps.length): void {
  burst.reset();
  for (let i = 0; i < count; i++) burst.addDecapsulate(sa, esps[i] as Uint8Array);
  burst.run();
  for (let i = 0; i < count; i++) results[i] = burst.result(i);
}
