/**
 * API
 *   new IkeEngine(config: EngineConfig, random: Random, now: Millis)
 *   handleDatagram(now, d: InboundDatagram): void         // never throws; garbage is dropped
 *   handleTimeout(now): void                               // call at (or after) nextDeadline()
 *   initiate(now, connection: string, child?: string): void
 *   acquire(now, connection, child, triggeringSelector?: TrafficSelector): void
 *   terminate(now, connection): void                       // D(IKE) with the peer, children go too
 *   terminateChild(now, connection, child): void           // D(ESP)
 *   rekeyChild(now, connection, child?): void
 *   rekeyIke(now, connection): void
 *   updateConfig(config: EngineConfig): void               // reload; running SAs keep going
 *   pollOutput(): IkeOutput | undefined                    // drain after every call
 *   nextDeadline(): Millis | undefined
 *   listSas(now): IkeSaStatus[]                            // status.ts, same shape as control/protocol.ts
 *   counters: IkeEngineCounters                            // invalid, retransmits, responsesResent, cookiesDemanded
 * Outputs (api.ts IkeOutput): transmit (from/to; port 4500 after NAT detection or `encap`, the
 * daemon adds the non-ESP marker), installChildSa, deleteChildSa, ikeSaEstablished, ikeSaClosed,
 * event. Events carry `fields.connection` whenever an SA is known.
 *
 * The IKEv2 engine (RFC 7296), sans-IO: the endpoint that demultiplexes datagrams to IKE SAs by
 * SPI, keeps half-open SAs and COOKIEs, runs every exchange through its module in
 * src/ike/exchanges/, and turns timers into retransmissions, rekeys, liveness checks and expiry.
 *
 * Theory of operation. Datagrams, `now` and a Random come in; outputs queue up and are drained
 * with `pollOutput()`; the caller re-arms one timer at `nextDeadline()`. Per inbound message:
 *   1. decode the header only; find the IKE SA by our SPI (IKE_SA_INIT requests: by the
 *      initiator's SPI and address for retransmissions, else the cookie check and a new SA);
 *   2. responses must answer our outstanding request (s2.3); requests go through the window:
 *      a retransmitted request gets the cached response byte-identical (only fragment 1 of a
 *      fragmented one triggers that, RFC 7383 s2.6.1), old or out-of-window IDs are dropped;
 *   3. SK/SKF is verified and decrypted (a failure is unauthenticated garbage: silent drop,
 *      s2.21), inner payloads decoded and checked against the exchange's rules
 *      (UNSUPPORTED_CRITICAL_PAYLOAD / INVALID_SYNTAX answers for authenticated requests);
 *   4. the exchange module runs; it may queue tasks, which start when the window is free.
 * Every public method catches what escapes and reports it as an error event: a bug in one SA's
 * handling never takes the engine (or another SA) down.
 */
import type {
  ChildConfig, ChildSaSpec, ConnectionConfig, EngineConfig, EngineEvent, IkeEngineCounters, IkeOutput, IkeSaKeyMaterial, InboundDatagram, Millis, UdpEndpoint,
} from "./api.js";
import { ChildSa, childSpec } from "./child-sa.js";
import { CookieJar } from "./cookies.js";
import type { EngineCore } from "./exchanges/context.js";
import { IkeSa, type ActiveExchange, type IkeTask } from "./ike-sa.js";
import { DeadlineQueue } from "./deadline-queue.js";
import { handleAuthRequest, handleAuthResponse, startAuth } from "./exchanges/ike-auth.js";
import { handleInitRequest, handleInitResponse, preferredGroup, ikeProposals, startInit } from "./exchanges/ike-sa-init.js";
import {
  handleInformationalRequest, handleInformationalResponse, startDeleteChild, startDeleteIke, startDpd,
} from "./exchanges/informational.js";
import {
  handleCreateChildRequest, handleCreateChildResponse, handleRekeyIkeResponse, moveChildren, startCreateChild, startRekeyIke,
} from "./exchanges/create-child-sa.js";
import { notify } from "./payload-builders.js";
import { listSas, type IkeSaStatus } from "./status.js";
import { decryptSk, decryptSkf, encryptSk, makeSkKeys, type SkKeys } from "./protection.js";
import { FragmentReassembler, fragmentMessage } from "./fragments.js";
import { getEncr } from "../crypto/encr.js";
import { getInteg } from "../crypto/integ.js";
import type { ChildSaKeymat } from "../crypto/keymat.js";
import { wipeIkeSaKeys } from "../crypto/keymat.js";
import { type Random, randomInt } from "../crypto/random.js";
import type { Secret } from "../crypto/secret.js";
import { DecodeError } from "../wire/errors.js";
import { ExchangeType, HeaderFlag, NotifyType, exchangeTypeName } from "../wire/ike/constants.js";
import { IKE_HEADER_LENGTH, decodeHeader, isFromInitiator, isResponse, majorVersion } from "../wire/ike/header.js";
import { decodeMessage, encodeMessage } from "../wire/ike/message.js";
import { checkPayloadRules } from "../wire/ike/rules.js";
import type { IkeHeader, IkeMessage, Payload, TrafficSelector } from "../wire/ike/types.js";

/** `complain`: at most COMPLAINT_BURST lines of one kind at their level per COMPLAINT_WINDOW_MS. */
const COMPLAINT_WINDOW_MS = 60_000;
const COMPLAINT_BURST = 10;

/** Largest datagram we look at (a UDP payload cannot be larger). */
const MAX_DATAGRAM = 65535;
/** Fraction of a rekey time drawn as jitter and subtracted (strongSwan's rand_time default is 10%). */
const JITTER = 0.1;
/** How long a closed IKE SA still answers retransmissions of its last request. */
const TOMBSTONE_MS = 300_000;
const MAX_TOMBSTONES = 4096;

export class IkeEngine implements EngineCore {
  config: EngineConfig;
  readonly random: Random;
  readonly #outputs: IkeOutput[] = [];
  /** Since construction; the daemon's `stats` reads them. */
  readonly counters: IkeEngineCounters = { invalid: 0, retransmits: 0, responsesResent: 0, cookiesDemanded: 0, halfOpenBlocked: 0 };
  /** Every live IKE SA by our SPI. */
  readonly #sas = new Map<bigint, IkeSa>();
  /** Responder half-open SAs by initiator address and SPI (IKE_SA_INIT retransmissions). */
  readonly #byInit = new Map<string, IkeSa>();
  /** nextDeadline() without a scan of every SA (IKE SAs call `touch` through their deadline hook). */
  readonly #deadlines = new DeadlineQueue<IkeSa>((sa) => (this.#sas.get(sa.localSpi) === sa ? saDeadline(sa) : undefined), () => this.#sas.size);
  readonly #childSpis = new Set<number>();
  /** Every live IKE SA by its engine id (the daemon asks per Child SA install). */
  readonly #byId = new Map<number, IkeSa>();
  /** Responder SAs registered half-open; pruned as they leave awaitingAuthRequest (the half-open count per IKE_SA_INIT scanned every SA). */
  readonly #halfOpen = new Set<IkeSa>();
  /** SAs whose request in flight offers a Child SA SPI (IKE_AUTH, CREATE_CHILD_SA), for newChildSpi. */
  readonly #offering = new Set<IkeSa>();
  /** SAs by authenticated peer identity, for INITIAL_CONTACT (s3.10.1). */
  readonly #byRemoteId = new Map<string, Set<IkeSa>>();
  /**
   * Closed IKE SAs' last responses, so a retransmitted request (typically the DELETE whose answer
   * was lost) still gets its answer after the SA is gone (s2.1), for TOMBSTONE_MS.
   */
  readonly #tombstones = new Map<bigint, { messageId: number; packets: Uint8Array[]; until: Millis }>();
  /** Per complaint kind (see `complain`): the current window, lines logged in it, lines demoted. Bounded by the fixed set of kinds. */
  readonly #complaints = new Map<string, { windowStart: Millis; logged: number; suppressed: number }>();
  readonly #cookies: CookieJar;
  #nextChildId = 1;
  #nextIkeSaId = 1;
  /** Stable policy request id per connection/child name (swanctl's reqid). */
  readonly #reqids = new Map<string, number>();

  constructor(config: EngineConfig, random: Random, now: Millis) {
    this.config = config;
    this.random = random;
    this.#cookies = new CookieJar(random, now);
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** One UDP datagram from the peer. Never throws for peer input. */
  handleDatagram(now: Millis, d: InboundDatagram): void {
    this.#guard("datagram", () => this.#datagram(now, d));
  }

  /** Fires every deadline that is due at `now` (retransmissions, rekeys, DPD, expiry). */
  handleTimeout(now: Millis): void {
    this.#guard("timeout", () => this.#timeout(now));
  }

  /**
   * Starts connection `connection` (swanctl --initiate): an IKE SA with `child` (or every child of
   * the connection) as its Child SAs; on an existing IKE SA only the missing Child SAs are created.
   */
  initiate(now: Millis, connection: string, child?: string): void {
    this.#guard("initiate", () => {
      const conn = this.findConnection(connection);
      if (!conn) return this.log("error", "cfg", `initiate: no connection named ${connection}`, { connection });
      const children = child === undefined ? conn.children : conn.children.filter((c) => c.name === child);
      if (child !== undefined && children.length === 0) return this.log("error", "cfg", `initiate: connection ${connection} has no child ${child}`, { connection, child });
      this.#bringUp(now, conn, children, undefined);
    });
  }

  /** A trap policy matched a packet with no SA (RFC 4301 acquire): negotiate that child now. */
  acquire(now: Millis, connection: string, child: string, triggeringSelector?: TrafficSelector): void {
    this.#guard("acquire", () => {
      const conn = this.findConnection(connection);
      const c = conn?.children.find((x) => x.name === child);
      if (!conn || !c) return this.log("error", "cfg", `acquire: no child ${connection}/${child}`, { connection, child });
      // An acquire for a child that already has (or is negotiating) an SA is a duplicate.
      const ike = this.#ikeSaFor(conn);
      if (ike && ([...ike.children.values()].some((x) => x.config.name === child && x.state !== "deleting") || this.#pendingChild(ike, child))) return;
      this.#bringUp(now, conn, [c], triggeringSelector);
    });
  }

  /** Deletes the connection's IKE SAs and their Child SAs with the peer (INFORMATIONAL D(IKE)). */
  terminate(now: Millis, connection: string): void {
    this.#guard("terminate", () => {
      for (const sa of [...this.#sas.values()]) {
        if (sa.connection.name !== connection || sa.state === "closed") continue;
        if (sa.state === "established" || sa.state === "rekeyed") {
          // The DELETE follows the exchange in flight (window 1); an IKE SA born from a rekey in
          // flight inherits the intent (see established()).
          sa.terminating = true;
          if (sa.active?.kind !== "deleteIke") sa.tasks = [{ kind: "deleteIke", reason: "terminated by operator" }];
          this.schedule(now, sa);
        } else {
          this.closeIkeSa(now, sa, "terminated by operator");
        }
      }
    });
  }

  /** Deletes the Child SAs named `child` of `connection` (INFORMATIONAL D(ESP)). */
  terminateChild(now: Millis, connection: string, child: string): void {
    this.#guard("terminateChild", () => {
      for (const sa of this.#sas.values()) {
        if (sa.connection.name !== connection) continue;
        for (const c of sa.children.values()) {
          if (c.config.name === child && c.state !== "deleting") sa.tasks.push({ kind: "deleteChild", childId: c.id, reason: "terminated by operator" });
        }
        this.schedule(now, sa);
      }
    });
  }

  /** Rekeys the Child SAs of `connection` (all, or those named `child`) now (s2.8). */
  rekeyChild(now: Millis, connection: string, child?: string): void {
    this.#guard("rekeyChild", () => {
      for (const sa of this.#sas.values()) {
        if (sa.connection.name !== connection || sa.state !== "established") continue;
        for (const c of sa.children.values()) {
          if ((child === undefined || c.config.name === child) && c.state === "installed") sa.tasks.push({ kind: "rekeyChild", childId: c.id });
        }
        this.schedule(now, sa);
      }
    });
  }

  /** Rekeys the IKE SA of `connection` now (s2.18). */
  rekeyIke(now: Millis, connection: string): void {
    this.#guard("rekeyIke", () => {
      for (const sa of this.#sas.values()) {
        if (sa.connection.name !== connection || sa.state !== "established") continue;
        sa.tasks.push({ kind: "rekeyIke" });
        this.schedule(now, sa);
      }
    });
  }

  /**
   * Reload: new connections and secrets apply to new SAs; existing SAs keep running with the
   * new version of their connection when one with the same name still exists.
   */
  updateConfig(config: EngineConfig): void {
    this.#guard("updateConfig", () => {
      this.config = config;
      for (const sa of this.#sas.values()) {
        const c = config.connections.find((x) => x.name === sa.connection.name);
        if (c) sa.connection = c;
      }
    });
  }

  pollOutput(): IkeOutput | undefined {
    return this.#outputs.shift();
  }

  /** The earliest deadline over every SA's timer table and Child SA lifetimes. */
  nextDeadline(): Millis | undefined {
    return this.#deadlines.next();
  }

  /** `swanctl --list-sas`: every IKE SA with its Child SAs. */
  listSas(now: Millis): IkeSaStatus[] {
    return listSas(now, [...this.#sas.values()].filter((s) => s.state !== "closed"), (c) => this.#reqid(c));
  }

  // -------------------------------------------------------------------------------------------
  // EngineCore (used by the exchange modules)

  emit(o: IkeOutput): void {
    this.#outputs.push(o);
  }

  log(level: EngineEvent["level"], subsystem: EngineEvent["subsystem"], message: string, fields?: EngineEvent["fields"]): void {
    this.emit({ kind: "event", event: fields ? { level, subsystem, message, fields } : { level, subsystem, message } });
  }

  complain(now: Millis, kind: string, level: EngineEvent["level"], subsystem: EngineEvent["subsystem"], message: string, fields?: EngineEvent["fields"]): void {
    let c = this.#complaints.get(kind);
    if (c === undefined || now - c.windowStart >= COMPLAINT_WINDOW_MS) {
      const suppressed = c?.suppressed ?? 0;
      c = { windowStart: now, logged: 0, suppressed: 0 };
      this.#complaints.set(kind, c);
      if (suppressed > 0) message += ` (${suppressed} more like this in the last ${Math.round(COMPLAINT_WINDOW_MS / 1000)}s were logged at debug)`;
    }
    if (c.logged < COMPLAINT_BURST) {
      c.logged += 1;
      this.log(level, subsystem, message, fields);
    } else {
      c.suppressed += 1;
      this.log("debug", subsystem, message, fields);
    }
  }

  findConnection(name: string): ConnectionConfig | undefined {
    return this.config.connections.find((c) => c.name === name);
  }

  ikeSas(): Iterable<IkeSa> {
    return this.#sas.values();
  }

  /** The live IKE SA with engine id `id` (api.ts ikeSaId), if any. */
  ikeSaById(id: number): IkeSa | undefined {
    return this.#byId.get(id);
  }

  ikeSasWithRemoteId(remoteId: string): IkeSa[] {
    const set = this.#byRemoteId.get(remoteId);
    if (set === undefined) return [];
    // In creation order, as a scan of every SA would visit them.
    return [...set].filter((s) => this.#sas.get(s.localSpi) === s).sort((a, b) => a.id - b.id);
  }

  #indexChanged(sa: IkeSa, field: "active" | "remoteId", previous: unknown): void {
    if (field === "active") {
      const a = sa.active;
      if (a?.kind === "auth" || a?.kind === "createChild") this.#offering.add(sa);
      else this.#offering.delete(sa);
      return;
    }
    if (typeof previous === "string") {
      const set = this.#byRemoteId.get(previous);
      set?.delete(sa);
      if (set?.size === 0) this.#byRemoteId.delete(previous);
    }
    const id = sa.remoteId;
    if (id !== undefined && sa.state !== "closed") {
      let set = this.#byRemoteId.get(id);
      if (set === undefined) this.#byRemoteId.set(id, (set = new Set()));
      set.add(sa);
    }
  }

  newIkeSpi(): bigint {
    for (;;) {
      const b = this.random.bytes(8);
      const spi = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
      if (spi !== 0n && !this.#sas.has(spi)) return spi;
    }
  }

  newChildSpi(): number {
    // Unique among installed SAs and the SPIs our outstanding requests offered; an offer that
    // fails simply frees its SPI with the exchange.
    const offered = new Set<number>();
    for (const sa of this.#offering) {
      const a = sa.active;
      if (this.#sas.get(sa.localSpi) === sa && (a?.kind === "auth" || a?.kind === "createChild")) offered.add(a.childSpi);
    }
    for (;;) {
      const b = this.random.bytes(4);
      const spi = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
      // SPIs 1..255 are reserved by IANA (RFC 4303 s2.1); 0 is never used.
      if (spi > 255 && !this.#childSpis.has(spi) && !offered.has(spi)) return spi;
    }
  }

  nextChildId(): number {
    return this.#nextChildId++;
  }

  nextIkeSaId(): number {
    return this.#nextIkeSaId++;
  }

  registerIkeSa(sa: IkeSa): void {
    this.#sas.set(sa.localSpi, sa);
    this.#byId.set(sa.id, sa);
    sa.onDeadlineChange = () => this.#deadlines.touch(sa);
    this.#deadlines.touch(sa);
    sa.onIndexChange = (s, field, previous) => this.#indexChanged(s, field, previous);
    this.#indexChanged(sa, "active", undefined);
    this.#indexChanged(sa, "remoteId", undefined);
    if (!sa.initiator && sa.state === "awaitingAuthRequest") {
      this.#byInit.set(initKey(sa.remote, sa.spiI), sa);
      this.#halfOpen.add(sa);
    }
  }

  findPsk(localId: string, remoteId: string): Secret | undefined {
    // strongSwan's shared-key lookup: both ids > the peer's id > our id > a secret for anyone.
    const rank = (ids: string[]): number => {
      if (ids.length === 0) return 1;
      const l = ids.includes(localId);
      const r = ids.includes(remoteId);
      return l && r ? 4 : r ? 3 : l ? 2 : ids.includes("%any") ? 1 : 0;
    };
    let best: { rank: number; secret: Secret } | undefined;
    for (const s of this.config.secrets) {
      const r = rank(s.ids);
      if (r > 0 && (!best || r > best.rank)) best = { rank: r, secret: s.secret };
    }
    return best?.secret;
  }

  installChild(now: Millis, sa: IkeSa, o: Parameters<EngineCore["installChild"]>[2]): ChildSa {
    const encr = getEncr(o.encrId, o.encrKeyBits);
    const integ = o.integId !== undefined ? getInteg(o.integId) : undefined;
    const km: ChildSaKeymat = o.keymat;
    const ir = km.initiatorToResponder;
    const ri = km.responderToInitiator;
    const keys = o.weInitiated
      ? { encrOut: ir.encr, integOut: ir.integ, encrIn: ri.encr, integIn: ri.integ }
      : { encrIn: ir.encr, integIn: ir.integ, encrOut: ri.encr, integOut: ri.integ };
    const c = o.config;
    const child = new ChildSa({
      id: this.nextChildId(), config: c, ikeSaId: sa.id, spiIn: o.spiIn, spiOut: o.spiOut, mode: o.mode,
      suite: { encr, integ, esn: o.esn, keGroup: o.keGroup }, localTs: o.localTs, remoteTs: o.remoteTs,
      udpEncapsulation: sa.udpEncapsulation, installedAt: now,
      rekeyAt: c.rekeyTimeSeconds > 0 ? now + this.#jittered(c.rekeyTimeSeconds) : undefined,
      expireAt: c.lifeTimeSeconds > 0 ? now + c.lifeTimeSeconds * 1000 : undefined,
      keys: [keys.encrIn, keys.encrOut, ...(keys.integIn ? [keys.integIn] : []), ...(keys.integOut ? [keys.integOut] : [])],
    });
    this.#childSpis.add(o.spiIn);
    sa.children.set(child.id, child);
    const spec: ChildSaSpec = childSpec(child, sa.connection.name, keys, sa.local, sa.remote, c.tfcPadding && !o.peerTfcNotSupported, o.replaces);
    this.emit({ kind: "installChildSa", sa: spec });
    this.log("info", "child", `Child SA ${c.name}{${child.id}} installed: SPIs ${hex8(child.spiIn)}_i ${hex8(child.spiOut)}_o, ${encr.name}${integ ? `/${integ.name}` : ""}${o.replaces !== undefined ? `, replaces {${o.replaces}}` : ""}`,
      { connection: sa.connection.name, child: c.name, childSaId: child.id, ikeSaId: sa.id, spiIn: hex8(child.spiIn), spiOut: hex8(child.spiOut), mode: child.mode, udpEncapsulation: child.udpEncapsulation });
    return child;
  }

  removeChild(sa: IkeSa, child: ChildSa, reason: string): void {
    if (!sa.children.delete(child.id)) return;
    this.#childSpis.delete(child.spiIn);
    child.wipe();
    this.emit({ kind: "deleteChildSa", id: child.id, spiIn: child.spiIn, spiOut: child.spiOut, reason });
    this.log("info", "child", `Child SA ${child.config.name}{${child.id}} deleted: ${reason}`, { connection: sa.connection.name, child: child.config.name, childSaId: child.id, spiIn: hex8(child.spiIn), spiOut: hex8(child.spiOut) });
  }

  established(now: Millis, sa: IkeSa): void {
    sa.state = "established";
    sa.establishedAt = now;
    sa.lastInbound = now;
    sa.timers.clear("halfOpen");
    // The IKE_SA_INIT index stays until the SA closes, so a late retransmitted IKE_SA_INIT
    // cannot open a second half-open SA (it is ignored: its cached answer is gone).
    this.armIkeTimers(now, sa);
    if (sa.terminating) sa.tasks = [{ kind: "deleteIke", reason: "terminated by operator" }];
    if (sa.suite === undefined || sa.keys === undefined) throw new Error(`IKE SA ${sa.id} established without keys`);
    const keys: IkeSaKeyMaterial = {
      spiI: sa.spiI,
      spiR: sa.spiR,
      encr: sa.suite.encr,
      integ: sa.suite.integ,
      skEi: sa.keys.skEi,
      skEr: sa.keys.skEr,
      skAi: sa.suite.integ ? sa.keys.skAi : undefined,
      skAr: sa.suite.integ ? sa.keys.skAr : undefined,
    };
    this.emit({ kind: "ikeSaEstablished", ikeSaId: sa.id, connection: sa.connection.name, keys });
    this.log("info", "ike", `IKE SA ${sa.connection.name}[${sa.id}] established between ${sa.local.address}[${sa.localId}]...${sa.remote.address}[${sa.remoteId ?? "?"}]`,
      { connection: sa.connection.name, ikeSaId: sa.id, spiI: hex16(sa.spiI), spiR: hex16(sa.spiR), natLocal: sa.natLocal, natRemote: sa.natRemote });
    this.schedule(now, sa);
  }

  armIkeTimers(now: Millis, sa: IkeSa): void {
    const conn = sa.connection;
    if (conn.rekeyTimeSeconds > 0) {
      sa.rekeyAt = now + this.#jittered(conn.rekeyTimeSeconds);
      sa.timers.set("rekeyIke", sa.rekeyAt);
    }
    if (conn.dpdDelaySeconds > 0) sa.timers.set("dpd", now + conn.dpdDelaySeconds * 1000);
  }

  closeIkeSa(now: Millis, sa: IkeSa, reason: string): void {
    if (sa.state === "closed") return;
    // A peer-completed rekey (s2.18) keeps the children alive under the new SA.
    const heir = sa.passiveRekey?.newSa;
    if (heir && heir.state === "established" && sa.children.size > 0) moveChildren(this, now, sa, heir);
    for (const c of [...sa.children.values()]) this.removeChild(sa, c, `IKE SA closed: ${reason}`);
    sa.state = "closed";
    sa.timers.clearAll();
    sa.tasks = [];
    sa.active = undefined;
    sa.msgIds.completed();
    if (this.#sas.get(sa.localSpi) === sa) this.#sas.delete(sa.localSpi);
    if (this.#byId.get(sa.id) === sa) this.#byId.delete(sa.id);
    this.#halfOpen.delete(sa);
    this.#offering.delete(sa);
    if (sa.remoteId !== undefined) {
      const set = this.#byRemoteId.get(sa.remoteId);
      set?.delete(sa);
      if (set?.size === 0) this.#byRemoteId.delete(sa.remoteId);
    }
    if (this.#byInit.get(initKey(sa.remote, sa.spiI)) === sa) this.#byInit.delete(initKey(sa.remote, sa.spiI));
    for (const [k, v] of this.#byInit) if (v === sa) this.#byInit.delete(k);
    const last = sa.msgIds.lastResponse;
    if (last && sa.keys) {
      if (this.#tombstones.size >= MAX_TOMBSTONES) this.#tombstones.delete(this.#tombstones.keys().next().value as bigint);
      this.#tombstones.set(sa.localSpi, { messageId: last.messageId, packets: last.packets, until: now + TOMBSTONE_MS });
    }
    if (sa.keys) wipeIkeSaKeys(sa.keys);
    sa.keys = undefined;
    // A rekeyed SA hands its Child SAs on (ikeSaRekeyed was emitted); an ikeSaClosed would tell
    // the daemon they are gone.
    if (sa.supersededBy === undefined) this.emit({ kind: "ikeSaClosed", ikeSaId: sa.id, connection: sa.connection.name, reason });
    this.log("info", "ike", `IKE SA ${sa.connection.name}[${sa.id}] closed: ${reason}${sa.supersededBy !== undefined ? ` (superseded by [${sa.supersededBy}])` : ""}`, { connection: sa.connection.name, ikeSaId: sa.id });
  }

  schedule(now: Millis, sa: IkeSa): void {
    while (sa.active === undefined && sa.msgIds.canSend && sa.tasks.length > 0 && sa.state !== "closed") {
      // Queued work waits for IKE_AUTH to finish, and for a TEMPORARY_FAILURE back-off (s2.25).
      if (sa.state === "awaitingInitResponse" || sa.state === "awaitingAuthResponse" || sa.state === "awaitingAuthRequest") return;
      if (sa.timers.has("retryTask") && (sa.timers.get("retryTask") as number) > now) return;
      const task = sa.tasks.shift() as IkeTask;
      this.#start(now, sa, task);
    }
  }

  sendRequest(now: Millis, sa: IkeSa, exchangeType: number, payloads: Payload[], active: ActiveExchange): void {
    const header = this.#header(sa, exchangeType, sa.msgIds.nextRequestId, false);
    const packets = exchangeType === ExchangeType.IKE_SA_INIT ? [encodeMessage({ header, payloads })] : this.#protect(sa, header, payloads);
    if (exchangeType === ExchangeType.IKE_SA_INIT) sa.initRequest = packets[0] as Uint8Array;
    const p = sa.msgIds.sent(now, exchangeType, packets, sa.connection.retransmit);
    sa.active = active;
    sa.timers.set("retransmit", p.deadline);
    for (const b of packets) this.#transmit(sa.local, sa.remote, b);
  }

  sendResponse(now: Millis, sa: IkeSa, exchangeType: number, messageId: number, payloads: Payload[]): void {
    const header = this.#header(sa, exchangeType, messageId, true);
    const packets = exchangeType === ExchangeType.IKE_SA_INIT ? [encodeMessage({ header, payloads })] : this.#protect(sa, header, payloads);
    if (exchangeType === ExchangeType.IKE_SA_INIT) sa.initResponse = packets[0] as Uint8Array;
    sa.msgIds.responded(messageId, packets);
    for (const b of packets) this.#transmit(sa.local, sa.remote, b);
  }

  sendStatelessResponse(local: UdpEndpoint, remote: UdpEndpoint, spiI: bigint, spiR: bigint, exchangeType: number, messageId: number, payloads: Payload[]): void {
    const header: IkeHeader = { spiI, spiR, nextPayload: 0, version: 0x20, exchangeType, flags: HeaderFlag.RESPONSE, messageId, length: 0 };
    this.#transmit(local, remote, encodeMessage({ header, payloads }));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      // A bug must show as an event, never as a crash of the daemon (design.md rule 5).
      this.log("error", "ike", `internal error in ${what}: ${e instanceof Error ? e.message : String(e)}`, { internal: true });
    }
  }

  #reqid(c: ChildSa): number {
    const key = `${c.config.name}`;
    let r = this.#reqids.get(key);
    if (r === undefined) {
      r = this.#reqids.size + 1;
      this.#reqids.set(key, r);
    }
    return r;
  }

  #jittered(seconds: number): Millis {
    const ms = seconds * 1000;
    const span = Math.floor(ms * JITTER);
    return ms - (span > 0 ? randomInt(this.random, span) : 0);
  }

  #transmit(from: UdpEndpoint, to: UdpEndpoint, bytes: Uint8Array): void {
    this.emit({ kind: "transmit", from, to, bytes });
  }

  #header(sa: IkeSa, exchangeType: number, messageId: number, response: boolean): IkeHeader {
    const flags = (sa.initiator ? HeaderFlag.INITIATOR : 0) | (response ? HeaderFlag.RESPONSE : 0);
    return { spiI: sa.spiI, spiR: sa.spiR, nextPayload: 0, version: 0x20, exchangeType, flags, messageId, length: 0 };
  }

  #ikeSaFor(conn: ConnectionConfig): IkeSa | undefined {
    const live = [...this.#sas.values()].filter((s) => s.connection.name === conn.name && s.state !== "closed" && s.state !== "deleting" && s.state !== "rekeyed");
    return live.find((s) => s.state === "established") ?? live[0];
  }

  #pendingChild(sa: IkeSa, child: string): boolean {
    if (sa.tasks.some((t) => t.kind === "createChild" && t.child.name === child)) return true;
    const a = sa.active;
    return (a?.kind === "createChild" && a.child.name === child && a.rekeyOf === undefined) || (a?.kind === "auth" && a.child?.name === child) || sa.pendingAuthChildren.includes(child);
  }

  #bringUp(now: Millis, conn: ConnectionConfig, children: ChildConfig[], trigger: TrafficSelector | undefined): void {
    const existing = this.#ikeSaFor(conn);
    if (existing) {
      for (const c of children) {
        if ([...existing.children.values()].some((x) => x.config.name === c.name && x.state !== "deleting") || this.#pendingChild(existing, c.name)) continue;
        existing.tasks.push({ kind: "createChild", child: c, trigger });
      }
      this.schedule(now, existing);
      return;
    }
    const local: UdpEndpoint = { address: conn.localAddrs.find((a) => !a.startsWith("%")) ?? "0.0.0.0", port: conn.localPort };
    const remoteAddr = conn.remoteAddrs.find((a) => !a.startsWith("%"));
    if (!remoteAddr) return this.log("error", "cfg", `connection ${conn.name} has no concrete remote address to initiate to`, { connection: conn.name });
    const sa = new IkeSa({
      id: this.nextIkeSaId(), connection: conn, initiator: true, spiI: this.newIkeSpi(), spiR: 0n,
      local, remote: { address: remoteAddr, port: conn.remotePort }, state: "awaitingInitResponse", now, localId: conn.local.id,
    });
    const [first, ...rest] = children;
    sa.authChild = first;
    sa.authTrigger = trigger;
    sa.pendingAuthChildren = children.map((c) => c.name);
    for (const c of rest) sa.tasks.push({ kind: "createChild", child: c, trigger: undefined });
    this.registerIkeSa(sa);
    const group = preferredGroup(ikeProposals(conn));
    if (group === undefined) return this.closeIkeSa(now, sa, "connection proposals carry no KE group");
    this.log("info", "ike", `initiating IKE SA ${conn.name}[${sa.id}] to ${remoteAddr}`, { connection: conn.name, ikeSaId: sa.id });
    startInit(this, now, sa, group, undefined);
  }

  #start(now: Millis, sa: IkeSa, task: IkeTask): void {
    const established = sa.state === "established";
    switch (task.kind) {
      case "auth":
        return;
      case "createChild":
        if (!established) return;
        return startCreateChild(this, now, sa, task.child, task.trigger, undefined, task.keGroup);
      case "rekeyChild": {
        const c = sa.children.get(task.childId);
        if (!established || !c || c.state !== "installed") return;
        return startCreateChild(this, now, sa, c.config, undefined, c, task.keGroup);
      }
      case "deleteChild":
        startDeleteChild(this, now, sa, task.childId, task.reason);
        return;
      case "rekeyIke":
        if (!established) return;
        return startRekeyIke(this, now, sa, task.keGroup);
      case "deleteIke":
        return startDeleteIke(this, now, sa, task.reason);
      case "dpd":
        if (!established) return;
        return startDpd(this, now, sa);
    }
  }

  // ---- timers

  #timeout(now: Millis): void {
    for (const [spi, t] of this.#tombstones) if (t.until <= now) this.#tombstones.delete(spi);
    for (const sa of [...this.#sas.values()]) {
      if (sa.state === "closed") continue;
      try {
        this.#saTimeout(now, sa);
      } catch (e) {
        this.log("error", "ike", `internal error in timers of IKE SA ${sa.id}: ${(e as Error).message}`, { connection: sa.connection.name, internal: true });
      }
    }
  }

  #saTimeout(now: Millis, sa: IkeSa): void {
    for (const name of sa.timers.takeDue(now)) {
      switch (name) {
        case "retransmit": {
          const r = sa.msgIds.onTimeout(now, sa.connection.retransmit);
          if (r === "giveUp") {
            const ex = exchangeTypeName(sa.msgIds.pending?.exchangeType ?? 0);
            this.log("warn", "ike", `giving up after ${sa.connection.retransmit.tries} retransmissions of ${ex}: peer ${sa.remote.address} is not answering`, { connection: sa.connection.name, ikeSaId: sa.id });
            // A rekeyed SA whose DELETE goes unanswered is done anyway; its children already moved.
            this.closeIkeSa(now, sa, `peer not responding (${ex} timed out)`);
            return;
          }
          if (r) {
            for (const b of r) this.#transmit(sa.local, sa.remote, b);
            if (sa.msgIds.pending) sa.timers.set("retransmit", sa.msgIds.pending.deadline);
            this.counters.retransmits += 1;
            this.log("debug", "net", `retransmit ${sa.msgIds.pending?.retransmits} of request ${sa.msgIds.pending?.messageId}`, { connection: sa.connection.name, ikeSaId: sa.id });
          } else if (sa.msgIds.pending) {
            sa.timers.set("retransmit", sa.msgIds.pending.deadline);
          }
          break;
        }
        case "halfOpen":
          if (sa.state === "awaitingAuthRequest") this.closeIkeSa(now, sa, "half-open IKE SA timed out");
          if (sa.state === "awaitingInitResponse" || sa.state === "awaitingAuthResponse") this.closeIkeSa(now, sa, "IKE SA setup timed out");
          return;
        case "rekeyIke":
          if (sa.state === "established" && !sa.tasks.some((t) => t.kind === "rekeyIke") && sa.active?.kind !== "rekeyIke") sa.tasks.push({ kind: "rekeyIke" });
          break;
        case "dpd": {
          const delay = sa.connection.dpdDelaySeconds * 1000;
          if (sa.state !== "established" || delay <= 0) break;
          // Idle for the whole delay: check liveness; otherwise look again `delay` after the last message.
          if (now - sa.lastInbound >= delay) {
            if (sa.active === undefined && !sa.tasks.some((t) => t.kind === "dpd")) sa.tasks.push({ kind: "dpd" });
            sa.timers.set("dpd", now + delay);
          } else {
            sa.timers.set("dpd", sa.lastInbound + delay);
          }
          break;
        }
        case "deleteLinger":
          // The redundant SA of an IKE rekey collision that its creator (the loser, s2.8.2) never
          // deleted: the loser would have done so by now, so it never completed that exchange and
          // has no such SA to delete with us. Forget it locally.
          if (sa.state === "established" && sa.children.size === 0 && sa.active === undefined) {
            this.closeIkeSa(now, sa, "redundant after IKE SA rekey collision (never completed by the peer)");
            return;
          }
          break;
        case "retryTask":
          break;
      }
    }
    for (const c of [...sa.children.values()]) {
      if (c.expireAt !== undefined && c.expireAt <= now) {
        // Hard lifetime: the SA goes now; tell the peer (s1.4.1).
        c.expireAt = undefined;
        if (c.state !== "deleting") sa.tasks.push({ kind: "deleteChild", childId: c.id, reason: "hard lifetime expired" });
        else this.removeChild(sa, c, "hard lifetime expired");
        continue;
      }
      if (c.state === "installed" && c.rekeyAt !== undefined && c.rekeyAt <= now) {
        c.rekeyAt = undefined;
        if (sa.state === "established") sa.tasks.push({ kind: "rekeyChild", childId: c.id });
      }
    }
    this.schedule(now, sa);
  }

  // ---- inbound

  #datagram(now: Millis, d: InboundDatagram): void {
    const bytes = d.bytes;
    if (bytes.length < IKE_HEADER_LENGTH || bytes.length > MAX_DATAGRAM) return this.#drop("datagram shorter than an IKE header", d);
    const h = decodeHeader(bytes);
    if (majorVersion(h) !== 2) return this.#drop(`IKE major version ${majorVersion(h)}`, d);
    if (h.length !== bytes.length) return this.#drop(`header length ${h.length} differs from datagram length ${bytes.length}`, d);
    const response = isResponse(h);
    if (h.exchangeType === ExchangeType.IKE_SA_INIT && !response && h.spiR === 0n) return this.#initRequest(now, d, h);
    const ourSpi = isFromInitiator(h) ? h.spiR : h.spiI;
    const sa = this.#sas.get(ourSpi);
    if (!sa) {
      const t = this.#tombstones.get(ourSpi);
      if (t && !response && t.messageId === h.messageId && now < t.until) {
        for (const b of t.packets) this.#transmit(d.local, d.remote, b);
        return;
      }
      return this.#drop(`no IKE SA with SPI ${hex16(ourSpi)}`, d);
    }
    // The I flag must name the peer's role and the other SPI must be the peer's (s3.1).
    if (isFromInitiator(h) === sa.initiator) return this.#drop("I flag does not match the IKE SA role", d);
    if (!(sa.state === "awaitingInitResponse" && h.exchangeType === ExchangeType.IKE_SA_INIT) && h.spiI !== sa.spiI) return this.#drop("SPIi mismatch", d);
    if (sa.state !== "awaitingInitResponse" && h.spiR !== sa.spiR) return this.#drop("SPIr mismatch", d);
    if (response) this.#response(now, sa, d, h);
    else this.#request(now, sa, d, h);
  }

  #drop(why: string, d: InboundDatagram): void {
    this.counters.invalid += 1;
    this.log("debug", "net", `dropped datagram from ${d.remote.address}:${d.remote.port}: ${why}`, { remote: d.remote.address });
  }

  #initRequest(now: Millis, d: InboundDatagram, h: IkeHeader): void {
    if (h.messageId !== 0 || !isFromInitiator(h)) return this.#drop("IKE_SA_INIT request with Message ID != 0 or without the I flag", d);
    const half = this.#byInit.get(initKey(d.remote, h.spiI));
    if (half) {
      // s2.1: a retransmitted IKE_SA_INIT gets the same answer; a different one (new Ni) is a restart we ignore.
      const cached = half.msgIds.lastResponse;
      if (cached && cached.messageId === 0 && equalBytes(half.initRequest, d.bytes)) for (const b of cached.packets) this.#transmit(d.local, d.remote, b);
      return;
    }
    let msg: IkeMessage;
    try {
      msg = decodeMessage(d.bytes);
    } catch (e) {
      if (e instanceof DecodeError) return this.#drop(`malformed IKE_SA_INIT: ${e.message}`, d);
      throw e;
    }
    const problems = checkPayloadRules(ExchangeType.IKE_SA_INIT, false, msg.payloads);
    const critical = problems.find((p) => p.kind === "unsupportedCritical");
    if (critical) {
      this.sendStatelessResponse(d.local, d.remote, h.spiI, 0n, ExchangeType.IKE_SA_INIT, 0, [notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, new Uint8Array([critical.payloadType ?? 0]))]);
      return;
    }
    if (problems.length > 0) return this.#drop(`IKE_SA_INIT request: ${problems.map((p) => p.reason).join("; ")}`, d);
    let halfOpen = 0;
    let halfOpenFromPeer = 0;
    for (const s of this.#halfOpen) {
      if (s.state !== "awaitingAuthRequest" || this.#sas.get(s.localSpi) !== s) {
        this.#halfOpen.delete(s);
        continue;
      }
      halfOpen += 1;
      if (s.remote.address === d.remote.address) halfOpenFromPeer += 1;
    }
    handleInitRequest(this, now, d, msg, { cookies: this.#cookies, halfOpenCount: halfOpen, halfOpenFromPeer, candidates: this.#candidates(d) });
  }

  /** Connections whose local/remote addresses fit the datagram (responder look-up, before IDs). */
  #candidates(d: InboundDatagram): ConnectionConfig[] {
    const fits = (list: string[], addr: string): boolean => list.length === 0 || list.some((a) => a === addr || a === "%any" || (a === "%any4" && !addr.includes(":")) || (a === "%any6" && addr.includes(":")));
    return this.config.connections.filter((c) => fits(c.localAddrs, d.local.address) && fits(c.remoteAddrs, d.remote.address));
  }

  #response(now: Millis, sa: IkeSa, d: InboundDatagram, h: IkeHeader): void {
    if (!sa.msgIds.isExpectedResponse(h.messageId)) return this.#drop(`unexpected response Message ID ${h.messageId}`, d);
    if (sa.msgIds.pending?.exchangeType !== h.exchangeType) return this.#drop("response exchange type differs from our request", d);
    if (h.exchangeType === ExchangeType.IKE_SA_INIT) {
      if (sa.state !== "awaitingInitResponse") return;
      let msg: IkeMessage;
      try {
        msg = decodeMessage(d.bytes);
      } catch (e) {
        if (e instanceof DecodeError) return this.#drop(`malformed IKE_SA_INIT response: ${e.message}`, d);
        throw e;
      }
      if (checkPayloadRules(ExchangeType.IKE_SA_INIT, true, msg.payloads).length > 0) return this.#drop("IKE_SA_INIT response breaks the payload rules", d);
      const r = handleInitResponse(this, now, sa, msg, d.bytes);
      if (r === "auth") {
        // SPIr is now known: re-index is unnecessary (we are found by SPIi) but timers restart.
        // The initiator's setup is bounded by the retransmission schedule, not the half-open timer.
        sa.timers.clear("retransmit");
        const child = sa.authChild;
        startAuth(this, now, sa, child);
      }
      return;
    }
    const inner = this.#unprotect(sa, d, h, true);
    if (!inner) return;
    if (inner.kind === "incomplete") return;
    if (inner.kind === "malformed") this.log("warn", "ike", "authenticated response does not parse: the request failed (INVALID_SYNTAX)", { connection: sa.connection.name });
    sa.lastInbound = now;
    sa.timers.clear("retransmit");
    this.#updatePath(sa, d);
    // A malformed answer fails the request like an INVALID_SYNTAX error notify would (s2.21).
    const ps = inner.kind === "ok" ? inner.payloads : [notify(NotifyType.INVALID_SYNTAX)];
    const problems = checkPayloadRules(h.exchangeType, true, ps).filter((p) => p.kind === "unsupportedCritical");
    if (problems.length > 0) {
      this.log("warn", "ike", `response carries an unsupported critical payload; request failed`, { connection: sa.connection.name });
    }
    switch (sa.active?.kind) {
      case "auth":
        if (sa.state === "awaitingAuthResponse") handleAuthResponse(this, now, sa, ps);
        sa.pendingAuthChildren = [];
        break;
      case "createChild":
        handleCreateChildResponse(this, now, sa, ps);
        break;
      case "rekeyIke":
        handleRekeyIkeResponse(this, now, sa, ps);
        break;
      case "deleteChild":
      case "deleteIke":
      case "dpd":
        handleInformationalResponse(this, now, sa, ps);
        break;
      default:
        sa.msgIds.completed();
        sa.active = undefined;
    }
    if (sa.state !== "closed") this.schedule(now, sa);
  }

  #request(now: Millis, sa: IkeSa, d: InboundDatagram, h: IkeHeader): void {
    const verdict = sa.msgIds.classifyRequest(h.messageId);
    if (verdict.kind === "retransmit") {
      // RFC 7383 s2.6.1: of a fragmented request, only fragment 1 triggers the resend.
      if (h.nextPayload === 53 && skfFragmentNumber(d.bytes) !== 1) return;
      // SPIs and Message ID travel in clear: only an intact ICV shows this is the peer's
      // retransmission (s2.21.2). Anything else would reflect our cached response to any address.
      const why = this.#retransmissionProblem(sa, d, h);
      if (why !== undefined) return this.#drop(`not a retransmission of request ${h.messageId}: ${why}`, d);
      for (const b of verdict.packets) this.#transmit(sa.local, d.remote, b);
      this.counters.responsesResent += 1;
      this.log("debug", "net", `retransmitted response to request ${h.messageId}`, { connection: sa.connection.name });
      return;
    }
    if (verdict.kind !== "new") return this.#drop(`request Message ID ${h.messageId} is ${verdict.kind === "old" ? "old" : "outside the window"} (expecting ${sa.msgIds.expectedPeerRequestId})`, d);
    if (h.exchangeType === ExchangeType.IKE_SA_INIT) return this.#drop("IKE_SA_INIT request on an existing IKE SA", d);
    if (sa.state === "awaitingAuthRequest" && h.exchangeType !== ExchangeType.IKE_AUTH) return this.#drop(`${exchangeTypeName(h.exchangeType)} before IKE_AUTH`, d);
    if (sa.state !== "awaitingAuthRequest" && h.exchangeType === ExchangeType.IKE_AUTH) return this.#drop("IKE_AUTH on an established IKE SA", d);
    const inner = this.#unprotect(sa, d, h, false);
    if (!inner) return;
    if (inner.kind === "incomplete") return;
    sa.lastInbound = now;
    this.#updatePath(sa, d);
    if (inner.kind === "malformed") {
      this.sendResponse(now, sa, h.exchangeType, h.messageId, [notify(NotifyType.INVALID_SYNTAX)]);
      if (sa.state === "awaitingAuthRequest") this.closeIkeSa(now, sa, "malformed IKE_AUTH request");
      return;
    }
    const ps = inner.payloads;
    const problems = checkPayloadRules(h.exchangeType, false, ps);
    const critical = problems.find((p) => p.kind === "unsupportedCritical");
    if (critical || problems.length > 0) {
      const n = critical
        ? notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, new Uint8Array([critical.payloadType ?? 0]))
        : notify(NotifyType.INVALID_SYNTAX);
      this.log("warn", "ike", `${exchangeTypeName(h.exchangeType)} request refused: ${problems.map((p) => p.reason).join("; ")}`, { connection: sa.connection.name });
      this.sendResponse(now, sa, h.exchangeType, h.messageId, [n]);
      if (sa.state === "awaitingAuthRequest") this.closeIkeSa(now, sa, "invalid IKE_AUTH request");
      return;
    }
    switch (h.exchangeType) {
      case ExchangeType.IKE_AUTH:
        handleAuthRequest(this, now, sa, h.messageId, ps, this.#candidates(d));
        break;
      case ExchangeType.CREATE_CHILD_SA:
        handleCreateChildRequest(this, now, sa, h.messageId, ps);
        break;
      case ExchangeType.INFORMATIONAL:
        handleInformationalRequest(this, now, sa, h.messageId, ps);
        break;
      default:
        // s1.5/s2.21: an exchange type we do not implement.
        this.sendResponse(now, sa, h.exchangeType, h.messageId, [notify(NotifyType.INVALID_SYNTAX)]);
    }
    if (sa.state !== "closed") this.schedule(now, sa);
  }

  /** After an authenticated message, follow the peer's address/port (NAT mapping changes, s2.23). */
  #updatePath(sa: IkeSa, d: InboundDatagram): void {
    if (d.remote.address !== sa.remote.address || d.remote.port !== sa.remote.port || d.local.port !== sa.local.port) {
      if (sa.udpEncapsulation || d.local.port === 4500) {
        sa.remote = { ...d.remote };
        sa.local = { ...d.local };
      }
    }
  }

  /**
   * Verifies and decrypts SK (or collects SKF fragments). undefined: drop silently (bad ICV,
   * garbage: unauthenticated, s2.21); "incomplete": more fragments needed; "malformed": the
   * message authenticated but its inner payloads do not decode (INVALID_SYNTAX).
   */
  /**
   * Why a datagram that carries the last answered request's Message ID is not that request
   * retransmitted (undefined when it is): a real one is protected with the peer's keys and its
   * ICV verifies. IKE_SA_INIT retransmissions carry SPIr 0 and never get here.
   */
  #retransmissionProblem(sa: IkeSa, d: InboundDatagram, h: IkeHeader): string | undefined {
    if (h.exchangeType === ExchangeType.IKE_SA_INIT) return "IKE_SA_INIT with a non-zero SPIr";
    const keys = this.#skKeys(sa);
    if (!keys) return "the IKE SA has no keys yet";
    let msg: IkeMessage;
    try {
      msg = decodeMessage(d.bytes);
    } catch (e) {
      if (e instanceof DecodeError) return `malformed: ${e.message}`;
      throw e;
    }
    const only = msg.payloads.length === 1 ? msg.payloads[0] : undefined;
    // "syntax" means the ICV verified but the inner payloads do not parse: still the peer's
    // message (it got INVALID_SYNTAX the first time, and gets it again).
    const r = only?.type === 53 ? decryptSkf(d.bytes, msg, keys.inbound) : decryptSk(d.bytes, msg, keys.inbound);
    return r.ok || r.reason === "syntax" ? undefined : `${r.reason}: ${r.detail}`;
  }

  #unprotect(sa: IkeSa, d: InboundDatagram, _h: IkeHeader, _response: boolean):
    | { kind: "ok"; payloads: Payload[] }
    | { kind: "incomplete" }
    | { kind: "malformed" }
    | undefined {
    const keys = this.#skKeys(sa);
    if (!keys) return undefined;
    let msg: IkeMessage;
    try {
      msg = decodeMessage(d.bytes);
    } catch (e) {
      if (e instanceof DecodeError) return (this.#drop(`malformed protected message: ${e.message}`, d), undefined);
      throw e;
    }
    if (msg.payloads.length === 1 && msg.payloads[0]?.type === 53) return this.#unprotectFragment(sa, d, msg, keys.inbound);
    const r = decryptSk(d.bytes, msg, keys.inbound);
    if (r.ok) return { kind: "ok", payloads: r.payloads };
    if (r.reason === "syntax") return { kind: "malformed" };
    this.#drop(`SK payload rejected (${r.reason}): ${r.detail}`, d);
    return undefined;
  }

  #unprotectFragment(sa: IkeSa, d: InboundDatagram, msg: IkeMessage, keys: SkKeys):
    | { kind: "ok"; payloads: Payload[] }
    | { kind: "incomplete" }
    | { kind: "malformed" }
    | undefined {
    // RFC 7383 s2.6: one reassembler per direction (the peer's requests, the peer's responses).
    const dir = isResponse(msg.header) ? "responses" : "requests";
    const re = (sa.reassembly ??= new Map<string, FragmentReassembler>());
    let asm = re.get(dir);
    if (!asm) {
      asm = new FragmentReassembler();
      re.set(dir, asm);
    }
    const r = asm.handle(d.bytes, msg, keys);
    switch (r.kind) {
      case "incomplete":
        return { kind: "incomplete" };
      case "complete":
        return { kind: "ok", payloads: r.payloads };
      case "invalid":
        return { kind: "malformed" };
      case "dropped":
        this.#drop(`SKF fragment dropped (${r.reason}): ${r.detail}`, d);
        return undefined;
    }
  }

  #protect(sa: IkeSa, header: IkeHeader, payloads: Payload[]): Uint8Array[] {
    const keys = this.#skKeys(sa);
    if (!keys) throw new Error("IKE SA has no keys");
    const iv = (): Uint8Array => this.random.bytes(keys.outbound.encr.alg.ivLength);
    const whole = encryptSk({ header, innerPayloads: payloads, keys: keys.outbound, iv: iv() });
    if (sa.fragmentation && whole.length > sa.connection.fragmentSize) {
      return fragmentMessage({ header, innerPayloads: payloads, keys: keys.outbound, maxMessageSize: sa.connection.fragmentSize, random: this.random });
    }
    return [whole];
  }

  /** SK_ei/SK_ai for what the initiator sends, SK_er/SK_ar for the responder's (s2.14). */
  #skKeys(sa: IkeSa): { inbound: SkKeys; outbound: SkKeys } | undefined {
    if (!sa.keys || !sa.suite) return undefined;
    if (!sa.skKeys) {
      const k = sa.keys;
      const i = makeSkKeys(sa.suite.encr, k.skEi, sa.suite.integ, sa.suite.integ ? k.skAi : undefined);
      const r = makeSkKeys(sa.suite.encr, k.skEr, sa.suite.integ, sa.suite.integ ? k.skAr : undefined);
      sa.skKeys = sa.initiator ? { outbound: i, inbound: r } : { outbound: r, inbound: i };
    }
    return sa.skKeys;
  }
}

function initKey(remote: UdpEndpoint, spiI: bigint): string {
  return `${remote.address}|${remote.port}|${spiI.toString(16)}`;
}

function hex8(spi: number): string {
  return (spi >>> 0).toString(16).padStart(8, "0");
}

function hex16(spi: bigint): string {
  return BigInt.asUintN(64, spi).toString(16).padStart(16, "0");
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The Fragment Number of an SKF payload that directly follows the header (RFC 7383 s2.5). */
function skfFragmentNumber(bytes: Uint8Array): number {
  if (bytes.length < IKE_HEADER_LENGTH + 6) return 0;
  return ((bytes[IKE_HEADER_LENGTH + 4] as number) << 8) | (bytes[IKE_HEADER_LENGTH + 5] as number);
}

/** One IKE SA's earliest deadline: its timer table and its Child SAs' lifetimes. */
function saDeadline(sa: IkeSa): Millis | undefined {
  let best = sa.timers.next();
  for (const c of sa.children.values()) {
    if (c.state === "installed" && c.rekeyAt !== undefined && (best === undefined || c.rekeyAt < best)) best = c.rekeyAt;
    if (c.expireAt !== undefined && (best === undefined || c.expireAt < best)) best = c.expireAt;
  }
  return best;
}
