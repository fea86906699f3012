import { concat } from "../wire/hex.js";
import { CryptoError } from "./errors.js";
import { isAesPrf, prfPlus } from "./prf.js";
import { Secret } from "./secret.js";
import type { EncrAlgorithm, IntegAlgorithm, PrfAlgorithm } from "./types.js";

/**
 * IKEv2 key derivation (RFC 7296 s2.13-2.18).
 *
 *   SKEYSEED = prf(Ni | Nr, g^ir)                                    (s2.14)
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *            = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)                 (s2.14)
 *   SKEYSEED(rekeyed) = prf(SK_d(old), g^ir(new) | Ni | Nr)          (s2.18, the NEW SA's prf)
 *   KEYMAT   = prf+(SK_d, [g^ir(new) |] Ni | Nr)                      (s2.17)
 *
 * Every derived key is a `Secret`; intermediate byte arrays are zeroed before returning.
 */

/** The keys of one IKE SA (RFC 7296 s2.14). SK_ai/SK_ar are empty (0 bytes) with an AEAD cipher. */
export interface IkeSaKeys {
  readonly skD: Secret;
  readonly skAi: Secret;
  readonly skAr: Secret;
  readonly skEi: Secret;
  readonly skEr: Secret;
  readonly skPi: Secret;
  readonly skPr: Secret;
}

/** Zeroes every key of an IKE SA (design.md style rule 9: on delete). */
export function wipeIkeSaKeys(keys: IkeSaKeys): void {
  for (const k of [keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr]) k.wipe();
}

function bytesOf(s: Secret | Uint8Array): Uint8Array {
  return s instanceof Secret ? s.expose() : s;
}

/**
 * SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 s2.14). For PRF_AES128_XCBC and PRF_AES128_CMAC only
 * the first 64 bits of Ni and of Nr form the key (s2.14: "only the first 64 bits"), so the key is
 * the 16 bytes the AES PRF wants.
 */
export function deriveSkeyseed(prf: PrfAlgorithm, ni: Uint8Array, nr: Uint8Array, sharedSecret: Secret | Uint8Array): Secret {
  const key = isAesPrf(prf) ? concat(ni.subarray(0, 8), nr.subarray(0, 8)) : concat(ni, nr);
  const out = prf.compute(key, bytesOf(sharedSecret));
  key.fill(0);
  return new Secret(out);
}

/**
 * SKEYSEED for a rekeyed IKE SA: prf(SK_d(old), g^ir(new) | Ni | Nr) (RFC 7296 s2.18), where
 * `prf` is the PRF negotiated for the NEW IKE SA and Ni/Nr are the CREATE_CHILD_SA nonces.
 */
export function deriveRekeyedSkeyseed(
  prf: PrfAlgorithm,
  skDOld: Secret,
  sharedSecret: Secret | Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
): Secret {
  const data = concat(bytesOf(sharedSecret), ni, nr);
  const out = prf.compute(skDOld.expose(), data);
  data.fill(0);
  return new Secret(out);
}

export interface IkeSaKeyParams {
  readonly prf: PrfAlgorithm;
  readonly encr: EncrAlgorithm;
  /** Omitted (or undefined) with an AEAD cipher. */
  readonly integ?: IntegAlgorithm | undefined;
  /** From deriveSkeyseed (IKE_SA_INIT) or deriveRekeyedSkeyseed (IKE SA rekey). */
  readonly skeyseed: Secret;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  /** IKE SPIs, 8 bytes each (of the new SA when rekeying: RFC 7296 s2.18). */
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 s2.14). SK_d/SK_pi/SK_pr are prf.keyLength bytes, SK_a* integ.keyLength (0 without
 * INTEG), SK_e* encr.keymatLength (key || salt for AEAD, RFC 5282 s7). Throws CryptoError when an
 * AEAD is combined with INTEG, a non-AEAD lacks INTEG, or an SPI is not 8 bytes.
 */
export function deriveIkeSaKeys(params: IkeSaKeyParams): IkeSaKeys {
  const { prf, encr, integ, skeyseed, ni, nr, spiI, spiR } = params;
  if (spiI.length !== 8 || spiR.length !== 8) throw new CryptoError("IKE SPIs must be 8 bytes each");
  if (encr.aead && integ) throw new CryptoError(`${encr.name} is an AEAD: no INTEG transform allowed (RFC 5282 s8)`);
  if (!encr.aead && !integ) throw new CryptoError(`${encr.name} needs an INTEG transform`);
  const a = integ?.keyLength ?? 0;
  const e = encr.keymatLength;
  const p = prf.keyLength;
  const seed = concat(ni, nr, spiI, spiR);
  const dkm = prfPlus(prf, skeyseed.expose(), seed, p + 2 * a + 2 * e + 2 * p);
  let o = 0;
  const take = (n: number): Secret => {
    const s = new Secret(dkm.slice(o, o + n));
    o += n;
    return s;
  };
  const keys: IkeSaKeys = {
    skD: take(p),
    skAi: take(a),
    skAr: take(a),
    skEi: take(e),
    skEr: take(e),
    skPi: take(p),
    skPr: take(p),
  };
  dkm.fill(0);
  return keys;
}

/** One direction of a CHILD_SA: the ENCR KEYMAT (key || salt) and, for non-AEAD, the INTEG key. */
export interface ChildSaDirectionKeys {
  readonly encr: Secret;
  readonly integ?: Secret | undefined;
}

export interface ChildSaKeymat {
  readonly initiatorToResponder: ChildSaDirectionKeys;
  readonly responderToInitiator: ChildSaDirectionKeys;
}

/**
 * KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir(new) | Ni | Nr) when the CREATE_CHILD_SA
 * carried KE payloads (RFC 7296 s2.17). Taken in order: I->R encryption key, I->R integrity key,
 * R->I encryption key, R->I integrity key (s2.17: "All keys for SAs carrying data from the
 * initiator to the responder are taken before SAs going from the responder to the initiator";
 * within a direction encryption before integrity). AEAD keys include their salt (RFC 4106 s8.1).
 * `integ` is undefined for AEAD ciphers (and for an ESP SA with ENCR_NULL_AUTH_AES_GMAC).
 */
export function deriveChildSaKeymat(
  prf: PrfAlgorithm,
  skD: Secret,
  ni: Uint8Array,
  nr: Uint8Array,
  sharedSecret: Secret | Uint8Array | undefined,
  encr: EncrAlgorithm,
  integ: IntegAlgorithm | undefined,
): ChildSaKeymat {
  const e = encr.keymatLength;
  const a = integ?.keyLength ?? 0;
  const seed = sharedSecret === undefined ? concat(ni, nr) : concat(bytesOf(sharedSecret), ni, nr);
  const keymat = prfPlus(prf, skD.expose(), seed, 2 * (e + a));
  seed.fill(0);
  const direction = (o: number): ChildSaDirectionKeys => ({
    encr: new Secret(keymat.slice(o, o + e)),
    integ: integ ? new Secret(keymat.slice(o + e, o + e + a)) : undefined,
  });
  const result = { initiatorToResponder: direction(0), responderToInitiator: direction(e + a) };
  keymat.fill(0);
  return result;
}
