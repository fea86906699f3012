import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId } from "../../src/wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";

/**
 * RFC 3686 s6 test vectors #1-#3 (AES-128), transcribed from the RFC text. KEYMAT for
 * ENCR_AES_CTR is key || 4-byte nonce (s5.1); the packet carries the 8-byte IV; the counter block
 * is nonce || IV || 00000001 (s4).
 */
const RFC3686 = [
  {
    name: "Test Vector #1: 16 octets, AES-128",
    key: "ae6852f8121067cc4bf7a5765577f39e",
    nonce: "00000030",
    iv: "0000000000000000",
    plaintext: "53696e676c6520626c6f636b206d7367",
    ciphertext: "e4095d4fb7a7b3792d6175a3261311b8",
  },
  {
    name: "Test Vector #2: 32 octets, AES-128",
    key: "7e24067817fae0d743d6ce1f32539163",
    nonce: "006cb6db",
    iv: "c0543b59da48d90b",
    plaintext: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    ciphertext: "5104a106168a72d9790d41ee8edad388eb2e1efc46da57c8fce630df9141be28",
  },
  {
    name: "Test Vector #3: 36 octets, AES-128",
    key: "7691be035e5020a8ac6e618529f9a0dc",
    nonce: "00e0017b",
    iv: "27777f3f4a1786f0",
    plaintext: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223",
    ciphertext: "c1cf48a89f2ffdd9cf4652e9efdb72d74540a42bde6d7836d59a5ceaaef3105325b2072f",
  },
] as const;

describe("RFC 3686 s6 ENCR_AES_CTR test vectors (RFC text)", () => {
  for (const v of RFC3686) {
    it(v.name, () => {
      const encr = getEncr(EncrId.ENCR_AES_CTR, 128);
      expect(encr.keymatLength).toBe(20);
      const ctx = encr.create(new Secret(concat(fromHex(v.key), fromHex(v.nonce))));
      const iv = fromHex(v.iv);
      const ct = ctx.encrypt(iv, fromHex(v.plaintext), new Uint8Array(0));
      expect(toHex(ct)).toBe(v.ciphertext);
      const pt = ctx.decrypt(iv, ct, new Uint8Array(0));
      expect(pt && toHex(pt)).toBe(v.plaintext);
    });
  }
});
