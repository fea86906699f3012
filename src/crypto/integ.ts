import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { IntegId, integIdName } from "../wire/ike/constants.js";
import { aesCmac, aesXcbcMac, type AesMac } from "./aes-mac.js";
import { constantTimeEqual } from "./compare.js";
import { CryptoError } from "./errors.js";
import type { Secret } from "./secret.js";
import type { IntegAlgorithm, IntegContext } from "./types.js";

/**
 * Transform Type 3 (INTEG) by IANA id: truncated HMACs (RFC 2404, RFC 4868 s2.1, RFC 2403),
 * AES-XCBC-MAC-96 (RFC 3566) and AES-CMAC-96 (RFC 4494). The key is bound once in `create`;
 * `verify` compares in constant time (crypto/compare.ts).
 */

type Kind = { readonly hmac: string } | { readonly aes: "xcbc" | "cmac" };

interface Spec {
  readonly kind: Kind;
  readonly keyLength: number;
  readonly icvLength: number;
}

const SPECS: ReadonlyMap<number, Spec> = new Map<number, Spec>([
  [IntegId.AUTH_HMAC_MD5_96, { kind: { hmac: "md5" }, keyLength: 16, icvLength: 12 }], // RFC 2403, legacy
  [IntegId.AUTH_HMAC_SHA1_96, { kind: { hmac: "sha1" }, keyLength: 20, icvLength: 12 }], // RFC 2404
  [IntegId.AUTH_AES_XCBC_96, { kind: { aes: "xcbc" }, keyLength: 16, icvLength: 12 }], // RFC 3566
  [IntegId.AUTH_AES_CMAC_96, { kind: { aes: "cmac" }, keyLength: 16, icvLength: 12 }], // RFC 4494
  [IntegId.AUTH_HMAC_SHA2_256_128, { kind: { hmac: "sha256" }, keyLength: 32, icvLength: 16 }], // RFC 4868 s2.1
  [IntegId.AUTH_HMAC_SHA2_384_192, { kind: { hmac: "sha384" }, keyLength: 48, icvLength: 24 }],
  [IntegId.AUTH_HMAC_SHA2_512_256, { kind: { hmac: "sha512" }, keyLength: 64, icvLength: 32 }],
]);

/** The INTEG ids this module implements. */
export const supportedIntegIds: readonly number[] = [...SPECS.keys()];

/** The INTEG transform `id`. Throws CryptoError for an unknown or unsupported id (including NONE). */
export function getInteg(id: number): IntegAlgorithm {
  const spec = SPECS.get(id);
  if (!spec) throw new CryptoError(`unsupported INTEG transform ${integIdName(id)}`);
  const name = integIdName(id);
  return Object.freeze({
    id,
    name,
    keyLength: spec.keyLength,
    icvLength: spec.icvLength,
    create(key: Secret): IntegContext {
      if (key.length !== spec.keyLength) {
        throw new CryptoError(`${name}: key is ${key.length} bytes, want ${spec.keyLength}`);
      }
      const kind = spec.kind;
      if ("hmac" in kind) return new HmacContext(kind.hmac, createSecretKey(key.expose()), spec.icvLength);
      const mac = kind.aes === "xcbc" ? aesXcbcMac(key.expose()) : aesCmac(key.expose());
      return new AesMacContext(mac, spec.icvLength);
    },
  });
}

abstract class Truncated implements IntegContext {
  constructor(protected readonly icvLength: number) {}
  abstract full(parts: readonly Uint8Array[]): Uint8Array;

  compute(...parts: Uint8Array[]): Uint8Array {
    return this.full(parts).slice(0, this.icvLength);
  }

  verify(icv: Uint8Array, ...parts: Uint8Array[]): boolean {
    if (icv.length !== this.icvLength) return false;
    return constantTimeEqual(icv, this.full(parts).subarray(0, this.icvLength));
  }
}

class HmacContext extends Truncated {
  constructor(
    private readonly hash: string,
    private readonly key: KeyObject,
    icvLength: number,
  ) {
    super(icvLength);
  }
  full(parts: readonly Uint8Array[]): Uint8Array {
    const h = createHmac(this.hash, this.key);
    for (const p of parts) h.update(p);
    return h.digest();
  }
}

class AesMacContext extends Truncated {
  constructor(
    private readonly mac: AesMac,
    icvLength: number,
  ) {
    super(icvLength);
  }
  full(parts: readonly Uint8Array[]): Uint8Array {
    return this.mac.mac(...parts);
  }
}
