import { describe, expect, it } from "vitest";
import { fromHex } from "../../../src/wire/hex.js";
import { decodeHeader, encodeHeader, IKE_HEADER_LENGTH, isFromInitiator, isIkev2, isResponse, majorVersion } from "../../../src/wire/ike/header.js";
import { expectDecodeError } from "./helpers.js";

// SPIi | SPIr | Next Payload | MjVer MnVer | Exchange Type | Flags | Message ID | Length
const INIT = "0001020304050607" + "0000000000000000" + "21" + "20" + "22" + "08" + "00000000" + "0000011c";

describe("RFC 7296 s3.1 IKE header", () => {
  it("decodes every field of the 28-byte header", () => {
    const h = decodeHeader(fromHex(INIT));
    expect(IKE_HEADER_LENGTH).toBe(28);
    expect(h).toEqual({
      spiI: 0x0001020304050607n,
      spiR: 0n,
      nextPayload: 33,
      version: 0x20,
      exchangeType: 34,
      flags: 0x08,
      messageId: 0,
      length: 0x11c,
    });
    expect(majorVersion(h)).toBe(2);
    expect(isFromInitiator(h)).toBe(true);
    expect(isResponse(h)).toBe(false);
    expect(encodeHeader(h)).toEqual(fromHex(INIT));
  });

  it("keeps 64-bit SPIs, a 32-bit message ID and unknown flag bits exactly", () => {
    const hex = "ffffffffffffffff" + "8000000000000001" + "2e" + "2f" + "25" + "ff" + "ffffffff" + "0000001c";
    const h = decodeHeader(fromHex(hex));
    expect(h.spiI).toBe(0xffffffffffffffffn);
    expect(h.spiR).toBe(0x8000000000000001n);
    expect(h.messageId).toBe(0xffffffff);
    expect(h.flags).toBe(0xff);
    expect(isResponse(h)).toBe(true);
    expect(encodeHeader(h)).toEqual(fromHex(hex));
  });

  it("needs 28 bytes, but leaves length == datagram size to the caller", () => {
    expectDecodeError(() => decodeHeader(fromHex(INIT).subarray(0, 27)), "header");
    // 0x11c claimed, 28 present: decodeHeader does not care (decodeMessage does).
    expect(decodeHeader(fromHex(INIT)).length).toBe(0x11c);
  });

  it("tells IKEv2 (0x20) from IKEv1/ISAKMP (0x10) by the major version", () => {
    expect(isIkev2(fromHex(INIT))).toBe(true);
    const v1 = fromHex(INIT);
    v1[17] = 0x10;
    expect(isIkev2(v1)).toBe(false);
    expect(isIkev2(v1.subarray(0, 20))).toBe(false);
  });
});
