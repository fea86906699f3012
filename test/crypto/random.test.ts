import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { pooledRandom, seededRandom, systemRandom } from "../../src/crypto/random.js";

/** A fill function that writes a running counter, so the test can see which source bytes went where. */
function countingFill(): { fill: (out: Uint8Array) => void; calls: number[] } {
  let next = 0;
  const calls: number[] = [];
  return {
    calls,
    fill(out) {
      calls.push(out.length);
      for (let i = 0; i < out.length; i++) out[i] = next++ & 0xff;
    },
  };
}

describe("pooledRandom", () => {
  it("hands out the source's bytes in order, each once, one fill per block", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 16 }), { maxLength: 40 }), (sizes) => {
        const src = countingFill();
        const rng = pooledRandom(src.fill, 64);
        const got: number[] = [];
        for (const n of sizes) {
          const b = rng.bytes(n);
          expect(b.length).toBe(n);
          got.push(...b);
        }
        // Bytes skipped at the end of a block (a request that did not fit) are never handed out,
        // so the outputs are strictly increasing positions of the counter stream.
        const positions: number[] = [];
        let blockIndex = -1;
        let pos = 64;
        for (const n of sizes) {
          if (pos + n > 64) {
            blockIndex++;
            pos = 0;
          }
          for (let i = 0; i < n; i++) positions.push(blockIndex * 64 + pos + i);
          pos += n;
        }
        expect(src.calls.length).toBe(blockIndex + 1);
        expect(got).toEqual(positions.map((p) => p & 0xff));
        expect(src.calls.every((c) => c === 64)).toBe(true);
      }),
    );
  });

  it("sends requests above a quarter block straight to the source", () => {
    const src = countingFill();
    const rng = pooledRandom(src.fill, 64);
    expect(rng.bytes(17).length).toBe(17);
    expect(src.calls).toEqual([17]);
    rng.bytes(16);
    expect(src.calls).toEqual([17, 64]);
  });

  it("zeroes what it handed out, so the block never keeps a used key", () => {
    let block: Uint8Array | undefined;
    const rng = pooledRandom((out) => {
      block = out;
      out.fill(0xaa);
    }, 64);
    const a = rng.bytes(16);
    expect([...a]).toEqual(new Array<number>(16).fill(0xaa));
    expect([...(block as Uint8Array).subarray(0, 16)]).toEqual(new Array<number>(16).fill(0));
    expect([...(block as Uint8Array).subarray(16)]).toEqual(new Array<number>(48).fill(0xaa));
    a.fill(1); // the caller owns its copy
    expect((block as Uint8Array)[0]).toBe(0);
  });

  it("systemRandom gives distinct values of the asked length", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(Buffer.from(systemRandom.bytes(16)).toString("hex"));
    expect(seen.size).toBe(300);
    expect(systemRandom.bytes(5000).length).toBe(5000);
    expect(systemRandom.bytes(0).length).toBe(0);
  });

  it("seededRandom stays deterministic", () => {
    expect(seededRandom("x").bytes(40)).toEqual(seededRandom("x").bytes(40));
  });
});
