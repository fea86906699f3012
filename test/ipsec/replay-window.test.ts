import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReplayWindow } from "../../src/ipsec/replay-window.js";

/** Reference model: a set of received 64-bit numbers and the highest one (RFC 4303 s3.4.3). */
class Model {
  seen = new Set<bigint>();
  top: bigint;
  constructor(
    readonly w: bigint,
    start: bigint,
  ) {
    this.top = start;
  }
  verdict(s: bigint): string {
    if (s === 0n) return "TOO_OLD";
    if (s > this.top) return "ok";
    if (this.top - s >= this.w) return "TOO_OLD";
    return this.seen.has(s) ? "REPLAY" : "ok";
  }
  update(s: bigint): void {
    this.seen.add(s);
    if (s > this.top) this.top = s;
  }
}

describe("RFC 4303 s3.4.3 / RFC 6479 replay window against a reference model", () => {
  for (const size of [32, 64, 1000, 4096]) {
    it(`window ${size}: same verdicts as the model for random arrival orders (ESN, near 2^32)`, () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: (1n << 33n) }),
          fc.array(fc.integer({ min: -2 * size, max: 3 * size }), { minLength: 1, maxLength: 300 }),
          (start, steps) => {
            const w = new ReplayWindow(size, true, { hi: Number(start >> 32n), lo: Number(start & 0xffffffffn) });
            const m = new Model(BigInt(size), start);
            // Arrivals cluster around the current top, as real reordering does; the receiver only
            // sees the low 32 bits and must infer the rest (Appendix A2.2).
            for (const d of steps) {
              const s = m.top + BigInt(d);
              if (s < 0n) continue;
              const v = w.check(Number(s & 0xffffffffn));
              const expected = m.verdict(s);
              if (expected === "ok" || expected === "REPLAY") {
                expect(v).toBe(expected);
                expect(BigInt(w.lastHi)).toBe(s >> 32n);
              } else {
                // Numbers left of the window cannot be told from far-future ones by 32 bits alone;
                // they must never be accepted as new in the current subspace.
                if (v === "ok") expect(BigInt(w.lastHi)).not.toBe(s >> 32n);
              }
              if (v === "ok" && expected === "ok") {
                w.update(Number(s & 0xffffffffn));
                m.update(s);
              }
            }
            expect(w.top).toEqual({ hi: Number(m.top >> 32n), lo: Number(m.top & 0xffffffffn) });
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it("without ESN the high half is always 0 and sequence number 0 is never accepted", () => {
    const w = new ReplayWindow(64, false);
    expect(w.check(0)).toBe("TOO_OLD");
    expect(w.check(1)).toBe("ok");
    w.update(1);
    expect(w.check(1)).toBe("REPLAY");
    w.update(1000);
    expect(w.check(1000 - 63)).toBe("ok");
    expect(w.check(1000 - 64)).toBe("TOO_OLD");
    expect(w.lastHi).toBe(0);
  });

  it("check() alone never changes the window (s3.4.3: update only after the ICV)", () => {
    const w = new ReplayWindow(64, true);
    expect(w.check(500)).toBe("ok");
    expect(w.check(500)).toBe("ok");
    expect(w.top).toEqual({ hi: 0, lo: 0 });
  });

  it("ESN: a window spanning 2^32 (Appendix A2.2 case B) infers hi-1 for numbers just below the wrap", () => {
    const w = new ReplayWindow(64, true, { hi: 5, lo: 10 });
    expect(w.check(0xfffffff0)).toBe("ok");
    expect(w.lastHi).toBe(4);
    w.update(0xfffffff0);
    expect(w.check(0xfffffff0)).toBe("REPLAY");
    expect(w.check(20)).toBe("ok");
    expect(w.lastHi).toBe(5);
  });

  it("window sizes up to 4096 and beyond are accepted; below 32 are refused", () => {
    expect(new ReplayWindow(4096, true).size).toBe(4096);
    expect(new ReplayWindow(65536, false).size).toBe(65536);
    expect(() => new ReplayWindow(16, false)).toThrow(RangeError);
  });
});
