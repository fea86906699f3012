/**
 * The crypto suite's public surface (design.md: crypto/ = transforms keyed by IANA id over
 * node:crypto). Import from here or from the individual modules.
 */
export type { EncrAlgorithm, EncrContext, IntegAlgorithm, IntegContext, KeGroup, KeyExchange, PrfAlgorithm } from "./types.js";
export { CryptoError, KeError, isKeError } from "./errors.js";
export { Secret } from "./secret.js";
export { type Random, systemRandom, seededRandom, randomInt } from "./random.js";
export { constantTimeEqual } from "./compare.js";
export { getEncr } from "./encr.js";
export { getInteg } from "./integ.js";
export { getPrf, prfPlus } from "./prf.js";
export { getKeGroup, modpPrime } from "./ke.js";
export {
  type ChildSaDirectionKeys,
  type ChildSaKeymat,
  type IkeSaKeyParams,
  type IkeSaKeys,
  deriveChildSaKeymat,
  deriveIkeSaKeys,
  deriveRekeyedSkeyseed,
  deriveSkeyseed,
  wipeIkeSaKeys,
} from "./keymat.js";
export { type SupportedEncr, type SupportedTransform, type SupportedTransforms, isTransformSupported, supportedTransforms } from "./suite.js";
