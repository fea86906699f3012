/**
 * Traffic Selector payloads TSi and TSr (RFC 7296 section 3.13).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Number of TSs |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       <Traffic Selectors>                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Traffic selector (s3.13.1):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Start Port*         |           End Port*           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Starting Address*                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Ending Address*                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * (* fields as defined for TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE.)
 *
 * TS_IPV4_ADDR_RANGE selectors are exactly 16 bytes long and TS_IPV6_ADDR_RANGE ones 40.
 * Selectors of any other type keep their layout unknown: `ipProtocol` is octet 1, ports are
 * 0, `startAddress` holds everything after the 4-byte type/length header and `endAddress` is
 * empty, so they re-encode byte for byte. Number of TSs must match the selectors present.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import { TsType } from "../constants.js";
import type { PayloadOf, TrafficSelector } from "../types.js";
import { checkFits, readReserved, writeReserved } from "./common.js";

const V4_LENGTH = 16;
const V6_LENGTH = 40;

/** @throws DecodeError on a selector length that does not fit its type, or a count mismatch. */
export function decodeTs(r: Reader, critical: boolean, type: 44 | 45): PayloadOf<44 | 45> {
  const name = type === 44 ? "TSi" : "TSr";
  const countAt = r.offset;
  const count = r.u8(`${name}.numTs`);
  const reserved = readReserved(r, 3, `${name}.reserved`);
  const selectors: TrafficSelector[] = [];
  for (let i = 0; r.remaining > 0; i++) {
    const field = `${name}.selector[${i}]`;
    if (i >= count) throw r.error(`${name}.numTs`, `says ${count} but more selectors follow`, countAt);
    selectors.push(decodeSelector(r, field));
  }
  if (selectors.length !== count) {
    throw r.error(`${name}.numTs`, `says ${count}, found ${selectors.length}`, countAt);
  }
  return { type, critical, selectors, reserved };
}

function decodeSelector(r: Reader, field: string): TrafficSelector {
  const start = r.offset;
  const tsType = r.u8(`${field}.type`);
  const ipProtocol = r.u8(`${field}.ipProtocol`);
  const length = r.u16(`${field}.length`);
  const expected = tsType === TsType.TS_IPV4_ADDR_RANGE ? V4_LENGTH : tsType === TsType.TS_IPV6_ADDR_RANGE ? V6_LENGTH : undefined;
  if (expected !== undefined && length !== expected) {
    throw r.error(`${field}.length`, `${length} is not ${expected} for TS type ${tsType}`, start + 2);
  }
  if (length < 4) throw r.error(`${field}.length`, `${length} is less than 4`, start + 2);
  const body = r.sub(length - 4, `${field}.length`);
  if (expected === undefined) {
    return { type: tsType, ipProtocol, startPort: 0, endPort: 0, startAddress: body.rest(), endAddress: new Uint8Array(0) };
  }
  const addrLen = (expected - 8) / 2;
  const startPort = body.u16(`${field}.startPort`);
  const endPort = body.u16(`${field}.endPort`);
  const startAddress = body.bytes(addrLen, `${field}.startAddress`);
  const endAddress = body.bytes(addrLen, `${field}.endAddress`);
  return { type: tsType, ipProtocol, startPort, endPort, startAddress, endAddress };
}

/** @throws RangeError when an IPv4/IPv6 selector's addresses are not 4/16 bytes (a local bug). */
export function encodeTs(w: Writer, p: PayloadOf<44 | 45>): void {
  checkFits(p.selectors.length, 8, "Number of TSs");
  w.u8(p.selectors.length);
  writeReserved(w, 3, p.reserved);
  for (const s of p.selectors) encodeSelector(w, s);
}

/** Writes one traffic selector substructure. */
export function encodeSelector(w: Writer, s: TrafficSelector): void {
  if (s.type === TsType.TS_IPV4_ADDR_RANGE || s.type === TsType.TS_IPV6_ADDR_RANGE) {
    const addrLen = s.type === TsType.TS_IPV4_ADDR_RANGE ? 4 : 16;
    if (s.startAddress.length !== addrLen || s.endAddress.length !== addrLen) {
      throw new RangeError(`TS type ${s.type} needs ${addrLen}-byte addresses`);
    }
    w.u8(s.type).u8(s.ipProtocol).u16(8 + 2 * addrLen).u16(s.startPort).u16(s.endPort).bytes(s.startAddress).bytes(s.endAddress);
    return;
  }
  const len = 4 + s.startAddress.length + s.endAddress.length;
  checkFits(len, 16, "selector length");
  w.u8(s.type).u8(s.ipProtocol).u16(len).bytes(s.startAddress).bytes(s.endAddress);
}
