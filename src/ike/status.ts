/**
 * `swanctl --list-sas` for the engine: one status record per IKE SA with its Child SAs. These
 * are the shapes the control protocol serves (src/control/protocol.ts re-exports them); the data
 * plane's counters (bytes/packets) are not known here and are reported as 0 for the daemon to
 * fill in.
 */
import type { Millis } from "./api.js";
import type { ChildSa } from "./child-sa.js";
import type { IkeSa } from "./ike-sa.js";
import { formatTs } from "./negotiation/traffic-selectors.js";
import { keGroupName } from "./negotiation/proposals.js";

/** One end of an IKE SA. */
export interface IkeSaEndpointStatus {
  /** Identity as used in IDi/IDr, e.g. `192.0.2.1`, `gw-a.example`. */
  id: string;
  address: string;
  port: number;
  /**
   * RFC 7296 s2.23 NAT detection. Local: the peer's NAT_DETECTION_DESTINATION_IP did not match
   * our address, i.e. a NAT really is in front of us. Remote: the peer's NAT_DETECTION_SOURCE_IP
   * did not match, i.e. a NAT in front of the peer OR a peer forcing UDP encapsulation (it sends
   * a random hash; every tsipsec does, strongSwan with encap=yes): `list-sas` shows `[ENCAP]`.
   */
  behindNat: boolean;
}

/** swanctl-style IKE SA states. */
export type IkeSaState = "CREATED" | "CONNECTING" | "ESTABLISHED" | "REKEYING" | "REKEYED" | "DELETING";

/** swanctl-style Child SA states. */
export type ChildSaState = "CREATED" | "INSTALLING" | "INSTALLED" | "REKEYING" | "REKEYED" | "DELETING";

/** One Child SA, as `swanctl --list-sas` shows it under its IKE SA. */
export interface ChildSaStatus {
  /** Engine-unique Child SA id (ChildSaSpec.id). */
  id: number;
  /** The `children.<name>` it was created from. */
  name: string;
  /** Policy request id (stable per child config across rekeys). */
  reqid: number;
  state: ChildSaState;
  mode: "TUNNEL" | "TRANSPORT";
  protocol: "ESP" | "AH";
  /** ESP in UDP (RFC 3948): printed as `TUNNEL-in-UDP`. */
  udpEncapsulation: boolean;
  /** strongSwan-style algorithm names: `AES_GCM_16-128`, `AES_CBC-256`, `CHACHA20_POLY1305-256`. */
  encr: string;
  /** e.g. `HMAC_SHA2_256_128`; absent for AEAD ciphers. */
  integ?: string;
  /** PFS group of the last CREATE_CHILD_SA, e.g. `ECP_256`; absent when none. */
  ke?: string;
  esn: boolean;
  /** SPI we receive on, 8 lowercase hex digits. */
  spiIn: string;
  /** SPI we send with, 8 lowercase hex digits. */
  spiOut: string;
  bytesIn: number;
  packetsIn: number;
  bytesOut: number;
  packetsOut: number;
  /** Seconds since the last inbound/outbound packet; absent when none yet. */
  lastInSecondsAgo?: number;
  lastOutSecondsAgo?: number;
  installedSecondsAgo: number;
  /** Absent when no rekey is scheduled. */
  rekeyInSeconds?: number;
  /** Absent when there is no hard lifetime. */
  expiresInSeconds?: number;
  /** Traffic selectors in swanctl notation: `198.18.1.0/24`, `198.18.1.0/24[tcp/80]`. */
  localTs: string[];
  remoteTs: string[];
}

/** One IKE SA with its Child SAs (`swanctl --list-sas`). */
export interface IkeSaStatus {
  /** Engine-unique IKE SA id. */
  id: number;
  connection: string;
  state: IkeSaState;
  version: 2;
  /** True when we initiated this IKE SA (printed as `_i*`). */
  initiator: boolean;
  /** IKE SA SPIs, 16 lowercase hex digits each. */
  spiI: string;
  spiR: string;
  local: IkeSaEndpointStatus;
  remote: IkeSaEndpointStatus;
  /** strongSwan-style names: `AES_CBC-128`, `HMAC_SHA2_256_128` (absent for AEAD), `PRF_HMAC_SHA2_256`, `MODP_2048`. */
  encr: string;
  integ?: string;
  prf: string;
  ke: string;
  /** Absent while not yet established. */
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

function ikeState(sa: IkeSa): IkeSaState {
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

function childState(c: ChildSa): ChildSaState {
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
