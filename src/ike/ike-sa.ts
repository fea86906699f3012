/**
 * One IKE SA's state (RFC 7296 s1, s2): SPIs, role, negotiated suite and keys, the Message ID
 * windows, its named timers, its Child SAs and the queue of exchanges it still has to initiate.
 *
 * The state machine is a discriminated string named after what the SA awaits (design.md rule 4):
 *
 *   initiator: awaitingInitResponse -> awaitingAuthResponse -> established
 *   responder: awaitingAuthRequest (half-open) -----------------> established
 *   established -> deleting (our DELETE in flight) -> closed
 *   established -> rekeyed (children moved to the new IKE SA; its DELETE follows) -> closed
 *
 * Exchanges we want to start are queued as tasks and started one at a time (window size 1).
 */
import type { ConnectionConfig, Millis, UdpEndpoint } from "./api.js";
import { ChildSaMap } from "./child-sa.js";
import { MessageIds } from "./message-ids.js";
import { TimerTable } from "./timers.js";
import type { ChildConfig } from "./api.js";
import type { IkeSaKeys } from "../crypto/keymat.js";
import type { SkKeys } from "./protection.js";
import type { FragmentReassembler } from "./fragments.js";
import type { EncrAlgorithm, IntegAlgorithm, KeyExchange, PrfAlgorithm } from "../crypto/types.js";
import type { Proposal, TrafficSelector } from "../wire/ike/types.js";

export type IkeSaState =
  | "awaitingInitResponse"
  | "awaitingAuthResponse"
  | "awaitingAuthRequest"
  | "established"
  | "deleting"
  | "rekeyed"
  | "closed";

/** The negotiated IKE SA suite (RFC 7296 s3.3). `integ` is undefined with an AEAD cipher. */
export interface IkeSuite {
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  prf: PrfAlgorithm;
  keGroup: number;
}

/** Exchanges this SA still wants to initiate, started in order when the window is free. */
export type IkeTask =
  | { kind: "auth" }
  /** `keGroup`: the PFS group the responder asked for with INVALID_KE_PAYLOAD (s1.3). */
  | { kind: "createChild"; child: ChildConfig; trigger: TrafficSelector | undefined; keGroup?: number }
  | { kind: "rekeyChild"; childId: number; keGroup?: number }
  | { kind: "deleteChild"; childId: number; reason: string }
  | { kind: "rekeyIke"; keGroup?: number }
  | { kind: "deleteIke"; reason: string }
  | { kind: "dpd" };

/** Names of the per-SA deadlines (design.md rule 7). */
export type IkeTimer = "retransmit" | "halfOpen" | "rekeyIke" | "dpd" | "retryTask" | "deleteLinger";

/** What the exchange in flight needs to process its response. */
export type ActiveExchange =
  | { kind: "init"; ke: KeyExchange; nonce: Uint8Array; cookie: Uint8Array | undefined; request: Uint8Array }
  | { kind: "auth"; child: ChildConfig | undefined; childSpi: number; proposals: Proposal[]; tsi: TrafficSelector[]; tsr: TrafficSelector[]; transport: boolean }
  | {
      kind: "createChild";
      child: ChildConfig;
      /** Set when this rekeys an existing Child SA. */
      rekeyOf: number | undefined;
      childSpi: number;
      nonce: Uint8Array;
      ke: KeyExchange | undefined;
      proposals: Proposal[];
      tsi: TrafficSelector[];
      tsr: TrafficSelector[];
      transport: boolean;
      trigger: TrafficSelector | undefined;
      /** INVALID_KE_PAYLOAD retries already done for this request. */
      keRetried: boolean;
    }
  | { kind: "rekeyIke"; newSpi: bigint; nonce: Uint8Array; ke: KeyExchange; proposals: Proposal[]; keRetried: boolean }
  | { kind: "deleteChild"; childId: number; reason: string }
  | { kind: "deleteIke"; reason: string }
  | { kind: "dpd" };

/** A rekey of this IKE SA that the peer completed with us as responder (for collisions, s2.8.2). */
export interface PassiveIkeRekey {
  newSa: IkeSa;
  nonceI: Uint8Array;
  nonceR: Uint8Array;
}

export class IkeSa {
  readonly id: number;
  connection: ConnectionConfig;
  /** True when we sent the IKE_SA_INIT (or the CREATE_CHILD_SA that created this SA by rekeying). */
  readonly initiator: boolean;
  spiI: bigint;
  spiR: bigint;
  local: UdpEndpoint;
  remote: UdpEndpoint;
  state: IkeSaState;
  suite: IkeSuite | undefined;
  keys: IkeSaKeys | undefined;
  nonceI: Uint8Array = new Uint8Array(0);
  nonceR: Uint8Array = new Uint8Array(0);
  /** The IKE_SA_INIT messages as sent, for the AUTH signed octets (s2.15). */
  initRequest: Uint8Array = new Uint8Array(0);
  initResponse: Uint8Array = new Uint8Array(0);
  readonly msgIds: MessageIds;
  /**
   * Called when this SA's next deadline may have moved earlier: a timer armed, a Child SA added
   * or made rekeyable (the engine's DeadlineQueue; see nextDeadline()).
   */
  onDeadlineChange: (() => void) | undefined;
  readonly timers = new TimerTable<IkeTimer>(() => this.onDeadlineChange?.());
  readonly children = new ChildSaMap(() => this.onDeadlineChange?.());
  tasks: IkeTask[] = [];
  /**
   * Called after `active` or `remoteId` changed, so the engine's indexes (SAs offering a Child SA
   * SPI, SAs by peer identity) follow without a scan of every SA per setup.
   */
  onIndexChange: ((sa: IkeSa, field: "active" | "remoteId", previous: unknown) => void) | undefined;
  #active: ActiveExchange | undefined;
  /** The exchange we initiated and await the response of (window size 1). */
  get active(): ActiveExchange | undefined {
    return this.#active;
  }
  set active(a: ActiveExchange | undefined) {
    const previous = this.#active;
    this.#active = a;
    if (previous !== a) this.onIndexChange?.(this, "active", previous);
  }
  /** NAT detected in front of us / in front of the peer (s2.23). */
  natLocal = false;
  natRemote = false;
  /** Both sides sent IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 s2.3). */
  fragmentation = false;
  peerSentFragmentationSupported = false;
  /** Authenticated identities (text, as configured / as received). */
  localId: string;
  #remoteId: string | undefined;
  get remoteId(): string | undefined {
    return this.#remoteId;
  }
  set remoteId(id: string | undefined) {
    const previous = this.#remoteId;
    this.#remoteId = id;
    if (previous !== id) this.onIndexChange?.(this, "remoteId", previous);
  }
  establishedAt: Millis | undefined;
  rekeyAt: Millis | undefined;
  createdAt: Millis;
  /** Last time an authenticated message from the peer arrived (DPD, s2.4). */
  lastInbound: Millis;
  /** A CREATE_CHILD_SA rekeyed this SA as responder and the peer's exchange is done (collision bookkeeping). */
  passiveRekey: PassiveIkeRekey | undefined;
  /** Child SA rekeys we answered while rekeying the same SA ourselves, by old Child SA id (s2.8.1). */
  readonly childCollisions = new Map<number, { newId: number; nonceI: Uint8Array; nonceR: Uint8Array }>();
  /** Set once a rekey moved this SA's Child SAs to its successor (s2.18); it then ends without ikeSaClosed. */
  supersededBy: number | undefined;
  /** The operator asked to terminate; a successor from a rekey in flight is deleted too. */
  terminating = false;
  /** Peer sent INITIAL_CONTACT in IKE_AUTH. */
  peerInitialContact = false;
  /** Remaining INVALID_KE/COOKIE restarts, so a hostile responder cannot keep us looping. */
  restarts = 0;
  /** Inbound SKF fragments of the request or response being reassembled (RFC 7383 s2.6), by direction and Message ID. */
  reassembly: Map<string, FragmentReassembler> | undefined;
  /** SK contexts per direction, built once from the keys. */
  skKeys: { inbound: SkKeys; outbound: SkKeys } | undefined;
  /** Initiator: the Child SA negotiated inside IKE_AUTH, the acquire that caused it, and every child asked for. */
  authChild: ChildConfig | undefined;
  authTrigger: TrafficSelector | undefined;
  pendingAuthChildren: string[] = [];

  constructor(opts: {
    id: number;
    connection: ConnectionConfig;
    initiator: boolean;
    spiI: bigint;
    spiR: bigint;
    local: UdpEndpoint;
    remote: UdpEndpoint;
    state: IkeSaState;
    now: Millis;
    localId: string;
  }) {
    this.id = opts.id;
    this.connection = opts.connection;
    this.initiator = opts.initiator;
    this.spiI = opts.spiI;
    this.spiR = opts.spiR;
    this.local = opts.local;
    this.remote = opts.remote;
    this.state = opts.state;
    this.createdAt = opts.now;
    this.lastInbound = opts.now;
    this.localId = opts.localId;
    this.msgIds = new MessageIds();
  }

  /** Our SPI: the one the peer puts in its messages for us. */
  get localSpi(): bigint {
    return this.initiator ? this.spiI : this.spiR;
  }

  get remoteSpi(): bigint {
    return this.initiator ? this.spiR : this.spiI;
  }

  get isEstablished(): boolean {
    return this.state === "established";
  }

  /** True when NAT was detected on either side or UDP encapsulation is forced (s2.23). */
  get udpEncapsulation(): boolean {
    return this.natLocal || this.natRemote || this.connection.encap;
  }
}
