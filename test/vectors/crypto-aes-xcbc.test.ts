import { describe, expect, it } from "vitest";
import { aesXcbcMac } from "../../src/crypto/aes-mac.js";
import { getInteg } from "../../src/crypto/integ.js";
import { getPrf } from "../../src/crypto/prf.js";
import { Secret } from "../../src/crypto/secret.js";
import { IntegId, PrfId } from "../../src/wire/ike/constants.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface XcbcFile {
  readonly mac_vectors: readonly { readonly id: string; readonly key: string; readonly message: string | null; readonly message_desc: string | null; readonly message_len: number | string; readonly aes_xcbc_mac: string; readonly aes_xcbc_mac_96: string }[];
  readonly prf_vectors: readonly { readonly id: string; readonly key: string; readonly message: string; readonly aes_xcbc_prf_128: string }[];
}

const file = readVectorJson<XcbcFile>("crypto/rfc3566-rfc4434-aes-xcbc.json");

describe("RFC 3566 s4.6 AES-XCBC-MAC-96 test cases 1-7 (crypto/rfc3566-rfc4434-aes-xcbc.json)", () => {
  it("has 7 cases", () => expect(file.mac_vectors).toHaveLength(7));
  for (const v of file.mac_vectors) {
    it(v.id, () => {
      const key = fromHex(v.key);
      // TC7's message is described ("1000 zero octets") rather than printed.
      const msg = v.message === null ? new Uint8Array(Number(v.message_len)) : fromHex(v.message);
      if (v.message === null) expect(v.message_desc).toBe("1000 zero octets");
      expect(msg.length).toBe(Number(v.message_len));
      expect(toHex(aesXcbcMac(key).mac(msg))).toBe(v.aes_xcbc_mac);
      const ctx = getInteg(IntegId.AUTH_AES_XCBC_96).create(new Secret(key));
      expect(toHex(ctx.compute(msg))).toBe(v.aes_xcbc_mac_96);
      expect(ctx.verify(fromHex(v.aes_xcbc_mac_96), msg)).toBe(true);
      const bad = fromHex(v.aes_xcbc_mac_96);
      bad[0] = (bad[0] as number) ^ 0x80;
      expect(ctx.verify(bad, msg)).toBe(false);
    });
  }
});

describe("RFC 4434 s4 PRF_AES128_XCBC with 16-, 10- and 18-byte keys (crypto/rfc3566-rfc4434-aes-xcbc.json)", () => {
  it("has 3 cases", () => expect(file.prf_vectors).toHaveLength(3));
  for (const v of file.prf_vectors) {
    it(v.id, () => {
      expect(toHex(getPrf(PrfId.PRF_AES128_XCBC).compute(fromHex(v.key), fromHex(v.message)))).toBe(v.aes_xcbc_prf_128);
    });
  }
});
