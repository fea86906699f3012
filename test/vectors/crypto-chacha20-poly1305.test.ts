import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId } from "../../src/wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface ChaChaFile {
  readonly vectors: readonly {
    readonly id: string;
    readonly keymat: string;
    readonly iv: string;
    readonly aad: string;
    readonly esp_plaintext: string;
    readonly ciphertext: string;
    readonly icv: string;
  }[];
  readonly underlying_rfc7539_aead_vectors: readonly {
    readonly id: string;
    readonly key: string;
    readonly nonce: string;
    readonly aad: string;
    readonly plaintext: string;
    readonly ciphertext: string;
    readonly tag: string;
  }[];
}

const file = readVectorJson<ChaChaFile>("esp/rfc7634-chacha20-poly1305-esp.json");
const encr = getEncr(EncrId.ENCR_CHACHA20_POLY1305);

describe("RFC 7539 s2.8.2 / A.5 AEAD_CHACHA20_POLY1305 through ENCR_CHACHA20_POLY1305 (esp/rfc7634-chacha20-poly1305-esp.json)", () => {
  it("has the two RFC 7539 AEAD vectors", () => expect(file.underlying_rfc7539_aead_vectors).toHaveLength(2));
  for (const v of file.underlying_rfc7539_aead_vectors) {
    it(v.id, () => {
      // RFC 7634 s2: the 12-byte nonce is the 4-byte salt (end of KEYMAT) || the 8-byte IV.
      const nonce = fromHex(v.nonce);
      const ctx = encr.create(new Secret(concat(fromHex(v.key), nonce.subarray(0, 4))));
      const iv = nonce.subarray(4);
      const aad = fromHex(v.aad);
      const sealed = ctx.encrypt(iv, fromHex(v.plaintext), aad);
      expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
      const opened = ctx.decrypt(iv, sealed, aad);
      expect(opened && toHex(opened)).toBe(v.plaintext);
    });
  }
});

describe("RFC 7634 Appendix A: the ESP payload of the example SA (esp/rfc7634-chacha20-poly1305-esp.json)", () => {
  for (const v of file.vectors) {
    it(v.id, () => {
      expect(encr.keymatLength).toBe(36);
      const ctx = encr.create(new Secret(fromHex(v.keymat)));
      const iv = fromHex(v.iv);
      const aad = fromHex(v.aad);
      const sealed = ctx.encrypt(iv, fromHex(v.esp_plaintext), aad);
      expect(toHex(sealed)).toBe(v.ciphertext + v.icv);
      const opened = ctx.decrypt(iv, sealed, aad);
      expect(opened && toHex(opened)).toBe(v.esp_plaintext);
      const badAad = aad.slice();
      badAad[7] = (badAad[7] as number) ^ 0x01; // sequence number 5 -> 4
      expect(ctx.decrypt(iv, sealed, badAad)).toBeNull();
    });
  }
});
