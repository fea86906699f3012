/**
 * Certificate payload (RFC 7296 section 3.6).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                       Certificate Data                        ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export function decodeCert(r: Reader, critical: boolean): PayloadOf<37> {
  const encoding = r.u8("CERT.encoding");
  return { type: 37, critical, encoding, data: r.rest() };
}

export function encodeCert(w: Writer, p: PayloadOf<37>): void {
  w.u8(p.encoding).bytes(p.data);
}
