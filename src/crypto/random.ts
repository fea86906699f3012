import { createHash, randomFillSync } from "node:crypto";

/**
 * Randomness as an injected dependency (design.md): the core never calls a global RNG, so every
 * exchange can be replayed in a test with {@link seededRandom}.
 */
export interface Random {
  /** `n` fresh random bytes. */
  bytes(n: number): Uint8Array;
}

/** The operating system's CSPRNG (OpenSSL's, through node:crypto). For the daemon. */
export const systemRandom: Random = {
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    randomFillSync(out);
    return out;
  },
};

/**
 * Deterministic randomness for tests and simulations: SHA-256 in counter mode over a seed.
 * Never use it for real keys.
 */
export function seededRandom(seed: number | string): Random {
  let counter = 0;
  const seedBytes = Buffer.from(String(seed), "utf8");
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      let o = 0;
      while (o < n) {
        const h = createHash("sha256").update(seedBytes).update(String(counter++)).digest();
        const take = Math.min(h.length, n - o);
        out.set(h.subarray(0, take), o);
        o += take;
      }
      return out;
    },
  };
}

/** A uniformly distributed integer in [0, max) drawn from `rng` (max <= 2^32). */
export function randomInt(rng: Random, max: number): number {
  const b = rng.bytes(4);
  const v = (((b[0] as number) << 24) >>> 0) + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number);
  return v % max;
}
