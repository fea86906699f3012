/**
 * IKE header (RFC 7296 section 3.1).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { DecodeError } from "../errors.js";
import { Reader } from "../reader.js";
import { Writer } from "../writer.js";
import { HeaderFlag } from "./constants.js";
import type { IkeHeader } from "./types.js";

/** Size of the fixed IKE header in bytes. */
export const IKE_HEADER_LENGTH = 28;

/** Major version 2 in the high nibble of the version octet (RFC 7296 s3.1). */
export const IKEV2_MAJOR_VERSION = 2;

/**
 * Decodes the 28-byte IKE header at the start of `bytes`.
 *
 * Does not compare `length` with `bytes.length` (a UDP datagram may be checked by the caller,
 * see decodeMessage) and does not reject other major versions: callers answer those with
 * INVALID_MAJOR_VERSION (RFC 7296 s2.5) or use {@link isIkev2}.
 * @throws DecodeError when fewer than 28 bytes are given.
 */
export function decodeHeader(bytes: Uint8Array): IkeHeader {
  if (bytes.length < IKE_HEADER_LENGTH) {
    throw new DecodeError("header", 0, `needs ${IKE_HEADER_LENGTH} bytes, got ${bytes.length}`);
  }
  const r = new Reader(bytes.subarray(0, IKE_HEADER_LENGTH));
  return {
    spiI: r.u64("header.spiI"),
    spiR: r.u64("header.spiR"),
    nextPayload: r.u8("header.nextPayload"),
    version: r.u8("header.version"),
    exchangeType: r.u8("header.exchangeType"),
    flags: r.u8("header.flags"),
    messageId: r.u32("header.messageId"),
    length: r.u32("header.length"),
  };
}

/** Encodes the 28-byte IKE header exactly as given (no field is recomputed here). */
export function encodeHeader(h: IkeHeader): Uint8Array {
  const w = new Writer(IKE_HEADER_LENGTH);
  writeHeader(w, h);
  return w.finish();
}

/** Appends the header to `w` (used by encodeMessage, which patches the length afterwards). */
export function writeHeader(w: Writer, h: IkeHeader): void {
  w.u64(BigInt.asUintN(64, h.spiI))
    .u64(BigInt.asUintN(64, h.spiR))
    .u8(h.nextPayload)
    .u8(h.version)
    .u8(h.exchangeType)
    .u8(h.flags)
    .u32(h.messageId >>> 0)
    .u32(h.length >>> 0);
}

/** Major version (high nibble of the version octet). */
export function majorVersion(h: Pick<IkeHeader, "version">): number {
  return h.version >>> 4;
}

/**
 * True when the bytes start with an IKE header whose major version is 2. IKEv1/ISAKMP
 * (version 0x10) and anything shorter than a header are false.
 */
export function isIkev2(bytes: Uint8Array): boolean {
  return bytes.length >= IKE_HEADER_LENGTH && (bytes[17] as number) >>> 4 === IKEV2_MAJOR_VERSION;
}

/** R flag: this message is a response (RFC 7296 s3.1). */
export function isResponse(h: Pick<IkeHeader, "flags">): boolean {
  return (h.flags & HeaderFlag.RESPONSE) !== 0;
}

/** I flag: the message was sent by the original initiator of the IKE SA. */
export function isFromInitiator(h: Pick<IkeHeader, "flags">): boolean {
  return (h.flags & HeaderFlag.INITIATOR) !== 0;
}
