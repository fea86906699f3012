import { describe, expect, it } from "vitest";
import { aesCmac } from "../../src/crypto/aes-mac.js";
import { getInteg } from "../../src/crypto/integ.js";
import { getPrf } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import { IntegId, PrfId } from "../../src/wire/ike/constants.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface CmacFile {
  readonly mac_vectors: readonly { readonly id: string; readonly key: string; readonly message: string; readonly aes_cmac: string; readonly aes_cmac_96: string }[];
  readonly prf_vectors: readonly { readonly id: string; readonly key: string; readonly message: string; readonly aes_cmac_prf_128: string }[];
}

const file = readVectorJson<CmacFile>("crypto/rfc4493-rfc4494-rfc4615-aes-cmac.json");

describe("RFC 4493 s4 AES-CMAC examples 1-4 and RFC 4494 s4 AES-CMAC-96 (crypto/rfc4493-rfc4494-rfc4615-aes-cmac.json)", () => {
  it("has 4 cases (empty, one block, partial block, four blocks)", () => expect(file.mac_vectors).toHaveLength(4));
  for (const v of file.mac_vectors) {
    it(v.id, () => {
      const key = fromHex(v.key);
      const msg = fromHex(v.message);
      expect(toHex(aesCmac(key).mac(msg))).toBe(v.aes_cmac);
      const ctx = getInteg(IntegId.AUTH_AES_CMAC_96).create(new Secret(key));
      expect(toHex(ctx.compute(msg))).toBe(v.aes_cmac_96);
      expect(ctx.verify(fromHex(v.aes_cmac_96), msg)).toBe(true);
      const bad = fromHex(v.aes_cmac_96);
      bad[11] = (bad[11] as number) ^ 0x01;
      expect(ctx.verify(bad, msg)).toBe(false);
    });
  }
});

describe("RFC 4615 s4 PRF_AES128_CMAC with 18-, 16- and 10-byte keys (crypto/rfc4493-rfc4494-rfc4615-aes-cmac.json)", () => {
  it("has 3 cases", () => expect(file.prf_vectors).toHaveLength(3));
  for (const v of file.prf_vectors) {
    it(v.id, () => {
      expect(toHex(getPrf(PrfId.PRF_AES128_CMAC).compute(fromHex(v.key), fromHex(v.message)))).toBe(v.aes_cmac_prf_128);
    });
  }
});
