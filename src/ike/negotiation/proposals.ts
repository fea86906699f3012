/**
 * API
 *   selectProposal(offered: Proposal[], configured: Proposal[], protocol: number, opts?: { preferKe?: number }): ProposalSelection
 *       RESPONDER (RFC 7296 s2.7, s3.3.6). ok: { ok: true, value: Proposal } with one transform per
 *       type, the offered proposal's number and SPI (for ESP/AH and IKE rekeys the caller puts its own
 *       SPI in before sending); else { ok: false, error: NoProposalChosen }. preferKe: the group of
 *       the KE payload received, chosen when acceptable in the selected pair (s1.2, saves a round trip).
 *   checkChosenProposal(sent: Proposal[], chosen: Proposal): IkeResult<Proposal>
 *       INITIATOR: the responder's single proposal must be a subset of one we sent (s3.3.6).
 *   formatProposal(p: Proposal): string            // "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"
 *   formatProposals(ps: Proposal[]): string          // ", "-joined
 *   transformName(t: Transform): string              // "AES_CBC_128", "HMAC_SHA2_256_128", "MODP_2048"
 *   keyLengthOf(t: Transform): number | undefined    // KEY_LENGTH attribute in bits (s3.3.5)
 *   makeTransform(type: number, id: number, keyLengthBits?: number): Transform
 *   transformsOf(p: Proposal, type: number): Transform[]
 *   chosenTransform(p: Proposal, type: number): Transform | undefined
 *   isAeadEncr(id: number): boolean
 *   keLengthRequired(encrId: number): boolean        // AES-CBC/CTR/GCM/CCM, Camellia: KEY_LENGTH mandatory
 *   interface NoProposalChosen extends IkeError { mismatchType: number | undefined }
 *   parseProposalString(s, "ike" | "esp" | "ah"): Proposal[]  (re-exported from proposal-strings.ts; throws ProposalStringError)
 *   suiteOf(chosen: Proposal): CipherSuite   // { encr, integ?, prf?, ke?, esn }; throws CryptoError if a transform is unsupported
 *   trySuiteOf(chosen: Proposal): IkeResult<CipherSuite>   // same, as a value (NO_PROPOSAL_CHOSEN, fault "config")
 *
 * Theory of operation. The responder walks its own configured proposals in order and, inside
 * each, the peer's offered proposals in order (the responder's preference wins, like strongSwan's
 * default). A pair matches when, for every Transform Type, a transform of the configured proposal
 * (in configured order) equals one in the offered proposal (same id, same key length). Per s3.3.6
 * an offered proposal with a Transform Type we do not understand is unacceptable as a whole, and a
 * transform with an attribute we do not understand (or a missing/forbidden KEY_LENGTH) is
 * unacceptable on its own. A "NONE" transform (KE NONE, INTEG NONE) lets a side accept the absence
 * of that type. When no pair matches, the error shows both sides' proposals side by side and
 * names the first Transform Type without overlap in the closest pair, because "no proposal
 * chosen" alone leaves an operator guessing.
 */
import {
  EncrId,
  EsnId,
  IntegId,
  KeId,
  PrfId,
  ProtocolId,
  TransformAttribute as TransformAttributeType,
  TransformType,
  NotifyType,
  codepointName,
  protocolIdName,
  transformTypeName,
} from "../../wire/ike/constants.js";
import type { Proposal, Transform } from "../../wire/ike/types.js";
import { getEncr } from "../../crypto/encr.js";
import { getInteg } from "../../crypto/integ.js";
import { getKeGroup } from "../../crypto/ke.js";
import { getPrf } from "../../crypto/prf.js";
import type { EncrAlgorithm, IntegAlgorithm, KeGroup, PrfAlgorithm } from "../../crypto/types.js";
import { ikeError, type IkeError, type IkeResult } from "../errors.js";
import { KEY_LENGTH_REQUIRED, VALID_KEY_LENGTHS, chosenTransform, isAeadEncr, keyLengthOf, makeTransform } from "./transforms.js";

export { chosenTransform, isAeadEncr, keyLengthOf, keyLengthRequired, makeTransform, transformsOf } from "./transforms.js";

/** NO_PROPOSAL_CHOSEN with the Transform Type that had no overlap in the closest pair. */
export interface NoProposalChosen extends IkeError {
  /** TransformType with no overlap (ENCR 1, PRF 2, INTEG 3, KE 4, ESN 5), or undefined (protocol mismatch, nothing offered). */
  readonly mismatchType: number | undefined;
}

export type ProposalSelection = { ok: true; value: Proposal } | { ok: false; error: NoProposalChosen };

const KNOWN_TYPES: readonly number[] = [
  TransformType.ENCR,
  TransformType.PRF,
  TransformType.INTEG,
  TransformType.KE,
  TransformType.ESN,
];

/** Canonical order of types inside a proposal we build or print (ENCR, INTEG, PRF, KE, ESN). */
const TYPE_ORDER: readonly number[] = [
  TransformType.ENCR,
  TransformType.INTEG,
  TransformType.PRF,
  TransformType.KE,
  TransformType.ESN,
];


/**
 * Why a single transform is unacceptable to us (s3.3.6), or undefined when we understand it.
 * KEY_LENGTH is the only attribute defined (s3.3.5); it must be TV, present exactly for the
 * variable-length ciphers, and one of 128/192/256.
 */
function transformProblem(t: Transform): string | undefined {
  let keyLengths = 0;
  for (const a of t.attributes) {
    if (a.type !== TransformAttributeType.KEY_LENGTH || a.format !== "tv") {
      return `unknown transform attribute ${a.type}`;
    }
    keyLengths++;
  }
  if (keyLengths > 1) return "more than one KEY_LENGTH attribute";
  const kl = keyLengthOf(t);
  if (t.type === TransformType.ENCR) {
    if (KEY_LENGTH_REQUIRED.has(t.id)) {
      if (kl === undefined) return "KEY_LENGTH attribute missing (mandatory for this cipher, RFC 7296 s3.3.5)";
      if (!VALID_KEY_LENGTHS.includes(kl)) return `KEY_LENGTH ${kl} is not 128, 192 or 256`;
    } else if (kl !== undefined) {
      return "KEY_LENGTH attribute on a fixed-key-length cipher";
    }
  } else if (kl !== undefined) {
    return `KEY_LENGTH attribute on a ${transformTypeName(t.type)} transform`;
  }
  return undefined;
}

function sameTransform(a: Transform, b: Transform): boolean {
  return a.type === b.type && a.id === b.id && keyLengthOf(a) === keyLengthOf(b);
}

// ---------------------------------------------------------------------------------------------
// Names (strongSwan style, as operators see them in charon logs)

const ENCR_NAMES: Readonly<Record<number, string>> = {
  [EncrId.ENCR_DES]: "DES_CBC",
  [EncrId.ENCR_3DES]: "3DES_CBC",
  [EncrId.ENCR_CAST]: "CAST_CBC",
  [EncrId.ENCR_BLOWFISH]: "BLOWFISH_CBC",
  [EncrId.ENCR_NULL]: "NULL",
  [EncrId.ENCR_AES_CBC]: "AES_CBC",
  [EncrId.ENCR_AES_CTR]: "AES_CTR",
  [EncrId.ENCR_AES_CCM_8]: "AES_CCM_8",
  [EncrId.ENCR_AES_CCM_12]: "AES_CCM_12",
  [EncrId.ENCR_AES_CCM_16]: "AES_CCM_16",
  [EncrId.ENCR_AES_GCM_8]: "AES_GCM_8",
  [EncrId.ENCR_AES_GCM_12]: "AES_GCM_12",
  [EncrId.ENCR_AES_GCM_16]: "AES_GCM_16",
  [EncrId.ENCR_NULL_AUTH_AES_GMAC]: "NULL_AES_GMAC",
  [EncrId.ENCR_CAMELLIA_CBC]: "CAMELLIA_CBC",
  [EncrId.ENCR_CAMELLIA_CTR]: "CAMELLIA_CTR",
  [EncrId.ENCR_CAMELLIA_CCM_8]: "CAMELLIA_CCM_8",
  [EncrId.ENCR_CAMELLIA_CCM_12]: "CAMELLIA_CCM_12",
  [EncrId.ENCR_CAMELLIA_CCM_16]: "CAMELLIA_CCM_16",
  [EncrId.ENCR_CHACHA20_POLY1305]: "CHACHA20_POLY1305",
};

const KE_NAMES: Readonly<Record<number, string>> = {
  [KeId.NONE]: "KE_NONE",
  [KeId.MODP_768]: "MODP_768",
  [KeId.MODP_1024]: "MODP_1024",
  [KeId.MODP_1536]: "MODP_1536",
  [KeId.MODP_2048]: "MODP_2048",
  [KeId.MODP_3072]: "MODP_3072",
  [KeId.MODP_4096]: "MODP_4096",
  [KeId.MODP_6144]: "MODP_6144",
  [KeId.MODP_8192]: "MODP_8192",
  [KeId.ECP_256]: "ECP_256",
  [KeId.ECP_384]: "ECP_384",
  [KeId.ECP_521]: "ECP_521",
  [KeId.MODP_1024_160]: "MODP_1024_160",
  [KeId.MODP_2048_224]: "MODP_2048_224",
  [KeId.MODP_2048_256]: "MODP_2048_256",
  [KeId.ECP_192]: "ECP_192",
  [KeId.ECP_224]: "ECP_224",
  [KeId.BRAINPOOL_P224]: "ECP_224_BP",
  [KeId.BRAINPOOL_P256]: "ECP_256_BP",
  [KeId.BRAINPOOL_P384]: "ECP_384_BP",
  [KeId.BRAINPOOL_P512]: "ECP_512_BP",
  [KeId.CURVE25519]: "CURVE_25519",
  [KeId.CURVE448]: "CURVE_448",
};

/** The strongSwan-style name of a KE group (`CURVE_25519`, `ECP_384`, `MODP_2048`), as swanctl lists it. */
export function keGroupName(id: number): string {
  return KE_NAMES[id] ?? `KE(${id})`;
}

/** A transform's strongSwan-style name: `AES_GCM_16_256`, `HMAC_SHA2_256_128`, `PRF_HMAC_SHA1`, `ECP_384`, `NO_EXT_SEQ`. */
export function transformName(t: Transform): string {
  const kl = keyLengthOf(t);
  const suffix = kl === undefined ? "" : `_${kl}`;
  switch (t.type) {
    case TransformType.ENCR:
      return (ENCR_NAMES[t.id] ?? `ENCR(${t.id})`) + suffix;
    case TransformType.INTEG:
      return t.id === IntegId.NONE
        ? "INTEG_NONE"
        : codepointName(IntegId, t.id, "INTEG").replace(/^AUTH_/, "") + suffix;
    case TransformType.PRF:
      return codepointName(PrfId, t.id, "PRF") + suffix;
    case TransformType.KE:
      return keGroupName(t.id) + suffix;
    case TransformType.ESN:
      return t.id === EsnId.NO_ESN ? "NO_EXT_SEQ" : t.id === EsnId.ESN ? "EXT_SEQ" : `ESN(${t.id})`;
    default:
      return `UNKNOWN_${t.type}_${t.id}${suffix}`;
  }
}

function typeRank(type: number): number {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length + type : i;
}

/** strongSwan-style one-line rendering: `ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ`. */
export function formatProposal(p: Proposal): string {
  const sorted = [...p.transforms].sort((a, b) => typeRank(a.type) - typeRank(b.type));
  return `${protocolIdName(p.protocol)}:${sorted.map(transformName).join("/")}`;
}

export function formatProposals(ps: readonly Proposal[]): string {
  return ps.length === 0 ? "(none)" : ps.map(formatProposal).join(", ");
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Mandatory Transform Types per protocol (RFC 7296 s3.3.3); INTEG is handled with the ENCR choice. */
function mandatoryTypes(protocol: number): number[] {
  switch (protocol) {
    case ProtocolId.IKE:
      return [TransformType.ENCR, TransformType.PRF, TransformType.KE];
    case ProtocolId.ESP:
      return [TransformType.ENCR, TransformType.ESN];
    case ProtocolId.AH:
      return [TransformType.INTEG, TransformType.ESN];
    default:
      return [];
  }
}

type PairResult =
  | { ok: true; transforms: Transform[] }
  | { ok: false; type: number | undefined; detail: string; progress: number };

/** Picks one transform of `type`: configured order, then offered order. Undefined entry = omit the type. */
function pickType(
  type: number,
  offered: readonly Transform[],
  configured: readonly Transform[],
): { ok: true; pick: Transform | undefined } | { ok: false; detail: string } {
  const off = offered.filter((t) => t.type === type);
  const conf = configured.filter((t) => t.type === type);
  const offAcceptable = off.filter((t) => transformProblem(t) === undefined);
  if (off.length > 0 && conf.length > 0) {
    for (const c of conf) {
      const match = offAcceptable.find((o) => sameTransform(o, c));
      if (match) return { ok: true, pick: match };
    }
    const rejected = off.filter((t) => transformProblem(t) !== undefined);
    const why = rejected.length
      ? `; unacceptable as received: ${rejected.map((t) => `${transformName(t)} (${transformProblem(t) ?? ""})`).join(", ")}`
      : "";
    return {
      ok: false,
      detail: `received ${off.map(transformName).join("/")}, configured ${conf.map(transformName).join("/")}${why}`,
    };
  }
  if (off.length > 0) {
    // The peer insists on this type; we can only agree if it also offers NONE (e.g. KE NONE).
    const none = offAcceptable.find((t) => t.id === 0);
    if (none && (type === TransformType.KE || type === TransformType.INTEG)) return { ok: true, pick: none };
    return {
      ok: false,
      detail: `received ${off.map(transformName).join("/")}, configured none of this type`,
    };
  }
  if (conf.length > 0) {
    if (conf.some((t) => t.id === 0 && (type === TransformType.KE || type === TransformType.INTEG))) {
      return { ok: true, pick: undefined };
    }
    return { ok: false, detail: `received none of this type, configured ${conf.map(transformName).join("/")}` };
  }
  return { ok: true, pick: undefined };
}

function matchPair(offered: Proposal, configured: Proposal, protocol: number, preferKe?: number): PairResult {
  if (offered.protocol !== protocol) {
    return { ok: false, type: undefined, detail: `received protocol ${protocolIdName(offered.protocol)}`, progress: -1 };
  }
  const unknownType = offered.transforms.find((t) => !KNOWN_TYPES.includes(t.type));
  if (unknownType) {
    return {
      ok: false,
      type: unknownType.type,
      detail: `received Transform Type ${unknownType.type}, which this implementation does not understand (RFC 7296 s3.3.6)`,
      progress: -1,
    };
  }
  for (const type of mandatoryTypes(protocol)) {
    if (!offered.transforms.some((t) => t.type === type)) {
      return {
        ok: false,
        type,
        detail: `received proposal lacks the mandatory ${transformTypeName(type)} transform for ${protocolIdName(protocol)}`,
        progress: -1,
      };
    }
  }
  // ENCR first: the INTEG rule depends on whether the chosen cipher is AEAD (RFC 5282 s8).
  const chosen: Transform[] = [];
  let progress = 0;
  if (protocol !== ProtocolId.AH) {
    const encrOffered = offered.transforms.filter((t) => t.type === TransformType.ENCR);
    const encrConf = configured.transforms.filter((t) => t.type === TransformType.ENCR);
    const encr = pickType(TransformType.ENCR, encrOffered, encrConf);
    if (!encr.ok) return { ok: false, type: TransformType.ENCR, detail: encr.detail, progress };
    progress++;
    // Try every mutually acceptable cipher in configured order until the INTEG rule also holds.
    const candidates = encrConf.filter((c) =>
      encrOffered.some((o) => transformProblem(o) === undefined && sameTransform(o, c)),
    );
    let lastIntegDetail = "";
    let picked: { encr: Transform; integ: Transform | undefined } | undefined;
    for (const c of candidates) {
      const e = encrOffered.find((o) => sameTransform(o, c));
      if (!e) continue;
      const integOff = offered.transforms.filter((t) => t.type === TransformType.INTEG);
      const integConf = configured.transforms.filter((t) => t.type === TransformType.INTEG);
      if (isAeadEncr(e.id)) {
        // AEAD: no integrity transform, or INTEG NONE if the peer listed INTEG at all.
        if (integOff.length === 0) {
          picked = { encr: e, integ: undefined };
          break;
        }
        const none = integOff.find((t) => t.id === IntegId.NONE && transformProblem(t) === undefined);
        if (none) {
          picked = { encr: e, integ: none };
          break;
        }
        lastIntegDetail = `${transformName(e)} is AEAD but the received proposal requires integrity ${integOff.map(transformName).join("/")}`;
        continue;
      }
      const nonNoneOff = integOff.filter((t) => t.id !== IntegId.NONE);
      const nonNoneConf = integConf.filter((t) => t.id !== IntegId.NONE);
      const integ = pickType(TransformType.INTEG, nonNoneOff, nonNoneConf);
      if (!integ.ok) {
        lastIntegDetail = integ.detail;
        continue;
      }
      if (integ.pick === undefined && protocol === ProtocolId.IKE) {
        lastIntegDetail = `${transformName(e)} is not AEAD and IKE requires an integrity algorithm`;
        continue;
      }
      picked = { encr: e, integ: integ.pick };
      break;
    }
    if (!picked) return { ok: false, type: TransformType.INTEG, detail: lastIntegDetail, progress };
    progress++;
    chosen.push(picked.encr);
    if (picked.integ) chosen.push(picked.integ);
  } else {
    const integ = pickType(TransformType.INTEG, offered.transforms, configured.transforms);
    if (!integ.ok) return { ok: false, type: TransformType.INTEG, detail: integ.detail, progress };
    if (!integ.pick || integ.pick.id === IntegId.NONE) {
      return { ok: false, type: TransformType.INTEG, detail: "AH needs an integrity algorithm", progress };
    }
    progress += 2;
    chosen.push(integ.pick);
  }
  for (const type of [TransformType.PRF, TransformType.KE, TransformType.ESN]) {
    // RFC 7296 s1.2: if the group of the KE payload already sent is acceptable, choosing it
    // saves the INVALID_KE_PAYLOAD round trip.
    const conf =
      type === TransformType.KE && preferKe !== undefined && configured.transforms.some((t) => t.type === type && t.id === preferKe)
        ? [makeTransform(TransformType.KE, preferKe), ...configured.transforms]
        : configured.transforms;
    const r = pickType(type, offered.transforms, conf);
    if (!r.ok) return { ok: false, type, detail: r.detail, progress };
    progress++;
    if (r.pick) chosen.push(r.pick);
  }
  return { ok: true, transforms: chosen };
}

function cloneTransform(t: Transform): Transform {
  return { type: t.type, id: t.id, attributes: t.attributes.map((a) => ({ ...a })) };
}

/**
 * RESPONDER: chooses one of `offered` for `protocol` (ProtocolId) by our preference order
 * (RFC 7296 s2.7: the responder picks; s3.3.6: it returns exactly one transform of each type the
 * chosen proposal has, with the offered Proposal Num and the offered SPI). Never throws.
 * Failure: NO_PROPOSAL_CHOSEN, fault "config", with both proposal lists side by side.
 */
export function selectProposal(
  offered: Proposal[],
  configured: Proposal[],
  protocol: number,
  opts: { preferKe?: number } = {},
): ProposalSelection {
  let best: { o: number; c: number; r: Extract<PairResult, { ok: false }> } | undefined;
  for (let ci = 0; ci < configured.length; ci++) {
    const conf = configured[ci] as Proposal;
    for (let oi = 0; oi < offered.length; oi++) {
      const off = offered[oi] as Proposal;
      const r = matchPair(off, conf, protocol, opts.preferKe);
      if (r.ok) {
        return {
          ok: true,
          value: {
            number: off.number,
            protocol: off.protocol,
            spi: off.spi.slice(),
            transforms: r.transforms.map(cloneTransform),
          },
        };
      }
      if (!best || r.progress > best.r.progress) best = { o: oi, c: ci, r };
    }
  }
  return { ok: false, error: noProposalChosen(offered, configured, protocol, best) };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** One column per side, one row per Transform Type: what an operator needs to fix a mismatch. */
function sideBySide(off: Proposal, conf: Proposal, mismatch: number | undefined, oi: number, ci: number): string {
  const types = TYPE_ORDER.filter((t) => off.transforms.some((x) => x.type === t) || conf.transforms.some((x) => x.type === t));
  for (const t of off.transforms) if (!types.includes(t.type)) types.push(t.type);
  const rows = types.map((t) => [
    transformTypeName(t),
    off.transforms.filter((x) => x.type === t).map(transformName).join("/") || "-",
    conf.transforms.filter((x) => x.type === t).map(transformName).join("/") || "-",
    t === mismatch ? "  <-- no overlap" : pickType(t, off.transforms, conf.transforms).ok ? "" : "  <-- also no overlap",
  ]);
  const head = ["type", `received #${oi + 1} (proposal ${off.number})`, `configured #${ci + 1}`, ""];
  const all = [head, ...rows];
  const w0 = Math.max(...all.map((r) => (r[0] ?? "").length));
  const w1 = Math.max(...all.map((r) => (r[1] ?? "").length));
  const w2 = Math.max(...all.map((r) => (r[2] ?? "").length));
  return all
    .map((r) => `    ${pad(r[0] ?? "", w0)} | ${pad(r[1] ?? "", w1)} | ${pad(r[2] ?? "", w2)}${r[3] ?? ""}`.trimEnd())
    .join("\n");
}

function noProposalChosen(
  offered: Proposal[],
  configured: Proposal[],
  protocol: number,
  best: { o: number; c: number; r: Extract<PairResult, { ok: false }> } | undefined,
): NoProposalChosen {
  const proto = protocolIdName(protocol);
  const lines: string[] = [];
  const ofProto = offered.filter((p) => p.protocol === protocol);
  lines.push(`no ${proto} proposal in common (received ${offered.length}, configured ${configured.length}).`);
  lines.push(`  received:   ${formatProposals(offered)}`);
  lines.push(`  configured: ${formatProposals(configured)}`);
  let mismatchType: number | undefined;
  if (configured.length === 0) {
    lines.push(`  nothing is configured for ${proto}: add proposals to the connection.`);
  } else if (offered.length === 0) {
    lines.push(`  the peer offered no proposals.`);
  } else if (ofProto.length === 0) {
    lines.push(`  the peer offered only ${[...new Set(offered.map((p) => protocolIdName(p.protocol)))].join("/")}, we expect ${proto}: configure the same protocol on both sides.`);
  } else if (best) {
    mismatchType = best.r.type;
    const off = offered[best.o] as Proposal;
    const conf = configured[best.c] as Proposal;
    const typeName = mismatchType === undefined ? "protocol" : transformTypeName(mismatchType);
    lines.push(`  closest pair, first Transform Type with no overlap: ${typeName} (${best.r.detail})`);
    lines.push(sideBySide(off, conf, mismatchType, best.o, best.c));
    lines.push(
      `  to fix: make both sides share at least one ${typeName} algorithm` +
        (mismatchType === TransformType.KE && protocol === ProtocolId.ESP
          ? " (a KE group in an ESP/AH proposal means PFS: both sides must agree on using PFS and on the group)"
          : mismatchType === TransformType.ESN
            ? " (add or remove 'esn'/'noesn' so the extended sequence number setting matches)"
            : "") +
        ".",
    );
  }
  const err = ikeError(NotifyType.NO_PROPOSAL_CHOSEN, lines.join("\n"), "config");
  return { ...err, mismatchType };
}

/**
 * INITIATOR: checks the responder's SA payload answer (RFC 7296 s3.3.6): exactly one proposal,
 * whose number names one we sent, with one transform of each type that proposal had (none of a
 * type we did not send, none we did not offer), and the right SPI size. Returns the chosen
 * proposal or an IkeError (fault "peer"; the caller deletes the SA attempt, s2.7 says the
 * initiator MUST NOT continue with an unoffered choice).
 */
export function checkChosenProposal(sent: Proposal[], chosen: Proposal): IkeResult<Proposal> {
  const bad = (why: string): IkeResult<Proposal> => ({
    ok: false,
    error: ikeError(
      NotifyType.NO_PROPOSAL_CHOSEN,
      `the peer chose a proposal we did not offer: ${why}. We offered ${formatProposals(sent)}; the peer answered ${formatProposal(chosen)}. This is a peer bug or a tampered message; no configuration change helps.`,
      "peer",
    ),
  });
  const mine = sent.find((p) => p.number === chosen.number);
  if (!mine) return bad(`proposal number ${chosen.number} does not exist`);
  if (mine.protocol !== chosen.protocol) return bad(`protocol ${protocolIdName(chosen.protocol)} instead of ${protocolIdName(mine.protocol)}`);
  const seen = new Set<number>();
  for (const t of chosen.transforms) {
    if (seen.has(t.type)) return bad(`more than one ${transformTypeName(t.type)} transform`);
    seen.add(t.type);
    if (!mine.transforms.some((m) => sameTransform(m, t))) return bad(`${transformTypeName(t.type)} ${transformName(t)} was not offered in proposal ${mine.number}`);
  }
  for (const m of mine.transforms) {
    // s3.3.6: one transform of each type offered; a NONE we offered may stand for "absent".
    if (!seen.has(m.type) && !mine.transforms.some((x) => x.type === m.type && x.id === 0)) {
      return bad(`no ${transformTypeName(m.type)} transform chosen`);
    }
  }
  const encr = chosenTransform(chosen, TransformType.ENCR);
  const integ = chosenTransform(chosen, TransformType.INTEG);
  if (encr && isAeadEncr(encr.id) && integ && integ.id !== IntegId.NONE) return bad("an AEAD cipher together with an integrity algorithm");
  if (chosen.protocol === ProtocolId.IKE && encr && !isAeadEncr(encr.id) && (!integ || integ.id === IntegId.NONE)) {
    return bad("a non-AEAD cipher without an integrity algorithm");
  }
  const spiLen = chosen.protocol === ProtocolId.IKE ? [0, 8] : [4];
  if (!spiLen.includes(chosen.spi.length)) return bad(`SPI of ${chosen.spi.length} bytes`);
  return { ok: true, value: chosen };
}

/** The negotiated algorithms of a chosen proposal, as crypto objects. */
export interface CipherSuite {
  encr: EncrAlgorithm;
  /** Absent for AEAD ciphers (or INTEG NONE). */
  integ?: IntegAlgorithm;
  /** IKE only. */
  prf?: PrfAlgorithm;
  /** Absent when no KE was negotiated (CHILD_SA without PFS, or KE NONE). */
  ke?: KeGroup;
  /** Extended Sequence Numbers chosen (ESN transform id 1). */
  esn: boolean;
}

/**
 * The crypto objects for a chosen proposal (one transform per type). AH proposals have no ENCR;
 * their `encr` is ENCR_NULL so callers need no special case. Throws CryptoError when a transform
 * is not implemented by src/crypto (only possible if the configuration lists such an algorithm).
 */
export function suiteOf(chosen: Proposal): CipherSuite {
  const encrT = chosenTransform(chosen, TransformType.ENCR);
  const integT = chosenTransform(chosen, TransformType.INTEG);
  const prfT = chosenTransform(chosen, TransformType.PRF);
  const keT = chosenTransform(chosen, TransformType.KE);
  const esnT = chosenTransform(chosen, TransformType.ESN);
  const suite: CipherSuite = {
    encr: encrT ? getEncr(encrT.id, keyLengthOf(encrT)) : getEncr(EncrId.ENCR_NULL),
    esn: esnT?.id === EsnId.ESN,
  };
  if (integT && integT.id !== IntegId.NONE) suite.integ = getInteg(integT.id);
  if (prfT) suite.prf = getPrf(prfT.id);
  if (keT && keT.id !== KeId.NONE) suite.ke = getKeGroup(keT.id);
  return suite;
}

/** suiteOf as a value: an unsupported algorithm becomes NO_PROPOSAL_CHOSEN with fault "config". */
export function trySuiteOf(chosen: Proposal): IkeResult<CipherSuite> {
  try {
    return { ok: true, value: suiteOf(chosen) };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      error: ikeError(NotifyType.NO_PROPOSAL_CHOSEN, `${formatProposal(chosen)} was agreed but is not implemented here (${why}); remove it from the configured proposals`, "config"),
    };
  }
}

// parseProposalString lives in its own module (the keyword table is large); re-exported here so
// callers find every proposal operation in one place.
export { parseProposalString, ProposalStringError, PROPOSAL_KEYWORDS } from "./proposal-strings.js";
