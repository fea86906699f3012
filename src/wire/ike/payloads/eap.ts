/**
 * Extensible Authentication (EAP) payload (RFC 7296 section 3.16).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       EAP Message                             ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The EAP message (Code, Identifier, Length, Type, Data; RFC 3748) is kept whole, as bytes.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export function decodeEap(r: Reader, critical: boolean): PayloadOf<48> {
  return { type: 48, critical, data: r.rest() };
}

export function encodeEap(w: Writer, p: PayloadOf<48>): void {
  w.bytes(p.data);
}
