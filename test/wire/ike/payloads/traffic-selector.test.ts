import { describe, expect, it } from "vitest";
import { fromHex } from "../../../../src/wire/hex.js";
import { IpProto, TsType } from "../../../../src/wire/ike/constants.js";
import { decodeBody, decodeOne, expectDecodeError } from "../helpers.js";

// TS Type | IP Protocol ID | Selector Length | Start Port | End Port | Start Address | End Address
const V4 = "07" + "00" + "0010" + "0000" + "ffff" + "c0000200" + "c00002ff"; // 192.0.2.0-192.0.2.255, any
const V6 = "08" + "11" + "0028" + "01f4" + "01f4" + "20010db8000000000000000000000000" + "20010db800000000ffffffffffffffff";

describe("RFC 7296 s3.13 Traffic Selector payloads", () => {
  it("s3.13.1 TS_IPV4_ADDR_RANGE and TS_IPV6_ADDR_RANGE", () => {
    const p = decodeOne(44, "02" + "000000" + V4 + V6);
    expect(p).toEqual({
      type: 44,
      critical: false,
      reserved: new Uint8Array(3),
      selectors: [
        { type: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: IpProto.ANY, startPort: 0, endPort: 65535, startAddress: fromHex("c0000200"), endAddress: fromHex("c00002ff") },
        {
          type: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: IpProto.UDP, startPort: 500, endPort: 500,
          startAddress: fromHex("20010db8000000000000000000000000"), endAddress: fromHex("20010db800000000ffffffffffffffff"),
        },
      ],
    });
  });

  it("TSr with one selector", () => {
    expect(decodeOne(45, "01" + "000000" + V4)).toMatchObject({ type: 45, selectors: [{ startPort: 0, endPort: 65535 }] });
  });

  it("a selector length that does not match its type is a DecodeError", () => {
    expectDecodeError(() => decodeBody(44, "01000000" + "07000028" + V4.slice(8) + "00".repeat(24)), "TSi.selector[0].length");
    expectDecodeError(() => decodeBody(44, "01000000" + "08000010" + V4.slice(8)), "TSi.selector[0].length");
    expectDecodeError(() => decodeBody(44, "01000000" + V4.slice(0, 20)), "TSi.selector[0].length");
  });

  it("Number of TSs must match the selectors present", () => {
    expectDecodeError(() => decodeBody(44, "02000000" + V4), "TSi.numTs");
    expectDecodeError(() => decodeBody(45, "01000000" + V4 + V4), "TSr.numTs");
  });

  it("unknown TS types (e.g. TS_FC_ADDR_RANGE) are kept raw and re-encode byte for byte", () => {
    const fc = "09" + "00" + "0010" + "00112233" + "00445566" + "ffeeddcc";
    const p = decodeOne(44, "02000000" + fc + V4);
    if (p.type !== 44) throw new Error("not TSi");
    expect(p.selectors[0]).toEqual({
      type: TsType.TS_FC_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 0, startAddress: fromHex("00112233" + "00445566" + "ffeeddcc"), endAddress: new Uint8Array(0),
    });
    expectDecodeError(() => decodeBody(44, "01000000" + "09000003"), "TSi.selector[0].length");
  });
});
