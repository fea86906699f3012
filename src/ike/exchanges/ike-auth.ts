/**
 * IKE_AUTH with pre-shared keys, both roles (RFC 7296 s1.2, s2.15, s2.21.2, s2.4 INITIAL_CONTACT).
 *
 *   HDR, SK { IDi, [IDr,] AUTH, [N(INITIAL_CONTACT),] [N(USE_TRANSPORT_MODE),] SAi2, TSi, TSr } -->
 *                                  <-- HDR, SK { IDr, AUTH, [N(USE_TRANSPORT_MODE),] SAr2, TSi, TSr }
 *
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)      (s2.15)
 *
 * A wrong AUTH from the initiator gets AUTHENTICATION_FAILED in the response and the half-open SA
 * is deleted; a wrong AUTH from the responder fails the initiator's SA with a local error. A Child
 * SA refusal (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE) leaves the IKE SA up (s2.21.2).
 */
import type { ChildConfig, ConnectionConfig, Millis } from "../api.js";
import type { EngineCore } from "./context.js";
import type { IkeSa } from "../ike-sa.js";
import { authPayload, idPayload, notify } from "../payload-builders.js";
import {
  checkChildResponse, childRequestPayloads, childResponsePayloads, chooseChild, espProposals, initiatorSelectors,
  installFromProposal, readChildOffer,
} from "./child-negotiation.js";
import { encodeIdentity, formatIdentity, identitiesEqual, idPayloadBody, parseIdentity, pskAuthData, signedOctets, verifyPskAuth } from "../negotiation/auth.js";
import { isIkeError } from "../errors.js";
import type { Secret } from "../../crypto/secret.js";
import { AuthMethod, ExchangeType, NotifyType, authMethodName } from "../../wire/ike/constants.js";
import { errorNotifies, findNotify, getAuth, getIdi, getIdr } from "../../wire/ike/find.js";
import type { Payload } from "../../wire/ike/types.js";

/**
 * The octets an AUTH covers for one role (s2.15): that role's IKE_SA_INIT message, the other
 * side's nonce and prf(SK_p, RestOfIDPayload).
 */
function octetsFor(sa: IkeSa, forInitiator: boolean, idType: number, idData: Uint8Array, reserved?: Uint8Array): Uint8Array {
  if (!sa.suite || !sa.keys) throw new Error("IKE SA has no keys");
  const body = idPayloadBody(idType, idData, reserved);
  return forInitiator
    ? signedOctets(sa.initRequest, sa.nonceR, sa.suite.prf, sa.keys.skPi, body)
    : signedOctets(sa.initResponse, sa.nonceI, sa.suite.prf, sa.keys.skPr, body);
}

function pskAuth(sa: IkeSa, forInitiator: boolean, idType: number, idData: Uint8Array, psk: Secret): Uint8Array {
  if (!sa.suite) throw new Error("IKE SA has no suite");
  return pskAuthData(sa.suite.prf, psk, octetsFor(sa, forInitiator, idType, idData));
}

function pskVerify(sa: IkeSa, forInitiator: boolean, id: { idType: number; data: Uint8Array; reserved: Uint8Array }, psk: Secret, received: Uint8Array): boolean {
  if (!sa.suite) return false;
  return verifyPskAuth(sa.suite.prf, psk, octetsFor(sa, forInitiator, id.idType, id.data, id.reserved), received);
}

/** A configured identity (`%any` matches anything) against a received ID payload. */
export function identityMatches(configured: string, idType: number, data: Uint8Array): boolean {
  if (configured === "%any" || configured === "") return true;
  const got = parseIdentity(idType, data);
  if (isIkeError(got)) return false;
  try {
    return identitiesEqual(encodeIdentity(configured), got);
  } catch {
    return false;
  }
}

function showId(idType: number, data: Uint8Array): string {
  const got = parseIdentity(idType, data);
  return isIkeError(got) ? `(unparsable ID type ${idType})` : formatIdentity(got);
}

/** True when another IKE SA of this connection to the same peer exists (no INITIAL_CONTACT then). */
function knownPeer(core: EngineCore, sa: IkeSa): boolean {
  for (const other of core.ikeSas()) {
    if (other !== sa && other.connection.name === sa.connection.name && other.state === "established") return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Initiator

export function startAuth(core: EngineCore, now: Millis, sa: IkeSa, child: ChildConfig | undefined): void {
  const conn = sa.connection;
  const idi = encodeIdentity(conn.local.id);
  const psk = core.findPsk(conn.local.id, conn.remote.id);
  if (!psk) {
    core.log("error", "cfg", `no pre-shared key for ${conn.local.id} - ${conn.remote.id}; cannot authenticate`, { connection: conn.name });
    core.closeIkeSa(now, sa, "no PSK configured");
    return;
  }
  const payloads: Payload[] = [idPayload(35, idi.type, idi.data)];
  if (conn.remote.id !== "%any" && conn.remote.id !== "") {
    const idr = encodeIdentity(conn.remote.id);
    payloads.push(idPayload(36, idr.type, idr.data));
  }
  payloads.push(authPayload(AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, pskAuth(sa, true, idi.type, idi.data, psk)));
  if (!knownPeer(core, sa)) payloads.push(notify(NotifyType.INITIAL_CONTACT));
  let active: Extract<NonNullable<IkeSa["active"]>, { kind: "auth" }> = { kind: "auth", child: undefined, childSpi: 0, proposals: [], tsi: [], tsr: [], transport: false };
  if (child) {
    const spi = core.newChildSpi();
    const proposals = espProposals(child, spi, false);
    const { tsi, tsr } = initiatorSelectors(child, undefined);
    const transport = child.mode === "transport";
    payloads.push(...childRequestPayloads(proposals, tsi, tsr, transport));
    active = { kind: "auth", child, childSpi: spi, proposals, tsi, tsr, transport };
  }
  sa.state = "awaitingAuthResponse";
  core.sendRequest(now, sa, ExchangeType.IKE_AUTH, payloads, active);
}

export function handleAuthResponse(core: EngineCore, now: Millis, sa: IkeSa, ps: Payload[]): void {
  const active = sa.active;
  if (active?.kind !== "auth") return;
  const conn = sa.connection;
  const what = `PSK authentication as ${conn.local.id} (IDi) to ${conn.remote.id} (IDr)`;
  const failed = findNotify(ps, NotifyType.AUTHENTICATION_FAILED);
  if (failed) {
    core.log("error", "ike", `AUTHENTICATION_FAILED: the responder rejected our ${what}; check that both sides use the same pre-shared key and identities`,
      { connection: conn.name, notify: "AUTHENTICATION_FAILED", localId: conn.local.id, remoteId: conn.remote.id, authMethod: "psk" });
    core.closeIkeSa(now, sa, "AUTHENTICATION_FAILED (rejected by peer)");
    return;
  }
  const idr = getIdr(ps);
  const auth = getAuth(ps);
  if (!idr || !auth) {
    const err = errorNotifies(ps)[0];
    const name = err ? `error notify ${err.notifyType}` : "missing IDr/AUTH";
    core.log("error", "ike", `IKE_AUTH failed: ${name}`, { connection: conn.name });
    core.closeIkeSa(now, sa, `IKE_AUTH failed: ${name}`);
    return;
  }
  const peerId = showId(idr.idType, idr.data);
  const fail = (why: string): void => {
    core.log("error", "ike", `AUTHENTICATION_FAILED: ${why} (peer IDr ${peerId}, auth method ${authMethodName(auth.method)}, expected psk)`,
      { connection: conn.name, notify: "AUTHENTICATION_FAILED", remoteId: peerId, authMethod: authMethodName(auth.method) });
    // s2.21.2: tell the responder in a separate INFORMATIONAL (best effort), then forget the SA.
    core.sendRequest(now, sa, ExchangeType.INFORMATIONAL, [notify(NotifyType.AUTHENTICATION_FAILED)], { kind: "deleteIke", reason: "AUTHENTICATION_FAILED" });
    core.closeIkeSa(now, sa, `AUTHENTICATION_FAILED: ${why}`);
  };
  if (!identityMatches(conn.remote.id, idr.idType, idr.data)) return fail(`responder identified as ${peerId}, configured remote id is ${conn.remote.id}`);
  if (auth.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE) return fail(`responder used ${authMethodName(auth.method)}`);
  const psk = core.findPsk(conn.local.id, peerId);
  if (!psk) return fail(`no pre-shared key for ${peerId}`);
  if (!pskVerify(sa, false, idr, psk, auth.data)) return fail(`the responder's PSK AUTH does not verify`);
  sa.remoteId = peerId;
  sa.msgIds.completed();
  sa.active = undefined;
  core.established(now, sa);
  if (active.child) completeChild(core, now, sa, active.child, ps, active);
  core.schedule(now, sa);
}

function completeChild(core: EngineCore, now: Millis, sa: IkeSa, child: ChildConfig, ps: Payload[], sent: Extract<NonNullable<IkeSa["active"]>, { kind: "auth" }>): void {
  const r = checkChildResponse(ps, { proposals: sent.proposals, tsi: sent.tsi, tsr: sent.tsr, transport: sent.transport, child });
  if (!r.ok) {
    // s2.21.2: the IKE SA stays up.
    core.log("error", "child", `${r.name}: ${r.message}`, { connection: sa.connection.name, child: child.name, notify: r.name, childSaFailed: true });
    return;
  }
  try {
    installFromProposal(core, now, sa, {
      child, proposal: r.proposal, spiIn: sent.childSpi, spiOut: r.peerSpi, transport: r.transport,
      localTs: r.tsi, remoteTs: r.tsr, nonceI: sa.nonceI, nonceR: sa.nonceR, shared: undefined, weInitiated: true,
      peerTfcNotSupported: r.tfcNotSupported, replaces: undefined,
    });
  } catch (e) {
    core.log("error", "child", `Child SA ${child.name} cannot be installed: ${(e as Error).message}`, { connection: sa.connection.name, child: child.name, childSaFailed: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Responder

/** s2.15/s1.2: the responder picks the connection by the identities, among address matches. */
function pickConnection(core: EngineCore, sa: IkeSa, idi: { idType: number; data: Uint8Array }, idr: { idType: number; data: Uint8Array } | undefined, candidates: ConnectionConfig[]): ConnectionConfig | undefined {
  const fits = (c: ConnectionConfig): boolean =>
    identityMatches(c.remote.id, idi.idType, idi.data) && (idr === undefined || identityMatches(c.local.id, idr.idType, idr.data));
  if (fits(sa.connection)) return sa.connection;
  return candidates.find(fits);
}

export function handleAuthRequest(core: EngineCore, now: Millis, sa: IkeSa, messageId: number, ps: Payload[], candidates: ConnectionConfig[]): void {
  const idiP = getIdi(ps);
  const authP = getAuth(ps);
  const respond = (payloads: Payload[]): void => core.sendResponse(now, sa, ExchangeType.IKE_AUTH, messageId, payloads);
  if (!idiP || !authP) {
    respond([notify(NotifyType.INVALID_SYNTAX)]);
    core.closeIkeSa(now, sa, "IKE_AUTH without IDi/AUTH");
    return;
  }
  const idrP = getIdr(ps);
  const peerId = showId(idiP.idType, idiP.data);
  const authFailed = (why: string, conn: string): void => {
    respond([notify(NotifyType.AUTHENTICATION_FAILED)]);
    core.log("warn", "ike", `AUTHENTICATION_FAILED: ${why} (peer IDi ${peerId}, auth method ${authMethodName(authP.method)})`,
      { connection: conn, notify: "AUTHENTICATION_FAILED", remoteId: peerId, authMethod: authMethodName(authP.method) });
    core.closeIkeSa(now, sa, `AUTHENTICATION_FAILED: ${why}`);
  };
  const conn = pickConnection(core, sa, idiP, idrP, candidates);
  if (!conn) return authFailed(`no connection accepts peer identity ${peerId}${idrP ? ` asking for ${showId(idrP.idType, idrP.data)}` : ""}`, sa.connection.name);
  sa.connection = conn;
  if (conn.remote.auth !== "psk" || authP.method !== AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE) {
    return authFailed(`peer used ${authMethodName(authP.method)}, connection ${conn.name} expects ${conn.remote.auth}`, conn.name);
  }
  const psk = core.findPsk(conn.local.id, peerId);
  if (!psk) return authFailed(`no pre-shared key for ${conn.local.id} - ${peerId}`, conn.name);
  if (!pskVerify(sa, true, idiP, psk, authP.data)) {
    return authFailed(`PSK AUTH of ${peerId} does not verify (different pre-shared key?)`, conn.name);
  }
  sa.remoteId = peerId;
  sa.peerInitialContact = findNotify(ps, NotifyType.INITIAL_CONTACT) !== undefined;
  const idr = encodeIdentity(conn.local.id);
  const out: Payload[] = [idPayload(36, idr.type, idr.data), authPayload(AuthMethod.SHARED_KEY_MESSAGE_INTEGRITY_CODE, pskAuth(sa, false, idr.type, idr.data, psk))];
  const offer = readChildOffer(ps);
  let install: (() => void) | undefined;
  if (offer) {
    const choice = chooseChild(sa, offer, false);
    if (!choice.ok) {
      out.push(notify(choice.notifyType));
      core.log("warn", "child", `${choice.notifyType === NotifyType.TS_UNACCEPTABLE ? "TS_UNACCEPTABLE" : "NO_PROPOSAL_CHOSEN"}: ${choice.message}`,
        { connection: conn.name, notify: choice.notifyType === NotifyType.TS_UNACCEPTABLE ? "TS_UNACCEPTABLE" : "NO_PROPOSAL_CHOSEN" });
    } else {
      const spiIn = core.newChildSpi();
      out.push(...childResponsePayloads(choice, spiIn));
      install = () => {
        try {
          installFromProposal(core, now, sa, {
            child: choice.child, proposal: choice.proposal, spiIn, spiOut: choice.peerSpi, transport: choice.transport,
            localTs: choice.tsr, remoteTs: choice.tsi, nonceI: sa.nonceI, nonceR: sa.nonceR, shared: undefined, weInitiated: false,
            peerTfcNotSupported: offer.tfcNotSupported, replaces: undefined,
          });
        } catch (e) {
          core.log("error", "child", `Child SA ${choice.child.name} cannot be installed: ${(e as Error).message}`, { connection: conn.name });
        }
      };
    }
  }
  sa.timers.clear("halfOpen");
  respond(out);
  core.established(now, sa);
  install?.();
  if (sa.peerInitialContact) dropOlderSas(core, now, sa);
  core.schedule(now, sa);
}

/** INITIAL_CONTACT (s3.10.1): the peer restarted, so older IKE SAs with the same identity are stale. */
function dropOlderSas(core: EngineCore, now: Millis, sa: IkeSa): void {
  if (sa.remoteId === undefined) return;
  for (const other of core.ikeSasWithRemoteId(sa.remoteId)) {
    // Only state older than this IKE SA is stale: an SA that came up while this one was being set
    // up (both ends initiating at once) is not what the restarted peer forgot.
    if (other === sa || other.remoteId !== sa.remoteId || other.state === "closed") continue;
    if (other.establishedAt === undefined || other.establishedAt > sa.createdAt) continue;
    core.log("info", "ike", `INITIAL_CONTACT from ${sa.remoteId}: dropping older IKE SA ${other.id} and its Child SAs`, { connection: other.connection.name, ikeSaId: other.id });
    core.closeIkeSa(now, other, "INITIAL_CONTACT: peer restarted");
  }
}
