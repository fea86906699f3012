import { createCipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { CryptoError } from "./errors.js";

/**
 * AES-XCBC-MAC (RFC 3566 s4) and AES-CMAC (RFC 4493 s2), composed from OpenSSL's AES-128 in
 * ECB (subkey derivation) and CBC mode (the chained MAC). Node has no native CMAC/XCBC MAC
 * (crypto.createHmac is HMAC only), so only the final-block tweak is done here; AES itself is
 * OpenSSL's.
 *
 * Both MACs are CBC-MAC with a zero IV over the message whose last block is masked: a complete
 * last block is XORed with one subkey, an incomplete (or empty) one is padded 10* and XORed with
 * another. Running OpenSSL's CBC over the masked message and taking its last output block gives
 * the MAC.
 */

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);

function aesEcbBlock(key: KeyObject, block: Uint8Array): Uint8Array {
  const c = createCipheriv("aes-128-ecb", key, null).setAutoPadding(false);
  const out = c.update(block);
  c.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** RFC 4493 s2.3 doubling in GF(2^128): shift left one bit, XOR 0x87 on carry. */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    out[i] = (((b[i] as number) << 1) | ((b[i + 1] ?? 0) >>> 7)) & 0xff;
  }
  if (((b[0] as number) & 0x80) !== 0) out[BLOCK - 1] = (out[BLOCK - 1] as number) ^ 0x87;
  return out;
}

/** A keyed CBC-MAC with the two last-block masks. */
export interface AesMac {
  /** The full 16-byte MAC over the concatenation of `parts`. */
  mac(...parts: readonly Uint8Array[]): Uint8Array;
}

class MaskedCbcMac implements AesMac {
  constructor(
    private readonly cbcKey: KeyObject,
    private readonly completeMask: Uint8Array,
    private readonly paddedMask: Uint8Array,
  ) {}

  mac(...parts: readonly Uint8Array[]): Uint8Array {
    let n = 0;
    for (const p of parts) n += p.length;
    const complete = n > 0 && n % BLOCK === 0;
    const total = complete ? n : (Math.floor(n / BLOCK) + 1) * BLOCK;
    const m = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      m.set(p, o);
      o += p.length;
    }
    if (!complete) m[n] = 0x80;
    const mask = complete ? this.completeMask : this.paddedMask;
    const last = total - BLOCK;
    for (let i = 0; i < BLOCK; i++) m[last + i] = (m[last + i] as number) ^ (mask[i] as number);
    const c = createCipheriv("aes-128-cbc", this.cbcKey, ZERO_IV).setAutoPadding(false);
    const out = c.update(m);
    c.final();
    return new Uint8Array(out.buffer, out.byteOffset + out.byteLength - BLOCK, BLOCK);
  }
}

function checkKey(what: string, key: Uint8Array): KeyObject {
  if (key.length !== BLOCK) throw new CryptoError(`${what} key is ${key.length} bytes, want 16`);
  return createSecretKey(key);
}

/** RFC 3566 s4: K1 = E(K, 0x01..), K2 = E(K, 0x02..), K3 = E(K, 0x03..); CBC-MAC under K1. Key: 16 bytes. */
export function aesXcbcMac(key: Uint8Array): AesMac {
  const k = checkKey("AES-XCBC-MAC", key);
  const k1 = aesEcbBlock(k, new Uint8Array(BLOCK).fill(0x01));
  const k2 = aesEcbBlock(k, new Uint8Array(BLOCK).fill(0x02));
  const k3 = aesEcbBlock(k, new Uint8Array(BLOCK).fill(0x03));
  return new MaskedCbcMac(createSecretKey(k1), k2, k3);
}

/** RFC 4493 s2.3/2.4: L = E(K, 0^128), K1 = dbl(L), K2 = dbl(K1); CBC-MAC under K. Key: 16 bytes. */
export function aesCmac(key: Uint8Array): AesMac {
  const k = checkKey("AES-CMAC", key);
  const l = aesEcbBlock(k, new Uint8Array(BLOCK));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  l.fill(0);
  return new MaskedCbcMac(k, k1, k2);
}
