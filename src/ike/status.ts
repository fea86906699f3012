/**
 * `swanctl --list-sas` for the engine: one status record per IKE SA with its Child SAs. The
 * shapes match src/control/protocol.ts (IkeSaStatus, ChildSaStatus) field for field so the daemon
 * can pass them through; the data plane's counters (bytes/packets) are not known here and are
 * reported as 0 for the daemon to fill in.
 */
import type { Millis } from "./api.js";
import type { ChildSa } from "./child-sa.js";
import type { IkeSa } from "./ike-sa.js";
import { formatTs } from "./negotiation/traffic-selectors.js";
import { keGroupName } from "./negotiation/proposals.js";

export interface IkeSaEndpointStatus {
  id: string;
  address: string;
  port: number;
  behindNat: boolean;
}

export type IkeSaStateName = "CREATED" | "CONNECTING" | "ESTABLISHED" | "REKEYING" | "REKEYED" | "DELETING";
export type ChildSaStateName = "CREATED" | "INSTALLING" | "INSTALLED" | "REKEYING" | "REKEYED" | "DELETING";

export interface ChildSaStatus {
  id: number;
  name: string;
  reqid: number;
  state: ChildSaStateName;
  mode: "TUNNEL" | "TRANSPORT";
  protocol: "ESP" | "AH";
  udpEncapsulation: boolean;
  encr: string;
  integ?: string;
  ke?: string;
  esn: boolean;
  spiIn: string;
  spiOut: string;
  bytesIn: number;
  packetsIn: number;
  bytesOut: number;
  packetsOut: number;
  lastInSecondsAgo?: number;
  lastOutSecondsAgo?: number;
  installedSecondsAgo: number;
  rekeyInSeconds?: number;
  expiresInSeconds?: number;
  localTs: string[];
  remoteTs: string[];
}

export interface IkeSaStatus {
  id: number;
  connection: string;
  state: IkeSaStateName;
  version: 2;
  initiator: boolean;
  spiI: string;
  spiR: string;
  local: IkeSaEndpointStatus;
  remote: IkeSaEndpointStatus;
  encr: string;
  integ?: string;
  prf: string;
  ke: string;
  establishedSecondsAgo?: number;
  rekeyInSeconds?: number;
  children: ChildSaStatus[];
}

/** strongSwan prints `AES_GCM_16-128` for `ENCR_AES_GCM_16_128`. */
export function strongswanEncrName(name: string, keyBytes: number): string {
  const base = name.replace(/^ENCR_/, "").replace(/_(128|192|256)$/, "");
  return keyBytes > 0 && base !== "NULL" ? `${base}-${keyBytes * 8}` : base;
}

const secs = (ms: number): number => Math.max(0, Math.round(ms / 1000));

function ikeState(sa: IkeSa): IkeSaStateName {
  switch (sa.state) {
    case "awaitingInitResponse":
    case "awaitingAuthResponse":
    case "awaitingAuthRequest":
      return "CONNECTING";
    case "established":
      return sa.active?.kind === "rekeyIke" ? "REKEYING" : "ESTABLISHED";
    case "rekeyed":
      return "REKEYED";
    case "deleting":
    case "closed":
      return "DELETING";
  }
}

function childState(c: ChildSa): ChildSaStateName {
  switch (c.state) {
    case "installed":
      return "INSTALLED";
    case "rekeying":
      return "REKEYING";
    case "rekeyed":
      return "REKEYED";
    case "deleting":
      return "DELETING";
  }
}

function childStatus(now: Millis, c: ChildSa, reqid: number): ChildSaStatus {
  const s: ChildSaStatus = {
    id: c.id,
    name: c.config.name,
    reqid,
    state: childState(c),
    mode: c.mode === "transport" ? "TRANSPORT" : "TUNNEL",
    protocol: "ESP",
    udpEncapsulation: c.udpEncapsulation,
    encr: strongswanEncrName(c.suite.encr.name, c.suite.encr.keyLength),
    esn: c.suite.esn,
    spiIn: (c.spiIn >>> 0).toString(16).padStart(8, "0"),
    spiOut: (c.spiOut >>> 0).toString(16).padStart(8, "0"),
    bytesIn: 0,
    packetsIn: 0,
    bytesOut: 0,
    packetsOut: 0,
    installedSecondsAgo: secs(now - c.installedAt),
    localTs: c.localTs.map(formatTs),
    remoteTs: c.remoteTs.map(formatTs),
  };
  if (c.suite.integ) s.integ = c.suite.integ.name.replace(/^AUTH_/, "");
  if (c.suite.keGroup) s.ke = keGroupName(c.suite.keGroup);
  if (c.rekeyAt !== undefined && c.state === "installed") s.rekeyInSeconds = secs(c.rekeyAt - now);
  if (c.expireAt !== undefined) s.expiresInSeconds = secs(c.expireAt - now);
  return s;
}

/** Status records for `sas` (IKE SA order as given; Child SAs by id). */
export function listSas(now: Millis, sas: IkeSa[], reqid: (c: ChildSa) => number): IkeSaStatus[] {
  return sas.map((sa) => {
    const st: IkeSaStatus = {
      id: sa.id,
      connection: sa.connection.name,
      state: ikeState(sa),
      version: 2,
      initiator: sa.initiator,
      spiI: BigInt.asUintN(64, sa.spiI).toString(16).padStart(16, "0"),
      spiR: BigInt.asUintN(64, sa.spiR).toString(16).padStart(16, "0"),
      local: { id: sa.localId, address: sa.local.address, port: sa.local.port, behindNat: sa.natLocal },
      remote: { id: sa.remoteId ?? sa.connection.remote.id, address: sa.remote.address, port: sa.remote.port, behindNat: sa.natRemote },
      encr: sa.suite ? strongswanEncrName(sa.suite.encr.name, sa.suite.encr.keyLength) : "",
      prf: sa.suite?.prf.name ?? "",
      ke: sa.suite ? keGroupName(sa.suite.keGroup) : "",
      children: [...sa.children.values()].sort((a, b) => a.id - b.id).map((c) => childStatus(now, c, reqid(c))),
    };
    if (sa.suite?.integ) st.integ = sa.suite.integ.name.replace(/^AUTH_/, "");
    if (sa.establishedAt !== undefined) st.establishedSecondsAgo = secs(now - sa.establishedAt);
    if (sa.rekeyAt !== undefined && sa.state === "established") st.rekeyInSeconds = secs(sa.rekeyAt - now);
    return st;
  });
}
