/**
 * The boundary of the IKEv2 engine (design.md "The core's boundary"): what the daemon, the
 * config loader and the tests see. The engine is sans-IO: datagrams, `now` (milliseconds) and an
 * injected Random come in; datagrams to send, Child SAs to install/delete, events and the next
 * deadline come out.
 *
 * Durations in config are SECONDS; `now` and deadlines are MILLISECONDS.
 */
import type { EncrAlgorithm, IntegAlgorithm } from "../crypto/types.js";
import type { Secret } from "../crypto/secret.js";
import type { Proposal, TrafficSelector } from "../wire/ike/types.js";

/** Milliseconds on the caller's clock (monotonic). */
export type Millis = number;

/** A UDP address: IPv4 dotted quad or IPv6 text, and a port. */
export interface UdpEndpoint {
  address: string;
  port: number;
}

/** One UDP datagram carrying IKE, as received. On port 4500 the non-ESP marker is already removed. */
export interface InboundDatagram {
  local: UdpEndpoint;
  remote: UdpEndpoint;
  bytes: Uint8Array;
}

/** Retransmission policy (RFC 7296 s2.1); defaults like strongSwan's: 4 s, x1.8, 5 tries. */
export interface RetransmitConfig {
  timeoutSeconds: number;
  base: number;
  tries: number;
}

/** Local or remote authentication round (swanctl `local {}` / `remote {}`). */
export interface AuthConfig {
  /** "psk" today; "pubkey" when certificates arrive. */
  auth: "psk" | "pubkey";
  /** Identity as configured (`198.18.1.1`, `gw.example.com`, `user@example.com`, `keyid:...`); `%any` for remote matches any. */
  id: string;
}

/** `children.<name>` of a connection. */
export interface ChildConfig {
  name: string;
  /** Our side's traffic selectors (swanctl `local_ts`). */
  localTs: TrafficSelector[];
  /** Peer side's traffic selectors (swanctl `remote_ts`). */
  remoteTs: TrafficSelector[];
  /** ESP proposals in preference order (parsed from `esp_proposals`); a KE transform means PFS. */
  espProposals: Proposal[];
  mode: "tunnel" | "transport";
  startAction: "none" | "start" | "trap";
  /**
   * What the daemon does when the IKE SA dies of a failed liveness check (swanctl `dpd_action`):
   * `clear` nothing, `trap` install a trap policy, `restart` re-initiate. The engine ignores it.
   */
  dpdAction?: "clear" | "trap" | "restart";
  /** What the daemon does when the peer deletes the IKE SA (swanctl `close_action`): `none`, `trap` or `start` (re-initiate). */
  closeAction?: "none" | "trap" | "start";
  /** Seconds until we rekey the Child SA (0 = never); jitter is subtracted by the engine. */
  rekeyTimeSeconds: number;
  /** Seconds until the Child SA's hard expiry. */
  lifeTimeSeconds: number;
  /** Bytes / packets limits (0 = none), soft = rekey, hard = delete. */
  rekeyBytes: number;
  lifeBytes: number;
  rekeyPackets: number;
  lifePackets: number;
  /** Anti-replay window in packets (RFC 4303 s3.4.3), 0 disables. */
  replayWindow: number;
  /** Send TFC padding unless the peer sent ESP_TFC_PADDING_NOT_SUPPORTED. */
  tfcPadding: boolean;
}

/** `connections.<name>`. */
export interface ConnectionConfig {
  name: string;
  localAddrs: string[];
  remoteAddrs: string[];
  localPort: number;
  remotePort: number;
  /** IKE proposals in preference order (parsed from `proposals`). */
  proposals: Proposal[];
  /** Force UDP encapsulation of ESP even without NAT (swanctl `encap`). */
  encap: boolean;
  /** Seconds between liveness checks when idle (0 = off). */
  dpdDelaySeconds: number;
  /** Seconds until the IKE SA is rekeyed (0 = never). */
  rekeyTimeSeconds: number;
  /** Use IKE fragmentation (RFC 7383) when the peer supports it. */
  fragmentation: boolean;
  /** Largest IKE datagram before fragmenting, bytes. */
  fragmentSize: number;
  local: AuthConfig;
  remote: AuthConfig;
  children: ChildConfig[];
  retransmit: RetransmitConfig;
}

/** A pre-shared key for a set of identities (swanctl `secrets.ike-*`). */
export interface SharedSecret {
  ids: string[];
  secret: Secret;
}

export interface EngineConfig {
  connections: ConnectionConfig[];
  secrets: SharedSecret[];
  /** Half-open IKE SAs above which the responder demands COOKIEs (RFC 7296 s2.6). */
  cookieThreshold: number;
  /** Seconds a half-open IKE SA may live. */
  halfOpenTimeoutSeconds: number;
}

/** The keys and parameters of one negotiated Child SA, ready for the SAD (src/ipsec/). */
export interface ChildSaSpec {
  /** Engine-unique id of the Child SA (stable across the install/delete pair). */
  id: number;
  connection: string;
  child: string;
  /** IKE SA this Child SA belongs to (engine-unique id). */
  ikeSaId: number;
  protocol: "esp";
  mode: "tunnel" | "transport";
  /** SPI we receive on (chosen by us), host order. */
  spiIn: number;
  /** SPI we send with (chosen by the peer), host order. */
  spiOut: number;
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  esn: boolean;
  /** KEYMAT split (RFC 7296 s2.17): inbound keys protect peer->us, outbound us->peer. */
  encrKeyIn: Secret;
  integKeyIn: Secret | undefined;
  encrKeyOut: Secret;
  integKeyOut: Secret | undefined;
  localTs: TrafficSelector[];
  remoteTs: TrafficSelector[];
  /** Outer addresses (tunnel endpoints / transport hosts). */
  local: UdpEndpoint;
  remote: UdpEndpoint;
  /** ESP in UDP (RFC 3948) when NAT was detected or encapsulation forced; else raw ESP. */
  udpEncapsulation: boolean;
  replayWindow: number;
  tfcPadding: boolean;
  lifetime: { softSeconds: number; hardSeconds: number; softBytes: number; hardBytes: number; softPackets: number; hardPackets: number };
  /** For a rekey: the id of the Child SA this one replaces (its deletion follows separately). */
  replaces: number | undefined;
}

/** What the engine counted since it started (swanctl --stats), read from `IkeEngine.counters`. */
export interface IkeEngineCounters {
  /** Datagrams dropped as invalid: malformed, failed integrity, unknown SPI, old or out-of-window Message ID (s2.21). */
  invalid: number;
  /** Our requests retransmitted after their timeout (s2.1). */
  retransmits: number;
  /** Cached responses resent for the peer's retransmitted requests (s2.1). */
  responsesResent: number;
  /** IKE_SA_INIT requests answered with a COOKIE demand instead of state (s2.6). */
  cookiesDemanded: number;
  /** IKE_SA_INIT requests dropped because their address already had HALF_OPEN_PER_PEER half-open IKE SAs. */
  halfOpenBlocked: number;
}

/**
 * The keys protecting one IKE SA's messages (RFC 7296 s2.14), as a Wireshark
 * `ikev2_decryption_table` row needs them (daemon.save_keys). SPIs as on the wire.
 */
export interface IkeSaKeyMaterial {
  spiI: bigint;
  spiR: bigint;
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  /** SK_ei / SK_er: key || salt for AEAD (RFC 5282 s7.1). */
  skEi: Secret;
  skEr: Secret;
  /** SK_ai / SK_ar: undefined with an AEAD cipher. */
  skAi: Secret | undefined;
  skAr: Secret | undefined;
}

/** Operator-facing event (one structured log line). Never carries key material. */
export interface EngineEvent {
  level: "debug" | "info" | "warn" | "error";
  subsystem: "ike" | "cfg" | "net" | "child" | "enc";
  message: string;
  /**
   * Context: connection, SPIs, exchange, notify names, proposals side by side ... An error event
   * with `childSaFailed: true` (and `connection`, `child`) means a Child SA WE asked for was not
   * created (refused by the peer, e.g. NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE, or not installable);
   * the IKE SA stays up (RFC 7296 s2.21.2, s1.3).
   */
  fields?: Record<string, string | number | boolean | string[]>;
}

export type IkeOutput =
  | { kind: "transmit"; from: UdpEndpoint; to: UdpEndpoint; bytes: Uint8Array }
  | { kind: "installChildSa"; sa: ChildSaSpec }
  | { kind: "deleteChildSa"; id: number; spiIn: number; spiOut: number; reason: string }
  /** `keys` carries the IKE SA's SK_e/SK_a (RFC 7296 s2.14) for the Wireshark key export only; never log it. */
  | { kind: "ikeSaEstablished"; ikeSaId: number; connection: string; keys: IkeSaKeyMaterial }
  | { kind: "ikeSaClosed"; ikeSaId: number; connection: string; reason: string }
  /**
   * IKE SA rekey (RFC 7296 s2.18): the Child SAs `childIds` of `oldIkeSaId` now belong to
   * `newIkeSaId` (already announced by ikeSaEstablished). The old IKE SA then ends WITHOUT an
   * ikeSaClosed, because its Child SAs live on; every Child SA the engine removes is always
   * announced by its own deleteChildSa.
   */
  | { kind: "ikeSaRekeyed"; oldIkeSaId: number; newIkeSaId: number; connection: string; childIds: number[] }
  | { kind: "event"; event: EngineEvent };
