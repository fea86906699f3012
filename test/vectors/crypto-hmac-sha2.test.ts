import { describe, expect, it } from "vitest";
import { getInteg } from "../../src/crypto/integ.js";
import { getPrf } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import { PrfId } from "../../src/wire/ike/constants.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface Rfc4868File {
  readonly prf_vectors: readonly {
    readonly id: string;
    readonly key: string;
    readonly data: string;
    readonly prf_hmac_sha2_256: string;
    readonly prf_hmac_sha2_384: string;
    readonly prf_hmac_sha2_512: string;
  }[];
  readonly auth_vectors: readonly {
    readonly id: string;
    readonly ikev2_transform_id: number | string;
    readonly key: string;
    readonly data: string;
    readonly prf_output: string;
    readonly truncated_icv: string;
    readonly icv_len: number | string;
  }[];
}

const file = readVectorJson<Rfc4868File>("crypto/rfc4868-hmac-sha2.json");

describe("RFC 4868 s2.7.1 PRF_HMAC_SHA2_256/384/512 test vectors (crypto/rfc4868-hmac-sha2.json)", () => {
  it("has the RFC 4231 cases", () => expect(file.prf_vectors.length).toBeGreaterThanOrEqual(6));
  for (const v of file.prf_vectors) {
    it(v.id, () => {
      const key = fromHex(v.key);
      const data = fromHex(v.data);
      expect(toHex(getPrf(PrfId.PRF_HMAC_SHA2_256).compute(key, data))).toBe(v.prf_hmac_sha2_256);
      expect(toHex(getPrf(PrfId.PRF_HMAC_SHA2_384).compute(key, data))).toBe(v.prf_hmac_sha2_384);
      expect(toHex(getPrf(PrfId.PRF_HMAC_SHA2_512).compute(key, data))).toBe(v.prf_hmac_sha2_512);
    });
  }
});

describe("RFC 4868 s2.7.2 AUTH_HMAC_SHA2_*: truncated ICVs (crypto/rfc4868-hmac-sha2.json)", () => {
  it("has the 12 authenticator cases", () => expect(file.auth_vectors).toHaveLength(12));
  for (const v of file.auth_vectors) {
    it(v.id, () => {
      const integ = getInteg(Number(v.ikev2_transform_id));
      expect(integ.icvLength).toBe(Number(v.icv_len));
      const ctx = integ.create(new Secret(fromHex(v.key)));
      const data = fromHex(v.data);
      expect(toHex(ctx.compute(data))).toBe(v.truncated_icv);
      expect(v.prf_output.startsWith(v.truncated_icv)).toBe(true);
      // The same ICV over the data split in two parts (ESP: header || payload).
      expect(toHex(ctx.compute(data.subarray(0, 3), data.subarray(3)))).toBe(v.truncated_icv);
      const icv = fromHex(v.truncated_icv);
      expect(ctx.verify(icv, data)).toBe(true);
      const bad = icv.slice();
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x01;
      expect(ctx.verify(bad, data)).toBe(false);
      expect(ctx.verify(icv.subarray(0, icv.length - 1), data)).toBe(false);
    });
  }
});
