/**
 * Key Exchange payload (RFC 7296 section 3.4).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Diffie-Hellman Group Num    |           RESERVED            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Key Exchange Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The key exchange data length is checked against the group by the crypto layer (it knows
 * the groups); here it is only bytes.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export function decodeKe(r: Reader, critical: boolean): PayloadOf<34> {
  const group = r.u16("KE.group");
  const reserved = r.u16("KE.reserved");
  return { type: 34, critical, group, reserved, keyData: r.rest() };
}

export function encodeKe(w: Writer, p: PayloadOf<34>): void {
  w.u16(p.group).u16(p.reserved).bytes(p.keyData);
}
