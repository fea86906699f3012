import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId } from "../../src/wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface GcmFile {
  readonly vectors: readonly {
    readonly id: string;
    readonly aes_key_bits: number | string;
    readonly icv_len: number | string;
    readonly key: string;
    readonly esp_salt: string;
    readonly esp_iv: string;
    readonly aad: string;
    readonly plaintext: string;
  }[];
}

/**
 * RFC 4543 publishes no test vectors. s3.5: the GMAC ICV is the GCM tag computed with no
 * plaintext and AAD = (SPI || seq) || IV || payload, and the payload travels in clear. So
 * ENCR_NULL_AUTH_AES_GMAC must equal ENCR_AES_GCM_16 (whose tags the GCM-spec vectors pin down)
 * sealing an empty plaintext under that AAD with the same KEYMAT.
 */
describe("RFC 4543 s3.5 ENCR_NULL_AUTH_AES_GMAC = GCM over aad || IV || payload with empty plaintext (keys from crypto/gcm-spec-aes-gcm.json)", () => {
  const file = readVectorJson<GcmFile>("crypto/gcm-spec-aes-gcm.json");
  const icv16 = file.vectors.filter((v) => Number(v.icv_len) === 16);
  for (const v of icv16) {
    it(`${v.id} keys, payload = its plaintext, aad = SPI || seq`, () => {
      const bits = Number(v.aes_key_bits);
      const keymat = new Secret(concat(fromHex(v.key), fromHex(v.esp_salt)));
      const gmac = getEncr(EncrId.ENCR_NULL_AUTH_AES_GMAC, bits);
      expect(gmac.authOnly).toBe(true);
      expect(gmac.aead).toBe(true);
      const gcm = getEncr(EncrId.ENCR_AES_GCM_16, bits).create(keymat);
      const ctx = gmac.create(keymat);
      const iv = fromHex(v.esp_iv);
      const aad = fromHex("0000a5f800000001");
      const payload = fromHex(v.plaintext);
      const sealed = ctx.encrypt(iv, payload, aad);
      // payload in clear, then the 16-byte ICV
      expect(toHex(sealed.subarray(0, payload.length))).toBe(v.plaintext);
      const tag = gcm.encrypt(iv, new Uint8Array(0), concat(aad, iv, payload));
      expect(tag).toHaveLength(16);
      expect(toHex(sealed.subarray(payload.length))).toBe(toHex(tag));
      const opened = ctx.decrypt(iv, sealed, aad);
      expect(opened && toHex(opened)).toBe(v.plaintext);
      if (payload.length > 0) {
        const bad = sealed.slice();
        bad[0] = (bad[0] as number) ^ 0x01;
        expect(ctx.decrypt(iv, bad, aad)).toBeNull();
      }
      const badIv = iv.slice();
      badIv[0] = (badIv[0] as number) ^ 0x01;
      expect(ctx.decrypt(badIv, sealed, aad)).toBeNull();
    });
  }
});
