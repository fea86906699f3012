import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { CryptoError } from "../../src/crypto/errors.js";
import { getInteg } from "../../src/crypto/integ.js";
import { deriveChildSaKeymat, deriveIkeSaKeys, deriveRekeyedSkeyseed, deriveSkeyseed, wipeIkeSaKeys } from "../../src/crypto/keymat.js";
import { getPrf, prfPlus } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId, IntegId, PrfId } from "../../src/wire/ike/constants.js";
import { concat, toHex } from "../../src/wire/hex.js";

const ni = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const nr = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const gir = new Secret(new Uint8Array(256).fill(0x5c));
const spiI = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const spiR = Uint8Array.from([9, 10, 11, 12, 13, 14, 15, 16]);

describe("RFC 7296 s2.14 SKEYSEED = prf(Ni | Nr, g^ir)", () => {
  it("HMAC PRFs key with all of Ni | Nr", () => {
    const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
    expect(toHex(deriveSkeyseed(prf, ni, nr, gir).expose())).toBe(toHex(prf.compute(concat(ni, nr), gir.expose())));
  });

  for (const id of [PrfId.PRF_AES128_XCBC, PrfId.PRF_AES128_CMAC]) {
    it(`${id === PrfId.PRF_AES128_XCBC ? "PRF_AES128_XCBC" : "PRF_AES128_CMAC"}: only the first 64 bits of Ni and of Nr form the key`, () => {
      const prf = getPrf(id);
      const expected = prf.compute(concat(ni.subarray(0, 8), nr.subarray(0, 8)), gir.expose());
      expect(toHex(deriveSkeyseed(prf, ni, nr, gir).expose())).toBe(toHex(expected));
      // ... and not the RFC 4434/4615 reduction of the whole 64-byte Ni | Nr
      expect(toHex(deriveSkeyseed(prf, ni, nr, gir).expose())).not.toBe(toHex(prf.compute(concat(ni, nr), gir.expose())));
    });
  }
});

describe("RFC 7296 s2.14 {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}", () => {
  it("splits prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) by the negotiated lengths (CBC + HMAC)", () => {
    const prf = getPrf(PrfId.PRF_HMAC_SHA2_384);
    const skeyseed = deriveSkeyseed(prf, ni, nr, gir);
    const keys = deriveIkeSaKeys({ prf, encr: getEncr(EncrId.ENCR_AES_CBC, 256), integ: getInteg(IntegId.AUTH_HMAC_SHA2_384_192), skeyseed, ni, nr, spiI, spiR });
    const lens = [48, 48, 48, 32, 32, 48, 48];
    const all = prfPlus(prf, skeyseed.expose(), concat(ni, nr, spiI, spiR), lens.reduce((a, b) => a + b));
    const parts = [keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr];
    expect(parts.map((p) => p.length)).toEqual(lens);
    expect(parts.map((p) => toHex(p.expose())).join("")).toBe(toHex(all));
  });

  it("AEAD (RFC 5282 s7): no SK_a*, SK_e* include the salt", () => {
    const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
    const keys = deriveIkeSaKeys({ prf, encr: getEncr(EncrId.ENCR_AES_GCM_16, 256), skeyseed: deriveSkeyseed(prf, ni, nr, gir), ni, nr, spiI, spiR });
    expect([keys.skAi.length, keys.skAr.length, keys.skEi.length, keys.skEr.length]).toEqual([0, 0, 36, 36]);
  });

  it("refuses AEAD + INTEG, non-AEAD without INTEG and SPIs that are not 8 bytes", () => {
    const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
    const skeyseed = deriveSkeyseed(prf, ni, nr, gir);
    const base = { prf, skeyseed, ni, nr, spiI, spiR };
    expect(() => deriveIkeSaKeys({ ...base, encr: getEncr(EncrId.ENCR_AES_GCM_16, 128), integ: getInteg(IntegId.AUTH_HMAC_SHA2_256_128) })).toThrow(CryptoError);
    expect(() => deriveIkeSaKeys({ ...base, encr: getEncr(EncrId.ENCR_AES_CBC, 128) })).toThrow(CryptoError);
    expect(() => deriveIkeSaKeys({ ...base, encr: getEncr(EncrId.ENCR_AES_GCM_16, 128), spiR: new Uint8Array(4) })).toThrow(CryptoError);
  });

  it("wipeIkeSaKeys zeroes every key", () => {
    const prf = getPrf(PrfId.PRF_HMAC_SHA1);
    const keys = deriveIkeSaKeys({ prf, encr: getEncr(EncrId.ENCR_AES_CBC, 128), integ: getInteg(IntegId.AUTH_HMAC_SHA1_96), skeyseed: deriveSkeyseed(prf, ni, nr, gir), ni, nr, spiI, spiR });
    const skD = keys.skD.expose();
    wipeIkeSaKeys(keys);
    expect(skD.every((b) => b === 0)).toBe(true);
    expect(keys.skPr.wiped).toBe(true);
    expect(() => keys.skEi.expose()).toThrow();
  });
});

describe("RFC 7296 s2.18 rekeyed SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr)", () => {
  it("uses the PRF given (the new SA's), keyed with the old SK_d", () => {
    const oldSkD = new Secret(new Uint8Array(20).fill(0x11)); // from an SA with PRF_HMAC_SHA1
    const newPrf = getPrf(PrfId.PRF_HMAC_SHA2_512);
    const got = deriveRekeyedSkeyseed(newPrf, oldSkD, gir, ni, nr);
    expect(got.length).toBe(64);
    expect(toHex(got.expose())).toBe(toHex(newPrf.compute(oldSkD.expose(), concat(gir.expose(), ni, nr))));
  });
});

describe("RFC 7296 s2.17 CHILD_SA KEYMAT", () => {
  const prf = getPrf(PrfId.PRF_HMAC_SHA2_256);
  const skD = new Secret(new Uint8Array(32).fill(0x42));

  it("I->R encr, I->R integ, then R->I encr, R->I integ from prf+(SK_d, Ni | Nr)", () => {
    const km = deriveChildSaKeymat(prf, skD, ni, nr, undefined, getEncr(EncrId.ENCR_AES_CBC, 128), getInteg(IntegId.AUTH_HMAC_SHA2_256_128));
    const all = toHex(prfPlus(prf, skD.expose(), concat(ni, nr), 2 * (16 + 32)));
    const got = [km.initiatorToResponder.encr, km.initiatorToResponder.integ, km.responderToInitiator.encr, km.responderToInitiator.integ];
    expect(got.map((s) => s?.length)).toEqual([16, 32, 16, 32]);
    expect(got.map((s) => (s ? toHex(s.expose()) : "")).join("")).toBe(all);
  });

  it("with PFS the seed is g^ir(new) | Ni | Nr; AEAD keys are key || salt and there is no integ key", () => {
    const km = deriveChildSaKeymat(prf, skD, ni, nr, gir, getEncr(EncrId.ENCR_AES_GCM_16, 128), undefined);
    const all = toHex(prfPlus(prf, skD.expose(), concat(gir.expose(), ni, nr), 40));
    expect(km.initiatorToResponder.integ).toBeUndefined();
    expect(km.initiatorToResponder.encr.length).toBe(20);
    expect(toHex(km.initiatorToResponder.encr.expose()) + toHex(km.responderToInitiator.encr.expose())).toBe(all);
  });
});
