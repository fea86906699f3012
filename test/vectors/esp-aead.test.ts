import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { decapsulate, encapsulate, openPayload, sealPayload } from "../../src/ipsec/esp.js";
import type { SecurityAssociation } from "../../src/ipsec/sad.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { chachaFile, chachaSa, gcmSa, gcmVectors, type GcmCase } from "../support/esp-aead-vectors.js";

// Vectors: shared/vectors/esp/draft-mcgrew-gcm-test-01-aes-gcm-esp.json (RFC 4106 ESP, incl. ESN)
// and shared/vectors/esp/rfc7634-chacha20-poly1305-esp.json (RFC 7634 Appendix A).

function trailerless(v: GcmCase): Uint8Array {
  const pt = fromHex(v.plaintext);
  return pt.subarray(0, pt.length - 2 - Number(v.plaintext_pad_length));
}

describe("RFC 4106 s3-s5 AES-GCM ESP (draft-mcgrew-gcm-test-01)", () => {
  for (const v of gcmVectors) {
    const esnText = v.esn ? "ESN" : "32-bit seq";
    it(`${v.id} (AES-${v.aes_key_bits}, ${esnText}): sealing gives expected_esp_packet`, () => {
      const esp = sealPayload(gcmSa(v, "outbound"), trailerless(v), Number(v.plaintext_next_header));
      expect(typeof esp).not.toBe("string");
      expect(toHex(esp as Uint8Array)).toBe(v.expected_esp_packet);
    });

    it(`${v.id}: opening gives the plaintext, pad length and next header`, () => {
      const opened = openPayload(gcmSa(v, "inbound"), fromHex(v.expected_esp_packet));
      if (typeof opened === "string") throw new Error(opened);
      expect(toHex(opened.plaintext)).toBe(v.plaintext);
      expect(opened.padLength).toBe(Number(v.plaintext_pad_length));
      expect(opened.nextHeader).toBe(Number(v.plaintext_next_header));
    });

    it(`${v.id}: any flipped bit (seq, IV, ciphertext, ICV) is rejected`, () => {
      // SPI bits are not flipped here: the SPI selects the SA (a changed SPI finds no SA, see
      // test/ipsec/data-plane.test.ts) and the AAD is built from the SA's own SPI.
      const pkt = fromHex(v.expected_esp_packet);
      for (let bit = 32; bit < pkt.length * 8; bit++) {
        const bad = pkt.slice();
        bad[bit >>> 3]! ^= 1 << (bit & 7);
        const r = openPayload(gcmSa(v, "inbound"), bad);
        // A flipped sequence bit may also land outside the window; it must never be accepted.
        expect(typeof r).toBe("string");
        expect(["ICV_FAILURE", "TOO_OLD", "REPLAY"]).toContain(r);
      }
    });

    if (v.esn) {
      it(`${v.id}: the ESN high half is in the AAD: without ESN the same packet fails`, () => {
        // Anti-replay off so that a 32-bit sequence number 0 reaches the ICV check.
        expect(openPayload(gcmSa(v, "inbound", { esn: true, antiReplay: false }), fromHex(v.expected_esp_packet))).not.toBe("ICV_FAILURE");
        expect(openPayload(gcmSa(v, "inbound", { esn: false, antiReplay: false }), fromHex(v.expected_esp_packet))).toBe("ICV_FAILURE");
      });
    }
  }
});

const chacha = chachaFile;

describe("RFC 7634 Appendix A ChaCha20-Poly1305 ESP (tunnel mode)", () => {
  for (const v of chacha.vectors) {
    const mk = (direction: "inbound" | "outbound"): SecurityAssociation => chachaSa(v, direction);
    it(`${v.id}: encapsulating the inner packet gives expected_esp_packet`, () => {
      expect(toHex(encapsulate(mk("outbound"), fromHex(v.inner_ip_packet)) as Uint8Array)).toBe(v.expected_esp_packet);
    });
    it(`${v.id}: decapsulating gives the inner packet, pad length 2, next header 4`, () => {
      const opened = openPayload(mk("inbound"), fromHex(v.expected_esp_packet));
      if (typeof opened === "string") throw new Error(opened);
      expect(opened.padLength).toBe(Number(v.pad_length));
      expect(opened.nextHeader).toBe(Number(v.next_header));
      expect(toHex(decapsulate(mk("inbound"), fromHex(v.expected_esp_packet)) as Uint8Array)).toBe(v.inner_ip_packet);
    });
    it(`${v.id}: tampering fails authentication`, () => {
      const bad = fromHex(v.expected_esp_packet);
      bad[bad.length - 20]! ^= 0x80;
      expect(decapsulate(mk("inbound"), bad)).toBe("ICV_FAILURE");
    });
  }

  describe("RFC 7539 s2.8.2 AEAD vectors under the ESP transform", () => {
    for (const a of chacha.underlying_rfc7539_aead_vectors) {
      it(`${a.id}: seal and open with nonce = salt || IV`, () => {
        const nonce = fromHex(a.nonce);
        const keymat = new Uint8Array([...fromHex(a.key), ...nonce.subarray(0, 4)]);
        const ctx = getEncr(28).create(new Secret(keymat));
        const sealed = ctx.encrypt(nonce.subarray(4), fromHex(a.plaintext), fromHex(a.aad));
        expect(toHex(sealed)).toBe(a.ciphertext + a.tag);
        expect(toHex(ctx.decrypt(nonce.subarray(4), sealed, fromHex(a.aad)) ?? new Uint8Array(0))).toBe(a.plaintext);
      });
    }
  });
});
