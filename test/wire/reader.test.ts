import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/wire/errors.js";
import { Reader } from "../../src/wire/reader.js";
import { Writer } from "../../src/wire/writer.js";

describe("Reader bounds checks", () => {
  it("names the field and absolute offset when bytes run out", () => {
    const r = new Reader(new Uint8Array([1, 2, 3]), 100);
    expect(r.u16("a")).toBe(0x0102);
    try {
      r.u16("header.length");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).field).toBe("header.length");
      expect((e as DecodeError).offset).toBe(102);
    }
  });

  it("rejects trailing bytes", () => {
    const r = new Reader(new Uint8Array([1, 2]));
    r.u8("x");
    expect(() => r.end("payload")).toThrow(DecodeError);
  });

  it("round-trips integers through Writer", () => {
    const w = new Writer(1).u8(0xab).u16(0xbeef).u32(0xdeadbeef).u64(0x0123456789abcdefn);
    const r = new Reader(w.finish());
    expect([r.u8("a"), r.u16("b"), r.u32("c"), r.u64("d")]).toEqual([0xab, 0xbeef, 0xdeadbeef, 0x0123456789abcdefn]);
    r.end("all");
  });
});
