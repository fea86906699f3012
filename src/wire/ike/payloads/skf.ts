/**
 * Encrypted and Authenticated Fragment payload SKF (RFC 7383 section 2.5).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Fragment Number        |        Total Fragments        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Encrypted content                        ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Fragment Number starts at 1 and Total Fragments is at least the Fragment Number; a
 * fragment breaking that is malformed ("MUST be discarded", s2.6), a DecodeError here. Next
 * Payload is the first inner payload type in fragment 1 and 0 in the others (`firstInner`).
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

/** @throws DecodeError when Fragment Number is 0 or exceeds Total Fragments. */
export function decodeSkf(r: Reader, critical: boolean, firstInner: number): PayloadOf<53> {
  const at = r.offset;
  const fragmentNumber = r.u16("SKF.fragmentNumber");
  const totalFragments = r.u16("SKF.totalFragments");
  if (fragmentNumber < 1) throw r.error("SKF.fragmentNumber", "must be at least 1", at);
  if (totalFragments < fragmentNumber) {
    throw r.error("SKF.totalFragments", `${totalFragments} is less than fragment number ${fragmentNumber}`, at + 2);
  }
  return { type: 53, critical, firstInner, fragmentNumber, totalFragments, encrypted: r.rest() };
}

/** @throws RangeError when the numbers break RFC 7383 s2.5 (a local bug). */
export function encodeSkf(w: Writer, p: PayloadOf<53>): void {
  if (p.fragmentNumber < 1 || p.totalFragments < p.fragmentNumber || p.totalFragments > 0xffff) {
    throw new RangeError(`SKF fragment ${p.fragmentNumber}/${p.totalFragments}`);
  }
  w.u16(p.fragmentNumber).u16(p.totalFragments).bytes(p.encrypted);
}
