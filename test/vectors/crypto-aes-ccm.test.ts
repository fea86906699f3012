import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId } from "../../src/wire/ike/constants.js";
import { fromHex, toHex } from "../../src/wire/hex.js";

/**
 * RFC 4309 has no test vectors, and neither RFC 3610 nor NIST SP 800-38C has one with the
 * 11-byte nonce (3-byte salt || 8-byte IV, s4) ESP uses. These are NIST CAVS AES-CCM vectors
 * with 11-byte nonces from the Linux kernel crypto test manager (crypto/testmgr.h,
 * "rfc4309(ccm(aes))", originally Red Hat's CAVS fax files), in RFC 4309 form: KEYMAT = key ||
 * 3-byte salt, explicit 8-byte IV; sealed = ciphertext || ICV.
 */
const VECTORS = [
  {
    name: "ICV16, AES-128, no AAD",
    id: EncrId.ENCR_AES_CCM_16,
    bits: 128,
    keymat: "83ac5466c2ebe5052e01d1fc5d82662e96ac59",
    iv: "3007a1e2a2c75524",
    aad: "",
    plaintext: "19c881f6e986ff930b7867e5bbb7fc6e8377b3a60c8c9f9c352eade062f991a1",
    sealed: "ab6fe1691d1999a892a0c46f7ee28bb170bb8ca64c6e978a572bbe5d98a6b132da24ead9a13998fda4bed9f21a6d22a8",
  },
  {
    name: "ICV16, AES-128, 32-byte AAD",
    id: EncrId.ENCR_AES_CCM_16,
    bits: 128,
    keymat: "1e2c7e01419aefc00d58966e5ca24bd34fa319",
    iv: "d3015ad830601556",
    aad: "dae6289c452dfd635eda4cb6e6fcf9b70c56cbe4e0057ae10a630978bc2c55de",
    plaintext: "87a336fd96b39378a92863ba12a31485571e06c97b21ef767f387e8e29a43e7e",
    sealed: "8a1e11f0026be219fc70c46d8eb799abc54ba2acd3f348ff3bb5ce53efdebb02a986156c13feda0a22b8293dd8399a23",
  },
  {
    name: "ICV8, AES-256, 32-byte AAD",
    id: EncrId.ENCR_AES_CCM_8,
    bits: 256,
    keymat: "e08d997160d7971abd0199d58adf713ad3df244b5e3d4b4e307ab9d8530a5e2b1e2991",
    iv: "ad8ec1530acf2dbe",
    aad: "19b61f57c4f3f08b782b9402290f42276b75cb9834087e79e43e490d848b2287",
    plaintext: "e1d9d813eb3a753f9dbd5f66bedcbb66bf1799624a39271f1ddc24ae192f984c",
    sealed: "19b86133452b43966f51d020307d9bc6263df8c96516a89ff0621734f21e8d754e13ccc0c32a542d",
  },
  {
    name: "ICV12, AES-256, 32-byte AAD",
    id: EncrId.ENCR_AES_CCM_12,
    bits: 256,
    keymat: "7cc8183b8d99e07c4541b8bd5ca7c2328ab80259a4fea92c09759a9b3c9b2739f9d94e",
    iv: "63b53d9d43f61e50",
    aad: "57f56b8b575c3d3b1302010c834c96358ed639cf7d149b94b03936e68f57e013",
    plaintext: "3b6c2936b6ef07a68372074fcffa66895fcab1bad58f2c2730db750993d465e4",
    sealed: "b0885a33aae5c71d8523c7c62ff41e3dcc63442507784f9e96b888ebbc481f0639af39acd84a80397b728af7",
  },
] as const;

describe("RFC 4309 s4 ENCR_AES_CCM_8/12/16 with an 11-byte nonce (NIST CAVS vectors via Linux testmgr)", () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      const encr = getEncr(v.id, v.bits);
      expect(encr.saltLength).toBe(3);
      const ctx = encr.create(new Secret(fromHex(v.keymat)));
      const iv = fromHex(v.iv);
      const aad = fromHex(v.aad);
      const sealed = ctx.encrypt(iv, fromHex(v.plaintext), aad);
      expect(toHex(sealed)).toBe(v.sealed);
      const opened = ctx.decrypt(iv, sealed, aad);
      expect(opened && toHex(opened)).toBe(v.plaintext);
      const bad = sealed.slice();
      bad[0] = (bad[0] as number) ^ 0x01;
      expect(ctx.decrypt(iv, bad, aad)).toBeNull();
    });
  }
});
