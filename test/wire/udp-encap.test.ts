import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/wire/errors.js";
import { classifyUdp4500, decodeUdpHeader, encodeNonEspMarked, encodeUdpHeader, natKeepalive } from "../../src/wire/udp-encap.js";

describe("RFC 3948 s2.2/s2.3 demultiplexing UDP/4500", () => {
  it("four zero bytes then IKE; a single 0xFF is a keepalive; else ESP", () => {
    expect(classifyUdp4500(encodeNonEspMarked(new Uint8Array(28).fill(1)))).toEqual({ kind: "ike", offset: 4 });
    expect(classifyUdp4500(natKeepalive())).toEqual({ kind: "keepalive" });
    expect(classifyUdp4500(Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 1))).toEqual({ kind: "esp" });
  });

  it("too short to be anything is a DecodeError", () => {
    for (const b of [new Uint8Array(0), Uint8Array.of(0xfe), Uint8Array.of(1, 2, 3, 4, 5, 6, 7), new Uint8Array(4)]) {
      expect(() => classifyUdp4500(b)).toThrow(DecodeError);
    }
  });

  it("any input classifies or throws only DecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        try {
          const k = classifyUdp4500(b).kind;
          if (k === "esp") expect(b.length).toBeGreaterThanOrEqual(8);
          if (k === "ike") expect(Array.from(b.subarray(0, 4))).toEqual([0, 0, 0, 0]);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});

describe("RFC 3948 s2.1 UDP header", () => {
  it("zero checksum on output; lengths checked on input", () => {
    const b = new Uint8Array(8 + 20);
    encodeUdpHeader(b, 0, 4500, 4500, 20);
    expect(decodeUdpHeader(b)).toEqual({ srcPort: 4500, dstPort: 4500, length: 28, checksum: 0 });
    expect(() => decodeUdpHeader(b.subarray(0, 20))).toThrow(/UDP.length/);
    expect(() => decodeUdpHeader(new Uint8Array(5))).toThrow(DecodeError);
  });
});
