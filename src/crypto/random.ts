import { createHash, randomFillSync } from "node:crypto";

/**
 * Randomness as an injected dependency (design.md): the core never calls a global RNG, so every
 * exchange can be replayed in a test with {@link seededRandom}.
 */
export interface Random {
  /** `n` fresh random bytes. */
  bytes(n: number): Uint8Array;
}

/**
 * A Random that draws from `fill` in blocks of `blockSize` bytes and hands them out in order, so
 * a request costs a copy instead of a call into the RNG (one `randomFillSync` per request was
 * 2-3% of an IKE responder's CPU: an IKE SA setup asks for SPIs, a nonce, an X25519 key and IVs,
 * docs/performance.md). Every byte is handed out once and zeroed in the block as it leaves, so
 * no future key waits in the block after its use. Requests larger than a quarter block go to
 * `fill` directly.
 */
export function pooledRandom(fill: (out: Uint8Array) => void, blockSize = 4096): Random {
  const block = new Uint8Array(blockSize);
  let pos = blockSize;
  const direct = blockSize >> 2;
  return {
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      if (n > direct) {
        fill(out);
        return out;
      }
      if (pos + n > blockSize) {
        fill(block);
        pos = 0;
      }
      out.set(block.subarray(pos, pos + n));
      block.fill(0, pos, pos + n);
      pos += n;
      return out;
    },
  };
}

/** The operating system's CSPRNG (OpenSSL's, through node:crypto), pooled (see pooledRandom). For the daemon. */
export const systemRandom: Random = pooledRandom((out) => randomFillSync(out));

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
