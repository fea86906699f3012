/**
 * CREATE_CHILD_SA, both roles (RFC 7296 s1.3, s2.8, s2.8.1, s2.8.2, s2.18, s2.25).
 *
 *   new Child SA:   HDR, SK { SA, Ni, [KEi], TSi, TSr }                  <-- HDR, SK { SA, Nr, [KEr], TSi, TSr }
 *   rekey Child SA: HDR, SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }     <-- same as above
 *   rekey IKE SA:   HDR, SK { SA(new SPIi), Ni, KEi }                    <-- HDR, SK { SA(new SPIr), Nr, KEr }
 *
 * Rekey (s2.8): the new Child SA is installed on both sides; the initiator of the rekey then
 * deletes the old one, which keeps decrypting in-flight packets until its DELETE. IKE rekey
 * (s2.18): SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr) with the new SA's PRF and SPIs; the
 * Child SAs move to the new IKE SA and the initiator deletes the old one.
 *
 * Collisions (s2.8.1, s2.8.2): when both ends rekey the same SA at once, both exchanges
 * complete; "the SA created with the lowest of the four nonces used in the two exchanges SHOULD
 * be closed by the endpoint that created it", and the winner's initiator deletes the old SA.
 * Each side records the exchange it answered (passiveRekey) and decides when its own finishes.
 *
 * s2.25: a request for an SA we are deleting, or any Child SA request while we rekey the IKE SA
 * (and an IKE rekey while we have a Child SA exchange outstanding), gets TEMPORARY_FAILURE; the
 * initiator retries after a random delay. A REKEY_SA for an unknown SPI gets CHILD_SA_NOT_FOUND.
 */
import type { ChildConfig, Millis } from "../api.js";
import type { EngineCore } from "./context.js";
import { IkeSa, type IkeTask } from "../ike-sa.js";
import type { ChildSa } from "../child-sa.js";
import { kePayload, noncePayload, notify, readSpi4, readSpi8, rekeySaNotify, saPayload, spi8, u16 } from "../payload-builders.js";
import {
  checkChildResponse, childRequestPayloads, childResponsePayloads, chooseChild, espProposals, initiatorSelectors,
  installFromProposal, pfsGroup, readChildOffer,
} from "./child-negotiation.js";
import { NONCE_LENGTH, ikeProposals, ikeSuiteOf, preferredGroup } from "./ike-sa-init.js";
import { checkChosenProposal, chosenTransform, formatProposals, selectProposal } from "../negotiation/proposals.js";
import { getKeGroup } from "../../crypto/ke.js";
import { deriveIkeSaKeys, deriveRekeyedSkeyseed } from "../../crypto/keymat.js";
import type { Secret } from "../../crypto/secret.js";
import { randomInt } from "../../crypto/random.js";
import { ExchangeType, NotifyType, ProtocolId, TransformType, notifyTypeName } from "../../wire/ike/constants.js";
import { errorNotifies, findNotify, getKe, getNonce, getSa } from "../../wire/ike/find.js";
import type { Payload, Proposal, TrafficSelector } from "../../wire/ike/types.js";

/** Grace period before the winner of an IKE SA rekey collision removes the loser's redundant SA itself. */
export const LINGER_MS = 60_000;

/** Lexicographic nonce comparison (s2.8.1 "lowest nonce"). */
export function compareNonces(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function minNonce(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareNonces(a, b) <= 0 ? a : b;
}

/**
 * s2.8.1: true when OUR exchange (nonces ourNi, peerNr) holds the lowest of the four nonces, i.e.
 * the SA we created is the redundant one.
 */
export function weLoseCollision(ours: { ni: Uint8Array; nr: Uint8Array }, theirs: { ni: Uint8Array; nr: Uint8Array }): boolean {
  return compareNonces(minNonce(ours.ni, ours.nr), minNonce(theirs.ni, theirs.nr)) < 0;
}

/** Delay before retrying after TEMPORARY_FAILURE (s2.25: "retry after a short random delay"). */
export function retryDelay(core: EngineCore): Millis {
  return 1000 + randomInt(core.random, 4000);
}

function shared(ke: import("../../crypto/types.js").KeyExchange, peer: Uint8Array): Secret {
  return ke.computeSharedSecret(peer);
}

// ---------------------------------------------------------------------------------------------
// Initiator

/** The KE groups of a proposal list (for an INVALID_KE_PAYLOAD answer, s1.2/s1.3). */
function proposedGroups(proposals: Proposal[]): number[] {
  return proposals.flatMap((p) => p.transforms.filter((t) => t.type === TransformType.KE && t.id !== 0).map((t) => t.id));
}

/** The group named by INVALID_KE_PAYLOAD's 2-byte data, or 0. */
function invalidKeGroup(ps: Payload[]): number | undefined {
  const n = findNotify(ps, NotifyType.INVALID_KE_PAYLOAD);
  if (!n) return undefined;
  return n.data.length === 2 ? ((n.data[0] as number) << 8) | (n.data[1] as number) : 0;
}

export function startCreateChild(core: EngineCore, now: Millis, sa: IkeSa, child: ChildConfig, trigger: TrafficSelector | undefined, rekey: ChildSa | undefined, keGroup?: number): void {
  const spi = core.newChildSpi();
  const group = keGroup ?? pfsGroup(child);
  const ke = group !== 0 ? getKeGroup(group).generate(core.random) : undefined;
  const nonce = core.random.bytes(NONCE_LENGTH);
  const proposals = espProposals(child, spi, true);
  // A rekey keeps the selectors and mode of the SA it replaces (s2.8).
  const sel = rekey ? { tsi: rekey.localTs, tsr: rekey.remoteTs } : initiatorSelectors(child, trigger);
  const transport = rekey ? rekey.mode === "transport" : child.mode === "transport";
  const payloads: Payload[] = [];
  if (rekey) {
    payloads.push(rekeySaNotify(rekey.spiIn));
    rekey.state = "rekeying";
  }
  payloads.push(saPayload(proposals), noncePayload(nonce));
  if (ke) payloads.push(kePayload(group, ke.publicValue));
  payloads.push(...childRequestPayloads(proposals, sel.tsi, sel.tsr, transport));
  // childRequestPayloads repeats SA first; keep one SA (ours above) in RFC order: SA, Ni, [KEi], TSi, TSr.
  const dedup = payloads.filter((p, i) => p.type !== 33 || i === payloads.findIndex((q) => q.type === 33));
  core.sendRequest(now, sa, ExchangeType.CREATE_CHILD_SA, dedup, {
    kind: "createChild", child, rekeyOf: rekey?.id, childSpi: spi, nonce, ke, proposals, tsi: sel.tsi, tsr: sel.tsr, transport, trigger,
    keRetried: keGroup !== undefined,
  });
}

export function handleCreateChildResponse(core: EngineCore, now: Millis, sa: IkeSa, ps: Payload[]): void {
  const active = sa.active;
  if (active?.kind !== "createChild") return;
  sa.active = undefined;
  sa.msgIds.completed();
  const conn = sa.connection.name;
  const old = active.rekeyOf !== undefined ? sa.children.get(active.rekeyOf) : undefined;
  const restoreOld = (): void => {
    if (old && old.state === "rekeying") old.state = "installed";
  };
  // A new Child SA that fails is flagged for the daemon's `up` waiters (api.ts EngineEvent); a failed rekey is not (the old SA lives on).
  const failed: Record<string, boolean> = active.rekeyOf === undefined ? { childSaFailed: true } : {};
  const temp = findNotify(ps, NotifyType.TEMPORARY_FAILURE);
  if (temp) {
    restoreOld();
    // s2.25: retry after a random delay, unless the SA was rekeyed by the peer meanwhile.
    if (active.rekeyOf === undefined || (old && old.state === "installed" && !old.passiveRekey)) {
      sa.tasks.push(active.rekeyOf === undefined ? { kind: "createChild", child: active.child, trigger: active.trigger } : { kind: "rekeyChild", childId: active.rekeyOf });
      sa.timers.set("retryTask", now + retryDelay(core));
      core.log("info", "child", `TEMPORARY_FAILURE from peer for ${active.rekeyOf === undefined ? "new" : "rekeyed"} Child SA ${active.child.name}; retrying later`, { connection: conn, child: active.child.name });
    } else {
      core.log("info", "child", `TEMPORARY_FAILURE from peer for the rekey of Child SA ${active.child.name}; not retrying, the SA was deleted or rekeyed meanwhile`, { connection: conn, child: active.child.name });
    }
    return;
  }
  const wanted = invalidKeGroup(ps);
  if (wanted !== undefined) {
    restoreOld();
    // s1.3: retry once with the group the responder wants, if we proposed it.
    if (!active.keRetried && wanted !== active.ke?.group && proposedGroups(active.proposals).includes(wanted)) {
      core.log("info", "child", `peer wants KE group ${wanted} for Child SA ${active.child.name}, retrying (RFC 7296 s1.3)`, { connection: conn, child: active.child.name });
      sa.tasks.unshift(active.rekeyOf === undefined
        ? { kind: "createChild", child: active.child, trigger: active.trigger, keGroup: wanted }
        : { kind: "rekeyChild", childId: active.rekeyOf, keGroup: wanted });
      return;
    }
    core.log("error", "child", `INVALID_KE_PAYLOAD: peer wants KE group ${wanted} for Child SA ${active.child.name}, we sent ${active.ke?.group ?? "none"} and offered ${formatProposals(active.proposals)}`, { connection: conn, child: active.child.name, notify: "INVALID_KE_PAYLOAD", ...failed });
    return;
  }
  if (findNotify(ps, NotifyType.CHILD_SA_NOT_FOUND)) {
    core.log("info", "child", `CHILD_SA_NOT_FOUND: the peer no longer has the Child SA we tried to rekey`, { connection: conn, child: active.child.name });
    if (old) core.removeChild(sa, old, "peer has no such Child SA");
    return;
  }
  const r = checkChildResponse(ps, { proposals: active.proposals, tsi: active.tsi, tsr: active.tsr, transport: active.transport, child: active.child });
  const nonceP = getNonce(ps);
  const keP = getKe(ps);
  if (!r.ok || !nonceP || (active.ke && (!keP || keP.group !== active.ke.group))) {
    restoreOld();
    const name = !r.ok ? r.name : "INVALID_SYNTAX";
    const message = !r.ok ? r.message : "response lacks Nr or a matching KEr";
    core.log("error", "child", `${name}: ${message}`, { connection: conn, child: active.child.name, notify: name, ...failed });
    return;
  }
  let g: Secret | undefined;
  try {
    g = active.ke && keP ? shared(active.ke, keP.keyData) : undefined;
  } catch (e) {
    restoreOld();
    core.log("error", "child", `unusable KEr: ${(e as Error).message}`, { connection: conn, child: active.child.name, ...failed });
    return;
  }
  let created: ChildSa;
  try {
    created = installFromProposal(core, now, sa, {
      child: active.child, proposal: r.proposal, spiIn: active.childSpi, spiOut: r.peerSpi, transport: r.transport,
      localTs: r.tsi, remoteTs: r.tsr, nonceI: active.nonce, nonceR: nonceP.nonce, shared: g, weInitiated: true,
      peerTfcNotSupported: r.tfcNotSupported, replaces: old?.id,
    });
  } catch (e) {
    restoreOld();
    core.log("error", "child", `Child SA ${active.child.name} cannot be installed: ${(e as Error).message}`, { connection: conn, child: active.child.name, ...failed });
    return;
  } finally {
    g?.wipe();
  }
  if (active.rekeyOf === undefined) return;
  // s2.8.1: did the peer rekey the same SA at the same time? (The peer may even have deleted the
  // old SA already, as the winner does; the collision record outlives it.)
  const passive = old?.passiveRekey ?? sa.childCollisions.get(active.rekeyOf);
  sa.childCollisions.delete(active.rekeyOf);
  if (passive && weLoseCollision({ ni: active.nonce, nr: nonceP.nonce }, { ni: passive.nonceI, nr: passive.nonceR })) {
    core.log("info", "child", `rekey collision on Child SA ${active.child.name}: our SA has the lowest nonce, deleting it (RFC 7296 s2.8.1)`, { connection: conn });
    if (old) {
      old.state = "rekeyed";
      old.replacedBy = passive.newId;
    }
    created.state = "rekeyed";
    sa.tasks.unshift({ kind: "deleteChild", childId: created.id, reason: "redundant after rekey collision" });
    return;
  }
  if (!old) return;
  old.state = "rekeyed";
  old.replacedBy = created.id;
  sa.tasks.unshift({ kind: "deleteChild", childId: old.id, reason: "rekeyed" });
}

export function startRekeyIke(core: EngineCore, now: Millis, sa: IkeSa, keGroup?: number): void {
  const newSpi = core.newIkeSpi();
  const proposals = ikeProposals(sa.connection).map((p) => ({ ...p, spi: spi8(newSpi) }));
  const group = keGroup ?? (sa.suite?.keGroup || preferredGroup(proposals) || 0);
  const ke = getKeGroup(group).generate(core.random);
  const nonce = core.random.bytes(NONCE_LENGTH);
  sa.state = "established";
  core.sendRequest(now, sa, ExchangeType.CREATE_CHILD_SA, [saPayload(proposals), noncePayload(nonce), kePayload(group, ke.publicValue)],
    { kind: "rekeyIke", newSpi, nonce, ke, proposals, keRetried: keGroup !== undefined });
}

/** Builds the new IKE SA of a rekey (s2.18); `weInitiated` is our role in the CREATE_CHILD_SA. */
function makeRekeyedSa(core: EngineCore, now: Millis, old: IkeSa, o: {
  weInitiated: boolean; spiI: bigint; spiR: bigint; nonceI: Uint8Array; nonceR: Uint8Array; proposal: Proposal; g: Secret;
}): IkeSa {
  const suite = ikeSuiteOf(o.proposal);
  if (!old.keys) throw new Error("old IKE SA has no keys");
  const skeyseed = deriveRekeyedSkeyseed(suite.prf, old.keys.skD, o.g, o.nonceI, o.nonceR);
  const n = new IkeSa({
    id: core.nextIkeSaId(), connection: old.connection, initiator: o.weInitiated, spiI: o.spiI, spiR: o.spiR,
    local: old.local, remote: old.remote, state: "established", now, localId: old.localId,
  });
  n.keys = deriveIkeSaKeys({ prf: suite.prf, encr: suite.encr, integ: suite.integ, skeyseed, ni: o.nonceI, nr: o.nonceR, spiI: spi8(o.spiI), spiR: spi8(o.spiR) });
  skeyseed.wipe();
  n.suite = suite;
  n.nonceI = o.nonceI;
  n.nonceR = o.nonceR;
  n.remoteId = old.remoteId;
  n.terminating = old.terminating;
  n.natLocal = old.natLocal;
  n.natRemote = old.natRemote;
  n.fragmentation = old.fragmentation;
  n.peerSentFragmentationSupported = old.peerSentFragmentationSupported;
  core.registerIkeSa(n);
  return n;
}

/** s2.18: the Child SAs (and queued Child SA work) move to the new IKE SA. */
export function moveChildren(core: EngineCore, now: Millis, from: IkeSa, to: IkeSa): void {
  core.emit({ kind: "ikeSaRekeyed", oldIkeSaId: from.id, newIkeSaId: to.id, connection: from.connection.name, childIds: [...from.children.keys()] });
  from.supersededBy = to.id;
  for (const c of from.children.values()) {
    c.ikeSaId = to.id;
    to.children.set(c.id, c);
  }
  from.children.clear();
  const isChildTask = (t: IkeTask): boolean => t.kind === "createChild" || t.kind === "rekeyChild" || t.kind === "deleteChild";
  const movable = from.tasks.filter(isChildTask);
  const rest = from.tasks.filter((t) => !isChildTask(t));
  to.tasks.push(...movable);
  from.tasks = rest;
  core.schedule(now, to);
}

export function handleRekeyIkeResponse(core: EngineCore, now: Millis, sa: IkeSa, ps: Payload[]): void {
  const active = sa.active;
  if (active?.kind !== "rekeyIke") return;
  sa.active = undefined;
  sa.msgIds.completed();
  const conn = sa.connection.name;
  const afterFailure = (): void => {
    // Our rekey failed; if the peer rekeyed meanwhile, its new SA takes over (s2.8.2).
    if (sa.passiveRekey) {
      moveChildren(core, now, sa, sa.passiveRekey.newSa);
      sa.state = "rekeyed";
    }
  };
  if (findNotify(ps, NotifyType.TEMPORARY_FAILURE)) {
    afterFailure();
    if (sa.state === "established") {
      sa.tasks.push({ kind: "rekeyIke" });
      sa.timers.set("retryTask", now + retryDelay(core));
      core.log("info", "ike", "TEMPORARY_FAILURE for our IKE SA rekey; retrying later", { connection: conn });
    }
    return;
  }
  const wanted = invalidKeGroup(ps);
  if (wanted !== undefined && !active.keRetried && wanted !== active.ke.group && proposedGroups(active.proposals).includes(wanted) && sa.state === "established" && !sa.passiveRekey) {
    core.log("info", "ike", `peer wants KE group ${wanted} for the IKE SA rekey, retrying (RFC 7296 s1.2)`, { connection: conn });
    sa.tasks.unshift({ kind: "rekeyIke", keGroup: wanted });
    return;
  }
  const err = errorNotifies(ps)[0];
  const saP = getSa(ps);
  const nonceP = getNonce(ps);
  const keP = getKe(ps);
  if (err || !saP || !nonceP || !keP || saP.proposals.length !== 1) {
    const name = err ? notifyTypeName(err.notifyType) : "INVALID_SYNTAX";
    core.log("error", "ike", `IKE SA rekey failed: ${name}${err?.notifyType === NotifyType.NO_PROPOSAL_CHOSEN ? `; we offered ${formatProposals(active.proposals)}` : ""}`, { connection: conn, notify: name });
    afterFailure();
    return;
  }
  const chosen = checkChosenProposal(active.proposals, saP.proposals[0] as Proposal);
  const peerSpi = chosen.ok ? readSpi8(chosen.value.spi) : undefined;
  if (!chosen.ok || peerSpi === undefined || keP.group !== active.ke.group || chosenTransform(chosen.value, TransformType.KE)?.id !== active.ke.group) {
    core.log("error", "ike", `IKE SA rekey failed: ${chosen.ok ? "bad SPI or KE group" : chosen.error.message}`, { connection: conn });
    afterFailure();
    return;
  }
  let created: IkeSa;
  let g: Secret | undefined;
  try {
    g = shared(active.ke, keP.keyData);
    created = makeRekeyedSa(core, now, sa, { weInitiated: true, spiI: active.newSpi, spiR: peerSpi, nonceI: active.nonce, nonceR: nonceP.nonce, proposal: chosen.value, g });
  } catch (e) {
    core.log("error", "ike", `IKE SA rekey failed: ${(e as Error).message}`, { connection: conn });
    afterFailure();
    return;
  } finally {
    g?.wipe();
  }
  const passive = sa.passiveRekey;
  if (passive && weLoseCollision({ ni: active.nonce, nr: nonceP.nonce }, { ni: passive.nonceI, nr: passive.nonceR })) {
    // s2.8.2: our new SA is redundant: we delete it; the peer deletes the old one.
    core.log("info", "ike", "IKE SA rekey collision: our new SA has the lowest nonce, deleting it (RFC 7296 s2.8.2)", { connection: conn });
    moveChildren(core, now, sa, passive.newSa);
    sa.state = "rekeyed";
    core.established(now, created);
    created.tasks = [{ kind: "deleteIke", reason: "redundant after IKE SA rekey collision" }];
    core.schedule(now, created);
    return;
  }
  if (passive) {
    // We won: the peer should delete the SA it created; if its answer never reached it (the old SA
    // went first), we remove that redundant SA ourselves after a grace period.
    passive.newSa.timers.set("deleteLinger", now + LINGER_MS);
  }
  core.log("info", "ike", `IKE SA rekeyed: ${sa.id} -> ${created.id}`, { connection: conn });
  moveChildren(core, now, sa, created);
  core.established(now, created);
  sa.state = "rekeyed";
  sa.tasks = [{ kind: "deleteIke", reason: "rekeyed" }];
  core.schedule(now, sa);
}

// ---------------------------------------------------------------------------------------------
// Responder

/** True while we have our own exchange of `kind` in flight or queued-and-started on `sa`. */
function activeKind(sa: IkeSa): string | undefined {
  return sa.active?.kind;
}

export function handleCreateChildRequest(core: EngineCore, now: Millis, sa: IkeSa, messageId: number, ps: Payload[]): void {
  const respond = (payloads: Payload[]): void => core.sendResponse(now, sa, ExchangeType.CREATE_CHILD_SA, messageId, payloads);
  const conn = sa.connection.name;
  const saP = getSa(ps);
  const nonceP = getNonce(ps);
  if (!saP || !nonceP) {
    respond([notify(NotifyType.INVALID_SYNTAX)]);
    return;
  }
  const isIkeRekey = saP.proposals.length > 0 && saP.proposals.every((p) => p.protocol === ProtocolId.IKE);
  if (sa.state !== "established") {
    // We are deleting or have rekeyed this IKE SA (s2.25.2).
    respond([notify(NotifyType.TEMPORARY_FAILURE)]);
    return;
  }
  if (isIkeRekey) return respondRekeyIke(core, now, sa, messageId, ps, nonceP.nonce);
  if (activeKind(sa) === "rekeyIke") {
    respond([notify(NotifyType.TEMPORARY_FAILURE)]);
    return;
  }
  const rekeyN = findNotify(ps, NotifyType.REKEY_SA);
  let old: ChildSa | undefined;
  if (rekeyN) {
    const spi = readSpi4(rekeyN.spi);
    old = spi === undefined ? undefined : [...sa.children.values()].find((c) => c.spiOut === spi);
    if (!old) {
      respond([notify(NotifyType.CHILD_SA_NOT_FOUND, new Uint8Array(0), ProtocolId.ESP, rekeyN.spi)]);
      return;
    }
    if (old.state === "deleting" || old.state === "rekeyed") {
      respond([notify(NotifyType.TEMPORARY_FAILURE)]);
      return;
    }
  }
  const offer = readChildOffer(ps);
  if (!offer) {
    respond([notify(NotifyType.INVALID_SYNTAX)]);
    return;
  }
  const choice = chooseChild(sa, offer, true, old?.config);
  if (!choice.ok) {
    respond([notify(choice.notifyType)]);
    const name = notifyTypeName(choice.notifyType);
    core.log("warn", "child", `${name}: ${choice.message}`, { connection: conn, notify: name });
    return;
  }
  const group = chosenTransform(choice.proposal, TransformType.KE)?.id ?? 0;
  const keP = getKe(ps);
  let ke: import("../../crypto/types.js").KeyExchange | undefined;
  let g: Secret | undefined;
  if (group !== 0) {
    if (!keP || keP.group !== group) {
      respond([notify(NotifyType.INVALID_KE_PAYLOAD, u16(group))]);
      core.log("info", "child", `KEi group ${keP?.group ?? "none"} does not match the chosen PFS group ${group}: INVALID_KE_PAYLOAD`, { connection: conn });
      return;
    }
    try {
      ke = getKeGroup(group).generate(core.random);
      g = ke.computeSharedSecret(keP.keyData);
    } catch (e) {
      respond([notify(NotifyType.INVALID_SYNTAX)]);
      core.log("warn", "child", `unusable KEi: ${(e as Error).message}`, { connection: conn });
      return;
    }
  }
  const spiIn = core.newChildSpi();
  const nonceR = core.random.bytes(NONCE_LENGTH);
  const out: Payload[] = childResponsePayloads(choice, spiIn);
  // RFC order: SA, Nr, [KEr], TSi, TSr.
  const saIdx = out.findIndex((p) => p.type === 33);
  out.splice(saIdx + 1, 0, noncePayload(nonceR), ...(ke ? [kePayload(group, ke.publicValue)] : []));
  let created: ChildSa;
  try {
    created = installFromProposal(core, now, sa, {
      child: choice.child, proposal: choice.proposal, spiIn, spiOut: choice.peerSpi, transport: choice.transport,
      localTs: choice.tsr, remoteTs: choice.tsi, nonceI: nonceP.nonce, nonceR, shared: g, weInitiated: false,
      peerTfcNotSupported: offer.tfcNotSupported, replaces: old?.id,
    });
  } catch (e) {
    respond([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.log("error", "child", `Child SA ${choice.child.name} cannot be installed: ${(e as Error).message}`, { connection: conn });
    return;
  } finally {
    g?.wipe();
  }
  respond(out);
  if (old) {
    // The peer deletes the old SA; if we are rekeying it too, our own answer decides (s2.8.1).
    old.passiveRekey = { newId: created.id, nonceI: nonceP.nonce, nonceR };
    if (old.state === "rekeying") sa.childCollisions.set(old.id, old.passiveRekey);
    else {
      old.state = "rekeyed";
      old.replacedBy = created.id;
    }
  }
}

function respondRekeyIke(core: EngineCore, now: Millis, sa: IkeSa, messageId: number, ps: Payload[], nonceI: Uint8Array): void {
  const respond = (payloads: Payload[]): void => core.sendResponse(now, sa, ExchangeType.CREATE_CHILD_SA, messageId, payloads);
  const conn = sa.connection;
  const kind = activeKind(sa);
  // s2.25.2: an IKE rekey while one of our Child SA exchanges is outstanding is refused for now.
  if (kind === "createChild" || kind === "deleteChild") {
    respond([notify(NotifyType.TEMPORARY_FAILURE)]);
    return;
  }
  const saP = getSa(ps);
  const keP = getKe(ps);
  if (!saP || !keP) {
    respond([notify(NotifyType.INVALID_SYNTAX)]);
    return;
  }
  const sel = selectProposal(saP.proposals, ikeProposals(conn), ProtocolId.IKE);
  if (!sel.ok) {
    respond([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.log("warn", "ike", `NO_PROPOSAL_CHOSEN for IKE SA rekey: ${sel.error.message}`, { connection: conn.name, offered: formatProposals(saP.proposals), configured: formatProposals(conn.proposals) });
    return;
  }
  const peerSpi = readSpi8(sel.value.spi);
  const group = chosenTransform(sel.value, TransformType.KE)?.id ?? 0;
  if (peerSpi === undefined || peerSpi === 0n) {
    respond([notify(NotifyType.INVALID_SYNTAX)]);
    return;
  }
  if (keP.group !== group) {
    respond([notify(NotifyType.INVALID_KE_PAYLOAD, u16(group))]);
    return;
  }
  const newSpi = core.newIkeSpi();
  const nonceR = core.random.bytes(NONCE_LENGTH);
  let created: IkeSa;
  let g: Secret | undefined;
  let ke: import("../../crypto/types.js").KeyExchange;
  try {
    ke = getKeGroup(group).generate(core.random);
    g = ke.computeSharedSecret(keP.keyData);
    created = makeRekeyedSa(core, now, sa, { weInitiated: false, spiI: peerSpi, spiR: newSpi, nonceI, nonceR, proposal: sel.value, g });
  } catch (e) {
    respond([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.log("error", "ike", `IKE SA rekey refused: ${(e as Error).message}`, { connection: conn.name });
    return;
  } finally {
    g?.wipe();
  }
  respond([saPayload([{ ...sel.value, spi: spi8(newSpi) }]), noncePayload(nonceR), kePayload(group, ke.publicValue)]);
  core.established(now, created);
  sa.passiveRekey = { newSa: created, nonceI, nonceR };
  if (kind !== "rekeyIke") {
    // No collision: the children move now; the peer deletes the old SA (s2.18).
    moveChildren(core, now, sa, created);
    sa.state = "rekeyed";
  }
}
