/**
 * What an exchange module needs from the engine (src/ike/engine.ts implements it): outputs,
 * events, randomness, config look-ups, and the send/close/install plumbing shared by every
 * exchange. Exchange modules hold no state of their own; it all lives in IkeSa/ChildSa.
 */
import type { ChildConfig, ConnectionConfig, EngineConfig, IkeOutput, Millis, UdpEndpoint } from "../api.js";
import type { ChildSa } from "../child-sa.js";
import type { ActiveExchange, IkeSa } from "../ike-sa.js";
import type { ChildSaKeymat } from "../../crypto/keymat.js";
import type { Random } from "../../crypto/random.js";
import type { Secret } from "../../crypto/secret.js";
import type { Payload } from "../../wire/ike/types.js";
import type { EngineEvent, IkeEngineCounters } from "../api.js";

export interface EngineCore {
  readonly random: Random;
  readonly config: EngineConfig;
  /** Counters the exchange modules bump (COOKIE demands, drops). */
  readonly counters: IkeEngineCounters;
  emit(o: IkeOutput): void;
  log(level: EngineEvent["level"], subsystem: EngineEvent["subsystem"], message: string, fields?: EngineEvent["fields"]): void;
  /**
   * Logs a complaint that unauthenticated input can trigger at will (refusing an IKE_SA_INIT):
   * at `level` for the first few of one `kind` per window, then at debug, counted and reported
   * with the next line that gets through. `kind` is a fixed label, not peer data.
   */
  complain(now: Millis, kind: string, level: EngineEvent["level"], subsystem: EngineEvent["subsystem"], message: string, fields?: EngineEvent["fields"]): void;
  /** Sends a request on `sa` (SK-protected unless IKE_SA_INIT) and remembers `active` for its response. */
  sendRequest(now: Millis, sa: IkeSa, exchangeType: number, payloads: Payload[], active: ActiveExchange): void;
  /** Sends (and caches, s2.1) the response to the peer's request `messageId`. */
  sendResponse(now: Millis, sa: IkeSa, exchangeType: number, messageId: number, payloads: Payload[]): void;
  /** A one-shot response in the clear that creates no state (IKE_SA_INIT errors, COOKIE; s2.6). */
  sendStatelessResponse(local: UdpEndpoint, remote: UdpEndpoint, spiI: bigint, spiR: bigint, exchangeType: number, messageId: number, payloads: Payload[]): void;
  newIkeSpi(): bigint;
  newChildSpi(): number;
  nextChildId(): number;
  nextIkeSaId(): number;
  /** Registers a new IKE SA under its local SPI (and as half-open while it is a responder's). */
  registerIkeSa(sa: IkeSa): void;
  /** Creates, records and installs a Child SA (installChildSa output). */
  installChild(now: Millis, sa: IkeSa, o: {
    config: ChildConfig;
    spiIn: number;
    spiOut: number;
    mode: "tunnel" | "transport";
    encrId: number;
    encrKeyBits: number | undefined;
    integId: number | undefined;
    esn: boolean;
    keGroup: number;
    keymat: ChildSaKeymat;
    weInitiated: boolean;
    localTs: ChildSa["localTs"];
    remoteTs: ChildSa["remoteTs"];
    peerTfcNotSupported: boolean;
    replaces: number | undefined;
  }): ChildSa;
  /** Removes a Child SA locally (deleteChildSa output, keys wiped). */
  removeChild(sa: IkeSa, child: ChildSa, reason: string): void;
  /** The IKE SA is up: output, timers, queued tasks. */
  established(now: Millis, sa: IkeSa): void;
  /** Closes the IKE SA and its Child SAs locally (ikeSaClosed). */
  closeIkeSa(now: Millis, sa: IkeSa, reason: string): void;
  /** Arms the IKE SA timers (rekey, DPD) after establishment or a rekey. */
  armIkeTimers(now: Millis, sa: IkeSa): void;
  findPsk(localId: string, remoteId: string): Secret | undefined;
  ikeSas(): Iterable<IkeSa>;
  /** The live IKE SAs whose authenticated peer identity is `remoteId`, oldest first. */
  ikeSasWithRemoteId(remoteId: string): IkeSa[];
  findConnection(name: string): ConnectionConfig | undefined;
  /** Kicks the SA's task queue (start the next exchange if the window is free). */
  schedule(now: Millis, sa: IkeSa): void;
}
