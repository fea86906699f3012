import { describe, expect, it } from "vitest";
import { fromHex } from "../../../../src/wire/hex.js";
import { CfgAttribute, CfgType } from "../../../../src/wire/ike/constants.js";
import { encodePayloadChain } from "../../../../src/wire/ike/message.js";
import { decodeBody, decodeOne, expectDecodeError } from "../helpers.js";

describe("RFC 7296 s3.14 Encrypted and Authenticated payload", () => {
  it("Next Payload names the first inner payload; the body is opaque", () => {
    const p = decodeOne(46, "000102030405060708090a0b0c0d0e0f" + "deadbeef", { next: 35 });
    expect(p).toEqual({ type: 46, critical: false, firstInner: 35, encrypted: fromHex("000102030405060708090a0b0c0d0e0f" + "deadbeef") });
  });
});

describe("RFC 7383 s2.5 Encrypted and Authenticated Fragment payload", () => {
  it("fragment 1 of 2 carries the first inner payload type", () => {
    const p = decodeOne(53, "0001" + "0002" + "aabbcc", { next: 35 });
    expect(p).toEqual({ type: 53, critical: false, firstInner: 35, fragmentNumber: 1, totalFragments: 2, encrypted: fromHex("aabbcc") });
  });
  it("later fragments have Next Payload 0; the last has number == total", () => {
    expect(decodeOne(53, "0002" + "0002" + "aa")).toMatchObject({ firstInner: 0, fragmentNumber: 2, totalFragments: 2 });
  });
  it("fragment number 0, or above the total, is a DecodeError", () => {
    expectDecodeError(() => decodeBody(53, "0000" + "0002"), "SKF.fragmentNumber");
    expectDecodeError(() => decodeBody(53, "0003" + "0002"), "SKF.totalFragments");
    expectDecodeError(() => decodeBody(53, "0001"), "SKF.totalFragments");
  });
  it("refuses to encode an impossible fragment number", () => {
    expect(() => encodePayloadChain([{ type: 53, critical: false, firstInner: 0, fragmentNumber: 0, totalFragments: 1, encrypted: new Uint8Array(0) }])).toThrow(RangeError);
  });
});

describe("RFC 7296 s3.15 Configuration payload", () => {
  it("CFG_REQUEST with empty INTERNAL_IP4_ADDRESS and INTERNAL_IP4_DNS", () => {
    const p = decodeOne(47, "01" + "000000" + "00010000" + "00030000");
    expect(p).toEqual({
      type: 47, critical: false, cfgType: CfgType.CFG_REQUEST, reserved: new Uint8Array(3),
      attributes: [{ type: CfgAttribute.INTERNAL_IP4_ADDRESS, value: new Uint8Array(0) }, { type: CfgAttribute.INTERNAL_IP4_DNS, value: new Uint8Array(0) }],
    });
  });
  it("CFG_REPLY with a 4-byte address (198.51.100.7)", () => {
    expect(decodeOne(47, "02000000" + "00010004" + "c6336407")).toMatchObject({ cfgType: CfgType.CFG_REPLY, attributes: [{ type: 1, value: fromHex("c6336407") }] });
  });
  it("an attribute length past the end is a DecodeError", () => {
    expectDecodeError(() => decodeBody(47, "02000000" + "00010004" + "c633"), "CP.attribute[0].value");
    expectDecodeError(() => decodeBody(47, "02000000" + "0001"), "CP.attribute[0].length");
  });
});

describe("RFC 7296 s3.16 EAP payload", () => {
  it("the whole EAP message is kept (EAP-Request/Identity)", () => {
    expect(decodeOne(48, "0101000501")).toEqual({ type: 48, critical: false, data: fromHex("0101000501") });
  });
});
