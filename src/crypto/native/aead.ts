import { EncrId } from "../../wire/ike/constants.js";
import { CryptoError } from "../errors.js";
import type { Secret } from "../secret.js";
import type { EncrAlgorithm, EncrContext } from "../types.js";
import { NativeAeadKind, type NativeAddon, type NativeHandle } from "./addon.js";

/**
 * ESP AEAD transforms on the native addon: the same EncrAlgorithm/EncrContext contracts as
 * src/crypto/encr.ts, so the data plane (src/ipsec/esp.ts) runs unchanged on either path.
 *
 * `withNativeEncr(encr, addon)` returns a copy of `encr` whose `create(keymat)` keys a native
 * context once (RFC 4106 AES-GCM with ICV 8/12/16, RFC 7634 ChaCha20-Poly1305); other transforms,
 * or no addon, give `encr` back unchanged (the pure path). Outputs are byte for byte those of the
 * pure path (test/crypto/native.test.ts checks it with fast-check).
 *
 * `NativeAead` is the typed handle for callers that want the batch API: many packets sealed or
 * opened in one call over one preallocated buffer (see BatchField in ./addon.ts).
 */

/** The addon kind for an ENCR id, or undefined when the addon does not implement it. */
export function nativeAeadKind(encrId: number): NativeAeadKind | undefined {
  switch (encrId) {
    case EncrId.ENCR_AES_GCM_8:
    case EncrId.ENCR_AES_GCM_12:
    case EncrId.ENCR_AES_GCM_16:
      return NativeAeadKind.AES_GCM;
    case EncrId.ENCR_CHACHA20_POLY1305:
      return NativeAeadKind.CHACHA20_POLY1305;
    default:
      return undefined;
  }
}

/** True when `withNativeEncr` would put `encr` on the addon. */
export function nativeSupports(encr: EncrAlgorithm): boolean {
  return nativeAeadKind(encr.id) !== undefined && encr.saltLength === 4 && encr.ivLength === 8;
}

/**
 * A keyed native AEAD context for one SA. Nonce = 4-byte salt (end of KEYMAT, RFC 4106 s8.1,
 * RFC 7634 s2) || the 8-byte explicit IV given per packet. Not thread-safe (one per SA on the
 * JS thread). `dispose()` wipes the key inside OpenSSL at once; otherwise the garbage collector's
 * finalizer does it later.
 */
export class NativeAead {
  readonly icvLength: number;
  #handle: NativeHandle | undefined;

  private constructor(
    private readonly addon: NativeAddon,
    handle: NativeHandle,
    icvLength: number,
  ) {
    this.#handle = handle;
    this.icvLength = icvLength;
  }

  /** Keys a context for `encr` from `keymat` (key || salt). Throws CryptoError for an unsupported transform or a wrong KEYMAT length. */
  static create(addon: NativeAddon, encr: EncrAlgorithm, keymat: Secret): NativeAead {
    const kind = nativeAeadKind(encr.id);
    if (kind === undefined || !nativeSupports(encr)) throw new CryptoError(`${encr.name} has no native implementation`);
    if (keymat.length !== encr.keymatLength) {
      throw new CryptoError(`${encr.name}: KEYMAT is ${keymat.length} bytes, want ${encr.keymatLength} (key ${encr.keyLength} + salt ${encr.saltLength})`);
    }
    const bytes = keymat.expose();
    // The addon copies the key into OpenSSL's context; the views are not kept.
    const handle = addon.create(kind, bytes.subarray(0, encr.keyLength), bytes.subarray(encr.keyLength, encr.keymatLength), encr.icvLength);
    return new NativeAead(addon, handle, encr.icvLength);
  }

  private get handle(): NativeHandle {
    if (this.#handle === undefined) throw new Error("native AEAD context used after dispose()");
    return this.#handle;
  }

  /** ciphertext || ICV of `plaintext` into `out` (needs plaintext.length + icvLength bytes); returns the bytes written. */
  seal(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array): number {
    return this.addon.seal(this.handle, iv, plaintext, aad, out);
  }

  /** Plaintext of `input` (ciphertext || ICV) into `out`; returns its length, or -1 when the ICV fails (out wiped). */
  open(iv: Uint8Array, input: Uint8Array, aad: Uint8Array, out: Uint8Array): number {
    return this.addon.open(this.handle, iv, input, aad, out);
  }

  /** Seals `count` packets of `buf` as described by `desc` (BATCH_STRIDE Int32s each); returns how many succeeded. */
  sealBatch(buf: Uint8Array, desc: Int32Array, count: number): number {
    return this.addon.sealBatch(this.handle, buf, desc, count);
  }

  /** Opens `count` packets; per-packet status in desc (BatchField.STATUS); returns how many verified. */
  openBatch(buf: Uint8Array, desc: Int32Array, count: number): number {
    return this.addon.openBatch(this.handle, buf, desc, count);
  }

  /** Wipes the key inside OpenSSL and frees the contexts (idempotent). */
  dispose(): void {
    if (this.#handle !== undefined) this.addon.free(this.#handle);
    this.#handle = undefined;
  }
}

/** Options of {@link withNativeEncr}. */
export interface NativeEncrOptions {
  /**
   * Return views into one output buffer per context (per direction) instead of a fresh array per
   * call: a result is valid only until the next call of the same method on the same context.
   * Saves an allocation (and its share of garbage collection) per packet: measured at about 40% of
   * the per-packet cost of the native path through esp.ts (docs/performance.md). Safe for
   * src/ipsec/esp.ts, which copies a sealed result at once and whose decapsulated bytes a caller
   * consumes before the next packet of that SA (the daemon writes them to the TUN synchronously).
   * Default false: results are fresh arrays, exactly like the pure path.
   */
  readonly scratchOutput?: boolean;
}

/** Largest ESP payload we expect (64 KiB IP packet plus ESP overhead), the scratch buffers' cap before falling back to fresh arrays. */
const SCRATCH_MAX = 0x10000 + 512;

/** An EncrContext over a NativeAead: same results as the pure GCM/ChaCha contexts of encr.ts. */
class NativeEncrContext implements EncrContext {
  private sealScratch: Uint8Array | undefined;
  private openScratch: Uint8Array | undefined;

  constructor(
    /** The keyed context itself, for burst callers (see {@link nativeAeadOf}). */
    readonly aead: NativeAead,
    private readonly name: string,
    private readonly scratch: boolean,
  ) {}

  private outFor(kind: "seal" | "open", n: number): Uint8Array {
    if (!this.scratch || n > SCRATCH_MAX) return new Uint8Array(n);
    let b = kind === "seal" ? this.sealScratch : this.openScratch;
    if (b === undefined || b.length < n) {
      b = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(n, 2048)));
      if (kind === "seal") this.sealScratch = b;
      else this.openScratch = b;
    }
    return b.subarray(0, n);
  }

  encrypt(iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    if (iv.length !== 8) throw new CryptoError(`${this.name}: IV is ${iv.length} bytes, want 8`);
    const out = this.outFor("seal", plaintext.length + this.aead.icvLength);
    this.aead.seal(iv, plaintext, aad, out);
    return out;
  }

  decrypt(iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
    const icv = this.aead.icvLength;
    if (iv.length !== 8 || ciphertext.length < icv) return null;
    const out = this.outFor("open", ciphertext.length - icv);
    return this.aead.open(iv, ciphertext, aad, out) < 0 ? null : out;
  }

  /** Wipes the key now (the SA is being deleted). */
  dispose(): void {
    this.aead.dispose();
  }
}

/** True when `ctx` came from a native EncrAlgorithm (for status output and tests). */
export function isNativeContext(ctx: EncrContext): boolean {
  return ctx instanceof NativeEncrContext;
}

/**
 * The native AEAD behind `ctx` when it came from a native EncrAlgorithm, else undefined. The burst
 * path of src/ipsec/esp.ts uses it to seal or open many packets of one SA in one addon call
 * (`sealBatch`/`openBatch`); a context on the pure path has none and takes the per-packet path.
 */
export function nativeAeadOf(ctx: EncrContext | undefined): NativeAead | undefined {
  return ctx instanceof NativeEncrContext ? ctx.aead : undefined;
}

/**
 * `encr` with `create` keying a native context when `addon` is given and implements the transform;
 * otherwise `encr` itself (the pure node:crypto path). All descriptive fields are unchanged.
 */
export function withNativeEncr(encr: EncrAlgorithm, addon: NativeAddon | undefined, opts: NativeEncrOptions = {}): EncrAlgorithm {
  if (addon === undefined || !nativeSupports(encr)) return encr;
  return Object.freeze({
    id: encr.id,
    name: encr.name,
    keyLength: encr.keyLength,
    saltLength: encr.saltLength,
    keymatLength: encr.keymatLength,
    ivLength: encr.ivLength,
    blockSize: encr.blockSize,
    icvLength: encr.icvLength,
    aead: encr.aead,
    authOnly: encr.authOnly,
    create: (keymat: Secret): EncrContext => new NativeEncrContext(NativeAead.create(addon, encr, keymat), encr.name, opts.scratchOutput ?? false),
  });
}

/** A function the composition root hands to whoever builds SAs: `wrap(spec.encr)`. */
export function nativeEncrWrapper(addon: NativeAddon | undefined, opts: NativeEncrOptions = {}): (encr: EncrAlgorithm) => EncrAlgorithm {
  return (encr) => withNativeEncr(encr, addon, opts);
}
