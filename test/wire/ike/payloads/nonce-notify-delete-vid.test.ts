import { describe, expect, it } from "vitest";
import { fromHex } from "../../../../src/wire/hex.js";
import { NotifyType, ProtocolId } from "../../../../src/wire/ike/constants.js";
import { encodePayloadChain } from "../../../../src/wire/ike/message.js";
import { decodeBody, decodeOne, expectDecodeError } from "../helpers.js";

describe("RFC 7296 s3.9 Nonce payload", () => {
  it("16 and 256 bytes are the bounds, inclusive", () => {
    expect(decodeOne(40, "ab".repeat(16))).toEqual({ type: 40, critical: false, nonce: fromHex("ab".repeat(16)) });
    expect(decodeOne(40, "cd".repeat(256))).toMatchObject({ nonce: fromHex("cd".repeat(256)) });
  });
  it("15 or 257 bytes is a DecodeError (parse, don't validate)", () => {
    expectDecodeError(() => decodeBody(40, "ab".repeat(15)), "Nonce.data");
    expectDecodeError(() => decodeBody(40, "ab".repeat(257)), "Nonce.data");
    expectDecodeError(() => decodeBody(40, ""), "Nonce.data");
  });
  it("refuses to encode a nonce outside 16..256 bytes", () => {
    expect(() => encodePayloadChain([{ type: 40, critical: false, nonce: new Uint8Array(8) }])).toThrow(RangeError);
  });
});

describe("RFC 7296 s3.10 Notify payload", () => {
  it("N(NAT_DETECTION_SOURCE_IP): no SPI, 20-byte SHA-1 data", () => {
    const p = decodeOne(41, "00" + "00" + "4004" + "aa".repeat(20));
    expect(p).toEqual({
      type: 41, critical: false, protocol: 0, notifyType: NotifyType.NAT_DETECTION_SOURCE_IP, spi: new Uint8Array(0), data: fromHex("aa".repeat(20)),
    });
  });
  it("N(REKEY_SA) for ESP with a 4-byte SPI", () => {
    const p = decodeOne(41, "03" + "04" + "4009" + "c0ffee01");
    expect(p).toMatchObject({ protocol: ProtocolId.ESP, notifyType: NotifyType.REKEY_SA, spi: fromHex("c0ffee01"), data: new Uint8Array(0) });
  });
  it("an SPI Size running past the payload is a DecodeError", () => {
    expectDecodeError(() => decodeBody(41, "03" + "08" + "4009" + "c0ffee01"), "N.spi");
    expectDecodeError(() => decodeBody(41, "0300"), "N.notifyType");
  });
});

describe("RFC 7296 s3.11 Delete payload", () => {
  it("deleting the IKE SA: protocol 1, SPI size 0, no SPIs", () => {
    expect(decodeOne(42, "01" + "00" + "0000")).toEqual({ type: 42, critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] });
  });
  it("deleting two ESP SAs", () => {
    const p = decodeOne(42, "03" + "04" + "0002" + "11111111" + "22222222");
    expect(p).toMatchObject({ protocol: ProtocolId.ESP, spiSize: 4, spis: [fromHex("11111111"), fromHex("22222222")] });
  });
  it("Num of SPIs x SPI Size must equal the bytes present", () => {
    expectDecodeError(() => decodeBody(42, "03" + "04" + "0002" + "11111111"), "D.numSpis");
    expectDecodeError(() => decodeBody(42, "03" + "04" + "0001" + "1111111122"), "D.numSpis");
  });
  it("refuses to encode an SPI whose length differs from SPI Size", () => {
    expect(() => encodePayloadChain([{ type: 42, critical: false, protocol: 3, spiSize: 4, spis: [new Uint8Array(3)] }])).toThrow(RangeError);
  });
});

describe("RFC 7296 s3.12 Vendor ID payload", () => {
  it("opaque bytes, including none", () => {
    expect(decodeOne(43, "4f45726c415c6e51756b5352")).toEqual({ type: 43, critical: false, data: fromHex("4f45726c415c6e51756b5352") });
    expect(decodeOne(43, "")).toEqual({ type: 43, critical: false, data: new Uint8Array(0) });
  });
});
