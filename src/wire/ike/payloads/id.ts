/**
 * Identification payloads IDi and IDr (RFC 7296 section 3.5).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   ID Type     |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                   Identification Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The 3 RESERVED octets are kept: AUTH is computed over this body (RestOfInitIDPayload,
 * s2.15), so they must round-trip exactly.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";
import { readReserved, writeReserved } from "./common.js";

export function decodeId(r: Reader, critical: boolean, type: 35 | 36): PayloadOf<35 | 36> {
  const name = type === 35 ? "IDi" : "IDr";
  const idType = r.u8(`${name}.idType`);
  const reserved = readReserved(r, 3, `${name}.reserved`);
  return { type, critical, idType, reserved, data: r.rest() };
}

export function encodeId(w: Writer, p: PayloadOf<35 | 36>): void {
  w.u8(p.idType);
  writeReserved(w, 3, p.reserved);
  w.bytes(p.data);
}

/**
 * The bytes AUTH signs for an ID payload: the body after the generic header (RFC 7296 s2.15,
 * "RestOfInitIDPayload" / "RestOfRespIDPayload").
 */
export function idPayloadBody(p: PayloadOf<35 | 36>): Uint8Array {
  const out = new Uint8Array(4 + p.data.length);
  out[0] = p.idType & 0xff;
  out.set(p.reserved.subarray(0, 3), 1);
  out.set(p.data, 4);
  return out;
}
