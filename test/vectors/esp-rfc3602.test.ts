import { describe, expect, it } from "vitest";
import { createCipheriv, createDecipheriv } from "node:crypto";
import { getEncr } from "../../src/crypto/encr.js";
import { Secret } from "../../src/crypto/secret.js";
import { decapsulate, encapsulate, openPayload, sealPayload } from "../../src/ipsec/esp.js";
import { dangerFixedIv, SecurityAssociation } from "../../src/ipsec/sad.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { ipv4HeaderChecksumValid, parseIpAddress, setIpv4HeaderChecksum } from "../../src/wire/ip.js";
import { ipPacket, readJson } from "../ipsec/support.js";

// Vectors: /work/shared/vectors/esp/rfc3602-aes-cbc.json (RFC 3602 s4).

interface RawCase {
  id: string;
  key: string;
  iv: string;
  plaintext: string;
  ciphertext: string;
}
interface EspCase {
  id: string;
  mode: "transport" | "tunnel";
  key: string;
  spi: string;
  seq: string;
  src: string;
  dst: string;
  iv: string;
  esp_payload_data_plaintext: string;
  padding: string;
  pad_length: string;
  next_header: string;
  expected_esp_packet: string;
  original_ip_header?: string | null;
  original_packet?: string | null;
  post_encryption_ip_header?: string | null;
  expected_ip_packet?: string | null;
}
const file = readJson<{ raw_cbc_vectors: RawCase[]; esp_packets: EspCase[] }>("esp/rfc3602-aes-cbc.json");

function sa(c: EspCase, direction: "inbound" | "outbound"): SecurityAssociation {
  const src = parseIpAddress(c.src);
  const dst = parseIpAddress(c.dst);
  return new SecurityAssociation({
    spi: parseInt(c.spi, 16),
    direction,
    mode: c.mode,
    encr: getEncr(12, 128),
    encrKey: new Secret(fromHex(c.key)),
    local: direction === "outbound" ? src : dst,
    remote: direction === "outbound" ? dst : src,
    ivSource: dangerFixedIv(fromHex(c.iv)),
    initialSequence: { hi: 0, lo: Number(c.seq) - 1 },
    now: 0,
  });
}

/** The packet the sender protected: the original IP packet, or one rebuilt around the payload. */
function originalPacket(c: EspCase): Uint8Array {
  if (c.original_packet) return fromHex(c.original_packet);
  // Case 6 has no transcribed IP header: wrap its ICMP payload in one (transport mode strips it again).
  return ipPacket(c.src, c.dst, Number(c.next_header), fromHex(c.esp_payload_data_plaintext));
}

describe("RFC 3602 s4 raw AES-128-CBC (cases 1-4)", () => {
  for (const v of file.raw_cbc_vectors) {
    it(`${v.id}: encrypt and decrypt`, () => {
      const enc = getEncr(12, 128).create(new Secret(fromHex(v.key)));
      expect(toHex(enc.encrypt(fromHex(v.iv), fromHex(v.plaintext), new Uint8Array(0)))).toBe(v.ciphertext);
      expect(toHex(enc.decrypt(fromHex(v.iv), fromHex(v.ciphertext), new Uint8Array(0)) ?? new Uint8Array(0))).toBe(v.plaintext);
      // Cross-check against OpenSSL directly so the vector file itself is exercised independently.
      const c = createCipheriv("aes-128-cbc", fromHex(v.key), fromHex(v.iv)).setAutoPadding(false);
      expect(Buffer.concat([c.update(fromHex(v.plaintext)), c.final()]).toString("hex")).toBe(v.ciphertext);
      const d = createDecipheriv("aes-128-cbc", fromHex(v.key), fromHex(v.iv)).setAutoPadding(false);
      expect(Buffer.concat([d.update(fromHex(v.ciphertext)), d.final()]).toString("hex")).toBe(v.plaintext);
    });
  }
});

describe("RFC 4303 s3.3 / RFC 3602 s4 ESP packets (cases 5-8)", () => {
  for (const c of file.esp_packets) {
    it(`${c.id} (${c.mode}): encapsulate gives expected_esp_packet byte for byte`, () => {
      const out = sa(c, "outbound");
      const esp = encapsulate(out, originalPacket(c));
      expect(typeof esp).not.toBe("string");
      expect(toHex(esp as Uint8Array)).toBe(c.expected_esp_packet);
      // The same through the transform-only entry point.
      const again = sa(c, "outbound");
      expect(toHex(sealPayload(again, fromHex(c.esp_payload_data_plaintext), Number(c.next_header)) as Uint8Array)).toBe(c.expected_esp_packet);
    });

    it(`${c.id}: decapsulate recovers payload, padding, pad length and next header`, () => {
      const inb = sa(c, "inbound");
      const opened = openPayload(inb, fromHex(c.expected_esp_packet));
      if (typeof opened === "string") throw new Error(opened);
      expect(opened.padLength).toBe(Number(c.pad_length));
      expect(opened.nextHeader).toBe(Number(c.next_header));
      expect(toHex(opened.plaintext.subarray(0, opened.payloadLength))).toBe(c.esp_payload_data_plaintext);
      expect(toHex(opened.plaintext.subarray(opened.payloadLength, opened.payloadLength + opened.padLength))).toBe(c.padding);
      const inner = decapsulate(sa(c, "inbound"), fromHex(c.expected_esp_packet));
      if (typeof inner === "string") throw new Error(inner);
      if (c.mode === "tunnel") {
        expect(toHex(inner)).toBe(toHex(originalPacket(c)));
      } else {
        // Transport: the IP header is rebuilt from the SA's addresses, the payload is the original.
        expect(inner[9]).toBe(Number(c.next_header));
        expect(toHex(inner.subarray(20))).toBe(c.esp_payload_data_plaintext);
        expect(ipv4HeaderChecksumValid(inner)).toBe(true);
      }
    });

    it(`${c.id}: a corrupted padding byte is BAD_PADDING (RFC 4303 s2.4)`, () => {
      // Build a packet whose first padding byte is wrong, encrypted with the same key and IV.
      const payload = fromHex(c.esp_payload_data_plaintext);
      const pt = new Uint8Array(payload.length + Number(c.pad_length) + 2);
      pt.set(payload);
      pt.set(fromHex(c.padding), payload.length);
      pt[payload.length] = 0x77;
      pt[pt.length - 2] = Number(c.pad_length);
      pt[pt.length - 1] = Number(c.next_header);
      const cbc = createCipheriv("aes-128-cbc", fromHex(c.key), fromHex(c.iv)).setAutoPadding(false);
      const ct = Buffer.concat([cbc.update(pt), cbc.final()]);
      const esp = new Uint8Array([...fromHex(c.expected_esp_packet).subarray(0, 24), ...ct]);
      expect(decapsulate(sa(c, "inbound"), esp)).toBe("BAD_PADDING");
    });

    if (c.expected_ip_packet && c.post_encryption_ip_header) {
      it(`${c.id}: the outer IPv4 header (protocol 50, length, checksum) gives expected_ip_packet`, () => {
        const esp = encapsulate(sa(c, "outbound"), originalPacket(c)) as Uint8Array;
        const header = fromHex(c.post_encryption_ip_header as string);
        const built = new Uint8Array(header);
        built[9] = 50;
        built[2] = (20 + esp.length) >>> 8;
        built[3] = (20 + esp.length) & 0xff;
        setIpv4HeaderChecksum(built);
        expect(toHex(built)).toBe(c.post_encryption_ip_header);
        expect(toHex(new Uint8Array([...built, ...esp]))).toBe(c.expected_ip_packet);
        if (c.original_ip_header) {
          // Transport mode keeps the original header except protocol, length and checksum.
          const orig = fromHex(c.original_ip_header);
          orig[9] = 50;
          orig[2] = built[2]!;
          orig[3] = built[3]!;
          setIpv4HeaderChecksum(orig);
          expect(toHex(orig)).toBe(c.post_encryption_ip_header);
        }
      });
    }
  }
});
