/**
 * Authentication payload (RFC 7296 section 3.8).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Auth Method   |                RESERVED                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Authentication Data                      ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";
import { readReserved, writeReserved } from "./common.js";

export function decodeAuth(r: Reader, critical: boolean): PayloadOf<39> {
  const method = r.u8("AUTH.method");
  const reserved = readReserved(r, 3, "AUTH.reserved");
  return { type: 39, critical, method, reserved, data: r.rest() };
}

export function encodeAuth(w: Writer, p: PayloadOf<39>): void {
  w.u8(p.method);
  writeReserved(w, 3, p.reserved);
  w.bytes(p.data);
}
