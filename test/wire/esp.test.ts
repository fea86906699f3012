import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEspHeader, decodeEspTrailer, encodeEspHeader, encodeEspTrailer, espPadLength, espPaddingValid } from "../../src/wire/esp.js";
import { DecodeError } from "../../src/wire/errors.js";

describe("RFC 4303 s2.1/s2.2 ESP header", () => {
  it("round-trips SPI and sequence number; fewer than 8 bytes is a DecodeError", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (spi, seq) => {
        const b = new Uint8Array(8);
        encodeEspHeader(b, 0, spi, seq);
        expect(decodeEspHeader(b)).toEqual({ spi, seq });
      }),
    );
    expect(() => decodeEspHeader(new Uint8Array(7))).toThrow(DecodeError);
  });
});

describe("RFC 4303 s2.4 padding", () => {
  it("pads payload + trailer to the block size and 4-byte alignment with the fewest bytes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.constantFrom(1, 4, 8, 16), (len, bs) => {
        const pad = espPadLength(len, bs);
        const align = Math.max(bs, 4);
        expect((len + pad + 2) % align).toBe(0);
        expect(pad).toBeLessThan(align);
      }),
    );
  });

  it("writes 1, 2, 3, ... then Pad Length and Next Header; the receiver checks them", () => {
    const b = new Uint8Array(3 + 5 + 2);
    b.set([9, 9, 9]);
    const end = encodeEspTrailer(b, 3, 5, 4);
    expect(end).toBe(10);
    expect(Array.from(b)).toEqual([9, 9, 9, 1, 2, 3, 4, 5, 5, 4]);
    const t = decodeEspTrailer(b);
    expect(t).toEqual({ payloadLength: 3, padLength: 5, nextHeader: 4 });
    expect(espPaddingValid(b, t)).toBe(true);
    b[5] = 0;
    expect(espPaddingValid(b, t)).toBe(false);
  });

  it("a pad length beyond the payload or a 1-byte plaintext is a DecodeError naming the field", () => {
    expect(() => decodeEspTrailer(Uint8Array.of(1, 2, 3, 4))).toThrow(/ESP.padLength/);
    expect(() => decodeEspTrailer(Uint8Array.of(4))).toThrow(DecodeError);
  });
});
