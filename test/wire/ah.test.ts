import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ahIcvFieldLength, decodeAhHeader, encodeAhHeader } from "../../src/wire/ah.js";
import { DecodeError } from "../../src/wire/errors.js";

describe("RFC 4302 s2 AH header", () => {
  it("round-trips; Payload Len is the length in 32-bit words minus 2 (s2.2)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.constantFrom(12, 16, 24, 32), fc.constantFrom(4 as const, 6 as const), fc.integer({ min: 0, max: 0xffffffff }), (nh, icv, fam, spi) => {
        const field = ahIcvFieldLength(icv, fam);
        const b = new Uint8Array(12 + field + 3);
        const len = encodeAhHeader(b, 0, nh, field, spi, 77);
        expect(len % (fam === 4 ? 4 : 8)).toBe(0);
        expect(b[1]).toBe(len / 4 - 2);
        expect(decodeAhHeader(b)).toEqual({ nextHeader: nh, length: len, spi, seq: 77, icvFieldLength: field });
      }),
    );
  });

  it("s2.6: a 16-byte ICV needs 4 bytes of padding over IPv6 and none over IPv4; 12 bytes need none", () => {
    expect(ahIcvFieldLength(16, 6)).toBe(20);
    expect(ahIcvFieldLength(16, 4)).toBe(16);
    expect(ahIcvFieldLength(12, 6)).toBe(12);
  });

  it("truncated headers and impossible lengths are DecodeErrors", () => {
    expect(() => decodeAhHeader(new Uint8Array(11))).toThrow(DecodeError);
    const b = new Uint8Array(16);
    b[1] = 0; // 8 bytes < 12
    expect(() => decodeAhHeader(b)).toThrow(/AH.payloadLen/);
    b[1] = 10; // 48 bytes > 16
    expect(() => decodeAhHeader(b)).toThrow(/runs past/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          decodeAhHeader(junk);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});
