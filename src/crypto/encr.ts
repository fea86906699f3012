import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type CipherCCMTypes,
  type CipherGCMTypes,
  type KeyObject,
} from "node:crypto";
import { EncrId, encrIdName } from "../wire/ike/constants.js";
import { CryptoError } from "./errors.js";
import type { Secret } from "./secret.js";
import type { EncrAlgorithm, EncrContext } from "./types.js";

/**
 * Transform Type 1 (ENCR) by IANA id, on node:crypto (OpenSSL).
 *
 * Theory of operation: `getEncr(id, keyLengthBits)` returns an immutable description of the
 * negotiated cipher; `create(keymat)` splits KEYMAT into key || salt (the salt comes from the END
 * of KEYMAT: RFC 3686 s5.1, RFC 4106 s8.1, RFC 4309 s7.1, RFC 4543 s5, RFC 7634 s2), turns the
 * key into a KeyObject once, and returns a context that builds one OpenSSL cipher per call. The
 * nonce (salt || explicit IV) is assembled in a buffer owned by the context, so a call allocates
 * only the cipher and its output. Contexts are not re-entrant across threads, which Node's
 * single-threaded model guarantees.
 */

type Mode = "cbc" | "ctr" | "gcm" | "ccm" | "chacha20-poly1305" | "gmac" | "null" | "3des";

interface Spec {
  readonly id: number;
  readonly mode: Mode;
  readonly name: string;
  readonly keyLength: number;
  readonly saltLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  readonly icvLength: number;
}

const AES_KEY_BITS: readonly number[] = [128, 192, 256];

/** Ids with a Key Length attribute (RFC 7296 s3.3.5: required for variable-length ciphers). */
function aesKeyBits(id: number, keyLengthBits: number | undefined): number {
  if (keyLengthBits === undefined) {
    throw new CryptoError(`${encrIdName(id)} needs a Key Length attribute (128, 192 or 256 bits)`);
  }
  if (!AES_KEY_BITS.includes(keyLengthBits)) {
    throw new CryptoError(`${encrIdName(id)}: invalid key length ${keyLengthBits} bits (want 128, 192 or 256)`);
  }
  return keyLengthBits;
}

/** Fixed-key ciphers: the Key Length attribute must be absent (RFC 7296 s3.3.5) or equal the fixed size. */
function fixedKeyBits(id: number, keyLengthBits: number | undefined, fixed: number): void {
  if (keyLengthBits !== undefined && keyLengthBits !== fixed) {
    throw new CryptoError(`${encrIdName(id)}: invalid key length ${keyLengthBits} bits (fixed at ${fixed})`);
  }
}

function specFor(id: number, keyLengthBits: number | undefined): Spec {
  switch (id) {
    case EncrId.ENCR_AES_CBC: {
      const bits = aesKeyBits(id, keyLengthBits);
      // RFC 3602 s2.3/2.4: 16-byte explicit IV, 16-byte blocks.
      return { id, mode: "cbc", name: `ENCR_AES_CBC_${bits}`, keyLength: bits / 8, saltLength: 0, ivLength: 16, blockSize: 16, icvLength: 0 };
    }
    case EncrId.ENCR_AES_CTR: {
      const bits = aesKeyBits(id, keyLengthBits);
      // RFC 3686 s3.1/s5.1: 4-byte nonce from the end of KEYMAT, 8-byte IV, block size 1.
      return { id, mode: "ctr", name: `ENCR_AES_CTR_${bits}`, keyLength: bits / 8, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: 0 };
    }
    case EncrId.ENCR_AES_GCM_8:
    case EncrId.ENCR_AES_GCM_12:
    case EncrId.ENCR_AES_GCM_16: {
      const bits = aesKeyBits(id, keyLengthBits);
      const icv = id === EncrId.ENCR_AES_GCM_8 ? 8 : id === EncrId.ENCR_AES_GCM_12 ? 12 : 16;
      // RFC 4106 s3.1 (8-byte IV), s4 (nonce = 4-byte salt || IV), s6 (ICV 8/12/16).
      return { id, mode: "gcm", name: `${encrIdName(id)}_${bits}`, keyLength: bits / 8, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: icv };
    }
    case EncrId.ENCR_AES_CCM_8:
    case EncrId.ENCR_AES_CCM_12:
    case EncrId.ENCR_AES_CCM_16: {
      const bits = aesKeyBits(id, keyLengthBits);
      const icv = id === EncrId.ENCR_AES_CCM_8 ? 8 : id === EncrId.ENCR_AES_CCM_12 ? 12 : 16;
      // RFC 4309 s3.1 (8-byte IV), s4 (nonce = 3-byte salt || IV, L = 4), s3.2 (ICV 8/12/16).
      return { id, mode: "ccm", name: `${encrIdName(id)}_${bits}`, keyLength: bits / 8, saltLength: 3, ivLength: 8, blockSize: 1, icvLength: icv };
    }
    case EncrId.ENCR_CHACHA20_POLY1305:
      fixedKeyBits(id, keyLengthBits, 256);
      // RFC 7634 s2 (nonce = 4-byte salt || 8-byte IV), s3 (16-byte tag), 32-byte key only.
      return { id, mode: "chacha20-poly1305", name: "ENCR_CHACHA20_POLY1305", keyLength: 32, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: 16 };
    case EncrId.ENCR_NULL_AUTH_AES_GMAC: {
      const bits = aesKeyBits(id, keyLengthBits);
      // RFC 4543 s3.1 (8-byte IV), s3.2 (nonce = 4-byte salt || IV), s3.3 (16-byte ICV).
      return { id, mode: "gmac", name: `ENCR_NULL_AUTH_AES_GMAC_${bits}`, keyLength: bits / 8, saltLength: 4, ivLength: 8, blockSize: 1, icvLength: 16 };
    }
    case EncrId.ENCR_NULL:
      fixedKeyBits(id, keyLengthBits, 0);
      // RFC 2410 s2: no key, no IV, block size 1.
      return { id, mode: "null", name: "ENCR_NULL", keyLength: 0, saltLength: 0, ivLength: 0, blockSize: 1, icvLength: 0 };
    case EncrId.ENCR_3DES:
      fixedKeyBits(id, keyLengthBits, 192);
      // RFC 2451: 24-byte key (three DES keys), 8-byte IV and blocks. Legacy: RFC 8221 MUST NOT for new SAs.
      return { id, mode: "3des", name: "ENCR_3DES", keyLength: 24, saltLength: 0, ivLength: 8, blockSize: 8, icvLength: 0 };
    default:
      throw new CryptoError(`unsupported ENCR transform ${encrIdName(id)}`);
  }
}

/**
 * The ENCR transform `id` (IANA Transform Type 1) with `keyLengthBits` from the Key Length
 * attribute (required for AES-based ids, absent or the fixed size for ChaCha20-Poly1305, 3DES and
 * NULL). Throws CryptoError for an unknown id or a missing/invalid key length.
 */
export function getEncr(id: number, keyLengthBits?: number): EncrAlgorithm {
  const spec = specFor(id, keyLengthBits);
  const aead = spec.mode === "gcm" || spec.mode === "ccm" || spec.mode === "chacha20-poly1305" || spec.mode === "gmac";
  return Object.freeze({
    id: spec.id,
    name: spec.name,
    keyLength: spec.keyLength,
    saltLength: spec.saltLength,
    keymatLength: spec.keyLength + spec.saltLength,
    ivLength: spec.ivLength,
    blockSize: spec.blockSize,
    icvLength: spec.icvLength,
    aead,
    authOnly: spec.mode === "gmac",
    create: (keymat: Secret): EncrContext => createContext(spec, keymat),
  });
}

function createContext(spec: Spec, keymat: Secret): EncrContext {
  const want = spec.keyLength + spec.saltLength;
  if (keymat.length !== want) {
    throw new CryptoError(`${spec.name}: KEYMAT is ${keymat.length} bytes, want ${want} (key ${spec.keyLength} + salt ${spec.saltLength})`);
  }
  if (spec.mode === "null") return new NullContext();
  const bytes = keymat.expose();
  // createSecretKey copies the bytes into OpenSSL-owned memory; the salt is copied into the nonce buffer.
  const key = createSecretKey(bytes.subarray(0, spec.keyLength));
  const salt = bytes.subarray(spec.keyLength, want);
  const bits = spec.keyLength * 8;
  switch (spec.mode) {
    case "cbc":
      return new CbcContext(`aes-${bits}-cbc`, key, spec);
    case "3des":
      return new CbcContext("des-ede3-cbc", key, spec);
    case "ctr":
      return new CtrContext(`aes-${bits}-ctr`, key, salt, spec);
    case "gcm":
      return new GcmContext(`aes-${bits}-gcm` as CipherGCMTypes, key, salt, spec);
    case "gmac":
      return new GmacContext(`aes-${bits}-gcm` as CipherGCMTypes, key, salt, spec);
    case "ccm":
      return new CcmContext(`aes-${bits}-ccm` as CipherCCMTypes, key, salt, spec);
    case "chacha20-poly1305":
      return new ChaChaContext(key, salt, spec);
  }
}

function checkIv(spec: Spec, iv: Uint8Array): void {
  if (iv.length !== spec.ivLength) throw new CryptoError(`${spec.name}: IV is ${iv.length} bytes, want ${spec.ivLength}`);
}

/** Copies `parts` into one new Uint8Array (the cipher's output chunks plus a tag). */
function join(a: Uint8Array, b: Uint8Array, c?: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + (c?.length ?? 0));
  out.set(a, 0);
  out.set(b, a.length);
  if (c) out.set(c, a.length + b.length);
  return out;
}

/** The parts of an AEAD cipher/decipher object that sealing and opening use (GCM, CCM, ChaCha20-Poly1305). */
interface AeadSealer {
  update(data: Uint8Array): Buffer;
  final(): Buffer;
  getAuthTag(): Buffer;
}
interface AeadOpener {
  update(data: Uint8Array): Buffer;
  final(): Buffer;
}

/** Encrypts `plaintext` after the AAD was set and returns ciphertext || ICV. */
function seal(c: AeadSealer, plaintext: Uint8Array): Uint8Array {
  const ct = c.update(plaintext);
  c.final();
  return join(ct, c.getAuthTag());
}

/**
 * Decrypts `body` after the tag and AAD were set; null when the ICV does not verify (Node reports
 * it from final(); for CCM the check itself runs inside update()), never an exception for peer data.
 */
function open(d: AeadOpener, body: Uint8Array): Uint8Array | null {
  try {
    const pt = d.update(body);
    d.final();
    return new Uint8Array(pt.buffer, pt.byteOffset, pt.byteLength);
  } catch {
    return null;
  }
}

class NullContext implements EncrContext {
  encrypt(_iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return plaintext.slice();
  }
  decrypt(_iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    return ciphertext.slice();
  }
}

/** CBC without OpenSSL padding: ESP/IKE add their own (RFC 4303 s2.4, RFC 7296 s3.14). */
class CbcContext implements EncrContext {
  constructor(
    private readonly cipher: string,
    private readonly key: KeyObject,
    private readonly spec: Spec,
  ) {}

  encrypt(iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    if (plaintext.length % this.spec.blockSize !== 0) {
      throw new CryptoError(`${this.spec.name}: plaintext is ${plaintext.length} bytes, not a multiple of ${this.spec.blockSize}`);
    }
    const c = createCipheriv(this.cipher, this.key, iv).setAutoPadding(false);
    return join(c.update(plaintext), c.final());
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (iv.length !== this.spec.ivLength || ciphertext.length % this.spec.blockSize !== 0) return null;
    const d = createDecipheriv(this.cipher, this.key, iv).setAutoPadding(false);
    return join(d.update(ciphertext), d.final());
  }
}

/** RFC 3686 s4: counter block = nonce (4) || IV (8) || block counter (4, starting at 1). */
class CtrContext implements EncrContext {
  private readonly block = new Uint8Array(16);
  constructor(
    private readonly cipher: string,
    private readonly key: KeyObject,
    salt: Uint8Array,
    private readonly spec: Spec,
  ) {
    this.block.set(salt, 0);
    this.block[15] = 1;
  }

  private run(iv: Uint8Array, input: Uint8Array): Uint8Array {
    this.block.set(iv, 4);
    const c = createCipheriv(this.cipher, this.key, this.block);
    return join(c.update(input), c.final());
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    return this.run(iv, plaintext);
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (iv.length !== this.spec.ivLength) return null;
    return this.run(iv, ciphertext);
  }
}

/** 16-byte tag options shared by GMAC and ChaCha20-Poly1305 (one object, not one per packet). */
const TAG16_OPTIONS = Object.freeze({ authTagLength: 16 });

/** The 12-byte AEAD nonce salt || IV held by a context (RFC 4106 s4, RFC 4543 s3.2, RFC 7634 s2). */
class Nonce {
  readonly bytes: Uint8Array;
  constructor(salt: Uint8Array, ivLength: number) {
    this.bytes = new Uint8Array(salt.length + ivLength);
    this.bytes.set(salt, 0);
  }
  with(iv: Uint8Array): Uint8Array {
    this.bytes.set(iv, this.bytes.length - iv.length);
    return this.bytes;
  }
}

/** RFC 4106: AES-GCM with an 8/12/16-byte ICV. */
class GcmContext implements EncrContext {
  private readonly nonce: Nonce;
  private readonly options: { readonly authTagLength: number };
  constructor(
    private readonly cipher: CipherGCMTypes,
    private readonly key: KeyObject,
    salt: Uint8Array,
    private readonly spec: Spec,
  ) {
    this.nonce = new Nonce(salt, spec.ivLength);
    this.options = { authTagLength: spec.icvLength };
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    const c = createCipheriv(this.cipher, this.key, this.nonce.with(iv), this.options);
    c.setAAD(aad);
    return seal(c, plaintext);
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    const icv = this.spec.icvLength;
    if (iv.length !== this.spec.ivLength || ciphertext.length < icv) return null;
    const split = ciphertext.length - icv;
    const d = createDecipheriv(this.cipher, this.key, this.nonce.with(iv), this.options);
    d.setAuthTag(ciphertext.subarray(split));
    d.setAAD(aad);
    return open(d, ciphertext.subarray(0, split));
  }
}

/**
 * RFC 4543 s3.5: ENCR_NULL_AUTH_AES_GMAC is GCM with no plaintext, authenticating
 * AAD || IV || payload; the payload travels in clear followed by the 16-byte ICV.
 */
class GmacContext implements EncrContext {
  private readonly nonce: Nonce;
  constructor(
    private readonly cipher: CipherGCMTypes,
    private readonly key: KeyObject,
    salt: Uint8Array,
    private readonly spec: Spec,
  ) {
    this.nonce = new Nonce(salt, spec.ivLength);
  }

  private tag(iv: Uint8Array, payload: Uint8Array, aad: Uint8Array): Uint8Array {
    const c = createCipheriv(this.cipher, this.key, this.nonce.with(iv), TAG16_OPTIONS);
    c.setAAD(aad);
    c.setAAD(iv);
    c.setAAD(payload);
    c.final();
    return c.getAuthTag();
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    return join(plaintext, this.tag(iv, plaintext, aad));
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (iv.length !== this.spec.ivLength || ciphertext.length < 16) return null;
    const split = ciphertext.length - 16;
    const payload = ciphertext.subarray(0, split);
    const d = createDecipheriv(this.cipher, this.key, this.nonce.with(iv), TAG16_OPTIONS);
    d.setAuthTag(ciphertext.subarray(split));
    d.setAAD(aad);
    d.setAAD(iv);
    d.setAAD(payload);
    try {
      d.final();
    } catch {
      return null;
    }
    return payload.slice();
  }
}

/** RFC 4309: AES-CCM with L = 4 (11-byte nonce = 3-byte salt || IV) and an 8/12/16-byte ICV. */
class CcmContext implements EncrContext {
  private readonly nonce: Nonce;
  private readonly options: { readonly authTagLength: number };
  constructor(
    private readonly cipher: CipherCCMTypes,
    private readonly key: KeyObject,
    salt: Uint8Array,
    private readonly spec: Spec,
  ) {
    this.nonce = new Nonce(salt, spec.ivLength);
    this.options = { authTagLength: spec.icvLength };
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    const c = createCipheriv(this.cipher, this.key, this.nonce.with(iv), this.options);
    c.setAAD(aad, { plaintextLength: plaintext.length });
    return seal(c, plaintext);
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    const icv = this.spec.icvLength;
    if (iv.length !== this.spec.ivLength || ciphertext.length < icv) return null;
    const split = ciphertext.length - icv;
    const d = createDecipheriv(this.cipher, this.key, this.nonce.with(iv), this.options);
    d.setAuthTag(ciphertext.subarray(split));
    d.setAAD(aad, { plaintextLength: split });
    // OpenSSL checks the CCM tag inside update(); Node reports the failure from final().
    return open(d, ciphertext.subarray(0, split));
  }
}

/** RFC 7634 / RFC 8439 s2.8: ChaCha20-Poly1305 with a 12-byte nonce = salt || IV. */
class ChaChaContext implements EncrContext {
  private readonly nonce: Nonce;
  constructor(
    private readonly key: KeyObject,
    salt: Uint8Array,
    private readonly spec: Spec,
  ) {
    this.nonce = new Nonce(salt, spec.ivLength);
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkIv(this.spec, iv);
    const c = createCipheriv("chacha20-poly1305", this.key, this.nonce.with(iv), TAG16_OPTIONS);
    c.setAAD(aad, { plaintextLength: plaintext.length });
    return seal(c, plaintext);
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (iv.length !== this.spec.ivLength || ciphertext.length < 16) return null;
    const split = ciphertext.length - 16;
    const d = createDecipheriv("chacha20-poly1305", this.key, this.nonce.with(iv), TAG16_OPTIONS);
    d.setAuthTag(ciphertext.subarray(split));
    d.setAAD(aad, { plaintextLength: split });
    return open(d, ciphertext.subarray(0, split));
  }
}
