/**
 * API
 *   parseProposalString(s: string, protocol: "ike" | "esp" | "ah"): Proposal[]
 *       strongSwan/swanctl.conf proposal strings -> wire proposals numbered 1..n, SPI empty.
 *       Throws ProposalStringError (config input, parsed before the core runs).
 *   class ProposalStringError extends Error { token: string; allowed: string; proposal: string }
 *   PROPOSAL_KEYWORDS: ReadonlyMap<string, { type: number; id: number; keyLength?: number }>
 *
 * Grammar (strongSwan's, see its proposal_keywords_static.txt and proposal.c check_proposal):
 * a comma-separated list of proposals; each proposal is `-`-separated algorithm keywords of any
 * Transform Type in any order, several per type allowed ("aes128-aes256-sha256-modp2048"); the
 * keyword `default` expands to the built-in default proposals for the protocol.
 *
 * Normalisation, as strongSwan does it:
 * - IKE without `prf*`: one PRF per integrity algorithm (sha256 -> PRF_HMAC_SHA2_256, ...). A PRF
 *   is mandatory, so an AEAD-only IKE proposal needs an explicit `prf*` (or an integrity keyword,
 *   from which the PRF is derived and which is then dropped from the AEAD proposal).
 * - IKE needs a KE method; ESP/AH may carry one (that means PFS for the CHILD_SA).
 * - AEAD ciphers never carry an integrity algorithm (RFC 5282 s8). AEAD and classic ciphers in
 *   one string become two proposals, each keeping the PRF/KE/ESN keywords (strongSwan's own
 *   check_proposal refuses the mix outright; splitting is what an operator means by it).
 * - ESP/AH without `esn`/`noesn` get NO_ESN only.
 * - ESP/AH drop PRFs; `aesXXXgmac` in AH becomes AUTH_AES_XXX_GMAC.
 */
import { EncrId, EsnId, IntegId, KeId, PrfId, ProtocolId, TransformType } from "../../wire/ike/constants.js";
import type { Proposal, Transform } from "../../wire/ike/types.js";
import { isAeadEncr, keyLengthOf, makeTransform } from "./transforms.js";

export interface ProposalKeyword {
  readonly type: number;
  readonly id: number;
  /** Key length in bits for variable-length ciphers. */
  readonly keyLength?: number;
}

/** Thrown for a proposal string an operator must fix; `token` is the offending keyword. */
export class ProposalStringError extends Error {
  override readonly name = "ProposalStringError";
  constructor(
    /** The keyword (or the whole proposal) that is wrong. */
    readonly token: string,
    /** What would be accepted instead, in words. */
    readonly allowed: string,
    /** The proposal being parsed. */
    readonly proposal: string,
    reason: string,
  ) {
    super(`invalid proposal '${proposal}': ${reason}. ${allowed}`);
  }
}

const E = TransformType.ENCR;
const I = TransformType.INTEG;
const P = TransformType.PRF;
const K = TransformType.KE;
const S = TransformType.ESN;

function buildKeywords(): Map<string, ProposalKeyword> {
  const m = new Map<string, ProposalKeyword>();
  const add = (name: string, type: number, id: number, keyLength?: number): void => {
    m.set(name, keyLength === undefined ? { type, id } : { type, id, keyLength });
  };
  add("null", E, EncrId.ENCR_NULL);
  add("3des", E, EncrId.ENCR_3DES);
  add("aes", E, EncrId.ENCR_AES_CBC, 128);
  for (const ks of [128, 192, 256]) {
    add(`aes${ks}`, E, EncrId.ENCR_AES_CBC, ks);
    add(`aes${ks}ctr`, E, EncrId.ENCR_AES_CTR, ks);
    for (const [mode, icv8, icv12, icv16] of [
      ["gcm", EncrId.ENCR_AES_GCM_8, EncrId.ENCR_AES_GCM_12, EncrId.ENCR_AES_GCM_16],
      ["ccm", EncrId.ENCR_AES_CCM_8, EncrId.ENCR_AES_CCM_12, EncrId.ENCR_AES_CCM_16],
    ] as const) {
      add(`aes${ks}${mode}8`, E, icv8, ks);
      add(`aes${ks}${mode}64`, E, icv8, ks);
      add(`aes${ks}${mode}12`, E, icv12, ks);
      add(`aes${ks}${mode}96`, E, icv12, ks);
      add(`aes${ks}${mode}16`, E, icv16, ks);
      add(`aes${ks}${mode}128`, E, icv16, ks);
      add(`aes${ks}${mode}`, E, icv16, ks);
    }
    add(`aes${ks}gmac`, E, EncrId.ENCR_NULL_AUTH_AES_GMAC, ks);
    add(`camellia${ks}`, E, EncrId.ENCR_CAMELLIA_CBC, ks);
    add(`camellia${ks}ctr`, E, EncrId.ENCR_CAMELLIA_CTR, ks);
  }
  add("camellia", E, EncrId.ENCR_CAMELLIA_CBC, 128);
  add("chacha20poly1305", E, EncrId.ENCR_CHACHA20_POLY1305);
  add("sha", I, IntegId.AUTH_HMAC_SHA1_96);
  add("sha1", I, IntegId.AUTH_HMAC_SHA1_96);
  add("sha1_160", I, IntegId.AUTH_HMAC_SHA1_160);
  add("sha256", I, IntegId.AUTH_HMAC_SHA2_256_128);
  add("sha2_256", I, IntegId.AUTH_HMAC_SHA2_256_128);
  add("sha384", I, IntegId.AUTH_HMAC_SHA2_384_192);
  add("sha2_384", I, IntegId.AUTH_HMAC_SHA2_384_192);
  add("sha512", I, IntegId.AUTH_HMAC_SHA2_512_256);
  add("sha2_512", I, IntegId.AUTH_HMAC_SHA2_512_256);
  add("md5", I, IntegId.AUTH_HMAC_MD5_96);
  add("md5_128", I, IntegId.AUTH_HMAC_MD5_128);
  add("aesxcbc", I, IntegId.AUTH_AES_XCBC_96);
  add("aescmac", I, IntegId.AUTH_AES_CMAC_96);
  add("prfsha1", P, PrfId.PRF_HMAC_SHA1);
  add("prfsha256", P, PrfId.PRF_HMAC_SHA2_256);
  add("prfsha384", P, PrfId.PRF_HMAC_SHA2_384);
  add("prfsha512", P, PrfId.PRF_HMAC_SHA2_512);
  add("prfmd5", P, PrfId.PRF_HMAC_MD5);
  add("prfaesxcbc", P, PrfId.PRF_AES128_XCBC);
  add("prfaescmac", P, PrfId.PRF_AES128_CMAC);
  add("none", K, KeId.NONE);
  add("modpnone", K, KeId.NONE);
  add("modp768", K, KeId.MODP_768);
  add("modp1024", K, KeId.MODP_1024);
  add("modp1536", K, KeId.MODP_1536);
  add("modp2048", K, KeId.MODP_2048);
  add("modp3072", K, KeId.MODP_3072);
  add("modp4096", K, KeId.MODP_4096);
  add("modp6144", K, KeId.MODP_6144);
  add("modp8192", K, KeId.MODP_8192);
  add("modp1024s160", K, KeId.MODP_1024_160);
  add("modp2048s224", K, KeId.MODP_2048_224);
  add("modp2048s256", K, KeId.MODP_2048_256);
  add("ecp192", K, KeId.ECP_192);
  add("ecp224", K, KeId.ECP_224);
  add("ecp256", K, KeId.ECP_256);
  add("ecp384", K, KeId.ECP_384);
  add("ecp521", K, KeId.ECP_521);
  add("ecp224bp", K, KeId.BRAINPOOL_P224);
  add("ecp256bp", K, KeId.BRAINPOOL_P256);
  add("ecp384bp", K, KeId.BRAINPOOL_P384);
  add("ecp512bp", K, KeId.BRAINPOOL_P512);
  add("curve25519", K, KeId.CURVE25519);
  add("x25519", K, KeId.CURVE25519);
  add("curve448", K, KeId.CURVE448);
  add("x448", K, KeId.CURVE448);
  add("noesn", S, EsnId.NO_ESN);
  add("esn", S, EsnId.ESN);
  return m;
}

/** Every keyword this parser accepts (strongSwan's names), lowercase. */
export const PROPOSAL_KEYWORDS: ReadonlyMap<string, ProposalKeyword> = buildKeywords();

/** strongSwan's integ -> PRF map for IKE proposals without an explicit PRF. */
const INTEG_TO_PRF: ReadonlyMap<number, number> = new Map([
  [IntegId.AUTH_HMAC_MD5_96, PrfId.PRF_HMAC_MD5],
  [IntegId.AUTH_HMAC_SHA1_96, PrfId.PRF_HMAC_SHA1],
  [IntegId.AUTH_HMAC_SHA1_160, PrfId.PRF_HMAC_SHA1],
  [IntegId.AUTH_HMAC_SHA2_256_128, PrfId.PRF_HMAC_SHA2_256],
  [IntegId.AUTH_HMAC_SHA2_384_192, PrfId.PRF_HMAC_SHA2_384],
  [IntegId.AUTH_HMAC_SHA2_512_256, PrfId.PRF_HMAC_SHA2_512],
  [IntegId.AUTH_AES_XCBC_96, PrfId.PRF_AES128_XCBC],
  [IntegId.AUTH_AES_CMAC_96, PrfId.PRF_AES128_CMAC],
]);

const GMAC_TO_INTEG: ReadonlyMap<number, number> = new Map([
  [128, IntegId.AUTH_AES_128_GMAC],
  [192, IntegId.AUTH_AES_192_GMAC],
  [256, IntegId.AUTH_AES_256_GMAC],
]);

/**
 * The `default` keyword: RFC 8247 MUST/SHOULD+ algorithms only (strongSwan's default set minus
 * what RFC 8247/8221 deprecate: no 3DES, no MD5, no MODP-1024).
 */
const DEFAULTS: Readonly<Record<"ike" | "esp" | "ah", readonly string[]>> = {
  ike: [
    "aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-prfaesxcbc-prfaescmac-ecp256-ecp384-ecp521-x25519-x448-modp3072-modp4096-modp6144-modp8192-modp2048",
    "aes128-aes192-aes256-aes128ctr-aes192ctr-aes256ctr-sha256-sha384-sha512-aesxcbc-aescmac-sha1-ecp256-ecp384-ecp521-x25519-x448-modp3072-modp4096-modp6144-modp8192-modp2048",
  ],
  esp: ["aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305", "aes128-aes192-aes256-sha256-sha384-sha512-sha1-aesxcbc"],
  ah: ["sha256-sha384-sha512-sha1-aesxcbc"],
};

const PROTOCOL_IDS = { ike: ProtocolId.IKE, esp: ProtocolId.ESP, ah: ProtocolId.AH } as const;

function allowedKeywords(): string {
  const byType = new Map<number, string[]>();
  for (const [name, kw] of PROPOSAL_KEYWORDS) {
    const l = byType.get(kw.type) ?? [];
    l.push(name);
    byType.set(kw.type, l);
  }
  const label: Record<number, string> = { [E]: "encryption", [I]: "integrity", [P]: "PRF", [K]: "key exchange", [S]: "ESN" };
  return (
    "Allowed keywords: " +
    [E, I, P, K, S].map((t) => `${label[t] ?? String(t)}: ${(byType.get(t) ?? []).join(" ")}`).join("; ") +
    "; or 'default'."
  );
}

function pushUnique(list: Transform[], t: Transform): void {
  if (!list.some((x) => x.type === t.type && x.id === t.id && keyLengthOf(x) === keyLengthOf(t))) list.push(t);
}

/** Parses one `-`-separated proposal into 1 or 2 proposals (AEAD and classic split). */
function parseOne(text: string, protocol: "ike" | "esp" | "ah"): Transform[][] {
  const tokens = text.split("-").map((t) => t.trim().toLowerCase());
  const fail = (token: string, reason: string, allowed = allowedKeywords()): never => {
    throw new ProposalStringError(token, allowed, text, reason);
  };
  const aead: Transform[] = [];
  const classic: Transform[] = [];
  const integ: Transform[] = [];
  const prf: Transform[] = [];
  const ke: Transform[] = [];
  const esn: Transform[] = [];
  let firstAead: boolean | undefined;
  for (const token of tokens) {
    if (token === "") fail(token, "empty keyword (two '-' in a row, or a leading/trailing '-')");
    const kw = PROPOSAL_KEYWORDS.get(token);
    if (!kw) fail(token, `unknown algorithm keyword '${token}'`);
    const k = kw as ProposalKeyword;
    const t = makeTransform(k.type, k.id, k.keyLength);
    switch (k.type) {
      case E:
        if (protocol === "ah") {
          const gmac = k.id === EncrId.ENCR_NULL_AUTH_AES_GMAC ? GMAC_TO_INTEG.get(k.keyLength ?? 0) : undefined;
          if (gmac === undefined) fail(token, `'${token}' is an encryption algorithm; AH only authenticates`, "Use an integrity keyword (sha256, sha384, sha512, sha1, aesxcbc, aescmac, aes128gmac...).");
          pushUnique(integ, makeTransform(I, gmac as number));
        } else if (isAeadEncr(k.id)) {
          firstAead ??= true;
          pushUnique(aead, t);
        } else {
          firstAead ??= false;
          pushUnique(classic, t);
        }
        break;
      case I:
        pushUnique(integ, t);
        break;
      case P:
        if (protocol === "ike") pushUnique(prf, t); // strongSwan drops PRFs from ESP/AH proposals
        break;
      case K:
        pushUnique(ke, t);
        break;
      case S:
        if (protocol === "ike") fail(token, `'${token}' (extended sequence numbers) applies to ESP/AH, not IKE`, "Remove it from the IKE proposal; put it in esp_proposals.");
        pushUnique(esn, t);
        break;
    }
  }
  if (protocol === "ike") {
    // IKE: KE NONE is meaningless (strongSwan removes it) and a KE method is mandatory.
    const realKe = ke.filter((t) => t.id !== KeId.NONE);
    ke.length = 0;
    ke.push(...realKe);
    if (ke.length === 0) fail(text, "an IKE proposal needs a key exchange method", "Add one, e.g. ecp256, x25519 or modp3072.");
    if (prf.length === 0) {
      for (const i of integ) {
        const p = INTEG_TO_PRF.get(i.id);
        if (p !== undefined) pushUnique(prf, makeTransform(P, p));
      }
    }
    if (prf.length === 0) {
      fail(text, "an IKE proposal needs a PRF, and none can be derived (no integrity algorithm given)", "Add a PRF keyword, e.g. prfsha256 or prfsha384 (needed with AEAD ciphers like aes256gcm16).");
    }
  }
  if (protocol !== "ah" && aead.length === 0 && classic.length === 0) {
    fail(text, `an ${protocol.toUpperCase()} proposal needs an encryption algorithm`, "Add e.g. aes256gcm16, aes128 or chacha20poly1305.");
  }
  if (protocol === "ah" && integ.length === 0) fail(text, "an AH proposal needs an integrity algorithm", "Add e.g. sha256.");
  if (protocol === "ike" && classic.length > 0 && integ.length === 0) {
    fail(text, "IKE with a classic (non-AEAD) cipher needs an integrity algorithm", "Add e.g. sha256, or use an AEAD cipher such as aes256gcm16 with a prf keyword.");
  }
  if (protocol !== "ike" && esn.length === 0) esn.push(makeTransform(S, EsnId.NO_ESN));
  const out: Transform[][] = [];
  const tail = [...prf, ...ke, ...esn];
  const aeadProposal = aead.length > 0 ? [...aead, ...tail] : undefined;
  const classicProposal =
    protocol === "ah" ? [...integ, ...tail] : classic.length > 0 ? [...classic, ...integ, ...tail] : undefined;
  const first = firstAead === false ? classicProposal : aeadProposal;
  const second = firstAead === false ? aeadProposal : classicProposal;
  if (first) out.push(first);
  if (second) out.push(second);
  return out;
}

/**
 * Parses a strongSwan proposal string (`aes256gcm16-prfsha384-ecp384`, `aes128-sha256-modp2048`,
 * `aes128gcm16-esn`, `default`, or a comma-separated list of these) for `protocol`. Returns the
 * proposals numbered from 1 with transforms in the order ENCR, INTEG, PRF, KE, ESN and an empty SPI
 * (the engine fills in SPIs). Throws ProposalStringError naming the token and what is allowed.
 */
export function parseProposalString(s: string, protocol: "ike" | "esp" | "ah"): Proposal[] {
  const parts = s.split(",").map((p) => p.trim());
  const lists: Transform[][] = [];
  for (const part of parts) {
    if (part.toLowerCase() === "default") {
      for (const d of DEFAULTS[protocol]) lists.push(...parseOne(d, protocol));
      continue;
    }
    if (part === "") throw new ProposalStringError(part, "Write proposals like aes256gcm16-prfsha384-ecp384.", s, "empty proposal");
    // strongSwan's "!" (strict) suffix on the last proposal only disables default appending; ignore it.
    lists.push(...parseOne(part.replace(/!$/, ""), protocol));
  }
  return lists.map((transforms, i) => ({
    number: i + 1,
    protocol: PROTOCOL_IDS[protocol],
    spi: new Uint8Array(0),
    transforms: orderTransforms(transforms),
  }));
}

function orderTransforms(ts: Transform[]): Transform[] {
  const order: number[] = [E, I, P, K, S];
  return [...ts].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
