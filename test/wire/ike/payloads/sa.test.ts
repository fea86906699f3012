import { describe, expect, it } from "vitest";
import { EncrId, IntegId, KeId, PrfId, ProtocolId, TransformAttribute, TransformType } from "../../../../src/wire/ike/constants.js";
import { decodeBody, decodeOne, expectDecodeError } from "../helpers.js";

// Transforms (s3.3.2): Last Substruc | RESERVED | Transform Length | Type | RESERVED | Transform ID [| attrs]
const T_AES128 = "0300000c" + "0100000c" + "800e0080"; // ENCR_AES_CBC, KEY_LENGTH (TV) 128
const T_PRF = "03000008" + "02000005"; // PRF_HMAC_SHA2_256
const T_INTEG = "03000008" + "0300000c"; // AUTH_HMAC_SHA2_256_128
const T_ECP256_LAST = "00000008" + "04000013"; // ECP_256, last transform
// Proposal (s3.3.1): Last Substruc | RESERVED | Proposal Length | Num | Protocol | SPI Size | Num Transforms
const IKE_PROPOSAL = "0000002c" + "01010004" + T_AES128 + T_PRF + T_INTEG + T_ECP256_LAST;

describe("RFC 7296 s3.3 Security Association payload", () => {
  it("s3.3.1/3.3.2/3.3.5: an IKE proposal with four transforms and a TV key length", () => {
    const p = decodeOne(33, IKE_PROPOSAL);
    expect(p).toEqual({
      type: 33,
      critical: false,
      proposals: [
        {
          number: 1,
          protocol: ProtocolId.IKE,
          spi: new Uint8Array(0),
          transforms: [
            { type: TransformType.ENCR, id: EncrId.ENCR_AES_CBC, attributes: [{ type: TransformAttribute.KEY_LENGTH, format: "tv", value: 128 }] },
            { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_256, attributes: [] },
            { type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA2_256_128, attributes: [] },
            { type: TransformType.KE, id: KeId.ECP_256, attributes: [] },
          ],
        },
      ],
    });
  });

  it("s3.3.1: two proposals (marker 2 then 0), an ESP one with a 4-byte SPI; TLV attributes", () => {
    const first = "02000014" + "01030401" + "11223344" + "00000008" + "01000014"; // ESP, AES-GCM-16
    const second = "00000018" + "02030401" + "55667788" + "0000000c" + "01000014" + "000e0000"; // TLV attr, empty
    const p = decodeOne(33, first + second);
    if (p.type !== 33) throw new Error("not SA");
    expect(p.proposals.map((x) => x.number)).toEqual([1, 2]);
    expect(p.proposals[0]?.spi).toEqual(new Uint8Array([0x11, 0x22, 0x33, 0x44]));
    expect(p.proposals[1]?.transforms[0]?.attributes).toEqual([{ type: 14, format: "tlv", value: new Uint8Array(0) }]);
  });

  it("rejects wrong last-substructure markers", () => {
    // Last proposal marked 2 (more) but nothing follows.
    expectDecodeError(() => decodeBody(33, "02" + IKE_PROPOSAL.slice(2)), "SA.proposal[0].lastSubstruc");
    // Proposal marked 0 (last) but another follows.
    expectDecodeError(() => decodeBody(33, IKE_PROPOSAL + IKE_PROPOSAL), "SA.proposal[0].lastSubstruc");
    // Proposal marker 3 is a transform marker.
    expectDecodeError(() => decodeBody(33, "03" + IKE_PROPOSAL.slice(2)), "SA.proposal[0].lastSubstruc");
    // Last transform marked 3 (more).
    const badLastT = IKE_PROPOSAL.slice(0, -16) + "03000008" + "04000013";
    expectDecodeError(() => decodeBody(33, badLastT), "transform[3].lastSubstruc");
    // A middle transform marked 0.
    const badMidT = "0000002c01010004" + "0000000c0100000c800e0080" + T_PRF + T_INTEG + T_ECP256_LAST;
    expectDecodeError(() => decodeBody(33, badMidT), "transform[0].lastSubstruc");
  });

  it("rejects proposal and transform lengths that do not fit", () => {
    expectDecodeError(() => decodeBody(33, "00000007" + "01010000"), "SA.proposal[0].length");
    expectDecodeError(() => decodeBody(33, "00000030" + IKE_PROPOSAL.slice(8)), "SA.proposal[0].length");
    expectDecodeError(() => decodeBody(33, "0000000c" + "01010001" + "00000004"), "transform[0].length");
    expectDecodeError(() => decodeBody(33, "00000010" + "01010001" + "0000000c" + "01000014"), "transform[0].length");
    // TLV attribute claims 4 bytes, none present.
    expectDecodeError(() => decodeBody(33, "00000014" + "01010001" + "0000000c" + "01000014" + "000e0004"), "attribute[0].value");
  });

  it("rejects a Num Transforms that disagrees with the transforms present", () => {
    expectDecodeError(() => decodeBody(33, "0000002c" + "01010005" + IKE_PROPOSAL.slice(16)), "numTransforms");
    expectDecodeError(() => decodeBody(33, "0000002c" + "01010003" + IKE_PROPOSAL.slice(16)), "SA.proposal[0]");
  });

  it("rejects an SPI Size running past the proposal, and an SA with no proposals", () => {
    expectDecodeError(() => decodeBody(33, "0000000c" + "01030800" + "11223344"), "SA.proposal[0].spi");
    expectDecodeError(() => decodeBody(33, ""), "SA");
  });
});
