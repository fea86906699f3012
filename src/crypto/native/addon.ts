import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * The optional N-API addon (native/esp_aead.c and native/fd_watch.c, built by `node-gyp rebuild`
 * from binding.gyp during `npm ci`): keyed-once AEAD contexts over the OpenSSL the node binary
 * carries, and fd readiness on Node's own event loop for the TUN driver.
 *
 * The addon is optional by design (issue 7: "a pure TypeScript path must remain and be tested,
 * selected automatically when the addon is absent"): `loadNativeAddon()` returns `undefined` when
 * no build exists or it does not load, and callers then keep the node:crypto transforms of
 * src/crypto/encr.ts. Loading a module is the only side effect here; it happens when the caller
 * asks (the daemon at start-up), never at import time. The core never reads the environment: the
 * composition root decides (e.g. TSIPSEC_NO_NATIVE=1) and passes the addon, or nothing, down.
 */

declare const handleBrand: unique symbol;
/** An opaque per-SA AEAD context owned by the addon (a napi external). */
export type NativeHandle = { readonly [handleBrand]: true };
declare const watchBrand: unique symbol;
/** An opaque fd watcher owned by the addon (native/fd_watch.c). */
export type NativeWatchHandle = { readonly [watchBrand]: true };

/** AEAD kinds the addon implements (`create`'s first argument). */
export const NativeAeadKind = { AES_GCM: 0, CHACHA20_POLY1305: 1 } as const;
export type NativeAeadKind = (typeof NativeAeadKind)[keyof typeof NativeAeadKind];

/** Int32 entries per packet in a batch descriptor array. */
export const BATCH_STRIDE = 8;
/** Offsets into one packet's descriptor (all byte offsets into the batch buffer). */
export const BatchField = {
  /** The 8-byte explicit IV. */
  IV_OFFSET: 0,
  AAD_OFFSET: 1,
  AAD_LENGTH: 2,
  /** Seal: plaintext. Open: ciphertext || ICV. */
  INPUT_OFFSET: 3,
  INPUT_LENGTH: 4,
  /** Where the output goes (may equal INPUT_OFFSET: in place). */
  OUTPUT_OFFSET: 5,
  /** Written by the addon: output length (>= 0), BATCH_ICV_FAILURE, or BATCH_BAD_OFFSETS. */
  STATUS: 6,
} as const;
/** Batch status: the ICV did not verify (the output region was wiped). */
export const BATCH_ICV_FAILURE = -1;
/** Batch status: an offset/length pointed outside the buffer; the packet was not touched. */
export const BATCH_BAD_OFFSETS = -2;

/**
 * The addon's functions as exported by native/esp_aead.c. Argument errors (wrong types, short
 * output) throw TypeError: they are caller bugs. A failing ICV is a return value, never a throw.
 */
export interface NativeAddon {
  /** Keys a context once: AES-GCM (16/24/32-byte key, ICV 8/12/16) or ChaCha20-Poly1305 (32-byte key, ICV 16); `salt` is 4 bytes. */
  create(kind: NativeAeadKind, key: Uint8Array, salt: Uint8Array, icvLength: number): NativeHandle;
  /** Writes ciphertext || ICV to `out` (>= plaintext.length + ICV bytes); returns the bytes written. */
  seal(handle: NativeHandle, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array): number;
  /** Writes the plaintext of `input` (ciphertext || ICV) to `out`; returns its length or -1 when the ICV fails. */
  open(handle: NativeHandle, iv: Uint8Array, input: Uint8Array, aad: Uint8Array, out: Uint8Array): number;
  /** Seals `count` packets described in `desc` (BATCH_STRIDE entries each); returns how many succeeded. */
  sealBatch(handle: NativeHandle, buf: Uint8Array, desc: Int32Array, count: number): number;
  /** Opens `count` packets described in `desc`; per-packet status in desc[i*8+6]; returns how many verified. */
  openBatch(handle: NativeHandle, buf: Uint8Array, desc: Int32Array, count: number): number;
  /** Wipes the keys and frees the OpenSSL contexts now (idempotent); later use throws. */
  free(handle: NativeHandle): void;
  /** OpenSSL_version(OPENSSL_VERSION) as seen by the addon (Node's own OpenSSL). */
  opensslVersion(): string;
  /**
   * Calls `callback(status)` on the JS thread whenever `fd` is readable (a libuv uv_poll handle in
   * Node's own loop: no worker thread). Level-triggered. `status` < 0 is a libuv error code.
   * The watcher keeps the event loop alive until `unwatch`.
   */
  watchReadable(fd: number, callback: (status: number) => void): NativeWatchHandle;
  /** Stops a watcher (idempotent). */
  unwatch(handle: NativeWatchHandle): void;
}

/** File name node-gyp gives the addon (binding.gyp target_name + .node). */
export const NATIVE_ADDON_FILE = "tsipsec_native.node";

/**
 * Where a build lives relative to this module: src/crypto/native/ and dist/crypto/native/ are
 * three levels below the repository root, dist/bench-build/src/crypto/native/ five.
 */
function defaultCandidates(): string[] {
  return ["../../../build/Release/", "../../../../../build/Release/"].map((rel) => fileURLToPath(new URL(rel + NATIVE_ADDON_FILE, import.meta.url)));
}

const REQUIRED = ["create", "seal", "open", "sealBatch", "openBatch", "free", "opensslVersion", "watchReadable", "unwatch"] as const;

function isAddon(m: unknown): m is NativeAddon {
  if (typeof m !== "object" || m === null) return false;
  const o = m as Record<string, unknown>;
  return REQUIRED.every((k) => typeof o[k] === "function");
}

export interface LoadNativeOptions {
  /** Absolute paths of .node files to try in order (default: the repository's build/Release). */
  readonly paths?: readonly string[];
  /** Called with why each candidate failed (for a start-up log line); default: silent. */
  readonly onError?: (path: string, reason: string) => void;
}

const cache = new Map<string, NativeAddon | undefined>();

/**
 * The addon, or `undefined` when none of the candidate paths holds a loadable build with the
 * expected functions. Never throws. Results are cached per path list.
 */
export function loadNativeAddon(opts: LoadNativeOptions = {}): NativeAddon | undefined {
  const paths = opts.paths ?? defaultCandidates();
  const key = paths.join("\0");
  if (cache.has(key)) return cache.get(key);
  const require = createRequire(import.meta.url);
  let found: NativeAddon | undefined;
  for (const p of paths) {
    try {
      const m: unknown = require(p);
      if (isAddon(m)) {
        found = m;
        break;
      }
      opts.onError?.(p, "not the tsipsec addon (functions missing)");
    } catch (e) {
      opts.onError?.(p, e instanceof Error ? e.message.split("\n")[0] ?? e.name : String(e));
    }
  }
  cache.set(key, found);
  return found;
}
