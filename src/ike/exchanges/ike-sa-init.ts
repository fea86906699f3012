/**
 * IKE_SA_INIT, both roles (RFC 7296 s1.2, s2.6, s2.10, s2.23; RFC 7383 s2.3; RFC 7427 s4).
 *
 *   Initiator                         Responder
 *   HDR, SAi1, KEi, Ni,
 *     N(NAT_DETECTION_*), N(IKEV2_FRAGMENTATION_SUPPORTED),
 *     N(SIGNATURE_HASH_ALGORITHMS)  -->
 *                                <--  HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*), ...
 *   or                           <--  HDR, N(COOKIE)                    (s2.6: retry with it first)
 *   or                           <--  HDR, N(INVALID_KE_PAYLOAD, group) (s1.2: retry with that group)
 *
 * The responder keeps no state for refusals (INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, COOKIE);
 * only an accepted request creates a half-open IKE SA, answered again from its cache on
 * retransmission.
 */
import type { ConnectionConfig, InboundDatagram, Millis, UdpEndpoint } from "../api.js";
import type { EngineCore } from "./context.js";
import { IkeSa, type IkeSuite } from "../ike-sa.js";
import { kePayload, notify, noncePayload, saPayload, u16 } from "../payload-builders.js";
import { chosenTransform, formatProposals, keyLengthOf, selectProposal, checkChosenProposal, transformsOf } from "../negotiation/proposals.js";
import { checkNatDetection, natDetectionHash } from "../negotiation/nat-detection.js";
import { getEncr } from "../../crypto/encr.js";
import { getInteg } from "../../crypto/integ.js";
import { getPrf } from "../../crypto/prf.js";
import { getKeGroup } from "../../crypto/ke.js";
import { deriveIkeSaKeys, deriveSkeyseed } from "../../crypto/keymat.js";
import type { KeyExchange } from "../../crypto/types.js";
import { ExchangeType, HashAlgorithm, IntegId, NotifyType, ProtocolId, TransformType, notifyTypeName } from "../../wire/ike/constants.js";
import { findNotify, findNotifies, getKe, getNonce, getSa, errorNotifies } from "../../wire/ike/find.js";
import type { IkeMessage, Payload, Proposal } from "../../wire/ike/types.js";
import { spi8 } from "../payload-builders.js";
import type { CookieJar } from "../cookies.js";

/** Nonce size we send: 32 bytes, at least half of every PRF's key size we support (s2.10). */
export const NONCE_LENGTH = 32;

/** How often an initiator follows COOKIE / INVALID_KE_PAYLOAD before giving up (a loop guard). */
const MAX_RESTARTS = 5;

/** Our IKE proposals as sent in IKE_SA_INIT: empty SPI, numbered 1.. (s3.3.1). */
export function ikeProposals(conn: ConnectionConfig): Proposal[] {
  return conn.proposals.map((p, i) => ({ ...p, number: i + 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0) }));
}

/** The first KE group we propose (s1.2: the KEi must match one group of the SAi1). */
export function preferredGroup(proposals: Proposal[]): number | undefined {
  for (const p of proposals) {
    const ke = transformsOf(p, TransformType.KE)[0];
    if (ke) return ke.id;
  }
  return undefined;
}

function groupProposed(proposals: Proposal[], group: number): boolean {
  return proposals.some((p) => transformsOf(p, TransformType.KE).some((t) => t.id === group));
}

/** The suite of a chosen IKE proposal; throws CryptoError for a transform the crypto layer lacks. */
export function ikeSuiteOf(chosen: Proposal): IkeSuite {
  const e = chosenTransform(chosen, TransformType.ENCR);
  const p = chosenTransform(chosen, TransformType.PRF);
  const i = chosenTransform(chosen, TransformType.INTEG);
  const k = chosenTransform(chosen, TransformType.KE);
  if (!e || !p) throw new Error("chosen IKE proposal lacks ENCR or PRF");
  const encr = getEncr(e.id, keyLengthOf(e));
  return {
    encr,
    prf: getPrf(p.id),
    integ: i && i.id !== IntegId.NONE && !encr.aead ? getInteg(i.id) : undefined,
    keGroup: k?.id ?? 0,
  };
}

function natNotifies(spiI: bigint, spiR: bigint, local: UdpEndpoint, remote: UdpEndpoint, forceEncap: boolean, random: EngineCore["random"]): Payload[] {
  // s2.23: SOURCE_IP hashes our address/port, DESTINATION_IP the peer's. With `encap` we send a
  // source hash that cannot match (as strongSwan does) so both sides believe we are behind a NAT.
  const src = forceEncap ? random.bytes(20) : natDetectionHash(spiI, spiR, local.address, local.port);
  const dst = natDetectionHash(spiI, spiR, remote.address, remote.port);
  return [notify(NotifyType.NAT_DETECTION_SOURCE_IP, src), notify(NotifyType.NAT_DETECTION_DESTINATION_IP, dst)];
}

/** SIGNATURE_HASH_ALGORITHMS (RFC 7427 s4): SHA2-256/384/512 as 16-bit ids. */
function signatureHashNotify(): Payload {
  const ids = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512];
  const data = new Uint8Array(ids.length * 2);
  ids.forEach((id, i) => data.set(u16(id), i * 2));
  return notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, data);
}

/**
 * Detects NAT from the peer's NATD notifies (s2.23): the peer's DESTINATION hash against our
 * address (mismatch: we are behind a NAT), its SOURCE hashes against its address as seen.
 */
function detectNat(sa: IkeSa, payloads: Payload[], headerSpiR: bigint): void {
  const r = checkNatDetection(
    {
      sourceHashes: findNotifies(payloads, NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => n.data),
      destinationHashes: findNotifies(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP).map((n) => n.data),
    },
    // s2.23: the hashes use the SPIs of the carrying message's header (SPIr is 0 in the request).
    { spiI: sa.spiI, spiR: headerSpiR, local: sa.local, remote: sa.remote },
  );
  sa.natLocal = r.localBehindNat;
  sa.natRemote = r.remoteBehindNat;
}

/** s2.23: once NAT is detected (or forced), the initiator moves to port 4500 for IKE_AUTH onwards. */
function floatPorts(sa: IkeSa): void {
  if (!sa.udpEncapsulation) return;
  if (sa.local.port === 500) sa.local = { ...sa.local, port: 4500 };
  if (sa.remote.port === 500) sa.remote = { ...sa.remote, port: 4500 };
}

function deriveKeys(sa: IkeSa, suite: IkeSuite, ke: KeyExchange, peerKe: Uint8Array): void {
  const shared = ke.computeSharedSecret(peerKe);
  const skeyseed = deriveSkeyseed(suite.prf, sa.nonceI, sa.nonceR, shared);
  sa.keys = deriveIkeSaKeys({
    prf: suite.prf, encr: suite.encr, integ: suite.integ, skeyseed, ni: sa.nonceI, nr: sa.nonceR,
    spiI: spi8(sa.spiI), spiR: spi8(sa.spiR),
  });
  shared.wipe();
  skeyseed.wipe();
  sa.suite = suite;
}

// ---------------------------------------------------------------------------------------------
// Initiator

/** Builds and sends the IKE_SA_INIT request (again, after COOKIE / INVALID_KE_PAYLOAD). */
export function startInit(core: EngineCore, now: Millis, sa: IkeSa, group: number, cookie: Uint8Array | undefined, reuse?: { ke: KeyExchange; nonce: Uint8Array }): void {
  const conn = sa.connection;
  const proposals = ikeProposals(conn);
  // s2.6: a COOKIE retry repeats "all other payloads unchanged" (the cookie covers Ni).
  const ke = reuse && reuse.ke.group === group ? reuse.ke : getKeGroup(group).generate(core.random);
  const nonce = reuse?.nonce ?? core.random.bytes(NONCE_LENGTH);
  sa.nonceI = nonce;
  const payloads: Payload[] = [];
  if (cookie) payloads.push(notify(NotifyType.COOKIE, cookie)); // s2.6: COOKIE comes first
  payloads.push(saPayload(proposals), kePayload(group, ke.publicValue), noncePayload(nonce));
  payloads.push(...natNotifies(sa.spiI, 0n, sa.local, sa.remote, conn.encap, core.random));
  if (conn.fragmentation) payloads.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  payloads.push(signatureHashNotify());
  // A restart begins the exchange anew with Message ID 0 (s2.6).
  sa.msgIds.nextRequestId = 0;
  sa.msgIds.completed();
  sa.active = undefined;
  core.sendRequest(now, sa, ExchangeType.IKE_SA_INIT, payloads, { kind: "init", ke, nonce, cookie, request: new Uint8Array(0) });
}

/** Result for the engine: continue with IKE_AUTH, or the SA failed (already closed). */
export function handleInitResponse(core: EngineCore, now: Millis, sa: IkeSa, msg: IkeMessage, raw: Uint8Array): "auth" | "restarted" | "failed" {
  const active = sa.active;
  if (active?.kind !== "init") return "failed";
  const ps = msg.payloads;
  const conn = sa.connection;
  const cookie = findNotify(ps, NotifyType.COOKIE);
  if (cookie) {
    if (sa.restarts++ >= MAX_RESTARTS) return fail(core, now, sa, "COOKIE", "the responder keeps demanding COOKIEs");
    core.log("info", "ike", "responder demands a COOKIE, retrying IKE_SA_INIT with it", { connection: conn.name });
    startInit(core, now, sa, active.ke.group, cookie.data, { ke: active.ke, nonce: active.nonce });
    return "restarted";
  }
  const invalidKe = findNotify(ps, NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe) {
    const wanted = invalidKe.data.length === 2 ? ((invalidKe.data[0] as number) << 8) | (invalidKe.data[1] as number) : -1;
    const proposals = ikeProposals(conn);
    if (wanted === active.ke.group || !groupProposed(proposals, wanted) || sa.restarts++ >= MAX_RESTARTS) {
      return fail(core, now, sa, "INVALID_KE_PAYLOAD",
        `responder wants KE group ${wanted}, which we did not propose (ours: ${formatProposals(proposals)})`);
    }
    core.log("info", "ike", `responder wants KE group ${wanted} instead of ${active.ke.group}, retrying (RFC 7296 s1.2)`, { connection: conn.name });
    startInit(core, now, sa, wanted, active.cookie);
    return "restarted";
  }
  const err = errorNotifies(ps)[0];
  if (err) {
    const name = notifyTypeName(err.notifyType);
    const extra = err.notifyType === NotifyType.NO_PROPOSAL_CHOSEN ? `; we offered ${formatProposals(ikeProposals(conn))}` : "";
    return fail(core, now, sa, name, `IKE_SA_INIT refused by the responder with ${name}${extra}`);
  }
  const saP = getSa(ps);
  const keP = getKe(ps);
  const nonceP = getNonce(ps);
  if (!saP || !keP || !nonceP || saP.proposals.length !== 1) {
    return fail(core, now, sa, "INVALID_SYNTAX", "IKE_SA_INIT response lacks SA, KE or Nr");
  }
  const chosen = checkChosenProposal(ikeProposals(conn), saP.proposals[0] as Proposal);
  if (!chosen.ok) return fail(core, now, sa, chosen.error.name, chosen.error.message);
  let suite: IkeSuite;
  try {
    suite = ikeSuiteOf(chosen.value);
  } catch (e) {
    return fail(core, now, sa, "NO_PROPOSAL_CHOSEN", `responder chose an unsupported suite: ${(e as Error).message}`);
  }
  if (suite.keGroup !== active.ke.group || keP.group !== active.ke.group) {
    return fail(core, now, sa, "INVALID_KE_PAYLOAD", `responder chose KE group ${suite.keGroup}/${keP.group} but we sent ${active.ke.group}`);
  }
  if (keP.keyData.length !== getKeGroup(keP.group).publicLength) {
    return fail(core, now, sa, "INVALID_SYNTAX", `KEr of ${keP.keyData.length} bytes for group ${keP.group}`);
  }
  sa.spiR = msg.header.spiR;
  sa.nonceR = nonceP.nonce;
  sa.initResponse = raw;
  try {
    deriveKeys(sa, suite, active.ke, keP.keyData);
  } catch (e) {
    return fail(core, now, sa, "INVALID_KE_PAYLOAD", `the responder's KE data is unusable: ${(e as Error).message}`);
  }
  detectNat(sa, ps, sa.spiR);
  floatPorts(sa);
  sa.peerSentFragmentationSupported = findNotify(ps, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
  sa.fragmentation = conn.fragmentation && sa.peerSentFragmentationSupported;
  sa.msgIds.completed();
  sa.active = undefined;
  return "auth";
}

function fail(core: EngineCore, now: Millis, sa: IkeSa, name: string, message: string): "failed" {
  core.log("error", "ike", `IKE_SA_INIT failed: ${name}: ${message}`, { connection: sa.connection.name, notify: name });
  core.closeIkeSa(now, sa, `${name}: ${message}`);
  return "failed";
}

// ---------------------------------------------------------------------------------------------
// Responder

/** Half-open IKE SAs one peer address may have at once (strongSwan charon.block_threshold, 5). */
export const HALF_OPEN_PER_PEER = 5;

export interface InitResponderDeps {
  cookies: CookieJar;
  halfOpenCount: number;
  /** Of those, the ones whose peer has this datagram's source address. */
  halfOpenFromPeer: number;
  /** Connections whose addresses fit this datagram, best first. */
  candidates: ConnectionConfig[];
}

/**
 * Handles an IKE_SA_INIT request that matched no existing SA. Returns the new half-open SA, or
 * undefined when the request was refused statelessly or dropped.
 */
export function handleInitRequest(core: EngineCore, now: Millis, d: InboundDatagram, msg: IkeMessage, deps: InitResponderDeps): IkeSa | undefined {
  const h = msg.header;
  const ps = msg.payloads;
  const reply = (payloads: Payload[]): void =>
    core.sendStatelessResponse(d.local, d.remote, h.spiI, 0n, ExchangeType.IKE_SA_INIT, 0, payloads);
  const saP = getSa(ps);
  const keP = getKe(ps);
  const nonceP = getNonce(ps);
  if (!saP || !keP || !nonceP) {
    core.counters.invalid += 1;
    core.log("debug", "net", "IKE_SA_INIT request without SA, KE or Ni dropped", { remote: d.remote.address });
    return undefined;
  }
  // s2.6: above the threshold, demand a COOKIE before spending any state or computation.
  if (deps.halfOpenCount >= core.config.cookieThreshold) {
    const cookie = findNotify(ps, NotifyType.COOKIE);
    if (!cookie || !deps.cookies.verify(now, cookie.data, nonceP.nonce, d.remote.address, h.spiI)) {
      reply([notify(NotifyType.COOKIE, deps.cookies.make(now, nonceP.nonce, d.remote.address, h.spiI))]);
      core.counters.cookiesDemanded += 1;
      core.log("debug", "ike", "half-open limit reached: answered IKE_SA_INIT with a COOKIE (RFC 7296 s2.6)", { remote: d.remote.address });
      return undefined;
    }
  }
  // A COOKIE proves only that the address answers: one that echoes it must still not make us run
  // a key exchange per datagram. strongSwan's block_threshold: drop, no answer, no state.
  if (deps.halfOpenFromPeer >= HALF_OPEN_PER_PEER) {
    core.counters.halfOpenBlocked += 1;
    core.complain(now, "initHalfOpenPerPeer", "warn", "ike", `${d.remote.address} already has ${deps.halfOpenFromPeer} half-open IKE SAs (limit ${HALF_OPEN_PER_PEER}): IKE_SA_INIT dropped`, { remote: d.remote.address });
    return undefined;
  }
  const conn = deps.candidates[0];
  if (!conn) {
    reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.complain(now, "initNoConnection", "warn", "cfg", `no connection configured for ${d.local.address} <-> ${d.remote.address}; refused IKE_SA_INIT with NO_PROPOSAL_CHOSEN`,
      { local: d.local.address, remote: d.remote.address });
    return undefined;
  }
  const sel = selectProposal(saP.proposals, ikeProposals(conn), ProtocolId.IKE);
  if (!sel.ok) {
    reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.complain(now, `initNoProposal:${conn.name}`, "warn", "ike", `NO_PROPOSAL_CHOSEN for IKE SA: ${sel.error.message}`, {
      connection: conn.name, notify: "NO_PROPOSAL_CHOSEN", offered: formatProposals(saP.proposals), configured: formatProposals(conn.proposals),
    });
    return undefined;
  }
  let suite: IkeSuite;
  try {
    suite = ikeSuiteOf(sel.value);
  } catch (e) {
    reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    core.log("error", "ike", `chosen IKE proposal is not supported by the crypto layer: ${(e as Error).message}`, { connection: conn.name });
    return undefined;
  }
  if (keP.group !== suite.keGroup) {
    // s1.2: tell the initiator which group we want; it retries. No state is kept.
    reply([notify(NotifyType.INVALID_KE_PAYLOAD, u16(suite.keGroup))]);
    core.complain(now, `initKeGroup:${conn.name}`, "info", "ike", `KEi uses group ${keP.group}, we want ${suite.keGroup}: sent INVALID_KE_PAYLOAD`, { connection: conn.name, notify: "INVALID_KE_PAYLOAD" });
    return undefined;
  }
  const group = getKeGroup(suite.keGroup);
  if (keP.keyData.length !== group.publicLength) {
    reply([notify(NotifyType.INVALID_SYNTAX)]);
    core.complain(now, `initKeLength:${conn.name}`, "warn", "net", `KEi of ${keP.keyData.length} bytes for group ${suite.keGroup} (needs ${group.publicLength}): INVALID_SYNTAX`, { connection: conn.name });
    return undefined;
  }
  const sa = new IkeSa({
    id: core.nextIkeSaId(), connection: conn, initiator: false, spiI: h.spiI, spiR: core.newIkeSpi(),
    local: d.local, remote: d.remote, state: "awaitingAuthRequest", now, localId: conn.local.id,
  });
  sa.nonceI = nonceP.nonce;
  sa.nonceR = core.random.bytes(NONCE_LENGTH);
  const ke = group.generate(core.random);
  try {
    deriveKeys(sa, suite, ke, keP.keyData);
  } catch (e) {
    reply([notify(NotifyType.INVALID_SYNTAX)]);
    core.complain(now, `initKeUnusable:${conn.name}`, "warn", "net", `unusable KEi: ${(e as Error).message}`, { connection: conn.name });
    return undefined;
  }
  detectNat(sa, ps, 0n);
  sa.peerSentFragmentationSupported = findNotify(ps, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
  sa.fragmentation = conn.fragmentation && sa.peerSentFragmentationSupported;
  sa.initRequest = d.bytes;
  sa.msgIds.expectedPeerRequestId = 0;
  const response: Payload[] = [saPayload([sel.value]), kePayload(suite.keGroup, ke.publicValue), noncePayload(sa.nonceR)];
  response.push(...natNotifies(sa.spiI, sa.spiR, d.local, d.remote, conn.encap, core.random));
  if (sa.fragmentation) response.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  response.push(signatureHashNotify());
  core.registerIkeSa(sa);
  core.sendResponse(now, sa, ExchangeType.IKE_SA_INIT, 0, response);
  sa.timers.set("halfOpen", now + core.config.halfOpenTimeoutSeconds * 1000);
  core.log("info", "ike", `IKE_SA_INIT from ${d.remote.address}:${d.remote.port} accepted for ${conn.name}`, { connection: conn.name, ikeSaId: sa.id });
  return sa;
}

/** The responder floats to 4500 once IKE_AUTH arrives there (s2.23); exported for the engine. */
export { floatPorts };
