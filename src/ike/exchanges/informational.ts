/**
 * INFORMATIONAL, both roles (RFC 7296 s1.4, s1.4.1, s2.4, s3.11).
 *
 *   HDR, SK { D(ESP, SPIs we receive on) } -->      <-- HDR, SK { D(ESP, the paired SPIs) }
 *   HDR, SK { D(IKE) } -->                          <-- HDR, SK { }
 *   HDR, SK { } (liveness check, s2.4) -->          <-- HDR, SK { }
 *
 * s1.4.1: a Delete names the SPIs the sender receives on; the answer names the SPIs of the
 * other direction of the same pairs, so both ends delete both halves. A Child SA being rekeyed
 * that the peer deletes is simply gone; the rekey's answer then finds no SA (s2.25).
 */
import type { Millis } from "../api.js";
import type { EngineCore } from "./context.js";
import type { IkeSa } from "../ike-sa.js";
import { deleteEsp, deleteIke, readSpi4 } from "../payload-builders.js";
import { ExchangeType, NotifyType, ProtocolId, notifyTypeName, isErrorNotify } from "../../wire/ike/constants.js";
import { findPayloads, notifies } from "../../wire/ike/find.js";
import type { Payload } from "../../wire/ike/types.js";

// ---------------------------------------------------------------------------------------------
// Initiator

/** Sends D(ESP) for a Child SA (s1.4.1). The SA stays until the answer (or the IKE SA) ends it. */
export function startDeleteChild(core: EngineCore, now: Millis, sa: IkeSa, childId: number, reason: string): boolean {
  const child = sa.children.get(childId);
  if (!child) return false;
  child.state = "deleting";
  core.sendRequest(now, sa, ExchangeType.INFORMATIONAL, [deleteEsp([child.spiIn])], { kind: "deleteChild", childId, reason });
  return true;
}

export function startDeleteIke(core: EngineCore, now: Millis, sa: IkeSa, reason: string): void {
  if (sa.state === "established") sa.state = "deleting";
  core.sendRequest(now, sa, ExchangeType.INFORMATIONAL, [deleteIke()], { kind: "deleteIke", reason });
}

/** An empty INFORMATIONAL request: the liveness check (s2.4). */
export function startDpd(core: EngineCore, now: Millis, sa: IkeSa): void {
  core.sendRequest(now, sa, ExchangeType.INFORMATIONAL, [], { kind: "dpd" });
}

export function handleInformationalResponse(core: EngineCore, now: Millis, sa: IkeSa, ps: Payload[]): void {
  const active = sa.active;
  if (!active) return;
  sa.active = undefined;
  sa.msgIds.completed();
  switch (active.kind) {
    case "deleteChild": {
      const child = sa.children.get(active.childId);
      if (child) core.removeChild(sa, child, active.reason);
      break;
    }
    case "deleteIke":
      core.closeIkeSa(now, sa, active.reason);
      return;
    case "dpd":
      break;
    default:
      break;
  }
  const err = notifies(ps).find((n) => isErrorNotify(n.notifyType));
  if (err) core.log("warn", "ike", `INFORMATIONAL answered with ${notifyTypeName(err.notifyType)}`, { connection: sa.connection.name });
  core.schedule(now, sa);
}

// ---------------------------------------------------------------------------------------------
// Responder

export function handleInformationalRequest(core: EngineCore, now: Millis, sa: IkeSa, messageId: number, ps: Payload[]): void {
  const respond = (payloads: Payload[]): void => core.sendResponse(now, sa, ExchangeType.INFORMATIONAL, messageId, payloads);
  const deletes = findPayloads(ps, 42);
  if (deletes.some((d) => d.protocol === ProtocolId.IKE)) {
    // s1.4.1: answer with an empty INFORMATIONAL, then the IKE SA and its children are gone.
    respond([]);
    core.log("info", "ike", `IKE SA deleted by the peer`, { connection: sa.connection.name, ikeSaId: sa.id });
    core.closeIkeSa(now, sa, "deleted by peer");
    return;
  }
  const ours: number[] = [];
  for (const d of deletes) {
    if (d.protocol !== ProtocolId.ESP && d.protocol !== ProtocolId.AH) continue;
    for (const raw of d.spis) {
      const spi = readSpi4(raw);
      if (spi === undefined) continue;
      // The peer names its inbound SPI, which is our outbound SPI. A Child SA may already have
      // moved to the IKE SA that replaced this one (s2.18).
      const owners = [sa, ...(sa.passiveRekey ? [sa.passiveRekey.newSa] : [])];
      const owner = owners.find((o) => [...o.children.values()].some((c) => c.spiOut === spi));
      const child = owner && [...owner.children.values()].find((c) => c.spiOut === spi);
      if (!owner || !child) continue;
      // s1.4.1: if we were deleting it too, our own answer will not name it again.
      if (child.state !== "deleting") ours.push(child.spiIn);
      core.removeChild(owner, child, "deleted by peer");
    }
  }
  const failed = notifies(ps).find((n) => n.notifyType === NotifyType.AUTHENTICATION_FAILED);
  respond(ours.length > 0 ? [deleteEsp(ours)] : []);
  if (failed) {
    core.log("error", "ike", "AUTHENTICATION_FAILED: the peer could not authenticate us (our AUTH or identity was rejected)", { connection: sa.connection.name, notify: "AUTHENTICATION_FAILED" });
    core.closeIkeSa(now, sa, "AUTHENTICATION_FAILED (reported by peer)");
  }
}
