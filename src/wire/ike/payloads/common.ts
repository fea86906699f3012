/**
 * Small helpers shared by the payload codecs: fixed-size reserved fields and the 16-bit length
 * guard every encoder applies before writing a length field.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";

/** Reads a fixed-size reserved field and keeps it (RFC 7296: ignored on receipt, kept for round trips). */
export function readReserved(r: Reader, n: number, field: string): Uint8Array {
  return r.bytes(n, field);
}

/** Writes a reserved field of exactly `n` bytes: the given bytes (zero-padded or cut) or zeros. */
export function writeReserved(w: Writer, n: number, value: Uint8Array | undefined): void {
  const out = new Uint8Array(n);
  if (value) out.set(value.subarray(0, n));
  w.bytes(out);
}

/**
 * Throws (an invariant Error, not a DecodeError: encoders only see values we built) when `n`
 * does not fit a `bits`-wide unsigned field.
 */
export function checkFits(n: number, bits: 8 | 16 | 32, what: string): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`${what} ${n} does not fit in ${bits} bits`);
  }
}
