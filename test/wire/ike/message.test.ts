/**
 * RFC 7296 s3 message framing: header + payload chain. Also reads the outer framing of
 * /work/shared/vectors/ike/rfc7634-chacha20-poly1305-ikev2-sk.json (decryption is the
 * engine's test; here only the clear structure and the given plaintext chain).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DecodeError } from "../../../src/wire/errors.js";
import { fromHex, toHex } from "../../../src/wire/hex.js";
import { ExchangeType, NotifyType } from "../../../src/wire/ike/constants.js";
import { findNotify, getNonce, getSk, notifies } from "../../../src/wire/ike/find.js";
import { decodeMessage, decodePayloadChain, encodeMessage, encodePayloadChain } from "../../../src/wire/ike/message.js";
import type { IkeHeader, IkeMessage, Payload } from "../../../src/wire/ike/types.js";
import { expectDecodeError } from "./helpers.js";
import { vectorPath } from "../../support/vectors.js";

const header = (over: Partial<IkeHeader> = {}): IkeHeader => ({
  spiI: 0x1122334455667788n, spiR: 0n, nextPayload: 0, version: 0x20, exchangeType: ExchangeType.IKE_SA_INIT, flags: 0x08, messageId: 0, length: 0, ...over,
});
const nonce: Payload = { type: 40, critical: false, nonce: new Uint8Array(32).fill(7) };
const natdS: Payload = { type: 41, critical: false, protocol: 0, notifyType: NotifyType.NAT_DETECTION_SOURCE_IP, spi: new Uint8Array(0), data: new Uint8Array(20) };
const natdD: Payload = { ...natdS, notifyType: NotifyType.NAT_DETECTION_DESTINATION_IP } as Payload;

const V = JSON.parse(readFileSync(vectorPath("ike/rfc7634-chacha20-poly1305-ikev2-sk.json"), "utf8")) as {
  vectors: { expected_ike_message: string; plaintext: string; iv: string; ciphertext: string; icv: string }[];
};

describe("RFC 7296 s3.1/3.2 message = header + payload chain", () => {
  it("encodeMessage computes every Next Payload, every length and the header's, ignoring stale input", () => {
    const msg: IkeMessage = { header: header({ nextPayload: 99, length: 12345 }), payloads: [nonce, natdS, natdD] };
    const bytes = encodeMessage(msg);
    expect(bytes.length).toBe(28 + 36 + 28 + 28);
    expect(bytes[16]).toBe(40); // header Next Payload = Nonce
    expect(new DataView(bytes.buffer).getUint32(24)).toBe(bytes.length);
    expect(bytes[28]).toBe(41); // Nonce -> N
    expect(bytes[28 + 36]).toBe(41); // N -> N
    expect(bytes[28 + 36 + 28]).toBe(0); // last
    const d = decodeMessage(bytes);
    expect(d.header).toEqual({ ...msg.header, nextPayload: 40, length: bytes.length });
    expect(d.payloads).toEqual(msg.payloads);
    expect(getNonce(d.payloads)?.nonce).toEqual(new Uint8Array(32).fill(7));
    expect(notifies(d.payloads).map((n) => n.notifyType)).toEqual([16388, 16389]);
    expect(findNotify(d.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)).toEqual(natdD);
    expect(findNotify(d.payloads, NotifyType.COOKIE)).toBeUndefined();
  });

  it("an empty message has Next Payload 0 and length 28", () => {
    const bytes = encodeMessage({ header: header({ exchangeType: ExchangeType.INFORMATIONAL }), payloads: [] });
    expect(bytes.length).toBe(28);
    expect(decodeMessage(bytes).payloads).toEqual([]);
  });

  it("header.length must equal the datagram length", () => {
    const bytes = encodeMessage({ header: header(), payloads: [nonce] });
    expectDecodeError(() => decodeMessage(bytes.subarray(0, bytes.length - 1)), "header.length");
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expectDecodeError(() => decodeMessage(longer), "header.length");
  });

  it("bytes after the last payload are an error, even when header.length covers them", () => {
    const bytes = encodeMessage({ header: header(), payloads: [nonce] });
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    new DataView(longer.buffer).setUint32(24, longer.length);
    const e = expectDecodeError(() => decodeMessage(longer), "payload chain");
    expect(e.offset).toBe(bytes.length);
  });

  it("IKEv1/ISAKMP (version 0x10) and other major versions are a DecodeError on header.version", () => {
    const bytes = encodeMessage({ header: header({ version: 0x10 }), payloads: [] });
    expectDecodeError(() => decodeMessage(bytes), "header.version");
    expectDecodeError(() => decodeMessage(encodeMessage({ header: header({ version: 0x30 }), payloads: [] })), "header.version");
  });

  it("errors inside payloads carry absolute offsets", () => {
    const bytes = encodeMessage({ header: header(), payloads: [natdS, nonce] });
    // Nonce payload starts at 28 + 28; shrink its length field so the nonce is 15 bytes.
    const bad = bytes.slice(0, bytes.length - 17);
    new DataView(bad.buffer).setUint16(28 + 28 + 2, 4 + 15);
    new DataView(bad.buffer).setUint32(24, bad.length);
    const e = expectDecodeError(() => decodeMessage(bad), "Nonce.data");
    expect(e.offset).toBe(28 + 28 + 4);
  });
});

describe("RFC 7296 s3.14 / RFC 7383 s2.5: SK and SKF end the clear chain", () => {
  const sk: Payload = { type: 46, critical: false, firstInner: 35, encrypted: fromHex("00112233") };

  it("SK's Next Payload is its firstInner, whatever its position says", () => {
    const bytes = encodeMessage({ header: header({ exchangeType: ExchangeType.IKE_AUTH, messageId: 1 }), payloads: [sk] });
    expect(bytes[16]).toBe(46);
    expect(bytes[28]).toBe(35);
    expect(getSk(decodeMessage(bytes).payloads)).toEqual(sk);
  });

  it("anything after SK or SKF is a DecodeError", () => {
    const bytes = encodeMessage({ header: header(), payloads: [sk] });
    const more = new Uint8Array(bytes.length + 4);
    more.set(bytes);
    more.set([0, 0, 0, 4], bytes.length);
    new DataView(more.buffer).setUint32(24, more.length);
    expectDecodeError(() => decodeMessage(more), "payload[0]");
    const skf: Payload = { type: 53, critical: false, firstInner: 0, fragmentNumber: 2, totalFragments: 2, encrypted: fromHex("aa") };
    const f = encodePayloadChain([skf]).bytes;
    expectDecodeError(() => decodePayloadChain(53, new Uint8Array([...f, 0, 0, 0, 4])), "payload[0]");
  });

  it("refuses to encode SK anywhere but last", () => {
    expect(() => encodeMessage({ header: header(), payloads: [sk, nonce] })).toThrow(RangeError);
  });

  it("RFC 7634 Appendix B: the outer INFORMATIONAL is header + SK (IV || ciphertext || ICV), byte for byte", () => {
    for (const v of V.vectors) {
      const wire = fromHex(v.expected_ike_message);
      const m = decodeMessage(wire);
      expect(m.header).toMatchObject({ spiI: 0xc0c1c2c3c4c5c6c7n, spiR: 0xd0d1d2d3d4d5d6d7n, exchangeType: 37, messageId: 9, length: 69 });
      expect(m.payloads).toEqual([{ type: 46, critical: false, firstInner: 41, encrypted: fromHex(v.iv + v.ciphertext + v.icv) }]);
      expect(toHex(encodeMessage(m))).toBe(v.expected_ike_message);
      // The plaintext is N(SET_WINDOW_SIZE) followed by Pad Length 0: strip the pad length
      // octet and decode the inner chain starting at SK's Next Payload.
      const pt = fromHex(v.plaintext);
      const inner = decodePayloadChain(41, pt.subarray(0, pt.length - 1 - (pt[pt.length - 1] ?? 0)));
      expect(inner).toEqual([{ type: 41, critical: false, protocol: 0, notifyType: NotifyType.SET_WINDOW_SIZE, spi: new Uint8Array(0), data: fromHex("0000000a") }]);
    }
  });
});

describe("decodePayloadChain / encodePayloadChain (SK content)", () => {
  it("offsets in errors are relative to the enclosing message via baseOffset", () => {
    try {
      decodePayloadChain(40, fromHex("00000008" + "01020304"), 100);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).offset).toBe(104);
    }
  });

  it("an empty chain has first type 0", () => {
    expect(encodePayloadChain([])).toEqual({ firstType: 0, bytes: new Uint8Array(0) });
    expect(decodePayloadChain(0, new Uint8Array(0))).toEqual([]);
    expectDecodeError(() => decodePayloadChain(0, fromHex("00")), "payload chain");
  });
});
