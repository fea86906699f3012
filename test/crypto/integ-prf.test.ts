import fc from "fast-check";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CryptoError } from "../../src/crypto/errors.js";
import { getInteg } from "../../src/crypto/integ.js";
import { getPrf, prfPlus } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import { IntegId, PrfId } from "../../src/wire/ike/constants.js";
import { concat, toHex } from "../../src/wire/hex.js";

describe("RFC 7296 s3.3.2 INTEG lookup", () => {
  it("lengths per RFC 2404, RFC 4868 s2.1, RFC 3566, RFC 4494", () => {
    const table = [
      [IntegId.AUTH_HMAC_SHA1_96, 20, 12],
      [IntegId.AUTH_HMAC_SHA2_256_128, 32, 16],
      [IntegId.AUTH_HMAC_SHA2_384_192, 48, 24],
      [IntegId.AUTH_HMAC_SHA2_512_256, 64, 32],
      [IntegId.AUTH_AES_XCBC_96, 16, 12],
      [IntegId.AUTH_AES_CMAC_96, 16, 12],
      [IntegId.AUTH_HMAC_MD5_96, 16, 12],
    ] as const;
    for (const [id, key, icv] of table) {
      const integ = getInteg(id);
      expect([integ.keyLength, integ.icvLength], integ.name).toEqual([key, icv]);
    }
    expect(getInteg(IntegId.AUTH_HMAC_SHA2_256_128).name).toBe("AUTH_HMAC_SHA2_256_128");
  });

  it("unknown ids (and NONE) throw CryptoError; a key of the wrong length too", () => {
    expect(() => getInteg(IntegId.NONE)).toThrow(CryptoError);
    expect(() => getInteg(4242)).toThrow(/INTEG\(4242\)/);
    expect(() => getInteg(IntegId.AUTH_AES_128_GMAC)).toThrow(CryptoError);
    expect(() => getInteg(IntegId.AUTH_HMAC_SHA2_256_128).create(new Secret(new Uint8Array(16)))).toThrow(/key is 16 bytes, want 32/);
    expect(() => getInteg(IntegId.AUTH_AES_XCBC_96).create(new Secret(new Uint8Array(20)))).toThrow(CryptoError);
  });

  it("property: verify accepts the computed ICV and rejects any single-bit change", () => {
    for (const id of [IntegId.AUTH_HMAC_SHA1_96, IntegId.AUTH_HMAC_SHA2_256_128, IntegId.AUTH_AES_XCBC_96, IntegId.AUTH_AES_CMAC_96]) {
      const integ = getInteg(id);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: integ.keyLength, maxLength: integ.keyLength }), fc.uint8Array({ maxLength: 80 }), fc.nat(), (key, data, pos) => {
          const ctx = integ.create(new Secret(key));
          const icv = ctx.compute(data);
          expect(ctx.verify(icv, data)).toBe(true);
          const bad = icv.slice();
          const i = pos % (bad.length * 8);
          bad[i >> 3] = (bad[i >> 3] as number) ^ (1 << (i & 7));
          expect(ctx.verify(bad, data)).toBe(false);
        }),
        { numRuns: 30 },
      );
    }
  });
});

describe("RFC 7296 s2.13 prf+", () => {
  const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);

  it("T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), output is a prefix of T1 | T2 | ...", () => {
    const key = new Uint8Array(32).fill(0x0b);
    const seed = new Uint8Array([1, 2, 3, 4, 5]);
    const t1 = createHmac("sha256", key).update(concat(seed, new Uint8Array([1]))).digest();
    const t2 = createHmac("sha256", key).update(concat(t1, seed, new Uint8Array([2]))).digest();
    expect(toHex(prfPlus(prf, key, seed, 40))).toBe(toHex(concat(t1, t2)).slice(0, 80));
    expect(toHex(prfPlus(prf, key, seed, 32))).toBe(toHex(t1));
    expect(prfPlus(prf, key, seed, 0)).toHaveLength(0);
  });

  it("allows 255 blocks and refuses more (the counter is one octet)", () => {
    const key = new Uint8Array(32);
    expect(prfPlus(prf, key, new Uint8Array(4), 255 * 32)).toHaveLength(255 * 32);
    expect(() => prfPlus(prf, key, new Uint8Array(4), 255 * 32 + 1)).toThrow(CryptoError);
    expect(() => prfPlus(prf, key, new Uint8Array(4), -1)).toThrow(CryptoError);
  });

  it("PRF lookup: lengths and unknown ids", () => {
    const table = [
      [PrfId.PRF_HMAC_SHA1, 20],
      [PrfId.PRF_HMAC_SHA2_256, 32],
      [PrfId.PRF_HMAC_SHA2_384, 48],
      [PrfId.PRF_HMAC_SHA2_512, 64],
      [PrfId.PRF_AES128_XCBC, 16],
      [PrfId.PRF_AES128_CMAC, 16],
    ] as const;
    for (const [id, n] of table) {
      const p = getPrf(id);
      expect([p.keyLength, p.outputLength], p.name).toEqual([n, n]);
      expect(p.compute(new Uint8Array(3), new Uint8Array(0))).toHaveLength(n);
    }
    expect(() => getPrf(PrfId.PRF_HMAC_TIGER)).toThrow(/unsupported PRF transform PRF_HMAC_TIGER/);
    expect(() => getPrf(77)).toThrow(CryptoError);
  });
});
