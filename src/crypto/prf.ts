import { createHmac } from "node:crypto";
import { PrfId, prfIdName } from "../wire/ike/constants.js";
import { aesCmac, aesXcbcMac } from "./aes-mac.js";
import { CryptoError } from "./errors.js";
import type { PrfAlgorithm } from "./types.js";

/**
 * Transform Type 2 (PRF) by IANA id, and prf+ (RFC 7296 s2.13).
 *
 * HMAC PRFs take keys of any length (RFC 2104). The AES-128 PRFs take a 16-byte key and reduce
 * any other length: PRF_AES128_XCBC zero-pads a short key and XCBC-MACs a long one under a zero
 * key (RFC 4434 s2); PRF_AES128_CMAC replaces every non-16-byte key by AES-CMAC(0^128, key)
 * (RFC 4615 s3).
 */

const ZERO_KEY = new Uint8Array(16);

function hmacPrf(id: number, hash: string, outputLength: number): PrfAlgorithm {
  return Object.freeze({
    id,
    name: prfIdName(id),
    // RFC 7296 s2.13: the preferred key size of an HMAC PRF is its output size.
    keyLength: outputLength,
    outputLength,
    compute(key: Uint8Array, data: Uint8Array): Uint8Array {
      const out = createHmac(hash, key).update(data).digest();
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  });
}

function xcbcKey(key: Uint8Array): Uint8Array {
  if (key.length === 16) return key;
  if (key.length < 16) {
    const k = new Uint8Array(16);
    k.set(key);
    return k;
  }
  return aesXcbcMac(ZERO_KEY).mac(key);
}

function cmacKey(key: Uint8Array): Uint8Array {
  return key.length === 16 ? key : aesCmac(ZERO_KEY).mac(key);
}

const PRFS: ReadonlyMap<number, PrfAlgorithm> = new Map<number, PrfAlgorithm>([
  [PrfId.PRF_HMAC_MD5, hmacPrf(PrfId.PRF_HMAC_MD5, "md5", 16)], // RFC 2104, legacy
  [PrfId.PRF_HMAC_SHA1, hmacPrf(PrfId.PRF_HMAC_SHA1, "sha1", 20)],
  [PrfId.PRF_HMAC_SHA2_256, hmacPrf(PrfId.PRF_HMAC_SHA2_256, "sha256", 32)], // RFC 4868 s2.2
  [PrfId.PRF_HMAC_SHA2_384, hmacPrf(PrfId.PRF_HMAC_SHA2_384, "sha384", 48)],
  [PrfId.PRF_HMAC_SHA2_512, hmacPrf(PrfId.PRF_HMAC_SHA2_512, "sha512", 64)],
  [
    PrfId.PRF_AES128_XCBC,
    Object.freeze({
      id: PrfId.PRF_AES128_XCBC,
      name: "PRF_AES128_XCBC",
      keyLength: 16,
      outputLength: 16,
      compute: (key: Uint8Array, data: Uint8Array): Uint8Array => aesXcbcMac(xcbcKey(key)).mac(data),
    }),
  ],
  [
    PrfId.PRF_AES128_CMAC,
    Object.freeze({
      id: PrfId.PRF_AES128_CMAC,
      name: "PRF_AES128_CMAC",
      keyLength: 16,
      outputLength: 16,
      compute: (key: Uint8Array, data: Uint8Array): Uint8Array => aesCmac(cmacKey(key)).mac(data),
    }),
  ],
]);

/** The PRF ids this module implements. */
export const supportedPrfIds: readonly number[] = [...PRFS.keys()];

/** The PRF transform `id`. Throws CryptoError for an unknown or unsupported id. */
export function getPrf(id: number): PrfAlgorithm {
  const prf = PRFS.get(id);
  if (!prf) throw new CryptoError(`unsupported PRF transform ${prfIdName(id)}`);
  return prf;
}

/** True for the AES-based PRFs whose SKEYSEED key is Ni[0..8] | Nr[0..8] (RFC 7296 s2.14). */
export function isAesPrf(prf: PrfAlgorithm): boolean {
  return prf.id === PrfId.PRF_AES128_XCBC || prf.id === PrfId.PRF_AES128_CMAC;
}

/**
 * prf+ (RFC 7296 s2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); returns the first
 * `length` bytes of T1 | T2 | .... Throws CryptoError when `length` needs more than 255 blocks
 * (the counter is one octet) or is negative.
 */
export function prfPlus(prf: PrfAlgorithm, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const blocks = Math.ceil(length / prf.outputLength);
  if (!Number.isInteger(length) || length < 0 || blocks > 255) {
    throw new CryptoError(`prf+ with ${prf.name}: ${length} bytes needs ${blocks} blocks, at most 255 allowed`);
  }
  const out = new Uint8Array(blocks * prf.outputLength);
  const input = new Uint8Array(prf.outputLength + seed.length + 1);
  let prev = 0; // bytes of Tn-1 at the start of `input` (none for T1)
  for (let n = 1; n <= blocks; n++) {
    input.set(seed, prev);
    input[prev + seed.length] = n;
    const t = prf.compute(key, input.subarray(0, prev + seed.length + 1));
    out.set(t, (n - 1) * prf.outputLength);
    input.set(t, 0);
    prev = t.length;
  }
  input.fill(0);
  if (length === out.length) return out;
  const result = out.slice(0, length);
  out.fill(0);
  return result;
}
