import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { decryptSk, encryptSk, makeSkKeys } from "../../src/ike/protection.js";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { Secret } from "../../src/crypto/secret.js";
import { EncrId, IntegId, PayloadType, notifyTypeName, payloadTypeName } from "../../src/wire/ike/constants.js";
import { decodeMessage, encodePayloadChain } from "../../src/wire/ike/message.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import type { IkeMessage, Payload, PayloadOf } from "../../src/wire/ike/types.js";
import { readUdpDatagrams } from "../support/pcap.js";
import { VECTORS_DIR } from "../support/vectors.js";

// Vectors: /work/shared/vectors/ike/rfc7634-chacha20-poly1305-ikev2-sk.json (RFC 7634 Appendix B)
// and the IKE captures indexed in /work/shared/vectors/captures/captures-and-keys.json.
const VECTORS = VECTORS_DIR;

interface Rfc7634Vector {
  keymat_sk_e: string;
  iv: string;
  aad: string;
  ike_header: { spi_i: string; spi_r: string; version: string; exchange_type: number; flags: string; message_id: number; length: number };
  plaintext: string;
  ciphertext: string;
  icv: string;
  expected_ike_message: string;
}
const rfc7634 = JSON.parse(readFileSync(`${VECTORS}/ike/rfc7634-chacha20-poly1305-ikev2-sk.json`, "utf8")) as { vectors: Rfc7634Vector[] };

interface IkeCapture {
  file: string;
  frame: number;
  spi_i: string;
  spi_r: string;
  sk_e?: string;
  sk_e_keymat?: string;
  sk_a?: string;
  iv: string;
  icv?: string;
  pad_length: number;
  padding?: string;
  first_inner_payload: number;
  decrypted_inner_payloads: string;
  inner_payload_count_per_packetgen: number;
}
interface PI2Capture {
  file: string;
  sa: { spi_i: string; spi_r: string; initiator: { sk_ai: string; sk_ei: string } };
  decrypted_check: { frame: number; iv: string; sk_next_payload: number; pad_length: number; padding: string };
}
const index = JSON.parse(readFileSync(`${VECTORS}/captures/captures-and-keys.json`, "utf8")) as {
  packetgen: { ikev2: IkeCapture[] };
  tcpdump: Array<{ file: string } & Partial<PI2Capture>>;
};

function kind(p: Payload): string {
  if (p.type === "unknown") return `PAYLOAD(${p.payloadType})`;
  return p.type === 41 ? `N(${notifyTypeName(p.notifyType)})` : payloadTypeName(p.type);
}

function datagram(file: string, frame: number): Uint8Array {
  const d = readUdpDatagrams(`${VECTORS}/captures/${file}`).find((x) => x.frame === frame);
  if (!d) throw new Error(`frame ${frame} of ${file} has no UDP datagram`);
  // Port 4500 carries a four-zero-octet non-ESP marker before IKE (RFC 3948 s2.2).
  return d.dstPort === 4500 ? d.payload.subarray(4) : d.payload;
}

describe("RFC 7634 Appendix B: ChaCha20-Poly1305 SK payload (RFC 5282 AAD = IKE header || SK header)", () => {
  for (const v of rfc7634.vectors) {
    const keys = makeSkKeys(getEncr(EncrId.ENCR_CHACHA20_POLY1305), new Secret(fromHex(v.keymat_sk_e)));
    const h = v.ike_header;
    const header = {
      spiI: BigInt(`0x${h.spi_i}`),
      spiR: BigInt(`0x${h.spi_r}`),
      nextPayload: 0,
      version: parseInt(h.version, 16),
      exchangeType: h.exchange_type,
      flags: parseInt(h.flags, 16),
      messageId: h.message_id,
      length: 0,
    };
    // Plaintext = Notify(SET_WINDOW_SIZE, 10) || Pad Length 0.
    const notify: PayloadOf<41> = { type: 41, critical: false, protocol: 0, notifyType: 16385, spi: new Uint8Array(0), data: fromHex("0000000a") };

    it("building the message gives expected_ike_message byte for byte", () => {
      expect(toHex(encodePayloadChain([notify]).bytes) + "00").toBe(v.plaintext);
      const bytes = encryptSk({ header, innerPayloads: [notify], keys, iv: fromHex(v.iv), padLength: 0 });
      expect(toHex(bytes)).toBe(v.expected_ike_message);
      expect(bytes.length).toBe(h.length);
      expect(toHex(bytes.subarray(0, 32))).toBe(v.aad);
    });

    it("parsing and decrypting recovers the SET_WINDOW_SIZE notify", () => {
      const bytes = fromHex(v.expected_ike_message);
      const msg = decodeMessage(bytes);
      const r = decryptSk(bytes, msg, keys);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.padLength).toBe(0);
      expect(r.payloads).toEqual([notify]);
    });

    it("a flipped ICV bit is rejected", () => {
      const bytes = fromHex(v.expected_ike_message);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01;
      const r = decryptSk(bytes, decodeMessage(bytes), keys);
      expect(r.ok === false && r.reason).toBe("integrity");
    });
  }
});

describe("RFC 7296 s3.14: SK payloads captured from other implementations", () => {
  const cbc = index.packetgen.ikev2.find((c) => c.file === "packetgen/ikev2_cbc_hmac.pcapng") as IkeCapture;
  const gcm = index.packetgen.ikev2.find((c) => c.file === "packetgen/ikev2.pcapng") as IkeCapture;

  it("packetgen ikev2_cbc_hmac.pcapng: AES-128-CBC + HMAC-SHA2-256-128, ICV verifies, 11 inner payloads, re-encryption reproduces the frame", () => {
    const bytes = datagram(cbc.file, cbc.frame);
    const msg = decodeMessage(bytes);
    expect(msg.header.spiI).toBe(BigInt(`0x${cbc.spi_i}`));
    const keys = makeSkKeys(getEncr(EncrId.ENCR_AES_CBC, 128), new Secret(fromHex(cbc.sk_e as string)), getInteg(IntegId.AUTH_HMAC_SHA2_256_128), new Secret(fromHex(cbc.sk_a as string)));
    expect(toHex(bytes.subarray(bytes.length - 16))).toBe(cbc.icv);
    const r = decryptSk(bytes, msg, keys);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.firstType).toBe(cbc.first_inner_payload);
    expect(toHex(r.inner)).toBe(cbc.decrypted_inner_payloads);
    // packetgen counts one item more than the chain holds (inner_payload_count_per_packetgen = 11); the
    // chain below consumes the decrypted bytes exactly (decodePayloadChain rejects trailing bytes).
    expect(r.payloads.length).toBe(cbc.inner_payload_count_per_packetgen - 1);
    expect(r.payloads.map(kind)).toEqual(["IDi", "N(INITIAL_CONTACT)", "CERTREQ", "IDr", "AUTH", "SA", "TSi", "TSr", "N(MULTIPLE_AUTH_SUPPORTED)", "N(EAP_ONLY_AUTHENTICATION)"]);
    expect(r.padLength).toBe(cbc.pad_length);
    const again = encryptSk({ header: msg.header, innerPayloads: { firstType: r.firstType, bytes: r.inner }, keys, iv: fromHex(cbc.iv), padding: fromHex(cbc.padding as string) });
    expect(toHex(again)).toBe(toHex(bytes));
  });

  it("packetgen ikev2.pcapng: AES-256-GCM-16, authenticates and decrypts to 12 inner payloads", () => {
    const bytes = datagram(gcm.file, gcm.frame);
    const msg = decodeMessage(bytes);
    const keys = makeSkKeys(getEncr(EncrId.ENCR_AES_GCM_16, 256), new Secret(fromHex(gcm.sk_e_keymat as string)));
    const r = decryptSk(bytes, msg, keys);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.firstType).toBe(gcm.first_inner_payload);
    expect(toHex(r.inner)).toBe(gcm.decrypted_inner_payloads);
    expect(r.payloads.length).toBe(gcm.inner_payload_count_per_packetgen - 1);
    expect(r.payloads.map(kind)).toEqual(["IDi", "CERT", "N(INITIAL_CONTACT)", "CERTREQ", "IDr", "AUTH", "SA", "TSi", "TSr", "N(MULTIPLE_AUTH_SUPPORTED)", "N(EAP_ONLY_AUTHENTICATION)"]);
    expect(r.padLength).toBe(gcm.pad_length);
    const again = encryptSk({ header: msg.header, innerPayloads: { firstType: r.firstType, bytes: r.inner }, keys, iv: fromHex(gcm.iv), padLength: 0 });
    expect(toHex(again)).toBe(toHex(bytes));
    // The same bytes with one ciphertext bit flipped fail the GCM tag.
    const bad = bytes.slice();
    bad[100] = (bad[100] as number) ^ 0x80;
    const rb = decryptSk(bad, decodeMessage(bad), keys);
    expect(rb.ok === false && rb.reason).toBe("integrity");
  });

  it("tcpdump ikev2pI2.pcap: decrypts to IDi \"west\" + AUTH, but its ICV does NOT verify (synthetic capture)", () => {
    const c = index.tcpdump.find((x) => x.file === "tcpdump/ikev2pI2.pcap") as PI2Capture;
    const bytes = datagram(c.file, c.decrypted_check.frame);
    const msg: IkeMessage = decodeMessage(bytes);
    expect(toHex(new Uint8Array(new BigUint64Array([msg.header.spiR]).buffer).reverse())).toBe(c.sa.spi_r);
    const sk = msg.payloads[msg.payloads.length - 1] as PayloadOf<46>;
    expect(sk.type).toBe(PayloadType.SK);
    const encr = getEncr(EncrId.ENCR_AES_CBC, 128);
    const keys = makeSkKeys(encr, new Secret(fromHex(c.sa.initiator.sk_ei)), getInteg(IntegId.AUTH_HMAC_SHA1_96), new Secret(fromHex(c.sa.initiator.sk_ai)));
    // The protected path refuses it: the ICV is checked first.
    const r = decryptSk(bytes, msg, keys);
    expect(r.ok === false && r.reason).toBe("integrity");
    // Decrypting anyway (as tcpdump does) shows the content is right: only the ICV is synthetic.
    const iv = sk.encrypted.subarray(0, 16);
    expect(toHex(iv)).toBe(c.decrypted_check.iv);
    const ct = sk.encrypted.subarray(16, sk.encrypted.length - 12);
    const pt = encr.create(new Secret(fromHex(c.sa.initiator.sk_ei))).decrypt(iv, ct, new Uint8Array(0)) as Uint8Array;
    const padLength = pt[pt.length - 1] as number;
    expect(padLength).toBe(c.decrypted_check.pad_length);
    expect(toHex(pt.subarray(pt.length - 1 - padLength, pt.length - 1))).toBe(c.decrypted_check.padding);
    // With a key that ignores the ICV the same path decodes IDi "west" + AUTH.
    const noIcvCheck = { ...keys, integ: { alg: keys.integ!.alg, ctx: { compute: keys.integ!.ctx.compute, verify: () => true } } };
    const r2 = decryptSk(bytes, msg, noIcvCheck);
    expect(r2.ok).toBe(true);
    if (!r2.ok) return;
    expect(sk.firstInner).toBe(c.decrypted_check.sk_next_payload);
    expect(r2.payloads.map((p) => p.type)).toEqual([PayloadType.IDi, PayloadType.AUTH]);
    const idi = r2.payloads[0] as Extract<Payload, { type: 35 | 36 }>;
    expect(new TextDecoder().decode(idi.data)).toBe("west");
  });
});
