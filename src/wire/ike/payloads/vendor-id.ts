/**
 * Vendor ID payload (RFC 7296 section 3.12).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        Vendor ID (VID)                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export function decodeVendorId(r: Reader, critical: boolean): PayloadOf<43> {
  return { type: 43, critical, data: r.rest() };
}

export function encodeVendorId(w: Writer, p: PayloadOf<43>): void {
  w.bytes(p.data);
}
