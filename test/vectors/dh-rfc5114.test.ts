import { describe, expect, it } from "vitest";
import { CryptoError } from "../../src/crypto/errors.js";
import { getKeGroup } from "../../src/crypto/ke.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson, readVectorText } from "../crypto/vectors.js";

interface Rfc5114File {
  readonly modp_vectors: readonly { readonly id: string; readonly ike_dh_group: number; readonly p: string; readonly q: string; readonly g: string }[];
  readonly ecp_vectors: readonly {
    readonly id: string;
    readonly ike_dh_group: number;
    readonly priv_i: string;
    readonly pub_i_xy: string;
    readonly priv_r: string;
    readonly pub_r_xy: string;
    readonly shared_x: string;
  }[];
}

const file = readVectorJson<Rfc5114File>("dh/rfc5114-test-data.json");

describe("RFC 5114 s2.1-2.3 MODP groups 22-24 are refused (RFC 8247 s2.4) (dh/rfc5114-test-data.json, dh/pyca/RFC5114.txt)", () => {
  it("the JSON's p, q, g are those of the pyca source file", () => {
    const text = readVectorText("dh/pyca/RFC5114.txt");
    const grab = (name: string): string[] => [...text.matchAll(new RegExp(`^${name} = (\\w+)`, "gm"))].map((m) => (m[1] as string).toLowerCase());
    expect(grab("P")).toEqual(file.modp_vectors.map((v) => v.p));
    expect(grab("Q")).toEqual(file.modp_vectors.map((v) => v.q));
    expect(grab("G")).toEqual(file.modp_vectors.map((v) => v.g));
  });

  for (const v of file.modp_vectors) {
    it(`${v.id}: getKeGroup(${v.ike_dh_group}) throws CryptoError naming RFC 8247`, () => {
      expect(() => getKeGroup(v.ike_dh_group)).toThrow(CryptoError);
      expect(() => getKeGroup(v.ike_dh_group)).toThrow(new RegExp(`KE group ${v.ike_dh_group}: RFC 5114 group ${v.ike_dh_group} is refused \\(RFC 8247`));
    });
  }
});

describe("RFC 5114 Appendix A ECP test data (dh/rfc5114-test-data.json)", () => {
  for (const v of file.ecp_vectors) {
    if (v.ike_dh_group === 19 || v.ike_dh_group === 20 || v.ike_dh_group === 21) {
      it(`${v.id}: group ${v.ike_dh_group} public values and shared x`, () => {
        const group = getKeGroup(v.ike_dh_group);
        const i = group.fromPrivate(fromHex(v.priv_i));
        const r = group.fromPrivate(fromHex(v.priv_r));
        expect(toHex(i.publicValue)).toBe(v.pub_i_xy);
        expect(toHex(r.publicValue)).toBe(v.pub_r_xy);
        expect(toHex(i.computeSharedSecret(r.publicValue).expose())).toBe(v.shared_x);
        expect(toHex(r.computeSharedSecret(i.publicValue).expose())).toBe(v.shared_x);
      });
    } else {
      it(`${v.id}: group ${v.ike_dh_group} (192/224-bit ECP, too small per RFC 8247 s2.4) is not supported`, () => {
        expect(() => getKeGroup(v.ike_dh_group)).toThrow(CryptoError);
      });
    }
  }
});
