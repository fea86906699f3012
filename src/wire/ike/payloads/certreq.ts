/**
 * Certificate Request payload (RFC 7296 section 3.7).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                    Certification Authority                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * For X.509 encodings the CA field is a concatenation of 20-byte SHA-1 key hashes; that
 * interpretation is left to the auth code (see {@link certreqKeyHashes}).
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";

export function decodeCertreq(r: Reader, critical: boolean): PayloadOf<38> {
  const encoding = r.u8("CERTREQ.encoding");
  return { type: 38, critical, encoding, data: r.rest() };
}

export function encodeCertreq(w: Writer, p: PayloadOf<38>): void {
  w.u8(p.encoding).bytes(p.data);
}

/** Splits the CA field into 20-byte SHA-1 public key hashes; a trailing partial hash is dropped. */
export function certreqKeyHashes(p: PayloadOf<38>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + 20 <= p.data.length; o += 20) out.push(p.data.slice(o, o + 20));
  return out;
}
