/**
 * Delete payload (RFC 7296 section 3.11).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~               Security Parameter Index(es) (SPI)              ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The SPI list must be exactly Num of SPIs x SPI Size bytes. (Deleting the IKE SA uses
 * protocol 1 with SPI size 0 and no SPIs; the value checks belong to the engine.)
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf } from "../types.js";
import { checkFits } from "./common.js";

/** @throws DecodeError when the SPI bytes do not equal Num of SPIs x SPI Size. */
export function decodeDelete(r: Reader, critical: boolean): PayloadOf<42> {
  const protocol = r.u8("D.protocol");
  const spiSize = r.u8("D.spiSize");
  const at = r.offset;
  const num = r.u16("D.numSpis");
  if (num * spiSize !== r.remaining) {
    throw r.error("D.numSpis", `${num} SPI(s) of ${spiSize} byte(s) but ${r.remaining} byte(s) follow`, at);
  }
  const spis: Uint8Array[] = [];
  // With SPI size 0 the count is all we have; keep that many empty SPIs so it round-trips.
  for (let i = 0; i < num; i++) spis.push(r.bytes(spiSize, `D.spi[${i}]`));
  return { type: 42, critical, protocol, spiSize, spis };
}

/** @throws RangeError when an SPI's length differs from spiSize (a local bug). */
export function encodeDelete(w: Writer, p: PayloadOf<42>): void {
  checkFits(p.spiSize, 8, "D SPI size");
  checkFits(p.spis.length, 16, "D Num of SPIs");
  w.u8(p.protocol).u8(p.spiSize).u16(p.spis.length);
  for (const spi of p.spis) {
    if (spi.length !== p.spiSize) throw new RangeError(`Delete SPI of ${spi.length} bytes, SPI size ${p.spiSize}`);
    w.bytes(spi);
  }
}
