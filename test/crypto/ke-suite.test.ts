import { describe, expect, it } from "vitest";
import { CryptoError, KeError, isKeError } from "../../src/crypto/errors.js";
import { getKeGroup } from "../../src/crypto/ke.js";
import type { Random } from "../../src/crypto/random.js";
import { seededRandom } from "../../src/crypto/random.js";
import { isTransformSupported, supportedTransforms } from "../../src/crypto/suite.js";
import { EncrId, KeId, TransformType } from "../../src/wire/ike/constants.js";
import { toHex } from "../../src/wire/hex.js";

describe("KE group lookup (RFC 7296 s3.3.2 Transform Type 4)", () => {
  it("names and KE data lengths", () => {
    const table = [
      [KeId.MODP_2048, "2048-bit MODP Group", 256],
      [KeId.MODP_8192, "8192-bit MODP Group", 1024],
      [KeId.ECP_256, "256-bit random ECP group", 64],
      [KeId.ECP_521, "521-bit random ECP group", 132],
      [KeId.CURVE25519, "Curve25519", 32],
      [KeId.CURVE448, "Curve448", 56],
    ] as const;
    for (const [id, name, len] of table) {
      const g = getKeGroup(id);
      expect([g.id, g.name, g.publicLength]).toEqual([id, name, len]);
    }
  });

  it("unknown, too weak or refused groups throw CryptoError", () => {
    expect(() => getKeGroup(KeId.MODP_768)).toThrow(/MUST NOT/);
    expect(() => getKeGroup(KeId.BRAINPOOL_P256)).toThrow(/unsupported KE group BRAINPOOL_P256/);
    expect(() => getKeGroup(9999)).toThrow(CryptoError);
  });

  it("private values come from the injected Random", () => {
    const calls: number[] = [];
    const base = seededRandom("ke");
    const rng: Random = {
      bytes(n: number): Uint8Array {
        calls.push(n);
        return base.bytes(n);
      },
    };
    getKeGroup(KeId.CURVE25519).generate(rng);
    getKeGroup(KeId.ECP_384).generate(rng);
    getKeGroup(KeId.MODP_2048).generate(rng);
    expect(calls.slice(0, 2)).toEqual([32, 48]);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const a = getKeGroup(KeId.ECP_256).generate(seededRandom(1));
    const b = getKeGroup(KeId.ECP_256).generate(seededRandom(1));
    expect(toHex(a.publicValue)).toBe(toHex(b.publicValue));
  });

  it("KeError carries the group and reason", () => {
    const kx = getKeGroup(KeId.ECP_256).generate(seededRandom(2));
    try {
      kx.computeSharedSecret(new Uint8Array(10));
      expect.unreachable("a 10-byte ECP value was accepted");
    } catch (e) {
      expect(isKeError(e)).toBe(true);
      const err = e as KeError;
      expect([err.group, err.groupName]).toEqual([19, "256-bit random ECP group"]);
      expect(err.reason).toMatch(/10 bytes, want 64/);
    }
  });
});

describe("suite: one list of supported transforms", () => {
  it("every listed transform is constructible and every type is present", () => {
    const s = supportedTransforms();
    for (const e of s.encr) {
      expect(isTransformSupported(TransformType.ENCR, e.id, e.keyLengths?.[0]), e.name).toBe(true);
      if (e.keyLengths) expect(isTransformSupported(TransformType.ENCR, e.id), `${e.name} without key length`).toBe(false);
    }
    for (const p of s.prf) expect(isTransformSupported(TransformType.PRF, p.id), p.name).toBe(true);
    for (const i of s.integ) expect(isTransformSupported(TransformType.INTEG, i.id), i.name).toBe(true);
    for (const k of s.ke) expect(isTransformSupported(TransformType.KE, k.id), k.name).toBe(true);
    expect(s.encr.map((e) => e.name)).toContain("ENCR_AES_GCM_16");
    expect(s.encr.find((e) => e.id === EncrId.ENCR_3DES)?.legacy).toBe(true);
    expect(s.ke.map((k) => k.id)).toEqual(expect.arrayContaining([14, 15, 16, 17, 18, 19, 20, 21, 31, 32]));
    expect(s.ke.map((k) => k.id)).not.toContain(22);
  });

  it("rejects what is not implemented", () => {
    expect(isTransformSupported(TransformType.ENCR, EncrId.ENCR_AES_CBC, 100)).toBe(false);
    expect(isTransformSupported(TransformType.KE, 23)).toBe(false);
    expect(isTransformSupported(TransformType.PRF, 3)).toBe(false);
    expect(isTransformSupported(TransformType.ESN, 1)).toBe(true);
    expect(isTransformSupported(TransformType.ESN, 2)).toBe(false);
    expect(isTransformSupported(9, 1)).toBe(false);
  });
});
