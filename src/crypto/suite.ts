import { EncrId, TransformType, encrIdName, integIdName, keIdName, prfIdName } from "../wire/ike/constants.js";
import { getEncr } from "./encr.js";
import { CryptoError } from "./errors.js";
import { getInteg, supportedIntegIds } from "./integ.js";
import { getKeGroup, supportedKeIds } from "./ke.js";
import { getPrf, supportedPrfIds } from "./prf.js";

/**
 * The one list of what the crypto suite implements, for config validation and `tsipsec` help
 * output. Every entry is backed by the get* lookups (a listed transform is constructible).
 */

export interface SupportedEncr {
  readonly id: number;
  /** IANA name without key size, e.g. `ENCR_AES_GCM_16`. */
  readonly name: string;
  /** Allowed Key Length attribute values in bits; undefined when the attribute must be absent. */
  readonly keyLengths: readonly number[] | undefined;
  readonly aead: boolean;
  /** Kept only to read old peers/captures (RFC 8221: MUST NOT / SHOULD NOT for new SAs). */
  readonly legacy: boolean;
}

export interface SupportedTransform {
  readonly id: number;
  readonly name: string;
  readonly legacy: boolean;
}

export interface SupportedTransforms {
  readonly encr: readonly SupportedEncr[];
  readonly prf: readonly SupportedTransform[];
  readonly integ: readonly SupportedTransform[];
  readonly ke: readonly SupportedTransform[];
}

const AES = [128, 192, 256] as const;

const ENCR: readonly SupportedEncr[] = [
  { id: EncrId.ENCR_AES_GCM_16, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_GCM_12, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_GCM_8, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_CHACHA20_POLY1305, keyLengths: undefined, legacy: false },
  { id: EncrId.ENCR_AES_CCM_16, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_CCM_12, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_CCM_8, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_CBC, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_AES_CTR, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_NULL_AUTH_AES_GMAC, keyLengths: AES, legacy: false },
  { id: EncrId.ENCR_NULL, keyLengths: undefined, legacy: false },
  { id: EncrId.ENCR_3DES, keyLengths: undefined, legacy: true },
].map((e) => ({ ...e, name: encrIdName(e.id), aead: getEncr(e.id, e.keyLengths?.[0]).aead }));

/** Kept for old peers only: MD5-based transforms (RFC 8221 s2/s3, RFC 8247 s2.2/2.3) and MODP below 2048 bits (RFC 8247 s2.4). */
const LEGACY_PRF = new Set<number>([1]); // PRF_HMAC_MD5
const LEGACY_INTEG = new Set<number>([1]); // AUTH_HMAC_MD5_96
const LEGACY_KE = new Set<number>([2, 5]); // MODP 1024/1536 (RFC 8247 s2.4: SHOULD NOT)

/** Everything the suite implements, by transform type, strongest first for ENCR. */
export function supportedTransforms(): SupportedTransforms {
  return {
    encr: ENCR,
    prf: supportedPrfIds.map((id) => ({ id, name: prfIdName(id), legacy: LEGACY_PRF.has(id) })),
    integ: supportedIntegIds.map((id) => ({ id, name: integIdName(id), legacy: LEGACY_INTEG.has(id) })),
    ke: supportedKeIds.map((id) => ({ id, name: keIdName(id), legacy: LEGACY_KE.has(id) })),
  };
}

/**
 * Whether transform (`type`, `id`, `keyLengthBits`) can be constructed, without throwing: the
 * check config validation and proposal selection use. ESN (type 5) ids 0 and 1 are always fine.
 */
export function isTransformSupported(type: number, id: number, keyLengthBits?: number): boolean {
  try {
    switch (type) {
      case TransformType.ENCR:
        getEncr(id, keyLengthBits);
        return true;
      case TransformType.PRF:
        getPrf(id);
        return keyLengthBits === undefined;
      case TransformType.INTEG:
        getInteg(id);
        return keyLengthBits === undefined;
      case TransformType.KE:
        getKeGroup(id);
        return keyLengthBits === undefined;
      case TransformType.ESN:
        return (id === 0 || id === 1) && keyLengthBits === undefined;
      default:
        return false;
    }
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
}
