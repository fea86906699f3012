/**
 * RFC 7296 s3.4 KE payload. This test reads (and so covers) the KE payloads in
 * /work/shared/vectors/dh/rfc5903-ecp-groups-19-20-21.json (kei_payload/ker_payload) and
 * /work/shared/vectors/dh/rfc8031-curve25519-ikev2.json (constructed_kei/ker_payload).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../../../src/wire/hex.js";
import { KeId } from "../../../../src/wire/ike/constants.js";
import { decodePayloadChain, encodePayloadChain } from "../../../../src/wire/ike/message.js";
import { decodeOne } from "../helpers.js";
import { vectorPath } from "../../../support/vectors.js";

const DH = vectorPath("dh") + "/";

interface Rfc5903Vector { id: string; ike_dh_group: number; gix: string; giy: string; grx: string; gry: string; kei_payload: string; ker_payload: string }
interface Rfc8031Vector { id: string; ike_dh_group: number; public_i: string; public_r: string; constructed_kei_payload: string; constructed_ker_payload: string }

const rfc5903 = JSON.parse(readFileSync(DH + "rfc5903-ecp-groups-19-20-21.json", "utf8")) as { vectors: Rfc5903Vector[] };
const rfc8031 = JSON.parse(readFileSync(DH + "rfc8031-curve25519-ikev2.json", "utf8")) as { vectors: Rfc8031Vector[] };

function roundTripKe(payloadHex: string, group: number, keyDataHex: string): void {
  const wire = fromHex(payloadHex);
  const [ke, ...rest] = decodePayloadChain(34, wire);
  expect(rest).toEqual([]);
  expect(ke).toEqual({ type: 34, critical: false, group, reserved: 0, keyData: fromHex(keyDataHex) });
  const again = encodePayloadChain(ke ? [ke] : []);
  expect(again.firstType).toBe(34);
  expect(again.bytes).toEqual(wire);
}

describe("RFC 7296 s3.4 Key Exchange payload", () => {
  it("Group Num | RESERVED | Key Exchange Data", () => {
    const p = decodeOne(34, "000e" + "0000" + "aabbccdd");
    expect(p).toEqual({ type: 34, critical: false, group: KeId.MODP_2048, reserved: 0, keyData: fromHex("aabbccdd") });
  });

  it("keeps a non-zero RESERVED field for a byte-exact round trip", () => {
    const p = decodeOne(34, "001f" + "1234" + "00");
    expect(p).toMatchObject({ group: 31, reserved: 0x1234 });
  });

  describe("RFC 5903 s8 KE payloads (rfc5903-ecp-groups-19-20-21.json)", () => {
    it("has the three ECP groups 19, 20, 21", () => {
      expect(rfc5903.vectors.map((v) => v.ike_dh_group)).toEqual([19, 20, 21]);
    });
    for (const v of rfc5903.vectors) {
      it(`${v.id}: KEi and KEr decode to x||y and re-encode byte for byte`, () => {
        roundTripKe(v.kei_payload, v.ike_dh_group, v.gix + v.giy);
        roundTripKe(v.ker_payload, v.ike_dh_group, v.grx + v.gry);
      });
    }
  });

  describe("RFC 8031 Appendix A KE payloads (rfc8031-curve25519-ikev2.json)", () => {
    for (const v of rfc8031.vectors) {
      it(`${v.id}: group 31 KEi/KEr carry the 32-byte u-coordinate`, () => {
        expect(v.ike_dh_group).toBe(KeId.CURVE25519);
        roundTripKe(v.constructed_kei_payload, 31, v.public_i);
        roundTripKe(v.constructed_ker_payload, 31, v.public_r);
      });
    }
  });
});
