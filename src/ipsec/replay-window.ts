/**
 * Anti-replay window (RFC 4303 s3.4.3 and Appendix A), kept as an RFC 6479 bitmap.
 *
 * Theory of operation. The window remembers the highest authenticated sequence number T (64 bits
 * as two u32 halves, so no bigint is needed even with ESN) and a ring of bits, one per sequence
 * number, indexed by the low bits of the number. The ring has a power-of-two number of bits, at
 * least one 32-bit block more than the window size W (RFC 6479 s2), so sliding the window clears
 * whole blocks instead of shifting.
 *
 * Receiving is two steps because RFC 4303 s3.4.3 says the window is updated only after the ICV
 * verified: `check(seqLow)` infers the high 32 bits (Appendix A2.2) and says whether the number
 * is fresh, without changing anything; `update()` then marks it. A forged packet with a huge
 * sequence number therefore cannot advance the window.
 */

export type ReplayVerdict = "ok" | "REPLAY" | "TOO_OLD";

const TWO32 = 0x1_0000_0000;

export class ReplayWindow {
  /** Window size W in packets (RFC 4303 s3.4.3: minimum 32; 64 recommended). */
  readonly size: number;
  readonly esn: boolean;
  private readonly bits: Uint32Array;
  /** Ring size in bits - 1 (a power of two minus one). */
  private readonly mask: number;
  private topHi = 0;
  private topLo = 0;
  /** High half inferred by the last `check`, for `update` and for the ICV of an ESN SA. */
  lastHi = 0;

  /**
   * `size` in packets (32..2^20); `esn` enables 64-bit sequence numbers; `initialTop` presets T
   * (e.g. a test that starts near 2^32, or a rekeyed SA) with nothing yet received.
   */
  constructor(size: number, esn: boolean, initialTop?: { hi: number; lo: number }) {
    if (!Number.isInteger(size) || size < 32 || size > 1 << 20) throw new RangeError(`replay window size ${size} outside 32..2^20`);
    this.size = size;
    this.esn = esn;
    let ringBits = 64;
    while (ringBits < size + 32) ringBits *= 2;
    this.bits = new Uint32Array(ringBits / 32);
    this.mask = ringBits - 1;
    if (initialTop) {
      this.topHi = esn ? initialTop.hi >>> 0 : 0;
      this.topLo = initialTop.lo >>> 0;
    }
  }

  /** Highest authenticated sequence number as [hi, lo]. */
  get top(): { hi: number; lo: number } {
    return { hi: this.topHi, lo: this.topLo };
  }

  /**
   * Infers the high 32 bits of `seqLow` (RFC 4303 Appendix A2.2; always 0 without ESN) into
   * `lastHi` and says whether the number is new ("ok"), already seen ("REPLAY") or left of the
   * window ("TOO_OLD"). Does not change the window.
   */
  check(seqLow: number): ReplayVerdict {
    const w = this.size;
    const tl = this.topLo;
    const th = this.topHi;
    let hi = 0;
    if (this.esn) {
      if (tl >= w - 1) {
        // Case A: the window lies within one 2^32 subspace.
        hi = seqLow >= tl - w + 1 ? th : th + 1;
      } else {
        // Case B: the window spans two subspaces.
        hi = seqLow >= tl - w + 1 + TWO32 ? th - 1 : th;
      }
      if (hi < 0 || hi >= TWO32) {
        this.lastHi = 0;
        return "TOO_OLD";
      }
    }
    this.lastHi = hi;
    if (hi === 0 && seqLow === 0) return "TOO_OLD"; // sequence number 0 is never sent (RFC 4303 s3.3.3)
    if (hi > th || (hi === th && seqLow > tl)) return "ok";
    const diff = (th - hi) * TWO32 + (tl - seqLow);
    if (diff >= w) return "TOO_OLD";
    const bit = seqLow & this.mask;
    return ((this.bits[bit >>> 5] as number) >>> (bit & 31)) & 1 ? "REPLAY" : "ok";
  }

  /**
   * Marks `seqLow` (with the high half found by the `check` just before) as received, sliding the
   * window when it is the new highest number. Call only after the ICV verified.
   */
  update(seqLow: number): void {
    const hi = this.lastHi;
    const th = this.topHi;
    const tl = this.topLo;
    if (hi > th || (hi === th && seqLow > tl)) {
      const diff = (hi - th) * TWO32 + (seqLow - tl);
      const blocks = this.bits.length;
      const oldBlock = (tl & this.mask) >>> 5;
      const newBlock = (seqLow & this.mask) >>> 5;
      // RFC 6479: clear the blocks the window slides over (all of them on a big jump).
      if (diff >= this.mask + 1 - 32) {
        // The new top is (almost) a whole ring ahead: nothing in the window survives.
        this.bits.fill(0);
      } else if (newBlock !== oldBlock) {
        for (let b = (oldBlock + 1) % blocks; ; b = (b + 1) % blocks) {
          this.bits[b] = 0;
          if (b === newBlock) break;
        }
      }
      this.topHi = hi;
      this.topLo = seqLow;
    }
    const bit = seqLow & this.mask;
    this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
  }
}
