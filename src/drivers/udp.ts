import dgram from "node:dgram";
import { isIP } from "node:net";
import type { InboundDatagram, UdpEndpoint } from "../ike/api.js";
import { type FdWatcher, type NativeBatchIo, UdpReceiveBatch, UdpSendBatch, udpSocketFd } from "./batch-io.js";
import { classifyUdp4500, encodeNonEspMarked, natKeepalive, NON_ESP_MARKER_LENGTH } from "../wire/udp-encap.js";

/**
 * The UDP driver: IKE on the IKE port (default 500) and IKE + ESP-in-UDP on the NAT-T port
 * (default 4500), IPv4 and IPv6 (RFC 7296 s2.23, RFC 3948).
 *
 * - On the NAT-T port every IKE message carries the 4-byte Non-ESP Marker: it is added on send
 *   and stripped on receive, so the engine only ever sees IKE messages.
 * - Inbound NAT-T datagrams are classified by src/wire/udp-encap.ts: IKE -> onIke, ESP -> onEsp,
 *   keepalive (0xFF) -> counted and dropped, too short -> counted as malformed and dropped.
 * - ESP is always sent UDP-encapsulated from the NAT-T socket (raw ESP needs raw sockets).
 * - NAT keepalives (RFC 3948 s2.3, one 0xFF byte) go out every 20 s to each registered peer.
 *
 * Sockets are bound per local address when addresses are given (so `local` in an
 * InboundDatagram is the real destination address, which NAT detection hashes), else to the
 * wildcard address of each family.
 */

export interface UdpOptions {
  /** IKE port (default 500). */
  ikePort?: number;
  /** NAT-T port (default 4500). */
  natTPort?: number;
  /** Local addresses to bind; empty or undefined: the IPv4 and IPv6 wildcards. */
  addresses?: string[];
  /** Socket receive/send buffer size, bytes (default 4 MiB; the kernel caps it at rmem_max/wmem_max). */
  bufferBytes?: number;
  /** NAT keepalive interval, seconds (default 20, RFC 3948 s4). */
  keepaliveSeconds?: number;
  /**
   * Batched sends from the native addon (src/drivers/batch-io.ts): ESP datagrams queue per NAT-T
   * socket and leave in one sendmmsg when the current callback returns. Without it (or when the
   * socket's fd is not reachable) every datagram is one dgram send.
   */
  batchIo?: NativeBatchIo;
  /**
   * With batchIo: the NAT-T sockets receive with recvmmsg, drained when this event-loop watcher
   * (nativeReadableWatcher) reports them readable, instead of one dgram 'message' per datagram.
   */
  watchReadable?: FdWatcher;
  /** With batchIo: UDP GSO (UDP_SEGMENT) for runs of equal-size ESP datagrams to one peer (default false). */
  udpGso?: boolean;
  /** With batchIo and watchReadable: UDP GRO on the NAT-T sockets (a peer's GSO burst arrives as one read, split here; default false). */
  udpGro?: boolean;
  /** With batchIo: ESP bursts are sent from a thread-pool thread, in order (UdpSendBatchOptions.async; default false). */
  asyncSend?: boolean;
}

export interface UdpHandlers {
  /** An IKE message (marker already removed on the NAT-T port). */
  onIke(datagram: InboundDatagram): void;
  /**
   * An ESP packet (starting at the SPI) from UDP encapsulation. Valid only during the call, or,
   * when `onEspBatchEnd` is given, until the following `onEspBatchEnd` call returns.
   */
  onEsp(packet: Uint8Array, remote: UdpEndpoint, local: UdpEndpoint): void;
  /**
   * Called after every group of datagrams received in one go (one recvmmsg, or one datagram on
   * the plain path), before their buffer is reused, and before an IKE message of the NAT-T port
   * that follows ESP in the same group: a caller can gather ESP packets into a burst in onEsp and
   * process them here, in arrival order with IKE.
   */
  onEspBatchEnd?(): void;
  /** Back-pressure: false pauses ESP receiving until `resumeReceive()` (e.g. while the TUN write queue is full). */
  canReceiveEsp?(): boolean;
  /** Back-pressure: an ESP send queue had no room and now has (asyncSend), see `sendQueueFull`. */
  onSendDrain?(): void;
  /** A socket error (logged by the caller; the driver keeps running). */
  onError?(error: Error, local: UdpEndpoint): void;
}

export interface UdpCounters {
  ikeIn: number;
  ikeOut: number;
  espIn: number;
  espOut: number;
  keepalivesIn: number;
  keepalivesOut: number;
  malformedIn: number;
  sendErrors: number;
  /** Datagrams that arrived inside UDP GRO reads (a run of one peer's datagrams read at once). */
  groDatagramsIn: number;
}

export interface UdpDriver {
  readonly ikePort: number;
  readonly natTPort: number;
  readonly counters: Readonly<UdpCounters>;
  /** Local endpoints actually bound. */
  readonly bound: readonly UdpEndpoint[];
  /** Sends an IKE message from `from` (its port picks the socket; the NAT-T port adds the marker). */
  sendIke(from: UdpEndpoint, to: UdpEndpoint, bytes: Uint8Array): void;
  /** True while an ESP send queue has no room left (asyncSend): a producer should pause until onSendDrain. */
  readonly sendQueueFull: boolean;
  /** Resumes ESP receiving paused by canReceiveEsp. */
  resumeReceive(): void;
  /**
   * Sends an ESP packet UDP-encapsulated from the NAT-T socket (of `from.address` when bound).
   * `packet` may be a view into a buffer the caller reuses: it is copied before the call returns.
   */
  sendEsp(to: UdpEndpoint, packet: Uint8Array, from?: UdpEndpoint): void;
  /** Starts (or keeps) NAT keepalives to `to` from `from`; stopKeepalive ends them. */
  startKeepalive(from: UdpEndpoint, to: UdpEndpoint): void;
  stopKeepalive(to: UdpEndpoint): void;
  close(): Promise<void>;
}

/** Thrown when a port cannot be bound (in use, no permission); names the address and port. */
export class UdpBindError extends Error {
  override readonly name = "UdpBindError";
}

interface BoundSocket {
  socket: dgram.Socket;
  local: UdpEndpoint;
  family: 4 | 6;
  wildcard: boolean;
  /** The ESP send queue (NAT-T sockets with options.batchIo only). */
  espBatch?: UdpSendBatch;
  /** recvmmsg receiving (NAT-T sockets with options.batchIo and options.watchReadable only). */
  batchReceive?: UdpReceiveBatch;
}

const endpointKey = (e: UdpEndpoint): string => `${e.address}|${e.port}`;

/** Opens the IKE and NAT-T sockets and starts receiving. */
export async function openUdp(handlers: UdpHandlers, options: UdpOptions = {}): Promise<UdpDriver> {
  const ikePort = options.ikePort ?? 500;
  const natTPort = options.natTPort ?? 4500;
  const bufferBytes = options.bufferBytes ?? 4 * 1024 * 1024;
  const keepaliveMs = (options.keepaliveSeconds ?? 20) * 1000;
  const addresses = options.addresses !== undefined && options.addresses.length > 0 ? [...new Set(options.addresses)] : ["0.0.0.0", "::"];
  for (const a of addresses) {
    if (isIP(a) === 0) throw new UdpBindError(`not an IP address to bind: ${JSON.stringify(a)}`);
  }
  const counters: UdpCounters = { ikeIn: 0, ikeOut: 0, espIn: 0, espOut: 0, keepalivesIn: 0, keepalivesOut: 0, malformedIn: 0, sendErrors: 0, groDatagramsIn: 0 };
  const sockets: BoundSocket[] = [];
  const keepalives = new Map<string, { timer: NodeJS.Timeout }>();

  const onSendError = (err: Error | null): void => {
    if (err !== null) counters.sendErrors++;
  };

  const bindOne = (address: string, port: number): Promise<BoundSocket> =>
    new Promise((resolve, reject) => {
      const family = isIP(address) === 6 ? 6 : 4;
      const wildcard = address === "0.0.0.0" || address === "::";
      const socket = dgram.createSocket({
        type: family === 6 ? "udp6" : "udp4",
        ipv6Only: family === 6,
        recvBufferSize: bufferBytes,
        sendBufferSize: bufferBytes,
      });
      const local: UdpEndpoint = { address, port };
      const onBindError = (err: Error): void => {
        socket.close();
        const code = (err as NodeJS.ErrnoException).code;
        const hint =
          code === "EACCES" ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
          : code === "EADDRINUSE" ? " (another IKE daemon, e.g. charon or a second tsipsec, is using it)"
          : code === "EADDRNOTAVAIL" ? " (that address is not configured on this host: check local_addrs / daemon.listen)"
          : "";
        reject(new UdpBindError(`cannot bind UDP ${family === 6 ? `[${address}]` : address}:${port}: ${err.message}${hint}`));
      };
      socket.once("error", onBindError);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.removeListener("error", onBindError);
        socket.on("error", (err) => handlers.onError?.(err, local));
        resolve({ socket, local, family, wildcard });
      });
    });

  const attach = (b: BoundSocket): void => {
    const isNatT = b.local.port === natTPort;
    const fd = isNatT && options.batchIo !== undefined ? udpSocketFd(b.socket) : undefined;
    if (fd !== undefined && options.batchIo !== undefined) {
      const socket = b.socket;
      b.espBatch = new UdpSendBatch(options.batchIo, fd, (bytes, port, address) => socket.send(bytes, port, address, onSendError), () => counters.sendErrors++, {
        gso: options.udpGso === true,
        async: options.asyncSend === true,
        onDrain: () => handlers.onSendDrain?.(),
      });
    }
    /** One datagram; `reused`: `msg` is a view into a batch buffer (IKE gets a copy: the engine may keep it). */
    const deliver = (msg: Uint8Array, remote: UdpEndpoint, reused: boolean): void => {
      if (!isNatT) {
        counters.ikeIn++;
        handlers.onIke({ local: b.local, remote, bytes: msg });
        return;
      }
      let kind: "ike" | "esp" | "keepalive";
      try {
        kind = classifyUdp4500(msg).kind;
      } catch {
        counters.malformedIn++;
        return;
      }
      if (kind === "esp") {
        counters.espIn++;
        handlers.onEsp(msg, remote, b.local);
      } else if (kind === "ike") {
        counters.ikeIn++;
        // ESP received ahead of this IKE message in the same batch is handled first: a DELETE of
        // a rekeyed Child SA removes its inbound SA, and the old SA's last packets, still waiting
        // for the batch end, would then be dropped as NO_SA (RFC 7296 s2.8, make-before-break).
        if (reused) handlers.onEspBatchEnd?.();
        handlers.onIke({ local: b.local, remote, bytes: reused ? msg.slice(NON_ESP_MARKER_LENGTH) : msg.subarray(NON_ESP_MARKER_LENGTH) });
      } else {
        counters.keepalivesIn++;
      }
    };
    b.socket.on("message", (msg, rinfo) => {
      deliver(msg, { address: rinfo.address, port: rinfo.port }, false);
      if (isNatT) handlers.onEspBatchEnd?.();
    });
    if (isNatT && options.batchIo !== undefined && options.watchReadable !== undefined) {
      const onBatchEnd = handlers.onEspBatchEnd?.bind(handlers);
      b.batchReceive = UdpReceiveBatch.start(options.batchIo, b.socket, options.watchReadable, (msg, remote) => deliver(msg, remote, true), () => counters.malformedIn++, {
        gro: options.udpGro === true,
        ...(onBatchEnd !== undefined ? { onBatchEnd } : {}),
        ...(handlers.canReceiveEsp !== undefined ? { canReceive: handlers.canReceiveEsp.bind(handlers) } : {}),
      });
    }
  };

  try {
    for (const address of addresses) {
      for (const port of [ikePort, natTPort]) {
        const b = await bindOne(address, port);
        sockets.push(b);
        attach(b);
      }
    }
  } catch (e) {
    for (const b of sockets) b.socket.close();
    throw e;
  }

  /** The socket for (address, port): exact binding first, then the family's wildcard. */
  const pick = (address: string | undefined, port: number, family: 4 | 6): BoundSocket | undefined =>
    sockets.find((s) => s.local.port === port && s.local.address === address) ??
    sockets.find((s) => s.local.port === port && s.family === family && s.wildcard) ??
    sockets.find((s) => s.local.port === port && s.family === family);

  const familyOf = (address: string): 4 | 6 => (isIP(address) === 6 ? 6 : 4);
  /** sendEsp's socket per peer address (and the local address it was picked for). */
  const espSocketFor = new Map<string, { from: string | undefined; socket: BoundSocket | undefined }>();

  const driver: UdpDriver = {
    ikePort,
    natTPort,
    get sendQueueFull() {
      for (const s of sockets) if (s.espBatch?.full === true) return true;
      return false;
    },
    resumeReceive() {
      for (const s of sockets) s.batchReceive?.resume();
    },
    get counters() {
      counters.groDatagramsIn = sockets.reduce((n, s) => n + (s.batchReceive?.groDatagrams ?? 0), 0);
      return counters;
    },
    bound: sockets.map((s) => s.local),
    sendIke(from, to, bytes) {
      const s = pick(from.address, from.port === natTPort ? natTPort : ikePort, familyOf(to.address));
      if (s === undefined) {
        counters.sendErrors++;
        return;
      }
      const payload = s.local.port === natTPort ? encodeNonEspMarked(bytes) : bytes;
      counters.ikeOut++;
      // On the NAT-T socket IKE joins the ESP send queue: sent beside it (dgram), a rekey's
      // DELETE overtook ESP still queued for the thread pool under the old SA, and the peer,
      // deleting that SA on the DELETE, dropped those packets as NO_SA (RFC 7296 s2.8).
      if (s.espBatch !== undefined) s.espBatch.push(payload, to.port, to.address);
      else s.socket.send(payload, to.port, to.address, onSendError);
    },
    sendEsp(to, packet, from) {
      // The socket per peer, cached: picking it parses the address (a regular expression in
      // node:net's isIP), which showed per packet in the sending gateway's profile.
      let cached = espSocketFor.get(to.address);
      if (cached === undefined || cached.from !== from?.address) {
        cached = { from: from?.address, socket: pick(from?.address, natTPort, familyOf(to.address)) };
        if (espSocketFor.size >= 1024) espSocketFor.clear();
        espSocketFor.set(to.address, cached);
      }
      const s = cached.socket;
      if (s === undefined) {
        counters.sendErrors++;
        return;
      }
      counters.espOut++;
      if (s.espBatch !== undefined) s.espBatch.push(packet, to.port, to.address);
      else s.socket.send(packet.slice(), to.port, to.address, onSendError); // dgram sends later: keep a copy
    },
    startKeepalive(from, to) {
      const key = endpointKey(to);
      if (keepalives.has(key)) return;
      const timer = setInterval(() => {
        const s = pick(from.address, natTPort, familyOf(to.address));
        if (s === undefined) return;
        counters.keepalivesOut++;
        s.socket.send(natKeepalive(), to.port, to.address, onSendError);
      }, keepaliveMs);
      timer.unref();
      keepalives.set(key, { timer });
    },
    stopKeepalive(to) {
      const key = endpointKey(to);
      const k = keepalives.get(key);
      if (k !== undefined) clearInterval(k.timer);
      keepalives.delete(key);
    },
    async close() {
      for (const k of keepalives.values()) clearInterval(k.timer);
      keepalives.clear();
      for (const s of sockets) {
        s.espBatch?.flush();
        s.batchReceive?.close();
      }
      await Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              try {
                s.socket.close(() => resolve());
              } catch {
                resolve();
              }
            }),
        ),
      );
      sockets.length = 0;
    },
  };
  return driver;
}
