import { DecodeError } from "./errors.js";

/**
 * Authentication Header format (RFC 4302 section 2).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Header   |  Payload Len  |          RESERVED             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Security Parameters Index (SPI)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number Field                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Integrity Check Value-ICV (variable)           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Payload Len is the AH length in 32-bit words minus 2 (s2.2). The ICV field is padded so the AH
 * is a multiple of 32 bits over IPv4 and of 64 bits over IPv6 (s2.6).
 */

/** Next Header, Payload Len, Reserved, SPI, Sequence Number. */
export const AH_FIXED_LENGTH = 12;

export interface AhHeader {
  readonly nextHeader: number;
  /** Whole AH length in bytes ((Payload Len + 2) * 4). */
  readonly length: number;
  readonly spi: number;
  /** Low 32 bits of the sequence number. */
  readonly seq: number;
  /** ICV field length in bytes (incl. any alignment padding). */
  readonly icvFieldLength: number;
}

/**
 * Reads the AH at `offset` in `b`. Throws DecodeError when it is truncated, when Payload Len gives
 * less than the 12 fixed bytes, or when the header runs past the buffer.
 */
export function decodeAhHeader(b: Uint8Array, offset = 0): AhHeader {
  if (offset + AH_FIXED_LENGTH > b.length) throw new DecodeError("AH.header", offset, `needs 12 bytes, ${Math.max(0, b.length - offset)} left`);
  const length = ((b[offset + 1] as number) + 2) * 4;
  if (length < AH_FIXED_LENGTH) throw new DecodeError("AH.payloadLen", offset + 1, `length ${length} < 12`);
  if (offset + length > b.length) throw new DecodeError("AH.payloadLen", offset + 1, `length ${length} runs past the packet`);
  return {
    nextHeader: b[offset] as number,
    length,
    spi: u32(b, offset + 4),
    seq: u32(b, offset + 8),
    icvFieldLength: length - AH_FIXED_LENGTH,
  };
}

/** ICV field length for an `icvLength`-byte ICV: aligned to 4 (IPv4) or 8 (IPv6) bytes overall (s2.6). */
export function ahIcvFieldLength(icvLength: number, family: 4 | 6): number {
  const align = family === 4 ? 4 : 8;
  const total = AH_FIXED_LENGTH + icvLength;
  return total % align === 0 ? icvLength : icvLength + align - (total % align);
}

/** Writes an AH at `offset` with the ICV field (`icvFieldLength` bytes) zeroed. Returns the AH length. */
export function encodeAhHeader(out: Uint8Array, offset: number, nextHeader: number, icvFieldLength: number, spi: number, seqLow: number): number {
  const length = AH_FIXED_LENGTH + icvFieldLength;
  out[offset] = nextHeader;
  out[offset + 1] = length / 4 - 2;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  put32(out, offset + 4, spi);
  put32(out, offset + 8, seqLow);
  out.fill(0, offset + AH_FIXED_LENGTH, offset + length);
  return length;
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number);
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
