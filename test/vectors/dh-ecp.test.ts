import { describe, expect, it } from "vitest";
import { CryptoError, KeError } from "../../src/crypto/errors.js";
import { getKeGroup } from "../../src/crypto/ke.js";
import { seededRandom } from "../../src/crypto/random.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson } from "../crypto/vectors.js";

interface Rfc5903File {
  readonly vectors: readonly {
    readonly id: string;
    readonly section: string;
    readonly ike_dh_group: number;
    readonly coord_len: number;
    readonly i: string;
    readonly gix: string;
    readonly giy: string;
    readonly kei_payload: string;
    readonly r: string;
    readonly grx: string;
    readonly gry: string;
    readonly ker_payload: string;
    readonly girx: string;
  }[];
}

/** RFC 7296 s3.4 KE payload: generic header (next 0, flags 0, length), group, RESERVED, data. */
function kePayload(group: number, data: Uint8Array): string {
  const len = 8 + data.length;
  return toHex(concat(new Uint8Array([0, 0, len >> 8, len & 0xff, group >> 8, group & 0xff, 0, 0]), data));
}

const file = readVectorJson<Rfc5903File>("dh/rfc5903-ecp-groups-19-20-21.json");

describe("RFC 5903 s8 ECP test vectors for groups 19/20/21 (dh/rfc5903-ecp-groups-19-20-21.json)", () => {
  it("has one vector per group", () => expect(file.vectors.map((v) => v.ike_dh_group)).toEqual([19, 20, 21]));
  for (const v of file.vectors) {
    it(`s${v.section} group ${v.ike_dh_group}: public values, KE payloads, g^ir = x`, () => {
      const group = getKeGroup(v.ike_dh_group);
      expect(group.publicLength).toBe(2 * v.coord_len);
      const i = group.fromPrivate(fromHex(v.i));
      const r = group.fromPrivate(fromHex(v.r));
      expect(toHex(i.publicValue)).toBe(v.gix + v.giy);
      expect(toHex(r.publicValue)).toBe(v.grx + v.gry);
      expect(kePayload(v.ike_dh_group, i.publicValue)).toBe(v.kei_payload);
      expect(kePayload(v.ike_dh_group, r.publicValue)).toBe(v.ker_payload);
      expect(toHex(i.computeSharedSecret(r.publicValue).expose())).toBe(v.girx);
      expect(toHex(r.computeSharedSecret(i.publicValue).expose())).toBe(v.girx);
    });

    it(`group ${v.ike_dh_group}: off-curve points, the zero point and wrong lengths give KeError (RFC 6989 s2.3)`, () => {
      const group = getKeGroup(v.ike_dh_group);
      const i = group.fromPrivate(fromHex(v.i));
      const offCurve = fromHex(v.grx + v.gry);
      offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 0x01;
      expect(() => i.computeSharedSecret(offCurve)).toThrow(KeError);
      expect(() => i.computeSharedSecret(new Uint8Array(2 * v.coord_len))).toThrow(KeError);
      expect(() => i.computeSharedSecret(fromHex(v.grx))).toThrow(KeError);
      expect(() => i.computeSharedSecret(fromHex("04" + v.grx + v.gry))).toThrow(KeError);
      expect(() => i.computeSharedSecret(offCurve)).toThrow(new RegExp(`KE group ${v.ike_dh_group} .*not on the curve`));
    });

    it(`group ${v.ike_dh_group}: generated pairs agree; fromPrivate checks the scalar length`, () => {
      const group = getKeGroup(v.ike_dh_group);
      const a = group.generate(seededRandom(`ecp-a-${v.ike_dh_group}`));
      const b = group.generate(seededRandom(`ecp-b-${v.ike_dh_group}`));
      expect(toHex(a.computeSharedSecret(b.publicValue).expose())).toBe(toHex(b.computeSharedSecret(a.publicValue).expose()));
      expect(() => group.fromPrivate(new Uint8Array(v.coord_len - 1).fill(1))).toThrow(CryptoError);
      expect(() => group.fromPrivate(new Uint8Array(v.coord_len))).toThrow(CryptoError);
    });
  }
});
