/**
 * API
 *   interface SkKeys { encr: { alg: EncrAlgorithm; ctx: EncrContext }; integ?: { alg: IntegAlgorithm; ctx: IntegContext } }
 *       One direction's keys: SK_ei/SK_ai for messages the initiator sends, SK_er/SK_ar for the responder's.
 *   makeSkKeys(encr: EncrAlgorithm, skE: Secret, integ?: IntegAlgorithm, skA?: Secret): SkKeys
 *   skOverhead(keys: SkKeys): { fixed: number; blockSize: number }
 *       bytes SK adds besides the inner payloads: IV + ICV + pad-length octet (+ generic header 4); block alignment.
 *   encryptSk(p: EncryptSkParams): Uint8Array
 *       { header: IkeHeader, innerPayloads: Payload[] | { firstType, bytes }, keys: SkKeys, iv: Uint8Array,
 *         padLength?: number, padding?: Uint8Array } -> the whole message (header.nextPayload = SK,
 *       header.length set), SK last: IV || E(inner || padding || pad length) || ICV.
 *   encryptSkf(p: EncryptSkfParams): Uint8Array        // RFC 7383 s2.5, one fragment message
 *       { header, firstType (0 unless fragment 1), fragmentNumber, totalFragments, fragment: Uint8Array, keys, iv, padLength?, padding? }
 *   decryptSk(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): SkOpenResult
 *       -> { ok: true, firstType, inner, payloads, padLength } | { ok: false, reason, detail }
 *   decryptSkf(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): SkfOpenResult
 *       -> { ok: true, firstType, fragmentNumber, totalFragments, fragment } | { ok: false, reason, detail }
 *   type SkFailure = "integrity" | "length" | "padding" | "syntax" | "missing"
 *
 * Theory of operation (RFC 7296 s3.14, RFC 5282 for AEAD, RFC 7383 s2.5 for SKF). The encrypted
 * payload is always last, so its position in the message bytes follows from its length. With a
 * classic cipher the ICV is the integrity checksum over the whole message from the first header
 * octet to the end of the ciphertext; it is verified (constant time) before anything is
 * decrypted. With an AEAD the associated data is the IKE header plus the SK (or SKF, incl.
 * Fragment Number and Total Fragments) payload header, which the cipher authenticates while it
 * decrypts. The IKE header length must be final before either is computed, so the message is
 * laid out first and sealed in place. Failures are values: the engine silently drops a message
 * whose integrity fails (s2.21.2) and answers INVALID_SYNTAX to a protected one that does not parse.
 */
import type { Secret } from "../crypto/secret.js";
import type { EncrAlgorithm, EncrContext, IntegAlgorithm, IntegContext } from "../crypto/types.js";
import { isDecodeError } from "../wire/errors.js";
import { PayloadType } from "../wire/ike/constants.js";
import { encodeHeader, IKE_HEADER_LENGTH } from "../wire/ike/header.js";
import { decodePayloadChain, encodePayloadChain } from "../wire/ike/message.js";
import type { IkeHeader, IkeMessage, Payload } from "../wire/ike/types.js";

export interface SkKeys {
  encr: { alg: EncrAlgorithm; ctx: EncrContext };
  /** Absent for AEAD ciphers (RFC 5282). */
  integ?: { alg: IntegAlgorithm; ctx: IntegContext };
}

/** Binds SK_e (and SK_a for classic ciphers) to contexts. */
export function makeSkKeys(encr: EncrAlgorithm, skE: Secret, integ?: IntegAlgorithm, skA?: Secret): SkKeys {
  const keys: SkKeys = { encr: { alg: encr, ctx: encr.create(skE) } };
  if (integ && skA) keys.integ = { alg: integ, ctx: integ.create(skA) };
  return keys;
}

export type SkFailure = "integrity" | "length" | "padding" | "syntax" | "missing";

export type SkOpenResult =
  | { ok: true; firstType: number; inner: Uint8Array; payloads: Payload[]; padLength: number }
  | { ok: false; reason: SkFailure; detail: string };

export type SkfOpenResult =
  | { ok: true; firstType: number; fragmentNumber: number; totalFragments: number; fragment: Uint8Array; padLength: number }
  | { ok: false; reason: SkFailure; detail: string };

function icvLength(keys: SkKeys): number {
  return keys.encr.alg.aead ? keys.encr.alg.icvLength : (keys.integ?.alg.icvLength ?? 0);
}

/**
 * What SK adds around the inner payloads, for fragmentation and MTU math: `fixed` = generic
 * header (4) + IV + ICV + Pad Length octet; the padded plaintext is a multiple of `blockSize`.
 */
export function skOverhead(keys: SkKeys): { fixed: number; blockSize: number } {
  return { fixed: 4 + keys.encr.alg.ivLength + icvLength(keys) + 1, blockSize: Math.max(1, keys.encr.alg.blockSize) };
}

interface SealParams {
  header: IkeHeader;
  payloadType: 46 | 53;
  /** Bytes of the SK/SKF header after the 4-byte generic header (SKF: Fragment Number, Total Fragments). */
  extraHeader: Uint8Array;
  firstType: number;
  critical: boolean;
  inner: Uint8Array;
  keys: SkKeys;
  iv: Uint8Array;
  padLength: number | undefined;
  padding: Uint8Array | undefined;
}

function seal(p: SealParams): Uint8Array {
  const { keys } = p;
  const alg = keys.encr.alg;
  if (!alg.aead && !keys.integ) throw new Error(`${alg.name} is not AEAD and no integrity key was given`);
  if (p.iv.length !== alg.ivLength) throw new Error(`IV is ${p.iv.length} bytes, ${alg.name} needs ${alg.ivLength}`);
  const block = Math.max(1, alg.blockSize);
  const minPad = (block - ((p.inner.length + 1) % block)) % block;
  const padLength = p.padding?.length ?? p.padLength ?? minPad;
  if (padLength > 255 || (p.inner.length + 1 + padLength) % block !== 0) {
    throw new Error(`pad length ${padLength} does not align ${p.inner.length + 1} bytes to ${block}`);
  }
  const plaintext = new Uint8Array(p.inner.length + padLength + 1);
  plaintext.set(p.inner, 0);
  if (p.padding) plaintext.set(p.padding, p.inner.length);
  plaintext[plaintext.length - 1] = padLength;

  const icv = icvLength(keys);
  const skHeaderLen = 4 + p.extraHeader.length;
  const skLen = skHeaderLen + alg.ivLength + plaintext.length + icv;
  const total = IKE_HEADER_LENGTH + skLen;
  if (skLen > 0xffff) throw new Error(`SK payload of ${skLen} bytes does not fit the 16-bit length`);
  const out = new Uint8Array(total);
  out.set(encodeHeader({ ...p.header, nextPayload: p.payloadType, length: total }), 0);
  let o = IKE_HEADER_LENGTH;
  out[o] = p.firstType;
  out[o + 1] = p.critical ? 0x80 : 0;
  out[o + 2] = skLen >>> 8;
  out[o + 3] = skLen & 0xff;
  out.set(p.extraHeader, o + 4);
  o += skHeaderLen;
  const aad = out.subarray(0, o);
  out.set(p.iv, o);
  o += alg.ivLength;
  const sealed = keys.encr.ctx.encrypt(p.iv, plaintext, alg.aead ? aad : new Uint8Array(0));
  // AEAD output is ciphertext || ICV; a classic cipher returns exactly the ciphertext.
  out.set(sealed, o);
  o += sealed.length;
  if (!alg.aead) {
    const integ = keys.integ as NonNullable<SkKeys["integ"]>;
    out.set(integ.ctx.compute(out.subarray(0, o)), o);
    o += icv;
  }
  if (o !== total) throw new Error(`SK layout: wrote ${o} bytes, expected ${total}`);
  return out;
}

export interface EncryptSkParams {
  /** Header fields (SPIs, exchange type, flags, message ID); nextPayload and length are computed. */
  header: IkeHeader;
  /** The payloads to protect, or an already encoded chain. */
  innerPayloads: Payload[] | { firstType: number; bytes: Uint8Array };
  keys: SkKeys;
  /** The explicit IV (ivLength bytes): random for CBC, unique per key for counter modes/AEAD. */
  iv: Uint8Array;
  /** Padding octets to add (default: the minimum for the block size; 0 for AEAD/stream). */
  padLength?: number;
  /** Exact padding bytes (the RFC lets the sender choose them; tests reproduce captures). */
  padding?: Uint8Array;
}

function innerChain(x: EncryptSkParams["innerPayloads"]): { firstType: number; bytes: Uint8Array } {
  return Array.isArray(x) ? encodePayloadChain(x) : x;
}

/** A whole IKE message whose only payload is SK (RFC 7296 s3.14). Throws only on local misuse (wrong IV size, bad padding). */
export function encryptSk(p: EncryptSkParams): Uint8Array {
  const chain = innerChain(p.innerPayloads);
  return seal({
    header: p.header,
    payloadType: PayloadType.SK,
    extraHeader: new Uint8Array(0),
    firstType: chain.firstType,
    critical: false,
    inner: chain.bytes,
    keys: p.keys,
    iv: p.iv,
    padLength: p.padLength,
    padding: p.padding,
  });
}

export interface EncryptSkfParams {
  header: IkeHeader;
  /** Next Payload of the SKF header: the first inner payload's type in fragment 1, 0 in the others (RFC 7383 s2.5). */
  firstType: number;
  /** 1-based. */
  fragmentNumber: number;
  totalFragments: number;
  /** This fragment's slice of the encoded inner payload chain. */
  fragment: Uint8Array;
  keys: SkKeys;
  iv: Uint8Array;
  padLength?: number;
  padding?: Uint8Array;
}

/** One fragment message (RFC 7383 s2.5): header || SKF { Fragment Number, Total Fragments, IV, E(fragment), ICV }. */
export function encryptSkf(p: EncryptSkfParams): Uint8Array {
  if (p.fragmentNumber < 1 || p.fragmentNumber > p.totalFragments || p.totalFragments > 0xffff) {
    throw new Error(`fragment ${p.fragmentNumber} of ${p.totalFragments} is out of range`);
  }
  const extra = new Uint8Array([p.fragmentNumber >>> 8, p.fragmentNumber & 0xff, p.totalFragments >>> 8, p.totalFragments & 0xff]);
  return seal({
    header: p.header,
    payloadType: PayloadType.SKF,
    extraHeader: extra,
    firstType: p.firstType,
    critical: false,
    inner: p.fragment,
    keys: p.keys,
    iv: p.iv,
    padLength: p.padLength,
    padding: p.padding,
  });
}

type Opened = { ok: true; plaintext: Uint8Array; padLength: number } | { ok: false; reason: SkFailure; detail: string };

/**
 * Verifies and decrypts the last payload of `bytes` whose content (IV..ICV) is `encrypted` and
 * whose header is `headerLen` octets (SK 4, SKF 8).
 */
function open(bytes: Uint8Array, encrypted: Uint8Array, headerLen: number, keys: SkKeys): Opened {
  const alg = keys.encr.alg;
  const icv = icvLength(keys);
  const start = bytes.length - encrypted.length - headerLen;
  if (start < IKE_HEADER_LENGTH) return { ok: false, reason: "length", detail: "encrypted payload does not end the message" };
  const ctLen = encrypted.length - alg.ivLength - icv;
  if (ctLen < 1) {
    return { ok: false, reason: "length", detail: `encrypted payload of ${encrypted.length} bytes is shorter than IV (${alg.ivLength}) + ICV (${icv}) + pad length` };
  }
  if (alg.blockSize > 1 && ctLen % alg.blockSize !== 0) {
    return { ok: false, reason: "length", detail: `ciphertext of ${ctLen} bytes is not a multiple of the ${alg.blockSize}-byte block` };
  }
  const iv = encrypted.subarray(0, alg.ivLength);
  let plaintext: Uint8Array | null;
  if (alg.aead) {
    const aad = bytes.subarray(0, start + headerLen);
    plaintext = keys.encr.ctx.decrypt(iv, encrypted.subarray(alg.ivLength), aad);
    if (plaintext === null) return { ok: false, reason: "integrity", detail: `${alg.name} ICV does not verify` };
  } else {
    const integ = keys.integ;
    if (!integ) return { ok: false, reason: "integrity", detail: `${alg.name} needs an integrity key` };
    // s3.14: the checksum covers the message from the IKE header to the end of the ciphertext; check it first.
    const covered = bytes.subarray(0, bytes.length - icv);
    if (!integ.ctx.verify(bytes.subarray(bytes.length - icv), covered)) {
      return { ok: false, reason: "integrity", detail: `${integ.alg.name} ICV does not verify` };
    }
    plaintext = keys.encr.ctx.decrypt(iv, encrypted.subarray(alg.ivLength, alg.ivLength + ctLen), new Uint8Array(0));
    if (plaintext === null) return { ok: false, reason: "length", detail: "ciphertext cannot be decrypted" };
  }
  const padLength = plaintext[plaintext.length - 1] as number;
  if (padLength + 1 > plaintext.length) {
    return { ok: false, reason: "padding", detail: `pad length ${padLength} exceeds the ${plaintext.length}-byte plaintext` };
  }
  return { ok: true, plaintext: plaintext.subarray(0, plaintext.length - 1 - padLength), padLength };
}

/**
 * Verifies and decrypts the SK payload of `msg` (decoded from exactly `bytes`). The ICV is
 * checked before decryption; the inner chain is decoded with offsets relative to the plaintext.
 * Never throws for peer input.
 */
export function decryptSk(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): SkOpenResult {
  const last = msg.payloads[msg.payloads.length - 1];
  if (!last || last.type !== PayloadType.SK) return { ok: false, reason: "missing", detail: "message has no SK payload" };
  const r = open(bytes, last.encrypted, 4, keys);
  if (!r.ok) return r;
  try {
    const payloads = decodePayloadChain(last.firstInner, r.plaintext, 0);
    return { ok: true, firstType: last.firstInner, inner: r.plaintext, payloads, padLength: r.padLength };
  } catch (e) {
    if (isDecodeError(e)) return { ok: false, reason: "syntax", detail: `inner payloads: ${e.message}` };
    throw e;
  }
}

/** Verifies and decrypts one SKF fragment (RFC 7383 s2.5); the fragment bytes are not decoded. */
export function decryptSkf(bytes: Uint8Array, msg: IkeMessage, keys: SkKeys): SkfOpenResult {
  const last = msg.payloads[msg.payloads.length - 1];
  if (!last || last.type !== PayloadType.SKF) return { ok: false, reason: "missing", detail: "message has no SKF payload" };
  const r = open(bytes, last.encrypted, 8, keys);
  if (!r.ok) return r;
  return {
    ok: true,
    firstType: last.firstInner,
    fragmentNumber: last.fragmentNumber,
    totalFragments: last.totalFragments,
    fragment: r.plaintext,
    padLength: r.padLength,
  };
}
