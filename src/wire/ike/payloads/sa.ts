/**
 * Security Association payload (RFC 7296 section 3.3) with its proposal, transform and
 * attribute substructures.
 *
 * SA payload body: a list of proposals.
 *
 * Proposal substructure (s3.3.1):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        <Transforms>                           ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Last Substruc: 0 for the last proposal, 2 when more follow.
 *
 * Transform substructure (s3.3.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Transform Attributes                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Last Substruc: 0 for the last transform of a proposal, 3 when more follow.
 *
 * Data attribute (s3.3.5):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |A|       Attribute Type        |    AF=0  Attribute Length     |
 * |F|                             |    AF=1  Attribute Value      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   AF=0  Attribute Value                       |
 * |                   AF=1  Not Transmitted                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RESERVED octets are ignored on receipt and sent as zero. Proposal and transform lengths
 * must cover exactly their content; Num Transforms must match the transforms present.
 */
import type { Reader } from "../../reader.js";
import type { Writer } from "../../writer.js";
import type { PayloadOf, Proposal, Transform, TransformAttribute } from "../types.js";
import { checkFits } from "./common.js";

const LAST = 0;
const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;

/** Decodes an SA payload body. @throws DecodeError on bad markers, lengths or counts. */
export function decodeSa(r: Reader, critical: boolean): PayloadOf<33> {
  const proposals: Proposal[] = [];
  if (r.remaining === 0) throw r.error("SA", "no proposals");
  for (let i = 0; r.remaining > 0; i++) {
    proposals.push(decodeProposal(r, `SA.proposal[${i}]`));
  }
  return { type: 33, critical, proposals };
}

/**
 * The 4-byte header shared by proposal and transform substructures (RFC 7296 s3.3.1, s3.3.2):
 * "Last Substruc" (0 = last, `more` = another follows) checked against the bytes that follow,
 * reserved, length (>= 8). Returns a reader over the substructure's body.
 */
function decodeSubstructure(r: Reader, field: string, more: number, following: "bytes" | "transforms"): Reader {
  const start = r.offset;
  const last = r.u8(`${field}.lastSubstruc`);
  r.skip(1, `${field}.reserved`);
  const length = r.u16(`${field}.length`);
  if (length < 8) throw r.error(`${field}.length`, `${length} is less than 8`, start + 2);
  const body = r.sub(length - 4, `${field}.length`);
  if (last === LAST) {
    if (r.remaining !== 0) throw r.error(`${field}.lastSubstruc`, `0 (last) but more ${following} follow`, start);
  } else if (last === more) {
    if (r.remaining === 0) throw r.error(`${field}.lastSubstruc`, `${more} (more) but nothing follows`, start);
  } else {
    throw r.error(`${field}.lastSubstruc`, `${last} is neither 0 nor ${more}`, start);
  }
  return body;
}

function decodeProposal(r: Reader, field: string): Proposal {
  const body = decodeSubstructure(r, field, MORE_PROPOSALS, "bytes");
  const number = body.u8(`${field}.number`);
  const protocol = body.u8(`${field}.protocol`);
  const spiSize = body.u8(`${field}.spiSize`);
  const numTransforms = body.u8(`${field}.numTransforms`);
  const spi = body.bytes(spiSize, `${field}.spi`);
  const transforms: Transform[] = [];
  for (let i = 0; body.remaining > 0; i++) {
    if (i >= numTransforms) throw body.error(`${field}.numTransforms`, `says ${numTransforms} but more transforms follow`);
    transforms.push(decodeTransform(body, `${field}.transform[${i}]`));
  }
  if (transforms.length !== numTransforms) {
    throw body.error(`${field}.numTransforms`, `says ${numTransforms}, found ${transforms.length}`);
  }
  return { number, protocol, spi, transforms };
}

function decodeTransform(r: Reader, field: string): Transform {
  const body = decodeSubstructure(r, field, MORE_TRANSFORMS, "transforms");
  const type = body.u8(`${field}.type`);
  body.skip(1, `${field}.reserved`);
  const id = body.u16(`${field}.id`);
  const attributes: TransformAttribute[] = [];
  for (let i = 0; body.remaining > 0; i++) {
    const af = `${field}.attribute[${i}]`;
    const t = body.u16(`${af}.type`);
    if (t & 0x8000) {
      attributes.push({ type: t & 0x7fff, format: "tv", value: body.u16(`${af}.value`) });
    } else {
      const len = body.u16(`${af}.length`);
      attributes.push({ type: t, format: "tlv", value: body.bytes(len, `${af}.value`) });
    }
  }
  return { type, id, attributes };
}

/** Writes an SA payload body (proposal markers, lengths and counts are computed). */
export function encodeSa(w: Writer, p: PayloadOf<33>): void {
  p.proposals.forEach((prop, i) => {
    const start = w.length;
    w.u8(i === p.proposals.length - 1 ? LAST : MORE_PROPOSALS).u8(0).u16(0);
    checkFits(prop.spi.length, 8, "SPI size");
    checkFits(prop.transforms.length, 8, "Num Transforms");
    w.u8(prop.number).u8(prop.protocol).u8(prop.spi.length).u8(prop.transforms.length).bytes(prop.spi);
    prop.transforms.forEach((t, j) => {
      const tStart = w.length;
      w.u8(j === prop.transforms.length - 1 ? LAST : MORE_TRANSFORMS).u8(0).u16(0);
      w.u8(t.type).u8(0).u16(t.id);
      for (const a of t.attributes) {
        if (a.format === "tv") {
          w.u16(0x8000 | (a.type & 0x7fff)).u16(a.value);
        } else {
          checkFits(a.value.length, 16, "attribute length");
          w.u16(a.type & 0x7fff).u16(a.value.length).bytes(a.value);
        }
      }
      const tLen = w.length - tStart;
      checkFits(tLen, 16, "transform length");
      w.patchU16(tStart + 2, tLen);
    });
    const len = w.length - start;
    checkFits(len, 16, "proposal length");
    w.patchU16(start + 2, len);
  });
}
