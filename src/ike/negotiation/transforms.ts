/**
 * Transform helpers shared by proposal selection and proposal strings (RFC 7296 s3.3.2, s3.3.5):
 * which ENCR ids are AEAD, which need a KEY_LENGTH attribute, and building/reading transforms.
 */
import { EncrId, TransformAttribute as TransformAttributeType } from "../../wire/ike/constants.js";
import type { Proposal, Transform } from "../../wire/ike/types.js";

const AEAD_ENCR: ReadonlySet<number> = new Set([
  EncrId.ENCR_AES_CCM_8,
  EncrId.ENCR_AES_CCM_12,
  EncrId.ENCR_AES_CCM_16,
  EncrId.ENCR_AES_GCM_8,
  EncrId.ENCR_AES_GCM_12,
  EncrId.ENCR_AES_GCM_16,
  EncrId.ENCR_NULL_AUTH_AES_GMAC,
  EncrId.ENCR_CAMELLIA_CCM_8,
  EncrId.ENCR_CAMELLIA_CCM_12,
  EncrId.ENCR_CAMELLIA_CCM_16,
  EncrId.ENCR_CHACHA20_POLY1305,
]);

/** Variable-key-length ciphers: RFC 7296 s3.3.5 / RFC 3602, 3686, 4106, 4309, 5529 make KEY_LENGTH mandatory. */
export const KEY_LENGTH_REQUIRED: ReadonlySet<number> = new Set([
  EncrId.ENCR_AES_CBC,
  EncrId.ENCR_AES_CTR,
  EncrId.ENCR_AES_CCM_8,
  EncrId.ENCR_AES_CCM_12,
  EncrId.ENCR_AES_CCM_16,
  EncrId.ENCR_AES_GCM_8,
  EncrId.ENCR_AES_GCM_12,
  EncrId.ENCR_AES_GCM_16,
  EncrId.ENCR_NULL_AUTH_AES_GMAC,
  EncrId.ENCR_CAMELLIA_CBC,
  EncrId.ENCR_CAMELLIA_CTR,
  EncrId.ENCR_CAMELLIA_CCM_8,
  EncrId.ENCR_CAMELLIA_CCM_12,
  EncrId.ENCR_CAMELLIA_CCM_16,
]);

export const VALID_KEY_LENGTHS: readonly number[] = [128, 192, 256];

/** True for combined-mode (AEAD) ENCR transforms (RFC 5282): they carry no separate INTEG. */
export function isAeadEncr(id: number): boolean {
  return AEAD_ENCR.has(id);
}

/** True when the ENCR transform `encrId` MUST carry a KEY_LENGTH attribute (s3.3.5). */
export function keyLengthRequired(encrId: number): boolean {
  return KEY_LENGTH_REQUIRED.has(encrId);
}

/** The KEY_LENGTH attribute's value in bits, or undefined when the transform has none. */
export function keyLengthOf(t: Transform): number | undefined {
  for (const a of t.attributes) {
    if (a.type === TransformAttributeType.KEY_LENGTH && a.format === "tv") return a.value;
  }
  return undefined;
}

/** A transform with an optional KEY_LENGTH attribute (bits, TV format as s3.3.5 requires). */
export function makeTransform(type: number, id: number, keyLengthBits?: number): Transform {
  return {
    type,
    id,
    attributes:
      keyLengthBits === undefined
        ? []
        : [{ type: TransformAttributeType.KEY_LENGTH, format: "tv", value: keyLengthBits }],
  };
}

export function transformsOf(p: Proposal, type: number): Transform[] {
  return p.transforms.filter((t) => t.type === type);
}

/** The single transform of `type` in a chosen proposal (undefined when the type is absent). */
export function chosenTransform(p: Proposal, type: number): Transform | undefined {
  return p.transforms.find((t) => t.type === type);
}
