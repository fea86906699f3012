import { DecodeError } from "./errors.js";

/**
 * ESP packet format (RFC 4303 section 2).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Security Parameters Index (SPI)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Sequence Number                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Payload Data* (variable)                   |   (IV first)
 * ~                                                               ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |     Padding (0-255 bytes)                     |
 * +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  Pad Length   | Next Header   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Integrity Check Value-ICV   (variable)                |
 * ~                                                               ~
 * ```
 *
 * These are the byte-level pieces only; sequencing, crypto and policy live in `ipsec/esp.ts`.
 * Functions that write take an output buffer and an offset so the data plane can build a packet in
 * one preallocated buffer.
 */

/** SPI (4 bytes) + Sequence Number (4 bytes). */
export const ESP_HEADER_LENGTH = 8;
/** Pad Length (1 byte) + Next Header (1 byte). */
export const ESP_TRAILER_LENGTH = 2;
/** Next header value of a dummy packet (RFC 4303 s2.6: "no next header", dropped silently). */
export const ESP_NEXT_HEADER_DUMMY = 59;

export interface EspHeader {
  /** 32-bit SPI as an unsigned number. */
  readonly spi: number;
  /** Low 32 bits of the sequence number (the only part on the wire, RFC 4303 s2.2). */
  readonly seq: number;
}

/** Reads SPI and Sequence Number. Throws DecodeError when fewer than 8 bytes are given. */
export function decodeEspHeader(packet: Uint8Array): EspHeader {
  if (packet.length < ESP_HEADER_LENGTH) {
    throw new DecodeError("ESP.header", 0, `needs 8 bytes, got ${packet.length}`);
  }
  return { spi: readU32(packet, 0), seq: readU32(packet, 4) };
}

/** Writes SPI and the low 32 bits of the sequence number at `offset`. */
export function encodeEspHeader(out: Uint8Array, offset: number, spi: number, seqLow: number): void {
  writeU32(out, offset, spi);
  writeU32(out, offset + 4, seqLow);
}

/**
 * Number of padding bytes so that payload + padding + 2 is a multiple of `max(blockSize, 4)`
 * (RFC 4303 s2.4: 4-byte alignment of the trailer and the cipher's block size).
 */
export function espPadLength(payloadLength: number, blockSize: number): number {
  const align = blockSize > 4 ? blockSize : 4;
  const rem = (payloadLength + ESP_TRAILER_LENGTH) % align;
  return rem === 0 ? 0 : align - rem;
}

/**
 * Writes the default padding 1, 2, 3, ... (RFC 4303 s2.4), Pad Length and Next Header at `offset`.
 * Returns the offset after the trailer.
 */
export function encodeEspTrailer(out: Uint8Array, offset: number, padLength: number, nextHeader: number): number {
  let o = offset;
  for (let i = 1; i <= padLength; i++) out[o++] = i;
  out[o++] = padLength;
  out[o++] = nextHeader;
  return o;
}

export interface EspTrailer {
  /** Length of the Payload Data (incl. any TFC padding) before the padding, in bytes. */
  readonly payloadLength: number;
  readonly padLength: number;
  readonly nextHeader: number;
}

/**
 * Reads Pad Length and Next Header from the end of a decrypted ESP payload (`plaintext` is
 * Payload Data || Padding || Pad Length || Next Header, without IV and ICV).
 * Throws DecodeError when the plaintext is shorter than 2 bytes or the pad length exceeds it.
 * `base` is the absolute offset of `plaintext[0]` in the ESP packet, for the error report.
 */
export function decodeEspTrailer(plaintext: Uint8Array, base = 0): EspTrailer {
  const n = plaintext.length;
  if (n < ESP_TRAILER_LENGTH) {
    throw new DecodeError("ESP.trailer", base, `needs 2 bytes, got ${n}`);
  }
  const padLength = plaintext[n - 2] as number;
  const nextHeader = plaintext[n - 1] as number;
  if (padLength + ESP_TRAILER_LENGTH > n) {
    throw new DecodeError("ESP.padLength", base + n - 2, `pad length ${padLength} exceeds the ${n}-byte payload`);
  }
  return { payloadLength: n - ESP_TRAILER_LENGTH - padLength, padLength, nextHeader };
}

/**
 * True when the padding bytes are 1, 2, 3, ... (RFC 4303 s2.4: the receiver SHOULD check them when
 * the default padding scheme is used). Constant work per byte, no early exit on the data itself.
 */
export function espPaddingValid(plaintext: Uint8Array, trailer: EspTrailer): boolean {
  let diff = 0;
  const start = trailer.payloadLength;
  for (let i = 0; i < trailer.padLength; i++) diff |= (plaintext[start + i] as number) ^ ((i + 1) & 0xff);
  return diff === 0;
}

/** Big-endian u32 read without bounds checks (callers check lengths first). */
export function readU32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number);
}

/** Big-endian u32 write without bounds checks. */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
