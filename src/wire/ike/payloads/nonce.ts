/**
 * Nonce payload Ni/Nr (RFC 7296 section 3.9).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                            Nonce Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive." Parse, don't
 * validate (design.md rule 2): a decoded nonce already satisfies this.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 256;

/** @throws DecodeError when the nonce is shorter than 16 or longer than 256 bytes. */
export function decodeNonce(r: Reader, critical: boolean): PayloadOf<40> {
  const n = r.remaining;
  if (n < NONCE_MIN_LENGTH || n > NONCE_MAX_LENGTH) {
    throw r.error("Nonce.data", `${n} bytes is outside 16..256 (RFC 7296 s3.9)`);
  }
  return { type: 40, critical, nonce: r.rest() };
}

/** @throws RangeError when asked to send a nonce outside 16..256 bytes (a local bug). */
export function encodeNonce(w: Writer, p: PayloadOf<40>): void {
  const n = p.nonce.length;
  if (n < NONCE_MIN_LENGTH || n > NONCE_MAX_LENGTH) throw new RangeError(`nonce of ${n} bytes`);
  w.bytes(p.nonce);
}
