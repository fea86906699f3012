/**
 * Configuration payload CP (RFC 7296 section 3.15).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C| RESERVED    |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   CFG Type    |                    RESERVED                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                   Configuration Attributes                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Configuration attribute (s3.15.1):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|         Attribute Type      |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                             Value                             ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The R bit is reserved (ignored on receipt, sent as 0). Attribute values are bytes; their
 * per-type sizes (4 for INTERNAL_IP4_ADDRESS, 17 for INTERNAL_IP6_ADDRESS, or 0 in a
 * request) are the engine's to check.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { CfgAttributeValue, PayloadOf } from "../types.js";
import { checkFits, readReserved, writeReserved } from "./common.js";

export function decodeCp(r: Reader, critical: boolean): PayloadOf<47> {
  const cfgType = r.u8("CP.cfgType");
  const reserved = readReserved(r, 3, "CP.reserved");
  const attributes: CfgAttributeValue[] = [];
  for (let i = 0; r.remaining > 0; i++) {
    const field = `CP.attribute[${i}]`;
    const type = r.u16(`${field}.type`) & 0x7fff;
    const len = r.u16(`${field}.length`);
    attributes.push({ type, value: r.bytes(len, `${field}.value`) });
  }
  return { type: 47, critical, cfgType, reserved, attributes };
}

export function encodeCp(w: Writer, p: PayloadOf<47>): void {
  w.u8(p.cfgType);
  writeReserved(w, 3, p.reserved);
  for (const a of p.attributes) {
    checkFits(a.value.length, 16, "CP attribute length");
    w.u16(a.type & 0x7fff).u16(a.value.length).bytes(a.value);
  }
}
