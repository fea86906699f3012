/**
 * Notify payload (RFC 7296 section 3.10).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The notification data is kept as bytes; its meaning depends on the type (COOKIE, NAT
 * detection hashes, REKEY_SA with an SPI, ...), which the engine interprets.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";
import { checkFits } from "./common.js";

export function decodeNotify(r: Reader, critical: boolean): PayloadOf<41> {
  const protocol = r.u8("N.protocol");
  const spiSize = r.u8("N.spiSize");
  const notifyType = r.u16("N.notifyType");
  const spi = r.bytes(spiSize, "N.spi");
  return { type: 41, critical, protocol, notifyType, spi, data: r.rest() };
}

export function encodeNotify(w: Writer, p: PayloadOf<41>): void {
  checkFits(p.spi.length, 8, "N SPI size");
  w.u8(p.protocol).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data);
}
