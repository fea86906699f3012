import { DecodeError } from "./errors.js";

/**
 * Bounds-checked big-endian reader over a byte range.
 *
 * Every read checks the remaining length first and throws {@link DecodeError} naming the field
 * and its absolute offset (`base + position`), so decoders never index past the end of a buffer.
 * `sub(len, field)` carves a child reader for an enclosed structure (a payload inside a message,
 * a transform inside a proposal) so lengths are checked against the enclosing structure.
 */
export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    /** Absolute offset of `buf[0]` in the outermost message, for error reports. */
    readonly base = 0,
  ) {}

  /** Absolute offset of the next byte to read. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Position relative to this reader's start. */
  get position(): number {
    return this.pos;
  }

  private need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new DecodeError(field, this.offset, `needs ${n} byte(s), ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    const v = (((b[p] as number) << 24) >>> 0) + ((b[p + 1] as number) << 16) + ((b[p + 2] as number) << 8) + (b[p + 3] as number);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    const hi = this.u32(field);
    const lo = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Next `n` bytes as a copy (decoded values never alias the input buffer). */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Everything left, as a copy. */
  rest(): Uint8Array {
    const out = this.buf.slice(this.pos);
    this.pos = this.buf.length;
    return out;
  }

  /** A child reader over the next `n` bytes; this reader skips past them. */
  sub(n: number, field: string): Reader {
    this.need(n, field);
    const r = new Reader(this.buf.subarray(this.pos, this.pos + n), this.offset);
    this.pos += n;
    return r;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /** Throws unless every byte was consumed (trailing bytes are an error). */
  end(field: string): void {
    if (this.remaining !== 0) {
      throw new DecodeError(field, this.offset, `${this.remaining} unexpected trailing byte(s)`);
    }
  }

  /** A DecodeError at the current offset, for value checks by the caller. */
  error(field: string, reason: string, at = this.offset): DecodeError {
    return new DecodeError(field, at, reason);
  }
}
