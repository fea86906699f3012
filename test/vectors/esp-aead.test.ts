import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { decapsulate, encapsulate, openPayload, sealPayload } from "../../src/ipsec/esp.js";
import { dangerFixedIv, SecurityAssociation } from "../../src/ipsec/sad.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { parseIpAddress } from "../../src/wire/ip.js";
import { readJson } from "../ipsec/support.js";

// Vectors: /work/shared/vectors/esp/draft-mcgrew-gcm-test-01-aes-gcm-esp.json (RFC 4106 ESP, incl. ESN)
// and /work/shared/vectors/esp/rfc7634-chacha20-poly1305-esp.json (RFC 7634 Appendix A).

interface GcmCase {
  id: string;
  aes_key_bits: string;
  keymat_ike: string;
  spi: string;
  esn: boolean;
  seq_hi: string | null;
  seq_lo: string;
  iv: string;
  plaintext: string;
  plaintext_pad_length: string;
  plaintext_next_header: string;
  expected_esp_packet: string;
}
const gcm = readJson<{ vectors: GcmCase[] }>("esp/draft-mcgrew-gcm-test-01-aes-gcm-esp.json");

function gcmSa(v: GcmCase, direction: "inbound" | "outbound", esnOverride?: boolean, antiReplay = true): SecurityAssociation {
  const esn = esnOverride ?? v.esn;
  const hi = esn && v.seq_hi ? parseInt(v.seq_hi, 16) : 0;
  const lo = parseInt(v.seq_lo, 16);
  // Outbound: the counter is one before the vector's number. Inbound: the window top is the
  // vector's number with nothing received, so ESN inference (RFC 4303 A2.2) picks the right high half.
  const initial = direction === "outbound" ? (lo === 0 ? { hi: hi - 1, lo: 0xffffffff } : { hi, lo: lo - 1 }) : { hi, lo };
  return new SecurityAssociation({
    spi: parseInt(v.spi, 16),
    direction,
    mode: "tunnel",
    encr: getEncr(20, Number(v.aes_key_bits)),
    encrKey: new Secret(fromHex(v.keymat_ike)),
    esn,
    antiReplay,
    local: parseIpAddress("192.0.2.1"),
    remote: parseIpAddress("192.0.2.2"),
    ivSource: dangerFixedIv(fromHex(v.iv)),
    initialSequence: initial,
    now: 0,
  });
}

function trailerless(v: GcmCase): Uint8Array {
  const pt = fromHex(v.plaintext);
  return pt.subarray(0, pt.length - 2 - Number(v.plaintext_pad_length));
}

describe("RFC 4106 s3-s5 AES-GCM ESP (draft-mcgrew-gcm-test-01)", () => {
  for (const v of gcm.vectors) {
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
        expect(openPayload(gcmSa(v, "inbound", true, false), fromHex(v.expected_esp_packet))).not.toBe("ICV_FAILURE");
        expect(openPayload(gcmSa(v, "inbound", false, false), fromHex(v.expected_esp_packet))).toBe("ICV_FAILURE");
      });
    }
  }
});

interface ChaChaCase {
  id: string;
  keymat: string;
  spi: string;
  seq: string;
  iv: string;
  inner_ip_packet: string;
  pad_length: string;
  next_header: string;
  expected_esp_packet: string;
}
interface Aead7539 {
  id: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}
const chacha = readJson<{ vectors: ChaChaCase[]; underlying_rfc7539_aead_vectors: Aead7539[] }>("esp/rfc7634-chacha20-poly1305-esp.json");

describe("RFC 7634 Appendix A ChaCha20-Poly1305 ESP (tunnel mode)", () => {
  for (const v of chacha.vectors) {
    const mk = (direction: "inbound" | "outbound"): SecurityAssociation =>
      new SecurityAssociation({
        spi: parseInt(v.spi, 16),
        direction,
        mode: "tunnel",
        encr: getEncr(28),
        encrKey: new Secret(fromHex(v.keymat)),
        local: parseIpAddress(direction === "outbound" ? "203.0.113.153" : "203.0.113.5"),
        remote: parseIpAddress(direction === "outbound" ? "203.0.113.5" : "203.0.113.153"),
        ivSource: dangerFixedIv(fromHex(v.iv)),
        initialSequence: { hi: 0, lo: Number(v.seq) - (direction === "outbound" ? 1 : 0) },
        now: 0,
      });
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
