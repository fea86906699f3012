/**
 * The Child SA part shared by IKE_AUTH and CREATE_CHILD_SA (RFC 7296 s1.3, s2.9, s2.17, s1.3.1):
 *
 *   initiator:  SA(ESP proposals, our SPI), [KEi], TSi, TSr, [N(USE_TRANSPORT_MODE)]
 *   responder:  choose a child config whose selectors intersect (s2.9 narrowing; TS_UNACCEPTABLE
 *               only when nothing is left), choose a proposal (NO_PROPOSAL_CHOSEN), agree on
 *               transport mode, derive KEYMAT (s2.17), install, answer SA, [KEr], TSi, TSr
 *   initiator:  check the answer is a subset of what it sent (s3.3.6, s2.9), derive and install.
 *
 * Failures come back as notifies for the response and operator events that show both sides.
 */
import type { ChildConfig, Millis } from "../api.js";
import type { EngineCore } from "./context.js";
import type { IkeSa } from "../ike-sa.js";
import type { ChildSa } from "../child-sa.js";
import { notify, saPayload, spi4, tsPayload, readSpi4 } from "../payload-builders.js";
import { checkChosenProposal, chosenTransform, formatProposals, keyLengthOf, selectProposal } from "../negotiation/proposals.js";
import { formatTsList, narrowTrafficSelectors, tsContains } from "../negotiation/traffic-selectors.js";
import { deriveChildSaKeymat } from "../../crypto/keymat.js";
import { getEncr } from "../../crypto/encr.js";
import { getInteg } from "../../crypto/integ.js";
import type { Secret } from "../../crypto/secret.js";
import { EsnId, IntegId, NotifyType, ProtocolId, TransformType, notifyTypeName } from "../../wire/ike/constants.js";
import { errorNotifies, getSa, getTsi, getTsr } from "../../wire/ike/find.js";
import type { Payload, Proposal, TrafficSelector } from "../../wire/ike/types.js";

/** Our ESP proposals with our inbound SPI; without KE transforms when `withKe` is false (IKE_AUTH, s1.2). */
export function espProposals(child: ChildConfig, spi: number, withKe: boolean): Proposal[] {
  return child.espProposals.map((p, i) => ({
    ...p,
    number: i + 1,
    protocol: ProtocolId.ESP,
    spi: spi4(spi),
    transforms: withKe ? p.transforms : p.transforms.filter((t) => t.type !== TransformType.KE),
  }));
}

/** The PFS group of a child config (first KE transform of its first proposal), 0 = none. */
export function pfsGroup(child: ChildConfig): number {
  for (const p of child.espProposals) {
    const ke = p.transforms.find((t) => t.type === TransformType.KE && t.id !== 0);
    if (ke) return ke.id;
  }
  return 0;
}

/** TSi/TSr as the initiator sends them; an acquire's packet selector goes first (s2.9). */
export function initiatorSelectors(child: ChildConfig, trigger: TrafficSelector | undefined): { tsi: TrafficSelector[]; tsr: TrafficSelector[] } {
  return { tsi: trigger ? [trigger, ...child.localTs] : [...child.localTs], tsr: [...child.remoteTs] };
}

export function childRequestPayloads(proposals: Proposal[], tsi: TrafficSelector[], tsr: TrafficSelector[], transport: boolean): Payload[] {
  const ps: Payload[] = [saPayload(proposals), tsPayload(44, tsi), tsPayload(45, tsr)];
  if (transport) ps.unshift(notify(NotifyType.USE_TRANSPORT_MODE));
  return ps;
}

export interface ChildOffer {
  proposals: Proposal[];
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  transport: boolean;
  tfcNotSupported: boolean;
}

export function readChildOffer(ps: Payload[]): ChildOffer | undefined {
  const sa = getSa(ps);
  const tsi = getTsi(ps);
  const tsr = getTsr(ps);
  if (!sa || !tsi || !tsr) return undefined;
  // One pass for both notifies (two findNotify walks showed at ~2% of a responder's samples).
  let transport = false;
  let tfcNotSupported = false;
  for (const p of ps) {
    if (p.type !== 41) continue;
    if (p.notifyType === NotifyType.USE_TRANSPORT_MODE) transport = true;
    else if (p.notifyType === NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED) tfcNotSupported = true;
  }
  return { proposals: sa.proposals, tsi: tsi.selectors, tsr: tsr.selectors, transport, tfcNotSupported };
}

export type ResponderChoice =
  | { ok: true; child: ChildConfig; proposal: Proposal; tsi: TrafficSelector[]; tsr: TrafficSelector[]; transport: boolean; peerSpi: number }
  | { ok: false; notifyType: number; message: string };

/**
 * RESPONDER: the child config, proposal and narrowed selectors for an offer. `only` restricts the
 * choice to one config (a rekey keeps its child config). `withKe` keeps KE transforms (CREATE_CHILD_SA).
 */
export function chooseChild(sa: IkeSa, offer: ChildOffer, withKe: boolean, only?: ChildConfig): ResponderChoice {
  const configs = only ? [only] : sa.connection.children;
  let tsMatch: { child: ChildConfig; tsi: TrafficSelector[]; tsr: TrafficSelector[] } | undefined;
  for (const child of configs) {
    // TSi is the initiator's side: our remote selectors; TSr ours.
    const tsi = narrowTrafficSelectors(offer.tsi, child.remoteTs, { triggerFirst: looksLikeTrigger(offer.tsi) });
    const tsr = narrowTrafficSelectors(offer.tsr, child.localTs);
    if (tsi.length > 0 && tsr.length > 0) {
      tsMatch = { child, tsi, tsr };
      break;
    }
  }
  if (!tsMatch) {
    const configured = configs.map((c) => `${c.name}: local ${formatTsList(c.localTs)} remote ${formatTsList(c.remoteTs)}`).join("; ");
    return {
      ok: false,
      notifyType: NotifyType.TS_UNACCEPTABLE,
      message: `peer offered TSi ${formatTsList(offer.tsi)} TSr ${formatTsList(offer.tsr)}; configured ${configured || "(no children)"}`,
    };
  }
  const child = tsMatch.child;
  const ours = espProposals(child, 0, withKe);
  const offered = withKe ? offer.proposals : offer.proposals.map((p) => ({ ...p, transforms: p.transforms.filter((t) => t.type !== TransformType.KE) }));
  const sel = selectProposal(offered, ours, ProtocolId.ESP);
  if (!sel.ok) {
    return { ok: false, notifyType: NotifyType.NO_PROPOSAL_CHOSEN, message: `child ${child.name}: ${sel.error.message}; offered ${formatProposals(offer.proposals)}; configured ${formatProposals(child.espProposals)}` };
  }
  const peerSpi = readSpi4(sel.value.spi);
  if (peerSpi === undefined) return { ok: false, notifyType: NotifyType.INVALID_SYNTAX, message: "ESP proposal SPI is not 4 bytes" };
  // s1.3.1: transport mode only when both ask for it.
  const transport = offer.transport && child.mode === "transport";
  if (child.mode === "transport" && !offer.transport) {
    return { ok: false, notifyType: NotifyType.NO_PROPOSAL_CHOSEN, message: `child ${child.name} requires transport mode, the peer asked for tunnel mode` };
  }
  return { ok: true, child, proposal: sel.value, tsi: tsMatch.tsi, tsr: tsMatch.tsr, transport, peerSpi };
}

/**
 * s2.9: an initiator answering an acquire puts the triggering packet's selector (one address)
 * first, followed by the ranges it really wants, the first of which contains it.
 */
function looksLikeTrigger(ts: TrafficSelector[]): boolean {
  const first = ts[0];
  if (!first || ts.length < 2) return false;
  const single = first.startAddress.length === first.endAddress.length && first.startAddress.every((b, i) => b === first.endAddress[i]);
  return single && ts.slice(1).some((t) => tsContains(t, first));
}

/** The ESP suite of a chosen proposal; throws CryptoError when the crypto layer lacks it. */
export function espSuiteOf(p: Proposal): { encrId: number; encrKeyBits: number | undefined; integId: number | undefined; esn: boolean; keGroup: number } {
  const e = chosenTransform(p, TransformType.ENCR);
  if (!e) throw new Error("chosen ESP proposal lacks ENCR");
  const i = chosenTransform(p, TransformType.INTEG);
  const esn = chosenTransform(p, TransformType.ESN);
  const ke = chosenTransform(p, TransformType.KE);
  return {
    encrId: e.id,
    encrKeyBits: keyLengthOf(e),
    integId: i && i.id !== IntegId.NONE ? i.id : undefined,
    esn: esn?.id === EsnId.ESN,
    keGroup: ke?.id ?? 0,
  };
}

/** Derives KEYMAT (s2.17) and installs the Child SA; throws CryptoError on an unsupported suite. */
export function installFromProposal(core: EngineCore, now: Millis, sa: IkeSa, o: {
  child: ChildConfig;
  proposal: Proposal;
  spiIn: number;
  spiOut: number;
  transport: boolean;
  localTs: TrafficSelector[];
  remoteTs: TrafficSelector[];
  nonceI: Uint8Array;
  nonceR: Uint8Array;
  shared: Secret | undefined;
  weInitiated: boolean;
  peerTfcNotSupported: boolean;
  replaces: number | undefined;
}): ChildSa {
  const suite = espSuiteOf(o.proposal);
  const encr = getEncr(suite.encrId, suite.encrKeyBits);
  const integ = suite.integId !== undefined && !encr.aead ? getInteg(suite.integId) : undefined;
  if (!sa.keys || !sa.suite) throw new Error("IKE SA has no keys");
  const keymat = deriveChildSaKeymat(sa.suite.prf, sa.keys.skD, o.nonceI, o.nonceR, o.shared, encr, integ);
  return core.installChild(now, sa, {
    config: o.child, spiIn: o.spiIn, spiOut: o.spiOut, mode: o.transport ? "transport" : "tunnel",
    encrId: suite.encrId, encrKeyBits: suite.encrKeyBits, integId: integ ? suite.integId : undefined, esn: suite.esn,
    keGroup: suite.keGroup, keymat, weInitiated: o.weInitiated, localTs: o.localTs, remoteTs: o.remoteTs,
    peerTfcNotSupported: o.peerTfcNotSupported, replaces: o.replaces,
  });
}

/** The responder's Child SA payloads (SA, TSi, TSr, [N(USE_TRANSPORT_MODE)]). */
export function childResponsePayloads(choice: Extract<ResponderChoice, { ok: true }>, spiIn: number): Payload[] {
  const chosen: Proposal = { ...choice.proposal, spi: spi4(spiIn) };
  return childRequestPayloads([chosen], choice.tsi, choice.tsr, choice.transport);
}

export type InitiatorCheck =
  | { ok: true; proposal: Proposal; tsi: TrafficSelector[]; tsr: TrafficSelector[]; transport: boolean; peerSpi: number; tfcNotSupported: boolean }
  | { ok: false; name: string; message: string };

/** INITIATOR: validates the responder's Child SA answer against what we sent. */
export function checkChildResponse(ps: Payload[], sent: { proposals: Proposal[]; tsi: TrafficSelector[]; tsr: TrafficSelector[]; transport: boolean; child: ChildConfig }): InitiatorCheck {
  const err = errorNotifies(ps)[0];
  if (err) {
    const name = notifyTypeName(err.notifyType);
    let message = `peer refused Child SA ${sent.child.name} with ${name}`;
    if (err.notifyType === NotifyType.NO_PROPOSAL_CHOSEN) message += `; we offered ${formatProposals(sent.proposals)}`;
    if (err.notifyType === NotifyType.TS_UNACCEPTABLE) message += `; we offered TSi ${formatTsList(sent.tsi)} TSr ${formatTsList(sent.tsr)}`;
    return { ok: false, name, message };
  }
  const offer = readChildOffer(ps);
  if (!offer || offer.proposals.length !== 1) return { ok: false, name: "INVALID_SYNTAX", message: `Child SA ${sent.child.name}: response lacks SA, TSi or TSr` };
  const chosen = checkChosenProposal(sent.proposals, offer.proposals[0] as Proposal);
  if (!chosen.ok) return { ok: false, name: chosen.error.name, message: chosen.error.message };
  const peerSpi = readSpi4(chosen.value.spi);
  if (peerSpi === undefined) return { ok: false, name: "INVALID_SYNTAX", message: "ESP SPI is not 4 bytes" };
  // s2.9: the responder may only narrow.
  const within = (got: TrafficSelector[], offered: TrafficSelector[]): boolean => got.every((g) => offered.some((o) => tsContains(o, g)));
  if (!within(offer.tsi, sent.tsi) || !within(offer.tsr, sent.tsr)) {
    return { ok: false, name: "TS_UNACCEPTABLE", message: `responder widened the selectors: TSi ${formatTsList(offer.tsi)} TSr ${formatTsList(offer.tsr)}, we offered TSi ${formatTsList(sent.tsi)} TSr ${formatTsList(sent.tsr)}` };
  }
  if (sent.transport && !offer.transport) {
    return { ok: false, name: "NO_PROPOSAL_CHOSEN", message: `Child SA ${sent.child.name} needs transport mode; the responder answered with tunnel mode` };
  }
  return { ok: true, proposal: chosen.value, tsi: offer.tsi, tsr: offer.tsr, transport: offer.transport, peerSpi, tfcNotSupported: offer.tfcNotSupported };
}
