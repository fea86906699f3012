import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { formatConfigError, type LogLevel, type TsipsecConfig } from "../config/index.js";
import { ControlError, type ActionResult, type ControlHandler, type IkeSaStatus, type ReloadResult, type Stats } from "../control/protocol.js";
import { describeConnections } from "../control/describe.js";
import { removeStaleSocket, startControlServer, type ControlServer } from "../control/server.js";
import { systemRandom } from "../crypto/random.js";
import { loadNativeAddon, nativeEncrWrapper, nativeReadableWatcher, type NativeAddon } from "../crypto/native/index.js";
import { Secret } from "../crypto/secret.js";
import { IkeEngine } from "../ike/engine.js";
import type { ChildSaSpec, ConnectionConfig, EngineConfig, IkeOutput, IkeSaKeyMaterial, InboundDatagram, Millis, UdpEndpoint } from "../ike/api.js";
import { DataPlane, type DataPlaneEvent, type DataPlaneResult, type Endpoint } from "../ipsec/data-plane.js";
import { DROP_REASONS, Sad, SecurityAssociation, type DropReason } from "../ipsec/sad.js";
import { Spd, type Policy } from "../ipsec/spd.js";
import type { Lifetime } from "../ipsec/lifetime.js";
import { parseIpAddress, type PacketSelector } from "../wire/ip.js";
import type { TrafficSelector as IkeTs } from "../wire/ike/types.js";
import { formatTs } from "../ike/negotiation/traffic-selectors.js";
import { DeadlineTimer, monotonicClock, type Clock } from "../drivers/clock.js";
import { loadConfigFile } from "../drivers/config-file.js";
import { KeyExporter } from "../drivers/key-export.js";
import { openTun, type TunDevice } from "../drivers/tun-linux.js";
import { nativeBatchIo } from "../drivers/batch-io.js";
import { openUdp, type UdpDriver } from "../drivers/udp.js";
import { createLoggers, flushLogs, setLevels, type Loggers } from "./log.js";
import { actionAfterClose, closeCause, restartDelayMs } from "./close-action.js";
import { clampMss, mssForMtu } from "./mss-clamp.js";
import { addressInTs, routesFor, sameTsList, selectorAddress, spdSelectors, triggeringTs } from "./policy.js";
import type { TrafficSelector as SpdSelector } from "../ipsec/selectors.js";

/**
 * The composition root (design.md "daemon/"): wires the IKE engine and the data plane to the TUN
 * device, the UDP sockets, the one timer and the control socket.
 *
 * Packet paths:
 *   TUN read -> DataPlane.outbound -> toNetwork: UDP/4500 send | acquire: IkeEngine.acquire
 *     (the packet is dropped: protected traffic never leaves in clear) | drop / bypass: counted.
 *   UDP/4500 ESP -> DataPlane.inbound -> toTunnel: TUN write.
 *   UDP IKE (500, or 4500 behind the Non-ESP Marker) -> IkeEngine.handleDatagram.
 * After every call into the engine its outputs are drained (`service()`): transmit -> UDP;
 * installChildSa -> SAD + SPD + routes; deleteChildSa -> the reverse; events -> log lines. Then
 * the one timer is re-armed at the earliest of the engine's and the data plane's deadlines.
 *
 * Fail-closed by construction: the SPD holds only PROTECT policies, a packet matching none is
 * dropped (NO_POLICY), one matching a policy without an SA is dropped after asking IKE for an
 * SA, and nothing read from the TUN is ever written to the network unencrypted.
 *
 * TCP SYNs crossing the tunnel get their MSS lowered to fit the TUN MTU (mss-clamp.ts), so TCP
 * works even where ICMP "fragmentation needed" is filtered.
 *
 * ESP always travels UDP-encapsulated on the NAT-T port (RFC 3948): raw ESP would need a raw
 * socket. So every connection is run with `encap` forced on, which makes peers (strongSwan
 * included) float to UDP/4500 and encapsulate too.
 */

/** What `tsipsec start` passes (src/cli/main.ts StartOptions is assignable to this). */
export interface RunDaemonOptions {
  configPath: string;
  /** Already loaded and checked config (else it is loaded from configPath). */
  config?: TsipsecConfig;
  /** Control socket path (default: the config's daemon.control_socket). */
  controlPath?: string;
  /** Overrides every subsystem's log level. */
  logLevel?: LogLevel | undefined;
}

/** Exit codes: 0 clean shutdown, 1 runtime failure (TUN, sockets), 2 configuration error. */
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_CONFIG = 2;

/** IKE datagrams kept while the daemon starts (beyond: dropped; the peer retransmits). */
const STARTUP_QUEUE_MAX = 64;
/** How long shutdown waits for DELETE exchanges to complete before closing the sockets, ms. */
const SHUTDOWN_GRACE_MS = 1500;
/** At most one acquire per policy in this interval (a burst of packets asks IKE once), ms. */
const ACQUIRE_INTERVAL_MS = 1000;
/** How long `up` waits for the Child SA before answering "still negotiating", ms. */
const UP_WAIT_MS = 8000;
/** The data plane's hard time limit trails the engine's, which deletes the SA with the peer first, s. */
const HARD_LIFETIME_MARGIN_S = 30;

/** Runs the daemon until SIGTERM/SIGINT. Resolves with the process exit code. */
export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  let config = options.config;
  if (config === undefined) {
    const r = loadConfigFile(options.configPath);
    if (!r.ok) {
      process.stderr.write(`tsipsec: config errors in ${options.configPath}:\n${r.errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}\n`);
      return EXIT_CONFIG;
    }
    config = r.config;
  }
  const log = createLoggers({ levels: config.daemon.logLevel, override: options.logLevel });
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      config,
      configPath: options.configPath,
      controlPath: options.controlPath ?? config.daemon.controlSocket,
      logLevelOverride: options.logLevel,
      log,
      clock: monotonicClock,
    });
  } catch (e) {
    log.daemon.fatal({ err: e instanceof Error ? e.message : String(e) }, "cannot start");
    process.stderr.write(`tsipsec: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    void daemon.shutdown(`signal ${signal}`);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    return await daemon.done;
  } finally {
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
  }
}

interface DaemonStartOptions {
  config: TsipsecConfig;
  configPath: string;
  controlPath: string;
  logLevelOverride: LogLevel | undefined;
  log: Loggers;
  clock: Clock;
}

/** One SPD policy per configured child (connection/child): trap or installed. */
interface PolicyRecord {
  readonly id: number;
  readonly key: string;
  readonly connection: string;
  readonly child: string;
  /** True while the child is configured with start_action: trap. */
  trap: boolean;
  /** CIDRs routed into the TUN for this policy. */
  routes: string[];
  /** The traffic selectors this policy's SPD entry was built from, while it is in the SPD. */
  installed: { localTs: readonly IkeTs[]; remoteTs: readonly IkeTs[]; selectors: SpdSelector[] } | undefined;
  /** Installed Child SA ids using this policy. */
  readonly childSas: Set<number>;
  /** Last acquire sent to the engine, ms. */
  lastAcquire: number;
}

/** One installed Child SA: its two SAD entries and what the status listing needs. */
interface ChildRecord {
  readonly id: number;
  /** The IKE SA it belongs to (changes when that IKE SA is rekeyed, RFC 7296 s2.18). */
  ikeSaId: number;
  readonly connection: string;
  readonly child: string;
  readonly policyKey: string;
  readonly inbound: SecurityAssociation;
  readonly outbound: SecurityAssociation;
  readonly local: UdpEndpoint;
  readonly remote: UdpEndpoint;
}

interface UpWaiter {
  connection: string;
  child: string | undefined;
  resolve: (r: ActionResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A scheduled re-initiation of a connection's children after its IKE SA closed. */
interface RestartEntry {
  attempts: number;
  children: string[];
  timer: NodeJS.Timeout | undefined;
}

/** Forces UDP encapsulation on every connection (see the module comment). */
function withForcedEncap(engine: EngineConfig): EngineConfig {
  return { ...engine, connections: engine.connections.map((c) => ({ ...c, encap: true })) };
}

/**
 * Addresses to bind: the configured `listen` list; when that is only wildcards and every connection
 * names concrete local addresses, those addresses instead, so each datagram's local address is the
 * real one (NAT detection hashes it, RFC 7296 s2.23; transport mode rebuilds IP headers with it).
 */
function bindAddresses(config: TsipsecConfig): string[] {
  const listen = config.daemon.listen;
  const onlyWildcards = listen.every((a) => a === "0.0.0.0" || a === "::");
  const conns = config.engine.connections;
  if (!onlyWildcards || conns.length === 0) return listen;
  if (!conns.every((c) => c.localAddrs.some((a) => isIP(a) !== 0))) return listen;
  return [...new Set(conns.flatMap((c) => c.localAddrs.filter((a) => isIP(a) !== 0)))];
}

/** Copies key bytes: the SAD wipes its copy on removal, the engine owns the spec's. */
function copySecret(s: Secret | undefined): Secret | undefined {
  // new Uint8Array(typed array) copies in one step (also from a Buffer, whose slice() would share
  // memory); Uint8Array.from() walks the bytes through the iterator protocol.
  return s === undefined ? undefined : new Secret(new Uint8Array(s.expose()));
}

/** Bytes of each reused data-plane output buffer: a 64 KiB IP packet plus ESP/AH overhead. */
const DATA_PLANE_BUFFER = 0x10000 + 1024;

class Daemon {
  readonly done: Promise<number>;
  #resolveDone!: (code: number) => void;
  #config: TsipsecConfig;
  readonly #configPath: string;
  readonly #logLevelOverride: LogLevel | undefined;
  readonly #log: Loggers;
  readonly #clock: Clock;
  readonly #startedAt: Millis;
  #engine!: IkeEngine;
  readonly #spd = new Spd();
  readonly #sad = new Sad();
  readonly #dataPlane: DataPlane;
  /**
   * The native fast path (src/crypto/native/, issue 7): keyed-once OpenSSL AEAD contexts for ESP and
   * an event-loop TUN watcher. Absent when the addon was not built, or with TSIPSEC_NO_NATIVE=1
   * (read here, at the composition root: the core never reads the environment).
   */
  readonly #native: NativeAddon | undefined = process.env["TSIPSEC_NO_NATIVE"] === "1" ? undefined : loadNativeAddon();
  /** ESP transforms on the addon when it has them. Scratch outputs are safe here: esp.ts copies a sealed packet at once and a decapsulated one is written to the TUN synchronously before the next packet. */
  readonly #wrapEncr = nativeEncrWrapper(this.#native, { scratchOutput: true });
  /** Batched TUN reads/writes and sendmmsg for ESP (native/batch_io.c); TSIPSEC_NO_BATCH_IO=1 keeps one system call per packet with the native AEAD (for A/B measurements). */
  readonly #batchIo = process.env["TSIPSEC_NO_BATCH_IO"] === "1" ? undefined : nativeBatchIo(this.#native);
  /**
   * The ESP send and the TUN write (the two heaviest system calls, each carrying the kernel's work
   * on the far side of a veth or the forwarding) run on libuv's thread pool, one burst in flight
   * per socket/device; TSIPSEC_NO_ASYNC_IO=1 keeps them on the event loop (A/B measurements).
   */
  readonly #asyncIo = process.env["TSIPSEC_NO_ASYNC_IO"] !== "1";
  /**
   * Burst mode: with batch I/O the packets of one TUN read or one NAT-T receive go through the
   * data plane together (DataPlane.outboundBurst/inboundBurst: one native AEAD call per SA and
   * burst); TSIPSEC_NO_BURST=1 keeps one data-plane call per packet (A/B measurements).
   */
  readonly #bursts = this.#batchIo !== undefined && process.env["TSIPSEC_NO_BURST"] !== "1";
  readonly #outPackets: Uint8Array[] = [];
  #outCount = 0;
  readonly #inPackets: Uint8Array[] = [];
  readonly #inFrom: Endpoint[] = [];
  #inCount = 0;
  #lastRemote: UdpEndpoint | undefined;
  #lastFrom: Endpoint = { address: "" };
  #tun: TunDevice | undefined;
  /** MSS limits for TCP SYNs through the tunnel (see mss-clamp.ts), from the TUN MTU. */
  #mss4 = 0xffff;
  #mss6 = 0xffff;
  #udp: UdpDriver | undefined;
  #control: ControlServer | undefined;
  #timer!: DeadlineTimer;
  /**
   * The data plane's next deadline, kept so a datagram does not scan every SAD entry (that scan
   * after every IKE datagram was 2.5-3% of an IKE responder's CPU). A lower bound: an SA's own
   * deadline only moves later (soft signalled, expired, removed) except when it enters the SAD,
   * which lowers this; recomputed after every timer firing, so an early firing only re-arms.
   */
  #dataPlaneDeadline: Millis | undefined;
  #dataPlaneDeadlineStale = true;
  readonly #policies = new Map<string, PolicyRecord>();
  readonly #policyById = new Map<number, PolicyRecord>();
  #nextPolicyId = 1;
  /** The policy added to the SPD last (it is the SPD's last entry). */
  #lastAddedPolicyId: number | undefined;
  readonly #children = new Map<number, ChildRecord>();
  readonly #childOfSa = new Map<SecurityAssociation, ChildRecord>();
  /** Route reference counts (a CIDR may serve several policies). */
  readonly #routeRefs = new Map<string, number>();
  /** os.networkInterfaces() of the last second: it cost 2% of an IKE responder's CPU per Child SA install. */
  #interfaces: { at: number; list: ReturnType<typeof networkInterfaces> } | undefined;
  #routeQueue: Promise<void> = Promise.resolve();
  /** Our local endpoint per peer address, for ESP sends (picks the socket). */
  readonly #localForPeer = new Map<string, UdpEndpoint>();
  readonly #upWaiters = new Set<UpWaiter>();
  /** IKE SAs that completed IKE_AUTH (only their loss triggers dpd_action/close_action). */
  readonly #establishedIke = new Set<number>();
  /** Pending re-initiations (dpd_action restart / close_action start) per connection. */
  readonly #restarts = new Map<string, RestartEntry>();
  /** Connections the operator took down: no automatic re-initiation until the next up or establishment. */
  readonly #operatorDown = new Set<string>();
  #shuttingDown = false;
  /** IKE datagrams received while starting up (until the TUN and control socket are ready); undefined once running. */
  #startupQueue: InboundDatagram[] | undefined = [];
  /** Wireshark key tables (daemon.save_keys), when configured. */
  #keyExporter: KeyExporter | undefined;
  /** Counters of SAs already removed, so totals survive rekeys. */
  readonly #retired = { drops: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number> };
  readonly #counters = { espPacketsIn: 0, espPacketsOut: 0, espBytesIn: 0, espBytesOut: 0, bypassDropped: 0, tunWriteErrors: 0, internalErrors: 0 };
  readonly #lastInternalErrorLog = new Map<string, number>();

  private constructor(o: DaemonStartOptions) {
    this.#config = o.config;
    this.#configPath = o.configPath;
    this.#logLevelOverride = o.logLevelOverride;
    this.#log = o.log;
    this.#clock = o.clock;
    this.#startedAt = o.clock.now();
    // Reused output buffers (no allocation per packet): a sealed packet is copied by the UDP
    // driver before sendEsp returns, a decapsulated one by the TUN write before write returns.
    this.#dataPlane = new DataPlane({ spd: this.#spd, sad: this.#sad, outputBuffer: new Uint8Array(DATA_PLANE_BUFFER), inboundBuffer: new Uint8Array(DATA_PLANE_BUFFER) });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Opens the devices, installs trap policies, starts `start_action: start` connections. */
  static async start(o: DaemonStartOptions): Promise<Daemon> {
    const d = new Daemon(o);
    try {
      await d.#open(o.controlPath);
    } catch (e) {
      await d.#closeDevices();
      throw e;
    }
    return d;
  }

  async #open(controlPath: string): Promise<void> {
    const cfg = this.#config;
    const log = this.#log;
    const now = this.#clock.now();
    this.#engine = new IkeEngine(withForcedEncap(cfg.engine), systemRandom, now);
    this.#configureKeyExport();
    this.#timer = new DeadlineTimer(this.#clock, (t) => {
      this.#engine.handleTimeout(t);
      this.#dataPlane.handleTimeout(t);
      this.#dataPlaneDeadlineStale = true;
      this.#service();
    });
    // Sockets first: a port in use (another daemon) must fail before this one touches the
    // namespace's routing rules, which are shared by every daemon using the same ports.
    this.#udp = await openUdp(
      {
        onIke: (dg) => {
          try {
            this.#onIke(dg);
          } catch (e) {
            this.#internalError("ike-in", e);
          }
        },
        onEsp: (packet, remote) => {
          try {
            if (this.#bursts) this.#queueInbound(packet, remote);
            else this.#onEsp(packet, remote);
          } catch (e) {
            this.#internalError("esp-in", e);
          }
        },
        onEspBatchEnd: () => {
          try {
            this.#flushInbound();
          } catch (e) {
            this.#inCount = 0;
            this.#internalError("esp-in", e);
          }
        },
        // Back-pressure between the two queues that now drain on the thread pool: decrypted
        // packets wait for the TUN writes, sealed ones for the ESP sends; a full queue pauses its
        // producer (the kernel's socket or TUN queue then holds, or drops and counts, the rest).
        canReceiveEsp: () => this.#tun?.writeQueueFull !== true,
        onSendDrain: () => this.#tun?.resumeReading(),
        onError: (err, local) => log.net.warn({ local: `${local.address}:${local.port}`, err: err.message }, "UDP socket error"),
      },
      { ikePort: cfg.daemon.ikePort, natTPort: cfg.daemon.nattPort, addresses: bindAddresses(cfg), batchIo: this.#batchIo, watchReadable: nativeReadableWatcher(this.#native), udpGso: process.env["TSIPSEC_NO_UDP_GSO"] !== "1", udpGro: process.env["TSIPSEC_NO_UDP_GRO"] !== "1", asyncSend: this.#asyncIo },
    );
    log.net.info({ bound: this.#udp.bound.map((b) => `${b.address}:${b.port}`) }, "UDP sockets bound");
    // Likewise a live daemon on our control socket: refuse before creating the TUN or routes.
    await removeStaleSocket(controlPath);
    this.#tun = await openTun({ name: cfg.daemon.tun.name, mtu: cfg.daemon.tun.mtu, bypassUdpPorts: [cfg.daemon.ikePort, cfg.daemon.nattPort], watchReadable: nativeReadableWatcher(this.#native), batchIo: this.#batchIo, offload: process.env["TSIPSEC_NO_TUN_OFFLOAD"] !== "1",
      asyncWrites: this.#asyncIo,
      canRead: () => this.#udp?.sendQueueFull !== true,
      onWritable: () => this.#udp?.resumeReceive(),
    });
    log.daemon.info({ native: this.#native !== undefined, openssl: this.#native?.opensslVersion() }, this.#native !== undefined ? "native fast path: ESP AEAD on OpenSSL contexts, TUN on the event loop" : "native fast path off: pure TypeScript data plane");
    this.#mss4 = mssForMtu(this.#tun.mtu, 4);
    this.#mss6 = mssForMtu(this.#tun.mtu, 6);
    log.tun.info({ dev: this.#tun.name, mtu: this.#tun.mtu, clampMss: [this.#mss4, this.#mss6], offload: this.#tun.offload }, "TUN device up");
    this.#control = await startControlServer(controlPath, flushingLogs(this.#controlHandler()), {
      onError: (m) => log.control.warn(m),
    });
    log.control.info({ path: controlPath }, "control socket listening");
    await this.#syncTrapPolicies();
    this.#tun.start(
      (p) => {
        try {
          if (this.#bursts) this.#queueOutbound(p);
          else this.#onTunPacket(p);
        } catch (e) {
          this.#internalError("tun-in", e);
        }
      },
      () => {
        try {
          this.#flushOutbound();
        } catch (e) {
          this.#outCount = 0;
          this.#internalError("tun-in", e);
        }
      },
    );
    const started: string[] = [];
    const startNow = this.#clock.now();
    for (const c of cfg.engine.connections) {
      const startChildren = c.children.filter((ch) => ch.startAction === "start");
      if (startChildren.length === 0) continue;
      if (startChildren.length === c.children.length) this.#engine.initiate(startNow, c.name);
      else for (const ch of startChildren) this.#engine.initiate(startNow, c.name, ch.name);
      started.push(c.name);
    }
    log.daemon.info({ connections: cfg.engine.connections.map((c) => c.name), initiating: started }, "tsipsec running");
    const queued = this.#startupQueue ?? [];
    this.#startupQueue = undefined;
    for (const dg of queued) this.#engine.handleDatagram(this.#clock.now(), dg);
    this.#service();
  }

  // -------------------------------------------------------------------------------------------
  // Packet paths

  /**
   * An exception while handling one packet (a bug: the cores turn bad input into results) is
   * counted and logged (at most once a second per path) instead of taking the gateway down.
   */
  #internalError(path: string, e: unknown): void {
    this.#counters.internalErrors++;
    const now = this.#clock.now();
    if (now - (this.#lastInternalErrorLog.get(path) ?? -Infinity) >= 1000) {
      this.#lastInternalErrorLog.set(path, now);
      this.#log.daemon.error({ path, err: e instanceof Error ? (e.stack ?? e.message) : String(e), total: this.#counters.internalErrors }, "internal error while handling a packet (packet dropped)");
    }
  }

  #onTunPacket(packet: Uint8Array): void {
    const now = this.#clock.now();
    clampMss(packet, this.#mss4, this.#mss6);
    this.#outboundResult(now, this.#dataPlane.outbound(now, packet), packet.length);
    this.#drainDataPlaneEvents(now);
  }

  /**
   * Burst mode (batch I/O on): a TUN packet waits, as a view into the driver's read buffer, until
   * the end of its read batch, when the whole burst goes through the data plane with one AEAD
   * call per SA (DataPlane.outboundBurst). The views stay valid until the batch-end callback returns.
   */
  #queueOutbound(packet: Uint8Array): void {
    clampMss(packet, this.#mss4, this.#mss6);
    this.#outPackets[this.#outCount++] = packet;
  }

  #flushOutbound(): void {
    const n = this.#outCount;
    if (n === 0) return;
    this.#outCount = 0;
    const now = this.#clock.now();
    const packets = this.#outPackets;
    const results = this.#dataPlane.outboundBurst(now, packets, n);
    for (let i = 0; i < n; i++) this.#outboundResult(now, results[i] as DataPlaneResult, (packets[i] as Uint8Array).length);
    this.#drainDataPlaneEvents(now);
  }

  /** Burst mode, inbound: ESP datagrams wait (views into the receive buffer) until the end of their receive batch. */
  #queueInbound(packet: Uint8Array, remote: UdpEndpoint): void {
    if (this.#startupQueue !== undefined) return; // no SA can exist yet
    const i = this.#inCount++;
    this.#inPackets[i] = packet;
    // The UDP driver hands out one endpoint object per peer: reuse one data-plane endpoint for it.
    if (remote !== this.#lastRemote) {
      this.#lastRemote = remote;
      this.#lastFrom = { address: remote.address };
    }
    this.#inFrom[i] = this.#lastFrom;
  }

  #flushInbound(): void {
    const n = this.#inCount;
    if (n === 0) return;
    this.#inCount = 0;
    const now = this.#clock.now();
    const results = this.#dataPlane.inboundBurst(now, this.#inPackets, this.#inFrom, n);
    for (let i = 0; i < n; i++) this.#inboundResult(results[i] as DataPlaneResult);
    this.#drainDataPlaneEvents(now);
  }

  #outboundResult(now: Millis, r: DataPlaneResult, innerLength: number): void {
    switch (r.kind) {
      case "toNetwork": {
        const to: UdpEndpoint = { address: r.to.address, port: r.to.port ?? this.#config.daemon.nattPort };
        this.#udp?.sendEsp(to, r.bytes, this.#localForPeer.get(r.to.address));
        this.#counters.espPacketsOut++;
        this.#counters.espBytesOut += innerLength;
        break;
      }
      case "acquire":
        this.#acquire(now, r.policy, r.selector);
        break;
      case "bypass":
        // Only PROTECT policies are installed; a BYPASS result would mean cleartext out of the
        // tunnel device, which this gateway never does.
        this.#counters.bypassDropped++;
        break;
      case "drop":
      case "toTunnel":
      case "ike":
        break;
    }
  }

  #onEsp(packet: Uint8Array, remote: UdpEndpoint): void {
    if (this.#startupQueue !== undefined) return; // no SA can exist yet
    const now = this.#clock.now();
    this.#inboundResult(this.#dataPlane.inbound(now, packet, { address: remote.address }));
    this.#drainDataPlaneEvents(now);
  }

  #inboundResult(r: DataPlaneResult): void {
    if (r.kind !== "toTunnel") return;
    clampMss(r.bytes, this.#mss4, this.#mss6);
    this.#counters.espPacketsIn++;
    this.#counters.espBytesIn += r.bytes.length;
    if (this.#tun?.write(r.bytes) !== true) this.#counters.tunWriteErrors++;
  }

  #onIke(dg: InboundDatagram): void {
    if (this.#startupQueue !== undefined) {
      // Sockets open before the TUN device and the control socket (see #open): an IKE request
      // that arrives in between waits here, so the Child SA it creates finds the TUN (its routes).
      if (this.#startupQueue.length < STARTUP_QUEUE_MAX) this.#startupQueue.push(dg);
      return;
    }
    this.#engine.handleDatagram(this.#clock.now(), dg);
    this.#service();
  }

  #acquire(now: Millis, policy: Policy, selector: PacketSelector): void {
    const rec = this.#policyById.get(policy.id);
    if (rec === undefined || now - rec.lastAcquire < ACQUIRE_INTERVAL_MS) return;
    rec.lastAcquire = now;
    this.#log.child.info(
      { connection: rec.connection, child: rec.child, src: selectorAddress(selector.src, selector.family), dst: selectorAddress(selector.dst, selector.family), protocol: selector.protocol },
      "acquire: packet matched a policy without an SA, negotiating",
    );
    this.#engine.acquire(now, rec.connection, rec.child, triggeringTs(selector));
    this.#service();
  }

  #drainDataPlaneEvents(now: Millis): void {
    let ev: DataPlaneEvent | undefined;
    let any = false;
    while ((ev = this.#dataPlane.pollEvent()) !== undefined) {
      any = true;
      const rec = this.#childOfSa.get(ev.sa);
      if (rec === undefined) continue;
      if (ev.kind === "rekeyNeeded") {
        this.#log.child.info({ connection: rec.connection, child: rec.child, reason: ev.reason }, "Child SA soft limit reached, rekeying");
        this.#engine.rekeyChild(now, rec.connection, rec.child);
      } else {
        this.#log.child.warn({ connection: rec.connection, child: rec.child }, "Child SA hit its hard limit, deleting");
        this.#engine.terminateChild(now, rec.connection, rec.child);
      }
    }
    if (any) this.#service();
  }

  // -------------------------------------------------------------------------------------------
  // Engine outputs

  /** Drains the engine's outputs, then re-arms the one timer. */
  #service(): void {
    let o: IkeOutput | undefined;
    while ((o = this.#engine.pollOutput()) !== undefined) this.#handleOutput(o);
    if (this.#dataPlaneDeadlineStale) {
      this.#dataPlaneDeadline = this.#dataPlane.nextDeadline();
      this.#dataPlaneDeadlineStale = false;
    }
    this.#timer.arm(this.#engine.nextDeadline(), this.#dataPlaneDeadline);
  }

  /** An SA entered the SAD: its deadline may be the data plane's earliest. */
  #dataPlaneDeadlineFor(sa: SecurityAssociation): void {
    const d = sa.lifetime.nextDeadline();
    if (d !== undefined && (this.#dataPlaneDeadline === undefined || d < this.#dataPlaneDeadline)) this.#dataPlaneDeadline = d;
  }

  #handleOutput(o: IkeOutput): void {
    const log = this.#log;
    switch (o.kind) {
      case "transmit":
        this.#udp?.sendIke(o.from, o.to, o.bytes);
        return;
      case "installChildSa":
        try {
          this.#installChild(o.sa);
        } catch (e) {
          log.child.error({ connection: o.sa.connection, child: o.sa.child, err: e instanceof Error ? e.message : String(e) }, "cannot install Child SA");
        }
        return;
      case "deleteChildSa":
        this.#removeChild(o.id, o.reason);
        return;
      case "ikeSaEstablished":
        log.ike.info({ connection: o.connection, ikeSaId: o.ikeSaId }, "IKE SA established");
        this.#establishedIke.add(o.ikeSaId);
        this.#operatorDown.delete(o.connection);
        this.#cancelRestart(o.connection);
        this.#exportIkeKeys(o.connection, o.keys);
        return;
      case "ikeSaClosed": {
        log.ike.info({ connection: o.connection, ikeSaId: o.ikeSaId, reason: o.reason }, "IKE SA closed");
        // Child SAs die with their IKE SA (RFC 7296 s1.4.1) even if no delete was emitted for them.
        for (const rec of [...this.#children.values()]) if (rec.ikeSaId === o.ikeSaId) this.#removeChild(rec.id, "IKE SA closed");
        for (const w of [...this.#upWaiters]) {
          if (w.connection === o.connection) this.#settleUp(w, new ControlError("failed", `IKE SA for ${o.connection} closed: ${o.reason}`));
        }
        this.#afterIkeSaClosed(o.connection, o.reason, this.#establishedIke.delete(o.ikeSaId));
        return;
      }
      case "ikeSaRekeyed": {
        // RFC 7296 s2.18: the Child SAs move to the new IKE SA; the old one ends without ikeSaClosed.
        for (const id of o.childIds) {
          const rec = this.#children.get(id);
          if (rec !== undefined) rec.ikeSaId = o.newIkeSaId;
        }
        log.ike.info({ connection: o.connection, oldIkeSaId: o.oldIkeSaId, newIkeSaId: o.newIkeSaId, children: o.childIds }, "IKE SA rekeyed");
        this.#establishedIke.delete(o.oldIkeSaId);
        return;
      }
      case "event": {
        const e = o.event;
        const logger = log[e.subsystem];
        logger[e.level](e.fields ?? {}, e.message);
        if (e.fields?.["childSaFailed"] === true) this.#childSaFailed(e.fields["connection"], e.fields["child"], e.message);
        return;
      }
      default: {
        const unknown: never = o;
        log.daemon.warn({ output: (unknown as { kind: string }).kind }, "unknown engine output ignored");
      }
    }
  }

  /**
   * dpd_action / close_action (close-action.ts): after an established IKE SA of `connection` died
   * of an unanswered request or was deleted by the peer, install trap policies or re-initiate
   * (with back-off, until an IKE SA is established again or the operator runs `down`).
   */
  #afterIkeSaClosed(connection: string, reason: string, wasEstablished: boolean): void {
    if (this.#shuttingDown || this.#operatorDown.has(connection)) return;
    const cause = closeCause(reason);
    const pending = this.#restarts.get(connection);
    if (pending !== undefined) {
      // A re-initiation attempt failed: try again later unless the peer refused us for good.
      if (cause === "dead-peer") this.#scheduleRestart(connection, pending.children, reason);
      else {
        this.#cancelRestart(connection);
        this.#log.ike.warn({ connection, reason }, `re-initiation of ${connection} stopped: ${reason}`);
      }
      return;
    }
    if (cause === undefined || !wasEstablished) return;
    const conn = this.#config.engine.connections.find((c) => c.name === connection);
    if (conn === undefined) return;
    const restart: string[] = [];
    for (const ch of conn.children) {
      const action = actionAfterClose(cause, ch);
      if (action === "restart") restart.push(ch.name);
      else if (action === "trap") this.#trapAfterClose(connection, ch);
    }
    if (restart.length > 0) this.#scheduleRestart(connection, restart, reason);
  }

  #trapAfterClose(connection: string, ch: ConnectionConfig["children"][number]): void {
    const rec = this.#policyFor(connection, ch.name);
    rec.trap = true;
    if (rec.childSas.size === 0) {
      this.#setPolicy(rec, ch.localTs, ch.remoteTs);
      rec.lastAcquire = -Infinity;
    }
    this.#log.child.info({ connection, child: ch.name, routes: rec.routes }, "trap policy installed after the IKE SA closed (dpd_action/close_action trap)");
  }

  #scheduleRestart(connection: string, children: string[], reason: string): void {
    const prev = this.#restarts.get(connection);
    if (prev?.timer !== undefined) clearTimeout(prev.timer);
    const entry: RestartEntry = { attempts: (prev?.attempts ?? 0) + 1, children, timer: undefined };
    const delay = restartDelayMs(entry.attempts);
    entry.timer = setTimeout(() => this.#restartNow(connection, entry), delay);
    this.#restarts.set(connection, entry);
    this.#log.ike.info({ connection, children, attempt: entry.attempts, delaySeconds: delay / 1000, reason }, `re-initiating ${connection} in ${delay / 1000}s (dpd_action restart / close_action start)`);
  }

  #restartNow(connection: string, entry: RestartEntry): void {
    entry.timer = undefined;
    if (this.#shuttingDown || this.#restarts.get(connection) !== entry) return;
    const now = this.#clock.now();
    const conn = this.#config.engine.connections.find((c) => c.name === connection);
    // Gone from the config, or the peer initiated first: nothing to do.
    if (conn === undefined || this.#engine.listSas(now).some((s) => s.connection === connection)) {
      this.#restarts.delete(connection);
      return;
    }
    const children = entry.children.filter((name) => conn.children.some((c) => c.name === name));
    if (children.length === conn.children.length) this.#engine.initiate(now, connection);
    else for (const child of children) this.#engine.initiate(now, connection, child);
    this.#service();
  }

  #cancelRestart(connection: string): void {
    const entry = this.#restarts.get(connection);
    if (entry?.timer !== undefined) clearTimeout(entry.timer);
    this.#restarts.delete(connection);
  }

  #installChild(spec: ChildSaSpec): void {
    const now = this.#clock.now();
    const cfg = this.#config.daemon;
    const key = `${spec.connection}/${spec.child}`;
    const rec = this.#policyFor(spec.connection, spec.child);
    const selectors = this.#selectorsFor(rec, spec.localTs, spec.remoteTs);
    const local = parseIpAddress(spec.local.address);
    const remote = parseIpAddress(spec.remote.address);
    // Always UDP: peers were told so by forced encapsulation; ports from the negotiated path, on
    // the NAT-T port when the IKE SA never floated.
    const udpEncap = {
      localPort: spec.local.port === cfg.ikePort ? cfg.nattPort : spec.local.port,
      remotePort: spec.remote.port === cfg.ikePort ? cfg.nattPort : spec.remote.port,
    };
    const l = spec.lifetime;
    const lifetime: Lifetime = {
      soft: { ...(l.softBytes > 0 ? { bytes: l.softBytes } : {}), ...(l.softPackets > 0 ? { packets: l.softPackets } : {}) },
      hard: {
        ...(l.hardBytes > 0 ? { bytes: l.hardBytes } : {}),
        ...(l.hardPackets > 0 ? { packets: l.hardPackets } : {}),
        ...(l.hardSeconds > 0 ? { seconds: l.hardSeconds + HARD_LIFETIME_MARGIN_S } : {}),
      },
    };
    const common = {
      protocol: "esp" as const,
      mode: spec.mode,
      encr: this.#wrapEncr(spec.encr),
      ...(spec.integ !== undefined ? { integ: spec.integ } : {}),
      esn: spec.esn,
      local,
      remote,
      udpEncap,
      selectors,
      lifetime,
      now,
    };
    const encrKeyIn = copySecret(spec.encrKeyIn);
    const integKeyIn = copySecret(spec.integKeyIn);
    const encrKeyOut = copySecret(spec.encrKeyOut);
    const integKeyOut = copySecret(spec.integKeyOut);
    const inbound = new SecurityAssociation({
      ...common,
      spi: spec.spiIn,
      direction: "inbound",
      ...(encrKeyIn !== undefined ? { encrKey: encrKeyIn } : {}),
      ...(integKeyIn !== undefined ? { integKey: integKeyIn } : {}),
      antiReplay: spec.replayWindow > 0,
      replayWindow: spec.replayWindow > 0 ? Math.max(32, spec.replayWindow) : 64,
    });
    const outbound = new SecurityAssociation({
      ...common,
      spi: spec.spiOut,
      direction: "outbound",
      ...(encrKeyOut !== undefined ? { encrKey: encrKeyOut } : {}),
      ...(integKeyOut !== undefined ? { integKey: integKeyOut } : {}),
      random: systemRandom,
      policyId: rec.id,
    });
    this.#sad.addInbound(inbound);
    this.#exportKeys(spec);
    // Make-before-break (RFC 7296 s2.8): the new outbound SA replaces the old one at once; the old
    // inbound SA keeps receiving until its DELETE.
    this.#sad.addOutbound(rec.id, outbound);
    this.#dataPlaneDeadlineFor(inbound);
    this.#dataPlaneDeadlineFor(outbound);
    const child: ChildRecord = {
      id: spec.id,
      ikeSaId: spec.ikeSaId,
      connection: spec.connection,
      child: spec.child,
      policyKey: key,
      inbound,
      outbound,
      local: { address: spec.local.address, port: udpEncap.localPort },
      remote: { address: spec.remote.address, port: udpEncap.remotePort },
    };
    this.#children.set(spec.id, child);
    this.#childOfSa.set(inbound, child);
    this.#childOfSa.set(outbound, child);
    this.#localForPeer.set(spec.remote.address, child.local);
    rec.childSas.add(spec.id);
    this.#setPolicy(rec, spec.localTs, spec.remoteTs, selectors);
    this.#log.child.info(
      {
        connection: spec.connection,
        child: spec.child,
        id: spec.id,
        mode: spec.mode,
        spiIn: spec.spiIn.toString(16).padStart(8, "0"),
        spiOut: spec.spiOut.toString(16).padStart(8, "0"),
        encr: spec.encr.name,
        replaces: spec.replaces ?? null,
        routes: rec.routes,
      },
      "Child SA installed",
    );
    this.#logNarrowing(spec);
    if (this.#behindNat(spec.ikeSaId)) this.#udp?.startKeepalive(child.local, child.remote);
    for (const w of [...this.#upWaiters]) {
      if (w.connection === spec.connection && (w.child === undefined || w.child === spec.child)) {
        this.#settleUp(w, { message: `Child SA ${spec.connection}/${spec.child} established (IKE SA #${spec.ikeSaId})`, ikeSaIds: [spec.ikeSaId] });
      }
    }
  }

  /**
   * RFC 7296 s2.9: the negotiated traffic selectors may be narrower than configured (the peer's
   * offer, or the responder's choice). Say so, side by side, so a half-working tunnel (only part of
   * a subnet routed) is explained in the log.
   */
  #logNarrowing(spec: ChildSaSpec): void {
    const cfg = this.#childConfig(spec.connection, spec.child);
    if (cfg === undefined) return;
    // Compared field by field first: formatting four selector lists per Child SA install cost ~1% of a responder's CPU.
    if (sameTsList(cfg.localTs, spec.localTs) && sameTsList(cfg.remoteTs, spec.remoteTs)) return;
    const show = (l: readonly IkeTs[]): string[] => l.map(formatTs);
    const configured = { local: show(cfg.localTs), remote: show(cfg.remoteTs) };
    const result = { local: show(spec.localTs), remote: show(spec.remoteTs) };
    if (configured.local.join(",") === result.local.join(",") && configured.remote.join(",") === result.remote.join(",")) return;
    this.#log.child.info(
      { connection: spec.connection, child: spec.child, id: spec.id, configuredLocalTs: configured.local, configuredRemoteTs: configured.remote, localTs: result.local, remoteTs: result.remote },
      `Child SA ${spec.connection}/${spec.child} traffic selectors narrowed: configured local ${configured.local.join(", ")} remote ${configured.remote.join(", ")}; installed local ${result.local.join(", ")} remote ${result.remote.join(", ")}`,
    );
  }

  /** daemon.save_keys: Wireshark tables (files 0600). Logged loudly: these files decrypt traffic. */
  #configureKeyExport(): void {
    const k = this.#config.daemon.saveKeys;
    if (k.ike === undefined && k.esp === undefined) {
      this.#keyExporter = undefined;
      return;
    }
    this.#keyExporter = new KeyExporter({ ...(k.ike !== undefined ? { ikev2Path: k.ike } : {}), ...(k.esp !== undefined ? { espPath: k.esp } : {}) });
    this.#log.daemon.warn({ ike: k.ike ?? null, esp: k.esp ?? null }, "save_keys is on: key tables for Wireshark are written to disk; anyone who reads them can decrypt this traffic");
  }

  #exportIkeKeys(connection: string, keys: IkeSaKeyMaterial): void {
    if (this.#keyExporter === undefined) return;
    try {
      const r = this.#keyExporter.exportIkeSa(keys);
      if ("skipped" in r) this.#log.daemon.info({ connection, reason: r.skipped }, "IKE SA keys not exported");
    } catch (e) {
      this.#log.daemon.error({ err: e instanceof Error ? e.message : String(e) }, "cannot write IKEv2 key table");
    }
  }

  #exportKeys(spec: ChildSaSpec): void {
    if (this.#keyExporter === undefined) return;
    try {
      const r = this.#keyExporter.exportChildSa(spec);
      if ("skipped" in r) this.#log.daemon.info({ connection: spec.connection, child: spec.child, reason: r.skipped }, "ESP keys not exported");
    } catch (e) {
      this.#log.daemon.error({ err: e instanceof Error ? e.message : String(e) }, "cannot write ESP key table");
    }
  }

  #behindNat(ikeSaId: number): boolean {
    // One SA's flag by id, not listSas() nor a scan: building every SA's status per Child SA
    // install made setups O(n) each (bench:ike over the network: 5.6 ms CPU per setup at 1,000
    // SAs), and the scan by id was still ~2% at 2,000.
    return this.#engine.ikeSaById(ikeSaId)?.natLocal ?? false;
  }

  #removeChild(id: number, reason: string): void {
    const rec = this.#children.get(id);
    if (rec === undefined) return;
    this.#children.delete(id);
    const policyRec = this.#policies.get(rec.policyKey);
    const wasActive = policyRec !== undefined && this.#sad.outboundFor(policyRec.id) === rec.outbound;
    for (const sa of [rec.inbound, rec.outbound]) {
      for (const r of DROP_REASONS) this.#retired.drops[r] += sa.counters.drops[r];
      // An outbound SA already superseded by a rekey is no longer in the SAD: wipe its keys here.
      if (!this.#sad.remove(sa)) sa.wipe();
      this.#childOfSa.delete(sa);
    }
    const policy = policyRec;
    if (policy !== undefined) {
      policy.childSas.delete(id);
      if (policy.childSas.size === 0) {
        this.#policyIdle(policy);
      } else if (wasActive) {
        // The SA traffic went out on is gone but another Child SA of this policy remains (a rekey
        // collision's loser deleted, RFC 7296 s2.8.1, or a duplicate from simultaneous
        // initiation): send on the most recently installed one instead of blackholing.
        const remaining = [...this.#children.values()].filter((c) => c.policyKey === rec.policyKey);
        const next = remaining[remaining.length - 1];
        if (next !== undefined) {
          this.#sad.addOutbound(policy.id, next.outbound);
          this.#dataPlaneDeadlineFor(next.outbound);
          this.#log.child.info({ connection: rec.connection, child: rec.child, id: next.id }, "outbound traffic moved to the remaining Child SA");
        }
      }
    }
    if (![...this.#children.values()].some((c) => c.remote.address === rec.remote.address)) {
      this.#udp?.stopKeepalive(rec.remote);
      this.#localForPeer.delete(rec.remote.address);
    }
    this.#log.child.info(
      { connection: rec.connection, child: rec.child, id, spiIn: rec.inbound.spi.toString(16).padStart(8, "0"), spiOut: rec.outbound.spi.toString(16).padStart(8, "0"), reason },
      "Child SA deleted",
    );
  }

  // -------------------------------------------------------------------------------------------
  // Policies and routes

  #policyFor(connection: string, child: string): PolicyRecord {
    const key = `${connection}/${child}`;
    let rec = this.#policies.get(key);
    if (rec === undefined) {
      rec = { id: this.#nextPolicyId++, key, connection, child, trap: false, routes: [], installed: undefined, childSas: new Set(), lastAcquire: -Infinity };
      this.#policies.set(key, rec);
      this.#policyById.set(rec.id, rec);
    }
    return rec;
  }

  /** SPD selectors for local/remote TS: the policy's own when they are the ones it was built from (the SAD entries share them, read-only). */
  #selectorsFor(rec: PolicyRecord, localTs: readonly IkeTs[], remoteTs: readonly IkeTs[]): SpdSelector[] {
    const cur = rec.installed;
    if (cur !== undefined && sameTsList(cur.localTs, localTs) && sameTsList(cur.remoteTs, remoteTs)) return cur.selectors;
    return spdSelectors(localTs, remoteTs);
  }

  /** Replaces a policy's selectors and routes (routes are reference counted across policies). */
  #setPolicy(rec: PolicyRecord, localTs: readonly IkeTs[], remoteTs: readonly IkeTs[], selectors = spdSelectors(localTs, remoteTs)): void {
    // Every Child SA of a responder's connection sets its policy again, usually with the same
    // selectors: when the policy is already the SPD's last entry with these selectors, removing
    // and re-adding it would leave the SPD (order included) and the routes exactly as they are,
    // and cost a selector and route computation, an interface scan and an SPD index rebuild.
    const cur = rec.installed;
    if (cur !== undefined && this.#lastAddedPolicyId === rec.id && sameTsList(cur.localTs, localTs) && sameTsList(cur.remoteTs, remoteTs)) return;
    this.#spd.remove(rec.id);
    this.#spd.add({ id: rec.id, action: "PROTECT", selectors, name: rec.key });
    this.#lastAddedPolicyId = rec.id;
    rec.installed = { localTs, remoteTs, selectors };
    const routes = routesFor(remoteTs);
    const old = rec.routes;
    rec.routes = routes;
    const added = routes.filter((r) => !old.includes(r));
    if (added.length > 0) {
      const src = this.#sourceAddressIn(localTs);
      for (const r of added) this.#routeRef(r, +1, src);
    }
    for (const r of old) if (!routes.includes(r)) this.#routeRef(r, -1, undefined);
  }

  /** Drops a policy (and its routes) from the SPD and our tables. */
  #dropPolicy(rec: PolicyRecord): void {
    this.#spd.remove(rec.id);
    rec.installed = undefined;
    for (const r of rec.routes) this.#routeRef(r, -1, undefined);
    rec.routes = [];
    this.#policies.delete(rec.key);
    this.#policyById.delete(rec.id);
  }

  /** A policy lost its last Child SA: back to trap (still PROTECT: fail-closed) or gone. */
  #policyIdle(rec: PolicyRecord): void {
    const childCfg = this.#childConfig(rec.connection, rec.child);
    if (rec.trap && childCfg !== undefined) {
      this.#setPolicy(rec, childCfg.localTs, childCfg.remoteTs);
      rec.lastAcquire = -Infinity;
    } else {
      this.#dropPolicy(rec);
    }
  }

  #childConfig(connection: string, child: string): ConnectionConfig["children"][number] | undefined {
    return this.#config.engine.connections.find((c) => c.name === connection)?.children.find((c) => c.name === child);
  }

  /** Installs trap policies for `start_action: trap` children; retires those no longer configured. */
  async #syncTrapPolicies(): Promise<void> {
    const wanted = new Set<string>();
    for (const c of this.#config.engine.connections) {
      for (const ch of c.children) {
        if (ch.startAction !== "trap") continue;
        const rec = this.#policyFor(c.name, ch.name);
        wanted.add(rec.key);
        rec.trap = true;
        if (rec.childSas.size === 0) this.#setPolicy(rec, ch.localTs, ch.remoteTs);
        this.#log.child.info({ connection: c.name, child: ch.name, routes: rec.routes }, "trap policy installed");
      }
    }
    for (const rec of [...this.#policies.values()]) {
      if (!wanted.has(rec.key)) {
        rec.trap = false;
        if (rec.childSas.size === 0) this.#dropPolicy(rec);
      }
    }
    await this.#routeQueue;
  }

  /** An address of this host inside `localTs`, used as the routes' preferred source. */
  #sourceAddressIn(localTs: readonly IkeTs[]): string | undefined {
    const now = this.#clock.now();
    if (this.#interfaces === undefined || now - this.#interfaces.at >= 1000) this.#interfaces = { at: now, list: networkInterfaces() };
    for (const list of Object.values(this.#interfaces.list)) {
      for (const a of list ?? []) {
        if (a.internal) continue;
        const address = a.family === "IPv6" ? a.address.split("%")[0] ?? a.address : a.address;
        if (a.family === "IPv6" && address.startsWith("fe80")) continue;
        try {
          if (addressInTs(parseIpAddress(address), localTs)) return address;
        } catch {
          // not parseable by our parser (e.g. IPv4-mapped forms): not a candidate
        }
      }
    }
    return undefined;
  }

  #routeRef(cidr: string, delta: 1 | -1, src: string | undefined): void {
    const n = (this.#routeRefs.get(cidr) ?? 0) + delta;
    const tun = this.#tun;
    if (n <= 0) this.#routeRefs.delete(cidr);
    else this.#routeRefs.set(cidr, n);
    if (tun === undefined) return;
    const add = delta > 0 && n === 1;
    const del = delta < 0 && n <= 0;
    if (!add && !del) return;
    // Route changes run one at a time, in order (an add and a delete of the same CIDR must not race).
    this.#routeQueue = this.#routeQueue.then(async () => {
      if (this.#tun !== tun) return;
      try {
        if (add) {
          try {
            await tun.addRoute(cidr, src);
          } catch (e) {
            if (src === undefined) throw e;
            await tun.addRoute(cidr);
          }
          this.#log.tun.debug({ cidr, dev: tun.name, src: src ?? null }, "route added");
        } else {
          await tun.delRoute(cidr);
          this.#log.tun.debug({ cidr, dev: tun.name }, "route removed");
        }
      } catch (e) {
        this.#log.tun.error({ cidr, err: e instanceof Error ? e.message : String(e) }, add ? "cannot add route" : "cannot remove route");
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Control socket

  #controlHandler(): ControlHandler {
    const now = (): Millis => this.#clock.now();
    const needConn = (name: string, child?: string): ConnectionConfig => {
      const conn = this.#config.engine.connections.find((c) => c.name === name);
      if (conn === undefined) {
        const known = this.#config.engine.connections.map((c) => c.name);
        throw new ControlError("unknown-connection", `no connection named "${name}"${known.length > 0 ? `; configured: ${known.join(", ")}` : " (none configured)"}`);
      }
      if (child !== undefined && !conn.children.some((c) => c.name === child)) {
        throw new ControlError("unknown-child", `connection "${name}" has no child "${child}"; children: ${conn.children.map((c) => c.name).join(", ") || "(none)"}`);
      }
      return conn;
    };
    return {
      up: (req) => {
        needConn(req.conn, req.child);
        if (this.#shuttingDown) throw new ControlError("failed", "the daemon is shutting down");
        this.#operatorDown.delete(req.conn);
        const existing = [...this.#children.values()].find((c) => c.connection === req.conn && (req.child === undefined || c.child === req.child));
        if (existing !== undefined) return { message: `${req.conn}${req.child !== undefined ? `/${req.child}` : ""} is already up (IKE SA #${existing.ikeSaId})`, ikeSaIds: [existing.ikeSaId] };
        const result = new Promise<ActionResult>((resolve, reject) => {
          const w: UpWaiter = {
            connection: req.conn,
            child: req.child,
            resolve,
            reject,
            timer: setTimeout(() => this.#settleUp(w, { message: `initiated ${req.conn}; still negotiating after ${UP_WAIT_MS / 1000}s (see list-sas and the log)` }), UP_WAIT_MS),
          };
          this.#upWaiters.add(w);
        });
        this.#engine.initiate(now(), req.conn, req.child);
        this.#service();
        return result;
      },
      down: (req) => {
        needConn(req.conn);
        this.#operatorDown.add(req.conn);
        this.#cancelRestart(req.conn);
        const ids = this.#engine.listSas(now()).filter((s) => s.connection === req.conn).map((s) => s.id);
        this.#engine.terminate(now(), req.conn);
        this.#service();
        return { message: ids.length > 0 ? `deleting ${ids.length} IKE SA(s) of ${req.conn}` : `${req.conn} has no IKE SA`, ikeSaIds: ids };
      },
      rekey: (req) => {
        needConn(req.conn, req.child);
        const ids = this.#engine.listSas(now()).filter((s) => s.connection === req.conn).map((s) => s.id);
        if (ids.length === 0) throw new ControlError("failed", `${req.conn} has no IKE SA to rekey`);
        this.#engine.rekeyChild(now(), req.conn, req.child);
        if (req.ike === true) this.#engine.rekeyIke(now(), req.conn);
        this.#service();
        return { message: `rekeying ${req.child !== undefined ? `${req.conn}/${req.child}` : `the Child SAs of ${req.conn}`}${req.ike === true ? " and its IKE SA" : ""}`, ikeSaIds: ids };
      },
      "list-sas": () => this.#listSas(),
      "list-conns": () => {
        const sas = this.#engine.listSas(now());
        return describeConnections(this.#config, (c) => sas.filter((s) => s.connection === c).length);
      },
      stats: () => this.#stats(),
      reload: (req) => this.#reload(req.config),
    };
  }

  /** A Child SA we asked for was refused or not installable (api.ts EngineEvent childSaFailed): `up` fails with the reason. */
  #childSaFailed(connection: unknown, child: unknown, reason: string): void {
    for (const w of [...this.#upWaiters]) {
      if (w.connection !== connection || (w.child !== undefined && w.child !== child)) continue;
      this.#settleUp(w, new ControlError("failed", `Child SA ${String(connection)}/${String(child)} failed: ${reason}`));
    }
  }

  #settleUp(w: UpWaiter, r: ActionResult | Error): void {
    if (!this.#upWaiters.delete(w)) return;
    clearTimeout(w.timer);
    if (r instanceof Error) w.reject(r);
    else w.resolve(r);
  }

  #listSas(): IkeSaStatus[] {
    const sas = this.#engine.listSas(this.#clock.now()) as IkeSaStatus[];
    for (const ike of sas) {
      for (const c of ike.children) {
        const rec = this.#children.get(c.id);
        if (rec === undefined) continue;
        c.bytesIn = rec.inbound.counters.bytes;
        c.packetsIn = rec.inbound.counters.packets;
        c.bytesOut = rec.outbound.counters.bytes;
        c.packetsOut = rec.outbound.counters.packets;
      }
    }
    return sas;
  }

  #stats(): Stats {
    const sas = this.#engine.listSas(this.#clock.now());
    const drops: Record<string, number> = {};
    const add = (k: string, n: number): void => {
      if (n > 0) drops[k] = (drops[k] ?? 0) + n;
    };
    for (const r of DROP_REASONS) {
      add(r, this.#dataPlane.drops[r] + this.#retired.drops[r]);
      for (const sa of this.#sad.all()) add(r, sa.counters.drops[r]);
    }
    add("BYPASS_REFUSED", this.#counters.bypassDropped);
    add("TUN_WRITE", this.#counters.tunWriteErrors);
    add("INTERNAL_ERROR", this.#counters.internalErrors);
    const udp = this.#udp?.counters;
    add("UDP_MALFORMED", udp?.malformedIn ?? 0);
    const tun = this.#tun;
    const tc = tun?.counters;
    add("TUN_OFFLOAD_MALFORMED", tc?.offloadDropped ?? 0);
    return {
      uptimeSeconds: Math.floor((this.#clock.now() - this.#startedAt) / 1000),
      connections: this.#config.engine.connections.length,
      ikeSas: {
        total: sas.length,
        halfOpen: sas.filter((s) => s.state === "CREATED" || s.state === "CONNECTING").length,
        established: sas.filter((s) => s.state === "ESTABLISHED").length,
      },
      childSas: { installed: this.#children.size },
      ike: { messagesIn: udp?.ikeIn ?? 0, messagesOut: udp?.ikeOut ?? 0, ...this.#engine.counters },
      esp: { packetsIn: this.#counters.espPacketsIn, packetsOut: this.#counters.espPacketsOut, bytesIn: this.#counters.espBytesIn, bytesOut: this.#counters.espBytesOut },
      ...(tun !== undefined && tc !== undefined
        ? { tun: { device: tun.name, offload: tun.offload, packetsRead: tc.rxPackets, packetsWritten: tc.txPackets, tsoFramesRead: tc.tsoFramesRead, gsoFramesWritten: tc.gsoFramesWritten, gsoPacketsWritten: tc.gsoPacketsWritten } }
        : {}),
      drops,
    };
  }

  async #reload(path: string | undefined): Promise<ReloadResult> {
    const file = path ?? this.#configPath;
    const r = loadConfigFile(file);
    if (!r.ok) {
      this.#log.cfg.warn({ file, errors: r.errors.length }, "reload failed; running configuration unchanged");
      throw new ControlError("config-error", `reload failed: ${r.errors.length} error(s) in ${file}; the running configuration is unchanged`, r.errors.map(formatConfigError));
    }
    const old = this.#config;
    const next = r.config;
    // A connection the new file no longer has: delete its SAs with the peer (while the engine
    // still knows the connection), rather than keep SAs that no configuration describes.
    const removed = this.#terminateRemoved(old, next);
    this.#config = next;
    // `reload --config FILE` is a one-off: a later plain reload reads the file given to `start`
    // again (break-it F10), and the answer says which file that is.
    const oneOff = file !== this.#configPath ? `; a plain reload reads ${this.#configPath} again` : "";
    this.#engine.updateConfig(withForcedEncap(next.engine));
    setLevels(this.#log, next.daemon.logLevel, this.#logLevelOverride);
    this.#configureKeyExport();
    await this.#syncTrapPolicies();
    this.#service();
    const restartNeeded: string[] = [];
    const d0 = old.daemon;
    const d1 = next.daemon;
    if (d0.tun.name !== d1.tun.name || d0.tun.mtu !== d1.tun.mtu) restartNeeded.push("tun");
    if (d0.ikePort !== d1.ikePort || d0.nattPort !== d1.nattPort) restartNeeded.push("ports");
    if (d0.listen.join(",") !== d1.listen.join(",")) restartNeeded.push("listen");
    const names = next.engine.connections.map((c) => c.name);
    this.#log.cfg.info({ file, connections: names, restartNeeded, startFile: this.#configPath }, "configuration reloaded");
    return {
      message: `reloaded ${file}: ${names.length} connection(s)${restartNeeded.length > 0 ? `; changes to daemon.${restartNeeded.join(", daemon.")} apply after a restart` : ""}${oneOff}`,
      connections: names,
      ...(removed.length > 0 ? { message: `reloaded ${file}: ${names.length} connection(s); deleting the SAs of ${removed.join(", ")} (no longer configured)${restartNeeded.length > 0 ? `; changes to daemon.${restartNeeded.join(", daemon.")} apply after a restart` : ""}` } : {}),
    };
  }

  /** Terminates the IKE SAs of connections in `old` but not in `next`; returns their names. */
  #terminateRemoved(old: TsipsecConfig, next: TsipsecConfig): string[] {
    const now = this.#clock.now();
    const kept = new Set(next.engine.connections.map((c) => c.name));
    const sas = this.#engine.listSas(now);
    const removed: string[] = [];
    for (const c of old.engine.connections) {
      if (kept.has(c.name)) continue;
      this.#cancelRestart(c.name);
      const ids = sas.filter((s) => s.connection === c.name).map((s) => s.id);
      if (ids.length === 0) continue;
      removed.push(c.name);
      this.#log.cfg.warn({ connection: c.name, ikeSaIds: ids }, `connection ${c.name} is no longer configured: deleting its ${ids.length} IKE SA(s) and their Child SAs`);
      this.#engine.terminate(now, c.name);
    }
    this.#service();
    return removed;
  }

  // -------------------------------------------------------------------------------------------
  // Shutdown

  /** Deletes SAs with peers, waits briefly for the DELETEs, removes routes and the TUN, resolves done(0). */
  async shutdown(reason: string): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    const log = this.#log;
    log.daemon.info({ reason }, "shutting down");
    for (const w of [...this.#upWaiters]) this.#settleUp(w, new ControlError("failed", "the daemon is shutting down"));
    for (const c of [...this.#restarts.keys()]) this.#cancelRestart(c);
    const now = this.#clock.now();
    const conns = new Set(this.#engine.listSas(now).map((s) => s.connection));
    for (const c of conns) this.#engine.terminate(now, c);
    this.#service();
    const deadline = this.#clock.now() + SHUTDOWN_GRACE_MS;
    while (this.#engine.listSas(this.#clock.now()).length > 0 && this.#clock.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.#closeDevices();
    log.daemon.info("stopped");
    this.#resolveDone(EXIT_OK);
  }

  async #closeDevices(): Promise<void> {
    this.#timer?.close();
    for (const rec of [...this.#children.values()]) {
      this.#sad.remove(rec.inbound);
      this.#sad.remove(rec.outbound);
    }
    this.#children.clear();
    await this.#routeQueue;
    const tun = this.#tun;
    this.#tun = undefined;
    await tun?.close();
    await this.#udp?.close();
    this.#udp = undefined;
    await this.#control?.close();
    this.#control = undefined;
  }
}

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK };

/**
 * The handler with every answer leaving only after the log lines written so far (log.ts batches
 * lines for up to 20 ms): what the control socket reports is already in the log.
 */
function flushingLogs(handler: ControlHandler): ControlHandler {
  const wrapped: Record<string, (req: unknown) => Promise<unknown>> = {};
  for (const [op, fn] of Object.entries(handler)) {
    const call = fn as unknown as (req: unknown) => unknown;
    wrapped[op] = async (req) => {
      try {
        return await call(req);
      } finally {
        flushLogs();
      }
    };
  }
  return wrapped as unknown as ControlHandler;
}
