import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { CryptoError } from "../../src/crypto/errors.js";
import { Secret } from "../../src/crypto/secret.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { EncrId } from "../../src/wire/ike/constants.js";

/** Every ENCR transform and key size the suite offers. */
const ALL: readonly EncrAlgorithm[] = [
  ...[128, 192, 256].flatMap((bits) =>
    [
      EncrId.ENCR_AES_CBC,
      EncrId.ENCR_AES_CTR,
      EncrId.ENCR_AES_GCM_8,
      EncrId.ENCR_AES_GCM_12,
      EncrId.ENCR_AES_GCM_16,
      EncrId.ENCR_AES_CCM_8,
      EncrId.ENCR_AES_CCM_12,
      EncrId.ENCR_AES_CCM_16,
      EncrId.ENCR_NULL_AUTH_AES_GMAC,
    ].map((id) => getEncr(id, bits)),
  ),
  getEncr(EncrId.ENCR_CHACHA20_POLY1305),
  getEncr(EncrId.ENCR_NULL),
  getEncr(EncrId.ENCR_3DES),
];

const AEAD = ALL.filter((e) => e.aead);

describe("RFC 7296 s3.3.2/3.3.5 ENCR lookup: ids, key lengths, parameters", () => {
  it("names carry the key size and KEYMAT = key || salt", () => {
    const gcm = getEncr(EncrId.ENCR_AES_GCM_16, 256);
    expect(gcm.name).toBe("ENCR_AES_GCM_16_256");
    expect([gcm.keyLength, gcm.saltLength, gcm.keymatLength, gcm.ivLength, gcm.icvLength, gcm.blockSize]).toEqual([32, 4, 36, 8, 16, 1]);
    const cbc = getEncr(EncrId.ENCR_AES_CBC, 128);
    expect([cbc.name, cbc.keymatLength, cbc.ivLength, cbc.blockSize, cbc.icvLength, cbc.aead]).toEqual(["ENCR_AES_CBC_128", 16, 16, 16, 0, false]);
    const ccm = getEncr(EncrId.ENCR_AES_CCM_8, 192);
    expect([ccm.saltLength, ccm.keymatLength, ccm.icvLength]).toEqual([3, 27, 8]);
    const chacha = getEncr(EncrId.ENCR_CHACHA20_POLY1305);
    expect([chacha.keymatLength, chacha.icvLength, chacha.aead]).toEqual([36, 16, true]);
    expect(getEncr(EncrId.ENCR_NULL_AUTH_AES_GMAC, 128).authOnly).toBe(true);
    expect(getEncr(EncrId.ENCR_3DES).keymatLength).toBe(24);
    expect(getEncr(EncrId.ENCR_NULL).keymatLength).toBe(0);
  });

  it("an unknown or unimplemented id throws CryptoError naming it", () => {
    expect(() => getEncr(999, 128)).toThrow(CryptoError);
    expect(() => getEncr(999, 128)).toThrow(/ENCR\(999\)/);
    expect(() => getEncr(EncrId.ENCR_DES)).toThrow(/unsupported ENCR transform ENCR_DES/);
    expect(() => getEncr(EncrId.ENCR_CAMELLIA_CBC, 128)).toThrow(CryptoError);
  });

  it("AES without a Key Length attribute, or with a bad one, throws CryptoError", () => {
    expect(() => getEncr(EncrId.ENCR_AES_CBC)).toThrow(/needs a Key Length attribute/);
    expect(() => getEncr(EncrId.ENCR_AES_GCM_16, 64)).toThrow(/invalid key length 64 bits/);
    expect(() => getEncr(EncrId.ENCR_AES_CTR, 0)).toThrow(CryptoError);
    expect(() => getEncr(EncrId.ENCR_CHACHA20_POLY1305, 128)).toThrow(/fixed at 256/);
    expect(() => getEncr(EncrId.ENCR_3DES, 128)).toThrow(CryptoError);
    expect(getEncr(EncrId.ENCR_CHACHA20_POLY1305, 256).keyLength).toBe(32);
  });

  it("create() refuses KEYMAT of the wrong length without printing it", () => {
    const secret = new Secret(new Uint8Array(16).fill(0xab));
    expect(() => getEncr(EncrId.ENCR_AES_GCM_16, 128).create(secret)).toThrow(/KEYMAT is 16 bytes, want 20/);
    try {
      getEncr(EncrId.ENCR_AES_GCM_16, 256).create(secret);
      expect.unreachable("create accepted 16 bytes for AES-256-GCM");
    } catch (e) {
      expect(e).toBeInstanceOf(CryptoError);
      expect(String(e)).not.toContain("abab");
    }
  });

  it("encrypt() with a wrong IV length throws CryptoError; decrypt() returns null", () => {
    for (const encr of ALL.filter((e) => e.ivLength > 0)) {
      const ctx = encr.create(new Secret(new Uint8Array(encr.keymatLength)));
      const iv = new Uint8Array(encr.ivLength + 1);
      expect(() => ctx.encrypt(iv, new Uint8Array(encr.blockSize), new Uint8Array(8)), encr.name).toThrow(CryptoError);
      expect(ctx.decrypt(iv, new Uint8Array(64), new Uint8Array(8)), encr.name).toBeNull();
    }
  });

  it("CBC: plaintext not a block multiple throws; ciphertext not a block multiple decrypts to null", () => {
    for (const encr of [getEncr(EncrId.ENCR_AES_CBC, 128), getEncr(EncrId.ENCR_3DES)]) {
      const ctx = encr.create(new Secret(new Uint8Array(encr.keymatLength).fill(7)));
      const iv = new Uint8Array(encr.ivLength);
      expect(() => ctx.encrypt(iv, new Uint8Array(encr.blockSize + 1), new Uint8Array(0))).toThrow(CryptoError);
      expect(ctx.decrypt(iv, new Uint8Array(encr.blockSize + 1), new Uint8Array(0))).toBeNull();
    }
  });

  it("AEAD: input shorter than the ICV decrypts to null", () => {
    for (const encr of AEAD) {
      const ctx = encr.create(new Secret(new Uint8Array(encr.keymatLength)));
      expect(ctx.decrypt(new Uint8Array(encr.ivLength), new Uint8Array(encr.icvLength - 1), new Uint8Array(8)), encr.name).toBeNull();
    }
  });
});

/** Random KEYMAT, IV, AAD and a plaintext aligned to the cipher's block size. */
function caseFor(encr: EncrAlgorithm): fc.Arbitrary<{ keymat: Uint8Array; iv: Uint8Array; aad: Uint8Array; plaintext: Uint8Array }> {
  return fc.record({
    keymat: fc.uint8Array({ minLength: encr.keymatLength, maxLength: encr.keymatLength }),
    iv: fc.uint8Array({ minLength: encr.ivLength, maxLength: encr.ivLength }),
    aad: fc.uint8Array({ minLength: 0, maxLength: 16 }),
    plaintext: fc.nat({ max: 8 }).chain((blocks) => {
      const n = encr.blockSize === 1 ? blocks * 13 : blocks * encr.blockSize;
      return fc.uint8Array({ minLength: n, maxLength: n });
    }),
  });
}

describe("property: decrypt(encrypt(p)) = p for every ENCR transform (random keys, IVs, plaintexts)", () => {
  for (const encr of ALL) {
    it(encr.name, () => {
      fc.assert(
        fc.property(caseFor(encr), ({ keymat, iv, aad, plaintext }) => {
          const ctx = encr.create(new Secret(keymat));
          const sealed = ctx.encrypt(iv, plaintext, aad);
          expect(sealed.length).toBe(plaintext.length + encr.icvLength);
          if (encr.authOnly) expect(sealed.subarray(0, plaintext.length)).toEqual(plaintext);
          const opened = encr.create(new Secret(keymat.slice())).decrypt(iv, sealed, aad);
          expect(opened).toEqual(plaintext);
        }),
        { numRuns: 40 },
      );
    });
  }
});

describe("property: any flipped bit in an AEAD ciphertext, ICV or AAD makes decrypt return null", () => {
  for (const encr of AEAD) {
    it(encr.name, () => {
      fc.assert(
        fc.property(caseFor(encr), fc.nat(), fc.nat({ max: 7 }), fc.boolean(), ({ keymat, iv, aad, plaintext }, pos, bit, inAad) => {
          const ctx = encr.create(new Secret(keymat));
          const sealed = ctx.encrypt(iv, plaintext, aad);
          const target = inAad && aad.length > 0 ? aad.slice() : sealed.slice();
          const i = pos % target.length;
          target[i] = (target[i] as number) ^ (1 << bit);
          const result = inAad && aad.length > 0 ? ctx.decrypt(iv, sealed, target) : ctx.decrypt(iv, target, aad);
          expect(result).toBeNull();
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe("property: decrypt never throws on peer data (any IV, ciphertext and AAD)", () => {
  for (const encr of ALL) {
    it(encr.name, () => {
      const ctx = encr.create(new Secret(new Uint8Array(encr.keymatLength).fill(3)));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 20 }), (iv, data, aad) => {
          const out = ctx.decrypt(iv, data, aad);
          if (encr.aead && out !== null) throw new Error("random bytes authenticated");
        }),
        { numRuns: 50 },
      );
    });
  }
});
