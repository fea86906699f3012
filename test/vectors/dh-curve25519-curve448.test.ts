import { describe, expect, it } from "vitest";
import { CryptoError, KeError } from "../../src/crypto/errors.js";
import { getKeGroup } from "../../src/crypto/ke.js";
import { seededRandom } from "../../src/crypto/random.js";
import { KeId } from "../../src/wire/ike/constants.js";
import { concat, fromHex, toHex } from "../../src/wire/hex.js";
import { readVectorJson, readVectorText } from "../crypto/vectors.js";

interface Rfc7748File {
  readonly vectors: readonly {
    readonly id: string;
    readonly scalar?: string;
    readonly u?: string;
    readonly output?: string;
    readonly after_1?: string;
    readonly after_1000?: string;
    readonly alice_private?: string;
    readonly alice_public?: string;
    readonly bob_private?: string;
    readonly bob_public?: string;
    readonly shared_secret?: string;
  }[];
}

interface Rfc8031File {
  readonly vectors: readonly {
    readonly id: string;
    readonly ike_dh_group: number;
    readonly private_i: string;
    readonly public_i: string;
    readonly private_r_strongswan: string;
    readonly public_r: string;
    readonly shared_secret: string;
    readonly constructed_kei_payload: string;
    readonly constructed_ker_payload: string;
  }[];
}

const x25519Group = getKeGroup(KeId.CURVE25519);

/** X25519(k, u) (RFC 7748 s5) through the group 31 KeyExchange. */
function x25519(k: Uint8Array, u: Uint8Array): Uint8Array {
  return x25519Group.fromPrivate(k).computeSharedSecret(u).expose();
}

function need(v: string | undefined, what: string): string {
  if (v === undefined) throw new Error(`vector lacks ${what}`);
  return v;
}

const rfc7748 = readVectorJson<Rfc7748File>("dh/rfc7748-x25519.json");
const byId = (id: string): Rfc7748File["vectors"][number] => {
  const v = rfc7748.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
};

describe("RFC 7748 s5.2 X25519 test vectors (dh/rfc7748-x25519.json, dh/pyca/rfc7748.txt)", () => {
  for (const id of ["rfc7748-5.2-vector1", "rfc7748-5.2-vector2"]) {
    it(`${id} (vector 2's u has the high bit set, which the receiver masks)`, () => {
      const v = byId(id);
      expect(toHex(x25519(fromHex(need(v.scalar, "scalar")), fromHex(need(v.u, "u"))))).toBe(v.output);
    });
  }

  it("the pyca source file holds the same scalar multiplications", () => {
    const text = readVectorText("dh/pyca/rfc7748.txt");
    const cases = [...text.matchAll(/INPUT_SCALAR = (\w+)\s+INPUT_U = (\w+)\s+OUTPUT_U = (\w+)/g)];
    expect(cases).toHaveLength(3);
    for (const c of cases) expect(toHex(x25519(fromHex(c[1] as string), fromHex(c[2] as string)))).toBe(c[3]);
    expect(cases[0]?.[3]).toBe(byId("rfc7748-5.2-vector1").output);
    expect(cases[2]?.[3]).toBe(byId("rfc7748-5.2-iterated").after_1);
  });

  it("iterated: k, u = X25519(k, u), k from k = u = 9, after 1 and 1000 iterations", () => {
    const v = byId("rfc7748-5.2-iterated");
    let k: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      const next = x25519(k, u);
      u = k;
      k = next;
      if (i === 1) expect(toHex(k)).toBe(v.after_1);
    }
    expect(toHex(k)).toBe(v.after_1000);
    // The optional 1,000,000-iteration vector (after_1000000 in the file) is left out on purpose:
    // it takes minutes, too slow for CI; the 1 and 1000 checkpoints exercise the same code.
  });
});

describe("RFC 7748 s6.1 Curve25519 Diffie-Hellman (dh/rfc7748-x25519.json)", () => {
  it("Alice and Bob's public keys and shared secret", () => {
    const v = byId("rfc7748-6.1-dh");
    const alice = x25519Group.fromPrivate(fromHex(need(v.alice_private, "alice_private")));
    const bob = x25519Group.fromPrivate(fromHex(need(v.bob_private, "bob_private")));
    expect(toHex(alice.publicValue)).toBe(v.alice_public);
    expect(toHex(bob.publicValue)).toBe(v.bob_public);
    expect(toHex(alice.computeSharedSecret(bob.publicValue).expose())).toBe(v.shared_secret);
    expect(toHex(bob.computeSharedSecret(alice.publicValue).expose())).toBe(v.shared_secret);
  });
});

describe("RFC 8031 Appendix A: Curve25519 in IKEv2, group 31 (dh/rfc8031-curve25519-ikev2.json)", () => {
  const file = readVectorJson<Rfc8031File>("dh/rfc8031-curve25519-ikev2.json");
  for (const v of file.vectors) {
    it(`${v.id}: public values, KE payload data, g^ir`, () => {
      expect(v.ike_dh_group).toBe(KeId.CURVE25519);
      expect(x25519Group.publicLength).toBe(32);
      const i = x25519Group.fromPrivate(fromHex(v.private_i));
      const r = x25519Group.fromPrivate(fromHex(v.private_r_strongswan));
      expect(toHex(i.publicValue)).toBe(v.public_i);
      expect(toHex(r.publicValue)).toBe(v.public_r);
      // RFC 8031 s2: Key Exchange Data is the raw 32-byte u; constructed RFC 7296 s3.4 framing.
      const frame = (d: Uint8Array): string => toHex(concat(fromHex("00000028001f0000"), d));
      expect(frame(i.publicValue)).toBe(v.constructed_kei_payload);
      expect(frame(r.publicValue)).toBe(v.constructed_ker_payload);
      expect(toHex(i.computeSharedSecret(fromHex(v.public_r)).expose())).toBe(v.shared_secret);
      expect(toHex(r.computeSharedSecret(fromHex(v.public_i)).expose())).toBe(v.shared_secret);
    });
  }

  it("s2: an all-zero shared secret (small-order peer u = 0 or u = 1) is rejected with KeError", () => {
    const i = x25519Group.generate(seededRandom("x25519-zero"));
    expect(() => i.computeSharedSecret(new Uint8Array(32))).toThrow(KeError);
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(() => i.computeSharedSecret(one)).toThrow(/KE group 31 \(Curve25519\): all-zero shared secret/);
  });

  it("KE data of the wrong length is rejected with KeError; a private key of the wrong length with CryptoError", () => {
    const i = x25519Group.generate(seededRandom("x25519-len"));
    expect(() => i.computeSharedSecret(new Uint8Array(31).fill(9))).toThrow(KeError);
    expect(() => i.computeSharedSecret(new Uint8Array(33).fill(9))).toThrow(KeError);
    expect(() => x25519Group.fromPrivate(new Uint8Array(31))).toThrow(CryptoError);
  });

  it("generated pairs agree and are reproducible from a seeded Random", () => {
    const a = x25519Group.generate(seededRandom("a"));
    const b = x25519Group.generate(seededRandom("b"));
    expect(toHex(a.computeSharedSecret(b.publicValue).expose())).toBe(toHex(b.computeSharedSecret(a.publicValue).expose()));
    expect(toHex(x25519Group.generate(seededRandom("a")).publicValue)).toBe(toHex(a.publicValue));
  });
});

/** RFC 7748 s6.2 (Curve448 Diffie-Hellman), transcribed from the RFC text. */
const X448 = {
  alicePrivate: "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
  alicePublic: "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
  bobPrivate: "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
  bobPublic: "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
  shared: "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
};

describe("RFC 7748 s6.2 Curve448 Diffie-Hellman, group 32 (RFC 8031 s2)", () => {
  const group = getKeGroup(KeId.CURVE448);
  it("Alice and Bob's public keys and shared secret", () => {
    expect(group.publicLength).toBe(56);
    const alice = group.fromPrivate(fromHex(X448.alicePrivate));
    const bob = group.fromPrivate(fromHex(X448.bobPrivate));
    expect(toHex(alice.publicValue)).toBe(X448.alicePublic);
    expect(toHex(bob.publicValue)).toBe(X448.bobPublic);
    expect(toHex(alice.computeSharedSecret(bob.publicValue).expose())).toBe(X448.shared);
    expect(toHex(bob.computeSharedSecret(alice.publicValue).expose())).toBe(X448.shared);
  });

  it("an all-zero shared secret and a wrong length are rejected with KeError", () => {
    const a = group.generate(seededRandom("x448"));
    expect(() => a.computeSharedSecret(new Uint8Array(56))).toThrow(KeError);
    expect(() => a.computeSharedSecret(new Uint8Array(32).fill(5))).toThrow(KeError);
  });
});
