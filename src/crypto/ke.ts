import {
  createDiffieHellman,
  createECDH,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getDiffieHellman,
  type KeyObject,
} from "node:crypto";
import { KeId, keIdName } from "../wire/ike/constants.js";
import { CryptoError, KeError } from "./errors.js";
import type { Random } from "./random.js";
import { Secret } from "./secret.js";
import type { KeGroup, KeyExchange } from "./types.js";
import { bytesToBigInt } from "../wire/hex.js";

/**
 * Transform Type 4 (KE, "Diffie-Hellman group") by IANA id, on node:crypto.
 *
 * - MODP (RFC 3526 groups 14-18; RFC 2409/3526 groups 2 and 5 as legacy, RFC 8247 s2.4 SHOULD
 *   NOT): the primes are OpenSSL's built-in RFC 3526 / RFC 2409 groups (getDiffieHellman), g = 2.
 *   Key Exchange Data and g^ir are left-padded to the modulus length (RFC 7296 s3.4). A peer value
 *   must have exactly that length and satisfy 1 < y < p-1 (RFC 6989 s2.1); these are safe primes,
 *   so no subgroup check is needed.
 * - ECP (RFC 5903 groups 19/20/21): KE data is x || y, each coordinate padded to the field size;
 *   g^ir is x only (RFC 5903 s7). OpenSSL rejects points not on the curve (RFC 6989 s2.3).
 * - Curve25519/Curve448 (RFC 8031 groups 31/32): KE data is the u-coordinate; an all-zero shared
 *   secret is rejected (RFC 8031 s2).
 * - RFC 5114 groups 22-24 (MODP with small subgroups) are refused: RFC 8247 s2.4 says SHOULD NOT
 *   (22: MUST NOT) and supporting them would need the y^q = 1 check of RFC 6989 s2.2.
 *
 * Private values come from the injected Random, so a seeded Random reproduces an exchange.
 */

interface ModpSpec {
  readonly openssl: string;
  readonly name: string;
  /** Private exponent length in bytes: at least twice the group's strength (RFC 3526 s8, RFC 8247 s2.4). */
  readonly exponentLength: number;
}

const MODP: ReadonlyMap<number, ModpSpec> = new Map<number, ModpSpec>([
  [KeId.MODP_1024, { openssl: "modp2", name: "1024-bit MODP Group", exponentLength: 32 }],
  [KeId.MODP_1536, { openssl: "modp5", name: "1536-bit MODP Group", exponentLength: 32 }],
  [KeId.MODP_2048, { openssl: "modp14", name: "2048-bit MODP Group", exponentLength: 40 }],
  [KeId.MODP_3072, { openssl: "modp15", name: "3072-bit MODP Group", exponentLength: 56 }],
  [KeId.MODP_4096, { openssl: "modp16", name: "4096-bit MODP Group", exponentLength: 64 }],
  [KeId.MODP_6144, { openssl: "modp17", name: "6144-bit MODP Group", exponentLength: 72 }],
  [KeId.MODP_8192, { openssl: "modp18", name: "8192-bit MODP Group", exponentLength: 80 }],
]);

interface EcpSpec {
  readonly curve: string;
  readonly name: string;
  readonly coordLength: number;
  /** Mask for the first byte of a random scalar (P-521 uses 521 bits of 66 bytes). */
  readonly topMask: number;
}

const ECP: ReadonlyMap<number, EcpSpec> = new Map<number, EcpSpec>([
  [KeId.ECP_256, { curve: "prime256v1", name: "256-bit random ECP group", coordLength: 32, topMask: 0xff }],
  [KeId.ECP_384, { curve: "secp384r1", name: "384-bit random ECP group", coordLength: 48, topMask: 0xff }],
  [KeId.ECP_521, { curve: "secp521r1", name: "521-bit random ECP group", coordLength: 66, topMask: 0x01 }],
]);

interface MontSpec {
  readonly name: string;
  readonly length: number;
  /** DER prefixes of a PKCS#8 private key and an SPKI public key (RFC 8410 s7/s4), raw key appended. */
  readonly pkcs8Prefix: Uint8Array;
  readonly spkiPrefix: Uint8Array;
}

const MONT: ReadonlyMap<number, MontSpec> = new Map<number, MontSpec>([
  [
    KeId.CURVE25519,
    {
      name: "Curve25519",
      length: 32,
      pkcs8Prefix: Buffer.from("302e020100300506032b656e04220420", "hex"),
      spkiPrefix: Buffer.from("302a300506032b656e032100", "hex"),
    },
  ],
  [
    KeId.CURVE448,
    {
      name: "Curve448",
      length: 56,
      pkcs8Prefix: Buffer.from("3046020100300506032b656f043a0438", "hex"),
      spkiPrefix: Buffer.from("3042300506032b656f033900", "hex"),
    },
  ],
]);

const REFUSED: ReadonlyMap<number, string> = new Map<number, string>([
  [KeId.MODP_768, "768-bit MODP is broken (RFC 8247 s2.4: MUST NOT)"],
  [KeId.MODP_1024_160, "RFC 5114 group 22 is refused (RFC 8247 s2.4: MUST NOT; small-subgroup prime)"],
  [KeId.MODP_2048_224, "RFC 5114 group 23 is refused (RFC 8247 s2.4: SHOULD NOT; small-subgroup prime)"],
  [KeId.MODP_2048_256, "RFC 5114 group 24 is refused (RFC 8247 s2.4: SHOULD NOT; small-subgroup prime)"],
]);

/** The KE ids this module implements. */
export const supportedKeIds: readonly number[] = [...MODP.keys(), ...ECP.keys(), ...MONT.keys()];

const groups = new Map<number, KeGroup>();

/**
 * The prime of MODP group `id` as a big-endian byte string of the modulus length (generator 2),
 * or undefined for a non-MODP or unsupported id. For tests and diagnostics.
 */
export function modpPrime(id: number): Uint8Array | undefined {
  const spec = MODP.get(id);
  return spec ? new Uint8Array(getDiffieHellman(spec.openssl).getPrime()) : undefined;
}

/**
 * The KE group `id`. Throws CryptoError for an unknown, unsupported or refused id (RFC 5114
 * groups 22-24, group 1).
 */
export function getKeGroup(id: number): KeGroup {
  const cached = groups.get(id);
  if (cached) return cached;
  let g: KeGroup;
  const modp = MODP.get(id);
  const ecp = ECP.get(id);
  const mont = MONT.get(id);
  if (modp) g = modpGroup(id, modp);
  else if (ecp) g = ecpGroup(id, ecp);
  else if (mont) g = montGroup(id, mont);
  else {
    const why = REFUSED.get(id);
    throw new CryptoError(why ? `KE group ${id}: ${why}` : `unsupported KE group ${keIdName(id)}`);
  }
  groups.set(id, g);
  return g;
}

function leftPad(b: Uint8Array, length: number): Uint8Array {
  if (b.length === length) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const out = new Uint8Array(length);
  out.set(b, length - b.length);
  return out;
}


function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

function modpGroup(id: number, spec: ModpSpec): KeGroup {
  const prime = getDiffieHellman(spec.openssl).getPrime();
  const p = bytesToBigInt(prime);
  const length = prime.length;
  const generator = Buffer.from([2]);
  const fromPrivate = (privateKey: Uint8Array): KeyExchange => {
    if (privateKey.length === 0 || privateKey.length > length) {
      throw new CryptoError(`KE group ${id} (${spec.name}): private exponent is ${privateKey.length} bytes, want 1..${length}`);
    }
    const dh = createDiffieHellman(prime, generator);
    dh.setPrivateKey(privateKey);
    const publicValue = leftPad(dh.generateKeys(), length);
    return {
      group: id,
      publicValue,
      computeSharedSecret(peerPublic: Uint8Array): Secret {
        if (peerPublic.length !== length) {
          throw new KeError(id, spec.name, `Key Exchange Data is ${peerPublic.length} bytes, want ${length}`);
        }
        const y = bytesToBigInt(peerPublic);
        if (y <= 1n || y >= p - 1n) throw new KeError(id, spec.name, "peer value outside 1 < y < p-1 (RFC 6989 s2.1)");
        let s: Uint8Array;
        try {
          s = dh.computeSecret(peerPublic);
        } catch {
          throw new KeError(id, spec.name, "peer value rejected by OpenSSL");
        }
        return new Secret(leftPad(s, length));
      },
    };
  };
  return Object.freeze({
    id,
    name: spec.name,
    publicLength: length,
    generate(rng: Random): KeyExchange {
      const x = rng.bytes(spec.exponentLength);
      // An exponent of 0 or 1 would give y = 1 or g; never let a broken Random produce it.
      x[0] = (x[0] as number) | 0x80;
      return fromPrivate(x);
    },
    fromPrivate,
  });
}

function ecpGroup(id: number, spec: EcpSpec): KeGroup {
  const n = spec.coordLength;
  const fromPrivate = (privateKey: Uint8Array): KeyExchange => {
    if (privateKey.length !== n) {
      throw new CryptoError(`KE group ${id} (${spec.name}): private scalar is ${privateKey.length} bytes, want ${n}`);
    }
    const ecdh = createECDH(spec.curve);
    try {
      ecdh.setPrivateKey(privateKey);
    } catch {
      throw new CryptoError(`KE group ${id} (${spec.name}): private scalar out of range`);
    }
    // Uncompressed SEC1 point: 0x04 || x || y (RFC 5903 s7 drops the 0x04).
    const point = ecdh.getPublicKey();
    const publicValue = new Uint8Array(point.subarray(1));
    return {
      group: id,
      publicValue,
      computeSharedSecret(peerPublic: Uint8Array): Secret {
        if (peerPublic.length !== 2 * n) {
          throw new KeError(id, spec.name, `Key Exchange Data is ${peerPublic.length} bytes, want ${2 * n} (x || y)`);
        }
        const sec1 = new Uint8Array(1 + 2 * n);
        sec1[0] = 0x04;
        sec1.set(peerPublic, 1);
        let x: Uint8Array;
        try {
          x = ecdh.computeSecret(sec1);
        } catch {
          throw new KeError(id, spec.name, "peer point is not on the curve (RFC 6989 s2.3)");
        }
        return new Secret(leftPad(x, n));
      },
    };
  };
  return Object.freeze({
    id,
    name: spec.name,
    publicLength: 2 * n,
    generate(rng: Random): KeyExchange {
      // Rejection sampling: a scalar of 0 or >= the group order is refused by OpenSSL; retry.
      for (let attempt = 0; attempt < 64; attempt++) {
        const d = rng.bytes(n);
        d[0] = (d[0] as number) & spec.topMask;
        try {
          return fromPrivate(d);
        } catch {
          continue;
        }
      }
      throw new CryptoError(`KE group ${id} (${spec.name}): Random gave no valid scalar in 64 draws`);
    },
    fromPrivate,
  });
}

/**
 * X25519/X448 keys through JWK (RFC 8037 OKP) rather than PKCS#8/SPKI DER: OpenSSL 3 builds raw
 * keys directly (EVP_PKEY_new_raw_*_key) where DER goes through its decoder framework, measured
 * here at about 10x the cost (1.4 ms vs 0.12 ms per private key on a loaded machine), which made
 * key import ~40% of an IKE_SA_INIT + IKE_AUTH setup (bench/ike.ts, docs/performance.md).
 * Node requires `x` to be a string when importing a private JWK but derives the public key from
 * `d` (it does not read `x`), so it is left empty. Trade-off: the base64url string of the
 * ephemeral private key cannot be zeroed like the DER buffer could; it is unreachable at once and
 * OpenSSL's copy is cleared when the KeyObject is freed. Should a Node version refuse the JWK,
 * the DER path is used.
 */
function importMontPrivate(spec: MontSpec, privateKey: Uint8Array): { priv: KeyObject; publicValue: Uint8Array } {
  const n = spec.length;
  const crv = n === 32 ? "X25519" : "X448";
  try {
    const priv = createPrivateKey({ key: { kty: "OKP", crv, d: Buffer.from(privateKey.buffer, privateKey.byteOffset, n).toString("base64url"), x: "" }, format: "jwk" });
    const x = priv.export({ format: "jwk" }).x;
    if (typeof x === "string") {
      const publicValue = new Uint8Array(Buffer.from(x, "base64url"));
      if (publicValue.length === n) return { priv, publicValue };
    }
  } catch {
    // fall through to DER
  }
  const der = new Uint8Array(spec.pkcs8Prefix.length + n);
  der.set(spec.pkcs8Prefix, 0);
  der.set(privateKey, spec.pkcs8Prefix.length);
  const priv: KeyObject = createPrivateKey({ key: Buffer.from(der.buffer), format: "der", type: "pkcs8" });
  der.fill(0);
  const spki = createPublicKey(priv).export({ format: "der", type: "spki" });
  return { priv, publicValue: new Uint8Array(spki.subarray(spki.length - n)) };
}

/** The peer's X25519/X448 public value as a KeyObject (JWK for speed, see importMontPrivate). Throws on a bad value. */
function importMontPublic(spec: MontSpec, peerPublic: Uint8Array): KeyObject {
  const n = spec.length;
  try {
    return createPublicKey({ key: { kty: "OKP", crv: n === 32 ? "X25519" : "X448", x: Buffer.from(peerPublic.buffer, peerPublic.byteOffset, n).toString("base64url") }, format: "jwk" });
  } catch {
    const peerDer = new Uint8Array(spec.spkiPrefix.length + n);
    peerDer.set(spec.spkiPrefix, 0);
    peerDer.set(peerPublic, spec.spkiPrefix.length);
    return createPublicKey({ key: Buffer.from(peerDer.buffer), format: "der", type: "spki" });
  }
}

function montGroup(id: number, spec: MontSpec): KeGroup {
  const n = spec.length;
  const fromPrivate = (privateKey: Uint8Array): KeyExchange => {
    if (privateKey.length !== n) {
      throw new CryptoError(`KE group ${id} (${spec.name}): private key is ${privateKey.length} bytes, want ${n}`);
    }
    const { priv, publicValue } = importMontPrivate(spec, privateKey);
    return {
      group: id,
      publicValue,
      computeSharedSecret(peerPublic: Uint8Array): Secret {
        if (peerPublic.length !== n) {
          throw new KeError(id, spec.name, `Key Exchange Data is ${peerPublic.length} bytes, want ${n}`);
        }
        let s: Uint8Array;
        try {
          const pub = importMontPublic(spec, peerPublic);
          s = diffieHellman({ privateKey: priv, publicKey: pub });
        } catch {
          // OpenSSL refuses to return an all-zero X25519/X448 result (a small-order peer point).
          throw new KeError(id, spec.name, "all-zero shared secret (RFC 8031 s2)");
        }
        if (isAllZero(s)) throw new KeError(id, spec.name, "all-zero shared secret (RFC 8031 s2)");
        return new Secret(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
      },
    };
  };
  return Object.freeze({
    id,
    name: spec.name,
    publicLength: n,
    generate: (rng: Random): KeyExchange => fromPrivate(rng.bytes(n)),
    fromPrivate,
  });
}
