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
    readonly iv96: string;
    readonly esp_salt: string;
    readonly esp_iv: string;
    readonly aad: string;
    readonly plaintext: string;
    readonly ciphertext: string;
    readonly tag_truncated: string;
  }[];
}

const ID_BY_ICV: Readonly<Record<number, number>> = { 8: EncrId.ENCR_AES_GCM_8, 12: EncrId.ENCR_AES_GCM_12, 16: EncrId.ENCR_AES_GCM_16 };

const file = readVectorJson<GcmFile>("crypto/gcm-spec-aes-gcm.json");

describe("RFC 4106 s4/s8.1 ENCR_AES_GCM_8/12/16: GCM spec test cases as KEYMAT = key || salt, 8-byte IV (crypto/gcm-spec-aes-gcm.json)", () => {
  it("has 14 cases", () => expect(file.vectors).toHaveLength(14));
  for (const v of file.vectors) {
    it(v.id, () => {
      const icvLen = Number(v.icv_len);
      const id = ID_BY_ICV[icvLen];
      expect(id).toBeDefined();
      const encr = getEncr(id as number, Number(v.aes_key_bits));
      expect(encr.icvLength).toBe(icvLen);
      // The RFC 4106 nonce is salt || IV: the 96-bit GCM IV split 4 + 8.
      expect(v.esp_salt + v.esp_iv).toBe(v.iv96);
      const ctx = encr.create(new Secret(concat(fromHex(v.key), fromHex(v.esp_salt))));
      const iv = fromHex(v.esp_iv);
      const aad = fromHex(v.aad);
      const sealed = ctx.encrypt(iv, fromHex(v.plaintext), aad);
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag_truncated);
      const opened = ctx.decrypt(iv, sealed, aad);
      expect(opened && toHex(opened)).toBe(v.plaintext);
      const tampered = sealed.slice();
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
      expect(ctx.decrypt(iv, tampered, aad)).toBeNull();
    });
  }
});
