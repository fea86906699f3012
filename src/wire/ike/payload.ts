/**
 * Generic payload header (RFC 7296 section 3.2) and dispatch to the per-payload codecs.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Payload Length includes this 4-byte header. The C (critical) bit is kept as received. The 7
 * RESERVED bits are ignored on receipt and sent as zero (so a message with them set does not
 * re-encode byte for byte; no implementation we know sets them). Payload types this codec
 * does not know decode as `{ type: "unknown", payloadType, critical, body }` and re-encode
 * unchanged; whether an unknown critical payload is fatal is decided by rules.ts (s2.5).
 */
import type { Reader } from "../reader.js";
import type { Writer } from "../writer.js";
import { PayloadType, payloadTypeName } from "./constants.js";
import type { Payload } from "./types.js";
import { decodeAuth, encodeAuth } from "./payloads/auth.js";
import { decodeCert, encodeCert } from "./payloads/cert.js";
import { decodeCertreq, encodeCertreq } from "./payloads/certreq.js";
import { decodeCp, encodeCp } from "./payloads/cp.js";
import { decodeDelete, encodeDelete } from "./payloads/delete.js";
import { decodeEap, encodeEap } from "./payloads/eap.js";
import { decodeId, encodeId } from "./payloads/id.js";
import { decodeKe, encodeKe } from "./payloads/ke.js";
import { decodeNonce, encodeNonce } from "./payloads/nonce.js";
import { decodeNotify, encodeNotify } from "./payloads/notify.js";
import { decodeSa, encodeSa } from "./payloads/sa.js";
import { decodeSk, encodeSk } from "./payloads/sk.js";
import { decodeSkf, encodeSkf } from "./payloads/skf.js";
import { decodeTs, encodeTs } from "./payloads/traffic-selector.js";
import { decodeVendorId, encodeVendorId } from "./payloads/vendor-id.js";

/** Size of the generic payload header in bytes. */
export const GENERIC_HEADER_LENGTH = 4;

/** The C bit in the second octet of the generic header. */
export const CRITICAL_BIT = 0x80;

/** The payload types this codec decodes into typed values (everything else is "unknown"). */
export const KNOWN_PAYLOAD_TYPES: ReadonlySet<number> = new Set([33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 53]);

/** The wire Payload Type number of a payload value. */
export function payloadTypeOf(p: Payload): number {
  return p.type === "unknown" ? p.payloadType : p.type;
}

/**
 * Decodes one payload body (the bytes after the generic header).
 * `nextPayload` is the header's Next Payload field: for SK and SKF it is the first inner type.
 * @throws DecodeError
 */
export function decodePayloadBody(payloadType: number, nextPayload: number, critical: boolean, body: Reader): Payload {
  let p: Payload;
  switch (payloadType) {
    case PayloadType.SA: p = decodeSa(body, critical); break;
    case PayloadType.KE: p = decodeKe(body, critical); break;
    case PayloadType.IDi: p = decodeId(body, critical, 35); break;
    case PayloadType.IDr: p = decodeId(body, critical, 36); break;
    case PayloadType.CERT: p = decodeCert(body, critical); break;
    case PayloadType.CERTREQ: p = decodeCertreq(body, critical); break;
    case PayloadType.AUTH: p = decodeAuth(body, critical); break;
    case PayloadType.NONCE: p = decodeNonce(body, critical); break;
    case PayloadType.NOTIFY: p = decodeNotify(body, critical); break;
    case PayloadType.DELETE: p = decodeDelete(body, critical); break;
    case PayloadType.VENDOR_ID: p = decodeVendorId(body, critical); break;
    case PayloadType.TSi: p = decodeTs(body, critical, 44); break;
    case PayloadType.TSr: p = decodeTs(body, critical, 45); break;
    case PayloadType.SK: p = decodeSk(body, critical, nextPayload); break;
    case PayloadType.CP: p = decodeCp(body, critical); break;
    case PayloadType.EAP: p = decodeEap(body, critical); break;
    case PayloadType.SKF: p = decodeSkf(body, critical, nextPayload); break;
    default: p = { type: "unknown", payloadType, critical, body: body.rest() };
  }
  // The name is built only for the error: this runs for every payload of every message.
  if (body.remaining !== 0) body.end(payloadTypeName(payloadType));
  return p;
}

/** Appends a payload's body (no generic header) to `w`. @throws RangeError on values that cannot be encoded. */
export function encodePayloadBody(w: Writer, p: Payload): void {
  switch (p.type) {
    case 33: return encodeSa(w, p);
    case 34: return encodeKe(w, p);
    case 35: case 36: return encodeId(w, p);
    case 37: return encodeCert(w, p);
    case 38: return encodeCertreq(w, p);
    case 39: return encodeAuth(w, p);
    case 40: return encodeNonce(w, p);
    case 41: return encodeNotify(w, p);
    case 42: return encodeDelete(w, p);
    case 43: return encodeVendorId(w, p);
    case 44: case 45: return encodeTs(w, p);
    case 46: return encodeSk(w, p);
    case 47: return encodeCp(w, p);
    case 48: return encodeEap(w, p);
    case 53: return encodeSkf(w, p);
    case "unknown": {
      if (KNOWN_PAYLOAD_TYPES.has(p.payloadType)) {
        throw new RangeError(`unknown payload carries known type ${p.payloadType}`);
      }
      w.bytes(p.body);
      return;
    }
  }
}

/**
 * Appends a whole payload (generic header + body) to `w`, with the given Next Payload value.
 * @throws RangeError when the payload exceeds 65535 bytes.
 */
export function encodePayload(w: Writer, p: Payload, nextPayload: number): void {
  const start = w.length;
  w.u8(nextPayload).u8(p.critical ? CRITICAL_BIT : 0).u16(0);
  encodePayloadBody(w, p);
  const len = w.length - start;
  if (len > 0xffff) throw new RangeError(`payload of ${len} bytes exceeds the 16-bit length`);
  w.patchU16(start + 2, len);
}
