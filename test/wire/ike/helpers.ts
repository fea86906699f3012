/** Test helpers: build a single payload on the wire from RFC-diagram hex, decode it, expect errors. */
import { expect } from "vitest";
import { DecodeError } from "../../../src/wire/errors.js";
import { fromHex } from "../../../src/wire/hex.js";
import { decodePayloadChain, encodePayloadChain } from "../../../src/wire/ike/message.js";
import type { Payload } from "../../../src/wire/ike/types.js";

/** Generic payload header (next payload, C bit, length) + body given as hex. */
export function wirePayload(bodyHex: string, opts: { next?: number; critical?: boolean } = {}): Uint8Array {
  const body = fromHex(bodyHex);
  const out = new Uint8Array(4 + body.length);
  out[0] = opts.next ?? 0;
  out[1] = opts.critical ? 0x80 : 0;
  out[2] = (out.length >>> 8) & 0xff;
  out[3] = out.length & 0xff;
  out.set(body, 4);
  return out;
}

/** Decodes one payload of `type` from body hex; checks it re-encodes byte for byte. */
export function decodeOne(type: number, bodyHex: string, opts: { next?: number; critical?: boolean } = {}): Payload {
  const wire = wirePayload(bodyHex, opts);
  const ps = decodePayloadChain(type, wire);
  expect(ps).toHaveLength(1);
  const again = encodePayloadChain(ps);
  expect(again.firstType).toBe(type);
  expect(again.bytes).toEqual(wire);
  return ps[0] as Payload;
}

/** Asserts that decoding throws a DecodeError whose field contains `field`; returns it. */
export function expectDecodeError(f: () => unknown, field: string): DecodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).field).toContain(field);
    return e as DecodeError;
  }
  throw new Error(`expected a DecodeError on ${field}`);
}

/** Decoding a one-payload chain built from body hex. */
export const decodeBody = (type: number, bodyHex: string): Payload[] => decodePayloadChain(type, wirePayload(bodyHex));
