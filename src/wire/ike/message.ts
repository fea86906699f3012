/**
 * A whole IKEv2 message: the header (RFC 7296 s3.1) and its chain of payloads (s3.2), each
 * payload's Next Payload field naming the type of the one after it.
 *
 * Theory of operation: the chain is walked from the header's Next Payload; each generic
 * header gives the body length, and the body is decoded by payload.ts with a reader bounded
 * to it. SK (s3.14) and SKF (RFC 7383 s2.5) are opaque here and end the clear chain: their
 * Next Payload names the first payload *inside* the ciphertext, so nothing may follow them.
 * After the engine decrypts SK it calls {@link decodePayloadChain} on the plaintext.
 *
 * Encoding recomputes every Next Payload from the order of `payloads` (SK/SKF write their
 * `firstInner`), every length, and the header's nextPayload and length; values in the input
 * for those fields are ignored.
 */
import { DecodeError } from "../errors.js";
import { Reader } from "../reader.js";
import { Writer } from "../writer.js";
import { PayloadType } from "./constants.js";
import { decodeHeader, IKE_HEADER_LENGTH, IKEV2_MAJOR_VERSION, majorVersion, writeHeader } from "./header.js";
import { decodePayloadBody, encodePayload, GENERIC_HEADER_LENGTH, payloadTypeOf } from "./payload.js";
import type { IkeMessage, Payload } from "./types.js";

export { describeMessage } from "./describe.js";

/**
 * Decodes an IKEv2 message (one UDP payload, non-ESP marker already removed).
 * @throws DecodeError when shorter than the header, when the major version is not 2 (IKEv1
 *   ISAKMP is 0x10), when header.length differs from bytes.length, on any malformed payload,
 *   when SK/SKF is not last, or on trailing bytes.
 */
export function decodeMessage(bytes: Uint8Array): IkeMessage {
  const header = decodeHeader(bytes);
  if (majorVersion(header) !== IKEV2_MAJOR_VERSION) {
    throw new DecodeError("header.version", 17, `major version ${majorVersion(header)} is not IKEv2`);
  }
  if (header.length !== bytes.length) {
    throw new DecodeError("header.length", 24, `says ${header.length} bytes, message has ${bytes.length}`);
  }
  const payloads = decodePayloadChain(header.nextPayload, bytes.subarray(IKE_HEADER_LENGTH), IKE_HEADER_LENGTH);
  return { header, payloads };
}

/**
 * Encodes a message, recomputing header.nextPayload, header.length, every Next Payload
 * and every length field.
 * @throws RangeError when a value cannot be encoded (a local bug, e.g. SK not last).
 */
export function encodeMessage(msg: IkeMessage): Uint8Array {
  const w = new Writer(512);
  const first = msg.payloads[0];
  writeHeader(w, { ...msg.header, nextPayload: first ? payloadTypeOf(first) : PayloadType.NONE, length: 0 });
  writeChain(w, msg.payloads);
  w.patchU32(24, w.length);
  return w.finish();
}

/**
 * Decodes a payload chain that starts with a payload of type `firstType` and fills `bytes`
 * exactly (e.g. the decrypted content of SK, padding removed). `baseOffset` is added to
 * offsets in errors, so they point into the enclosing message.
 * @throws DecodeError
 */
export function decodePayloadChain(firstType: number, bytes: Uint8Array, baseOffset = 0): Payload[] {
  const r = new Reader(bytes, baseOffset);
  const payloads: Payload[] = [];
  let type = firstType;
  while (type !== PayloadType.NONE) {
    const i = payloads.length;
    const field = `payload[${i}]`;
    const start = r.offset;
    const next = r.u8(`${field}.nextPayload`);
    const critical = (r.u8(`${field}.flags`) & 0x80) !== 0;
    const length = r.u16(`${field}.length`);
    if (length < GENERIC_HEADER_LENGTH) {
      throw new DecodeError(`${field}.length`, start + 2, `${length} is less than the 4-byte header`);
    }
    const body = r.sub(length - GENERIC_HEADER_LENGTH, `${field}.length`);
    payloads.push(decodePayloadBody(type, next, critical, body));
    if (type === PayloadType.SK || type === PayloadType.SKF) {
      if (r.remaining !== 0) {
        throw new DecodeError(`${field}`, r.offset, `${r.remaining} byte(s) after ${type === PayloadType.SK ? "SK" : "SKF"}, which must be last`);
      }
      break;
    }
    type = next;
  }
  r.end("payload chain");
  return payloads;
}

/**
 * Encodes a payload chain; `firstType` is what the enclosing header (or SK's Next Payload)
 * must carry (0 for an empty chain).
 * @throws RangeError when a value cannot be encoded.
 */
export function encodePayloadChain(payloads: Payload[]): { firstType: number; bytes: Uint8Array } {
  const w = new Writer(256);
  writeChain(w, payloads);
  const first = payloads[0];
  return { firstType: first ? payloadTypeOf(first) : PayloadType.NONE, bytes: w.finish() };
}

function writeChain(w: Writer, payloads: readonly Payload[]): void {
  payloads.forEach((p, i) => {
    const after = payloads[i + 1];
    let next: number;
    if (p.type === 46 || p.type === 53) {
      if (after) throw new RangeError(`${p.type === 46 ? "SK" : "SKF"} must be the last payload`);
      next = p.firstInner;
    } else {
      next = after ? payloadTypeOf(after) : PayloadType.NONE;
    }
    encodePayload(w, p, next);
  });
}
