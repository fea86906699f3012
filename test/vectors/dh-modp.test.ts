import { describe, expect, it } from "vitest";
import { CryptoError, KeError } from "../../src/crypto/errors.js";
import { getKeGroup, modpPrime } from "../../src/crypto/ke.js";
import { seededRandom } from "../../src/crypto/random.js";
import { fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson, readVectorText } from "../crypto/vectors.js";

interface Rfc3526File {
  readonly groups: readonly {
    readonly ike_dh_group: number;
    readonly bits: number;
    readonly generator: number;
    readonly prime_hex: string;
    readonly ke_payload_data_len: number;
  }[];
}

/** pyca's `# comment` / `COUNT = n` / `P = hex` / `G = n` format: the primes in file order. */
function parsePycaPrimes(text: string): { p: string; g: string }[] {
  const out: { p: string; g: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z]+) = ([0-9A-Fa-f]+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === "P") out.push({ p: (m[2] as string).toLowerCase(), g: "" });
    if (m[1] === "G") {
      const last = out[out.length - 1];
      if (last) last.g = m[2] as string;
    }
  }
  return out;
}

const file = readVectorJson<Rfc3526File>("dh/rfc3526-modp-groups.json");

function bigToBytes(v: bigint, length: number): Uint8Array {
  return fromHex(v.toString(16).padStart(length * 2, "0"));
}

describe("RFC 3526 s2-7 MODP primes (dh/rfc3526-modp-groups.json, dh/pyca/rfc3526.txt)", () => {
  const pyca = parsePycaPrimes(readVectorText("dh/pyca/rfc3526.txt"));

  it("the pyca source file lists the same six primes as the JSON, in order, with g = 2", () => {
    expect(pyca.map((x) => x.p)).toEqual(file.groups.map((g) => g.prime_hex));
    expect(pyca.every((x) => x.g === "2")).toBe(true);
  });

  for (const g of file.groups) {
    it(`group ${g.ike_dh_group} (${g.bits}-bit): our prime is the RFC's, KE data is ${g.ke_payload_data_len} bytes`, () => {
      const prime = modpPrime(g.ike_dh_group);
      expect(prime && toHex(prime)).toBe(g.prime_hex);
      expect(g.generator).toBe(2);
      expect(getKeGroup(g.ike_dh_group).publicLength).toBe(g.ke_payload_data_len);
    });
  }
});

describe("RFC 7296 s3.4 / RFC 6989 s2.1 MODP key exchange (dh/rfc3526-modp-groups.json)", () => {
  for (const g of file.groups) {
    it(`group ${g.ike_dh_group}: two parties agree on a fixed-length g^ir`, () => {
      const group = getKeGroup(g.ike_dh_group);
      const i = group.generate(seededRandom(`modp-${g.ike_dh_group}-i`));
      const r = group.generate(seededRandom(`modp-${g.ike_dh_group}-r`));
      expect(i.publicValue).toHaveLength(g.ke_payload_data_len);
      expect(toHex(i.publicValue)).not.toBe(toHex(r.publicValue));
      const sI = i.computeSharedSecret(r.publicValue);
      const sR = r.computeSharedSecret(i.publicValue);
      expect(sI.length).toBe(g.ke_payload_data_len);
      expect(toHex(sI.expose())).toBe(toHex(sR.expose()));
      // deterministic: the same seed gives the same KE data
      expect(toHex(group.generate(seededRandom(`modp-${g.ike_dh_group}-i`)).publicValue)).toBe(toHex(i.publicValue));
    });

    it(`group ${g.ike_dh_group}: rejects y <= 1, y >= p-1 and a wrong length with KeError`, () => {
      const group = getKeGroup(g.ike_dh_group);
      const n = g.ke_payload_data_len;
      const p = BigInt("0x" + g.prime_hex);
      const kx = group.generate(seededRandom("reject"));
      for (const y of [0n, 1n, p - 1n, p, p + 1n]) {
        expect(() => kx.computeSharedSecret(bigToBytes(y, n)), `y = ${y === p - 1n ? "p-1" : y === p ? "p" : y === p + 1n ? "p+1" : y}`).toThrow(KeError);
      }
      expect(() => kx.computeSharedSecret(bigToBytes(2n, n))).not.toThrow();
      expect(() => kx.computeSharedSecret(bigToBytes(p - 2n, n))).not.toThrow();
      expect(() => kx.computeSharedSecret(new Uint8Array(n - 1).fill(0x22))).toThrow(KeError);
      expect(() => kx.computeSharedSecret(new Uint8Array(n + 1).fill(0x22))).toThrow(KeError);
      // the message names the group and the problem
      expect(() => kx.computeSharedSecret(bigToBytes(1n, n))).toThrow(new RegExp(`^KE group ${g.ike_dh_group} \\(.*MODP Group\\): .*1 < y < p-1`));
    });
  }

  it("KE data and g^ir are left-padded to the modulus length (x = 1: y = g = 2; g^ir = peer's y)", () => {
    const group = getKeGroup(14);
    const kx = group.fromPrivate(new Uint8Array([1]));
    expect(toHex(kx.publicValue)).toBe("00".repeat(255) + "02");
    const s = kx.computeSharedSecret(bigToBytes(5n, 256));
    expect(toHex(s.expose())).toBe("00".repeat(255) + "05");
  });

  it("fromPrivate refuses an empty or over-long exponent with CryptoError", () => {
    expect(() => getKeGroup(14).fromPrivate(new Uint8Array(0))).toThrow(CryptoError);
    expect(() => getKeGroup(14).fromPrivate(new Uint8Array(257).fill(1))).toThrow(CryptoError);
  });
});
