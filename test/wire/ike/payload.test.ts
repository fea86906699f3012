import { describe, expect, it } from "vitest";
import { fromHex } from "../../../src/wire/hex.js";
import { decodePayloadChain } from "../../../src/wire/ike/message.js";
import { decodeOne, expectDecodeError } from "./helpers.js";

describe("RFC 7296 s3.2 generic payload header", () => {
  it("keeps the C bit of known payloads as received", () => {
    expect(decodeOne(43, "01", { critical: true })).toEqual({ type: 43, critical: true, data: fromHex("01") });
  });

  it("unknown payload types decode raw and re-encode byte for byte (critical or not)", () => {
    expect(decodeOne(200, "0102030405", { critical: true })).toEqual({ type: "unknown", payloadType: 200, critical: true, body: fromHex("0102030405") });
    // GSPM (49) is in the IANA table but not decoded by this codec.
    expect(decodeOne(49, "", { critical: false })).toEqual({ type: "unknown", payloadType: 49, critical: false, body: new Uint8Array(0) });
  });

  it("Payload Length below 4 or past the end is a DecodeError with the absolute offset", () => {
    let e = expectDecodeError(() => decodePayloadChain(43, fromHex("00000003"), 28), "payload[0].length");
    expect(e.offset).toBe(30);
    e = expectDecodeError(() => decodePayloadChain(43, fromHex("00000009" + "0102"), 28), "payload[0].length");
    expect(e.offset).toBe(32);
    expectDecodeError(() => decodePayloadChain(43, fromHex("0000"), 0), "payload[0].length");
  });

  it("a chain whose Next Payload points past the end is a DecodeError", () => {
    expectDecodeError(() => decodePayloadChain(43, fromHex("2b000005" + "01")), "payload[1].nextPayload");
  });
});
