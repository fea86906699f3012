import type dgram from "node:dgram";
import { formatIpAddress, parseIpAddress } from "../wire/ip.js";

/**
 * Batched packet I/O from the native addon (native/batch_io.c): many TUN reads, TUN writes or
 * ESP-in-UDP datagrams per JS->native crossing and (for UDP) per system call (sendmmsg/recvmmsg).
 *
 * Why: with the AEAD native, one crossing plus one system call per packet was the gateway's cost
 * (bench:tunnel profiles in docs/performance.md). Everything here works on buffers preallocated
 * once; nothing is allocated per packet except what the caller hands over.
 *
 * Optional like the rest of the addon: {@link nativeBatchIo} is `undefined` without a build that
 * has these functions, and the drivers then keep their one-packet-per-call paths.
 */

/** Bytes per sockaddr slot in the address tables (struct sockaddr_in6 is 28). */
export const SOCKADDR_SLOT = 32;
/** Int32 entries per datagram in a udpSendBatch descriptor. */
export const SEND_STRIDE = 4;
/** udpSendBatch status: the datagram was not attempted (socket buffer full); send it another way. */
export const SEND_NOT_ATTEMPTED = 1;

/** The addon's batch functions, as exported by native/batch_io.c (see its header for details). */
export interface NativeBatchIo {
  /** Non-blocking reads until EAGAIN into `buf`, packed; desc[2i], desc[2i+1] = offset, length. Returns the count or -errno. */
  tunReadBatch(fd: number, buf: Uint8Array, desc: Int32Array, maxPackets: number, maxPacketBytes: number): number;
  /** write(2) of each (desc[2i], desc[2i+1]) slice; returns how many the kernel took whole. */
  tunWriteBatch(fd: number, buf: Uint8Array, desc: Int32Array, count: number): number;
  /**
   * sendmmsg of (offset, length, address slot, status) quadruples; returns datagrams sent, statuses in desc[4i+3].
   * `gso` 1: runs of equal-size datagrams to one destination go as one UDP_SEGMENT message (UDP GSO).
   */
  udpSendBatch(fd: number, buf: Uint8Array, desc: Int32Array, count: number, addrs: Uint8Array, gso?: number): number;
  /**
   * recvmmsg into slots of `slotBytes`; desc[2i] = length, desc[2i+1] = truncated; sources in addrs.
   * With `segs`, segs[i] = the UDP GRO segment size of a coalesced slot (0: one datagram). Returns the count (0: none) or -errno.
   */
  udpRecvBatch(fd: number, buf: Uint8Array, slotBytes: number, desc: Int32Array, addrs: Uint8Array, maxPackets: number, segs?: Int32Array): number;
  /** udpSendBatch on a libuv thread-pool thread; `done(sent)` on the event loop. Keep the arrays untouched and no second job for `fd` until then. */
  udpSendBatchAsync(fd: number, buf: Uint8Array, desc: Int32Array, count: number, addrs: Uint8Array, gso: number, done: (sent: number) => void): void;
  /** tunWriteBatch (scratch null) or tunWriteOffload on a thread-pool thread; `done(accepted)` on the event loop; same rules. */
  tunWriteAsync(fd: number, buf: Uint8Array, desc: Int32Array, count: number, scratch: Uint8Array | null, state: Int32Array | null, done: (accepted: number) => void): void;
  /** setsockopt(UDP_GRO): runs of same-size datagrams of one flow arrive as one (segment size in udpRecvBatch's `segs`). 0 or -errno. */
  udpSetGro(fd: number, on: number): number;
  /** ioctl(TUNSETOFFLOAD, flags) on a TUN opened with IFF_VNET_HDR: 0 or -errno. */
  tunSetOffload(fd: number, flags: number): number;
  /**
   * tunReadBatch for a TUN with IFF_VNET_HDR: every frame read into `frame` (>= VNET_FRAME_MAX
   * bytes) is split into plain IP packets in buf/desc (TSO frames into segments, partial checksums
   * completed). `state` (Int32Array of {@link TUN_READ_STATE} entries) carries a frame that did not
   * fit to the next call, plus counters. Returns the packet count or -errno.
   */
  tunReadOffload(fd: number, buf: Uint8Array, desc: Int32Array, maxPackets: number, frame: Uint8Array, state: Int32Array): number;
  /**
   * tunWriteBatch for a TUN with IFF_VNET_HDR: runs of in-order TCP segments of one flow go to the
   * kernel as one GSO frame (`scratch` >= VNET_FRAME_MAX bytes); `state` (Int32Array of 3) counts
   * frames written, packets coalesced and GSO frames. Returns the packets the kernel took whole.
   */
  tunWriteOffload(fd: number, buf: Uint8Array, desc: Int32Array, count: number, scratch: Uint8Array, state: Int32Array): number;
  /** The split step of tunReadOffload alone (tests): packets emitted; state[0] = next segment (in/out), state[1] = 1 done, 0 out of room, -1 malformed. */
  vnetSplit(frame: Uint8Array, frameLen: number, out: Uint8Array, desc: Int32Array, state: Int32Array): number;
  /** The coalescing step of tunWriteOffload alone (tests): frames written packed into `out`; outDesc[3k..3k+2] = offset, length, packets inside. */
  vnetCoalesce(buf: Uint8Array, desc: Int32Array, count: number, out: Uint8Array, outDesc: Int32Array): number;
  /** fcntl(F_DUPFD_CLOEXEC): a second fd number for the same socket, or -errno. */
  dupFd(fd: number): number;
  /** close(2): 0 or -errno. */
  closeFd(fd: number): number;
}

const FUNCTIONS = [
  "tunReadBatch",
  "tunWriteBatch",
  "udpSendBatch",
  "udpRecvBatch",
  "udpSetGro",
  "udpSendBatchAsync",
  "tunWriteAsync",
  "tunSetOffload",
  "tunReadOffload",
  "tunWriteOffload",
  "vnetSplit",
  "vnetCoalesce",
  "dupFd",
  "closeFd",
] as const;

/** struct virtio_net_hdr, the prefix of every frame on a TUN with IFF_VNET_HDR (bytes). */
export const VNET_HDR_LEN = 10;
/** The largest frame such a TUN reads or writes: a 64 KiB IP packet plus the header. */
export const VNET_FRAME_MAX = 65535 + VNET_HDR_LEN;
/** Int32 entries of tunReadOffload's state: pending frame bytes, its next segment, frames read, TSO frames, malformed frames. */
export const TUN_READ_STATE = 5;
/** TUNSETOFFLOAD flags (linux/if_tun.h): checksum offload and TSO for IPv4 and IPv6. */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;

/** The batch functions of `addon` (the object loadNativeAddon() returned), or undefined when it has none. */
export function nativeBatchIo(addon: object | undefined): NativeBatchIo | undefined {
  if (addon === undefined) return undefined;
  const o = addon as Record<string, unknown>;
  return FUNCTIONS.every((k) => typeof o[k] === "function") ? (addon as NativeBatchIo) : undefined;
}

const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Writes struct sockaddr_in / sockaddr_in6 for (address, port) into `out` at `offset` (32 bytes).
 * Returns false for text that is not a plain IPv4/IPv6 address (e.g. with a zone).
 */
export function encodeSockaddr(address: string, port: number, out: Uint8Array, offset = 0): boolean {
  let ip: Uint8Array;
  try {
    ip = parseIpAddress(address);
  } catch {
    return false;
  }
  out.fill(0, offset, offset + SOCKADDR_SLOT);
  const v = new DataView(out.buffer, out.byteOffset + offset, SOCKADDR_SLOT);
  v.setUint16(0, ip.length === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  out.set(ip, offset + (ip.length === 4 ? 4 : 8));
  return true;
}

/** (address, port) of a sockaddr slot, or undefined for another family. */
export function decodeSockaddr(buf: Uint8Array, offset = 0): { address: string; port: number } | undefined {
  const v = new DataView(buf.buffer, buf.byteOffset + offset, SOCKADDR_SLOT);
  const family = v.getUint16(0, true);
  const port = v.getUint16(2, false);
  if (family === AF_INET) return { address: formatIpAddress(buf.subarray(offset + 4, offset + 8)), port };
  if (family === AF_INET6) return { address: formatIpAddress(buf.subarray(offset + 8, offset + 24)), port };
  return undefined;
}

/**
 * The fd of a bound dgram socket, or undefined when Node does not expose it. Node keeps the
 * libuv handle under a private symbol; reading it there avoids the deprecated `_handle` getter
 * (DEP0112) and its warning. The fd is only used for sends (sendmmsg is safe beside libuv's own
 * I/O on the socket: each datagram is sent atomically).
 */
export function udpSocketFd(socket: dgram.Socket): number | undefined {
  const fd: unknown = dgramHandle(socket)?.["fd"];
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

export interface UdpSendBatchOptions {
  /** Datagrams per flush at most (default 64). */
  maxPackets?: number;
  /** Buffer bytes (default 256 KiB); a datagram larger than a quarter of it goes to `fallback` at once. */
  bufferBytes?: number;
  /** UDP GSO (UDP_SEGMENT) for runs of equal-size datagrams to one peer (default false). */
  gso?: boolean;
  /**
   * Send bursts on a libuv thread-pool thread (udpSendBatchAsync) while the event loop prepares
   * the next ones (default false). At most one burst is in flight (order is kept); up to
   * `queueDepth` full bursts wait behind it. A burst of at most {@link SYNC_SEND_MAX} datagrams
   * with nothing in flight is sent at once on the event loop: sparse traffic gets no thread hop.
   */
  async?: boolean;
  /** With async: bursts that may wait behind the one in flight (default 12); beyond, datagrams are dropped and counted. */
  queueDepth?: number;
  /** With async: called when a burst came back from the thread pool (room again after `full`). */
  onDrain?: () => void;
}

/** Spare bursts kept when an async UdpSendBatch reports `full`: what one TUN read wake-up (256 packets) can still fill. */
export const SEND_RESERVE = 5;

/** An async UdpSendBatch sends a burst this small synchronously when nothing is in flight (latency of sparse traffic). */
export const SYNC_SEND_MAX = 4;

/** One burst: datagrams packed into one buffer with their descriptors and destinations. */
interface SendBurst {
  readonly buf: Uint8Array;
  readonly desc: Int32Array;
  readonly addrs: Uint8Array;
  /** Per datagram: destination, for the fallback (two arrays: no object per packet). */
  readonly destAddress: string[];
  readonly destPort: Int32Array;
  count: number;
  used: number;
}

/**
 * Queues ESP-in-UDP datagrams for one socket and sends them with one sendmmsg per flush.
 *
 * The first `push` of a burst schedules the flush as a microtask: it runs when the current
 * callback (one TUN read batch) returns, so one wake-up = one send call, and nothing waits longer
 * than the JavaScript already running. A full burst flushes at once. A datagram the kernel had no
 * room for (socket buffer full) goes to `fallback` (dgram's send, which queues in libuv) rather
 * than being dropped; one the kernel refused is reported to `onError`.
 *
 * With `async`, the flush hands the burst to a thread-pool thread (the send system call, and on a
 * veth or loopback path the receiving stack's work it carries, leave the event loop's thread) and
 * further bursts queue behind it in order.
 */
export class UdpSendBatch {
  readonly #io: NativeBatchIo;
  readonly #fd: number;
  readonly #fallback: (bytes: Uint8Array, port: number, address: string) => void;
  readonly #onError: (errno: number) => void;
  readonly #max: number;
  readonly #bufferBytes: number;
  readonly #async: boolean;
  /** Bursts: the one being filled, the full ones waiting (FIFO), the free ones. */
  #filling: SendBurst;
  readonly #ready: SendBurst[] = [];
  readonly #free: SendBurst[] = [];
  #inFlight: SendBurst | undefined;
  readonly #onDrain: (() => void) | undefined;
  readonly #reserve: number = 0;
  /** Encoded sockaddr per "address|port" (a gateway talks to few peers). */
  readonly #sockaddrCache = new Map<string, Uint8Array | null>();
  #lastAddress = "";
  #lastPort = -1;
  #lastSockaddr: Uint8Array | null = null;
  readonly #gso: number;
  #scheduled = false;
  /** sendmmsg calls made (count / calls = mean batch), and how many ran on the thread pool. */
  calls = 0;
  asyncCalls = 0;
  /** Datagrams dropped because every burst was full while one was in flight (async only). */
  overflowDrops = 0;

  constructor(io: NativeBatchIo, fd: number, fallback: (bytes: Uint8Array, port: number, address: string) => void, onError: (errno: number) => void, opts: UdpSendBatchOptions = {}) {
    this.#io = io;
    this.#fd = fd;
    this.#fallback = fallback;
    this.#onError = onError;
    this.#max = opts.maxPackets ?? 64;
    this.#gso = opts.gso === true ? 1 : 0;
    this.#bufferBytes = opts.bufferBytes ?? 256 * 1024;
    this.#async = opts.async === true;
    this.#onDrain = opts.onDrain;
    this.#filling = this.#newBurst();
    const depth = this.#async ? Math.max(1, opts.queueDepth ?? 12) : 0;
    this.#reserve = Math.min(depth - 1, SEND_RESERVE);
    for (let i = 0; i < depth; i++) this.#free.push(this.#newBurst());
  }

  #newBurst(): SendBurst {
    return {
      buf: new Uint8Array(this.#bufferBytes),
      desc: new Int32Array(this.#max * SEND_STRIDE),
      addrs: new Uint8Array(this.#max * SOCKADDR_SLOT),
      destAddress: new Array<string>(this.#max).fill(""),
      destPort: new Int32Array(this.#max),
      count: 0,
      used: 0,
    };
  }

  /** Queues `bytes` (copied: the caller may reuse its buffer at once) for (address, port). */
  push(bytes: Uint8Array, port: number, address: string): void {
    let sa: Uint8Array | null | undefined;
    if (address === this.#lastAddress && port === this.#lastPort) {
      sa = this.#lastSockaddr; // the common case: a burst to one peer (no key string per packet)
    } else {
      const key = `${address}|${port}`;
      sa = this.#sockaddrCache.get(key);
      if (sa === undefined) {
        const enc = new Uint8Array(SOCKADDR_SLOT);
        sa = encodeSockaddr(address, port, enc) ? enc : null;
        if (this.#sockaddrCache.size > 1024) this.#sockaddrCache.clear();
        this.#sockaddrCache.set(key, sa);
      }
      this.#lastAddress = address;
      this.#lastPort = port;
      this.#lastSockaddr = sa;
    }
    if (sa === null || bytes.length > this.#bufferBytes / 4) {
      this.#fallback(bytes.slice(), port, address); // the caller may reuse `bytes`; dgram sends later
      return;
    }
    let b = this.#filling;
    if (b.count === this.#max || b.used + bytes.length > b.buf.length) {
      this.flush();
      b = this.#filling;
      if (b.count !== 0) {
        this.overflowDrops++; // every burst is full and one is in flight: like a full device queue
        return;
      }
    }
    const i = b.count++;
    const off = b.used;
    b.buf.set(bytes, off);
    b.used = (off + bytes.length + 7) & ~7;
    const d = i * SEND_STRIDE;
    b.desc[d] = off;
    b.desc[d + 1] = bytes.length;
    b.desc[d + 2] = i;
    b.addrs.set(sa, i * SOCKADDR_SLOT);
    b.destAddress[i] = address;
    b.destPort[i] = port;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushScheduled);
    }
  }

  #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Sends everything queued now (with async: hands it to the thread pool, in order). */
  flush(): void {
    const b = this.#filling;
    if (b.count > 0) {
      if (!this.#async) {
        this.#send(b);
        return;
      }
      const next = this.#free.pop();
      if (next === undefined && this.#inFlight !== undefined) {
        this.#pump(); // no free burst: b stays the filling one (push counts the overflow)
        return;
      }
      this.#ready.push(b);
      this.#filling = next ?? this.#newBurst();
    }
    this.#pump();
  }

  /** Starts the next ready burst when none is in flight. */
  #pump(): void {
    while (this.#inFlight === undefined) {
      const b = this.#ready.shift();
      if (b === undefined) return;
      if (b.count <= SYNC_SEND_MAX) {
        this.#send(b);
        this.#free.push(b);
        continue;
      }
      this.#inFlight = b;
      this.calls++;
      this.asyncCalls++;
      this.#io.udpSendBatchAsync(this.#fd, b.buf, b.desc, b.count, b.addrs, this.#gso, (sent) => {
        this.#inFlight = undefined;
        this.#settle(b, sent);
        this.#free.push(b);
        this.#pump();
        this.#onDrain?.();
      });
    }
  }

  /** One synchronous sendmmsg of burst `b`. */
  #send(b: SendBurst): void {
    this.calls++;
    this.#settle(b, this.#io.udpSendBatch(this.#fd, b.buf, b.desc, b.count, b.addrs, this.#gso));
  }

  /** After a send: not-attempted datagrams go to the fallback (copies), refused ones to onError; the burst is empty again. */
  #settle(b: SendBurst, sent: number): void {
    const n = b.count;
    b.count = 0;
    b.used = 0;
    if (sent === n) return;
    for (let i = 0; i < n; i++) {
      const status = b.desc[i * SEND_STRIDE + 3] ?? 0;
      if (status === 0) continue;
      if (status === SEND_NOT_ATTEMPTED) {
        const off = b.desc[i * SEND_STRIDE] ?? 0;
        const len = b.desc[i * SEND_STRIDE + 1] ?? 0;
        // dgram keeps its own reference: hand it a copy, the buffer is reused.
        this.#fallback(b.buf.slice(off, off + len), b.destPort[i] ?? 0, b.destAddress[i] ?? "");
      } else {
        this.#onError(-status);
      }
    }
  }

  /** With async: at most SEND_RESERVE spare bursts are left (room for one more TUN wake-up); a caller with back-pressure stops producing until onDrain. */
  get full(): boolean {
    return this.#async && this.#free.length <= this.#reserve;
  }

  /** Datagrams not yet handed to the kernel (queued or in flight). */
  get pending(): number {
    return this.#filling.count + this.#ready.reduce((n, b) => n + b.count, 0) + (this.#inFlight?.count ?? 0);
  }
}

/** A readiness watcher on the event loop (nativeReadableWatcher of src/crypto/native/fd-watch.ts). */
export type FdWatcher = (fd: number, onReadable: () => void) => { close(): void };

/** Called per received datagram: `bytes` is a view into a reused buffer, valid only during the call. */
export type DatagramHandler = (bytes: Uint8Array, remote: { address: string; port: number }) => void;

export interface UdpReceiveBatchOptions {
  /** Bytes per datagram slot (default 65536: every UDP datagram fits, large IKE messages included). */
  slotBytes?: number;
  /** Datagrams per recvmmsg (default 32). */
  slots?: number;
  /** recvmmsg calls per wake-up at most before yielding to other I/O (default 4). */
  callsPerWake?: number;
  /**
   * UDP GRO (default false): the kernel hands over a run of same-size datagrams of one flow (a
   * peer's UDP GSO send arrives whole) as one slot, which is split back into its datagrams here;
   * saves the kernel splitting it before the socket and queueing each datagram.
   */
  gro?: boolean;
  /** Called after the datagrams of each recvmmsg call were handed out, before the buffer is reused (they stay valid until it returns). */
  onBatchEnd?: () => void;
  /**
   * Back-pressure: asked before each recvmmsg; false stops receiving (the watcher is closed, so
   * datagrams wait in the socket buffer, whose overflow the kernel counts) until `resume()`.
   */
  canReceive?: () => boolean;
}

/** dgram keeps its libuv handle (UDPWrap) under a private symbol (see udpSocketFd). */
function dgramHandle(socket: dgram.Socket): Record<string, unknown> | undefined {
  for (const s of Object.getOwnPropertySymbols(socket)) {
    if (s.description !== "state symbol") continue;
    const state: unknown = (socket as unknown as Record<symbol, unknown>)[s];
    if (typeof state !== "object" || state === null) continue;
    const handle: unknown = (state as Record<string, unknown>)["handle"];
    if (typeof handle === "object" && handle !== null) return handle as Record<string, unknown>;
  }
  return undefined;
}

/**
 * Receives a bound dgram socket's datagrams with recvmmsg instead of libuv's one recvmsg plus one
 * JS callback (and one Buffer) per datagram. A duplicate of the socket's fd is watched on the
 * event loop (libuv allows one watcher per fd number) and drained in batches; the dgram socket
 * stops reading (its handle's recvStop) but keeps sending and owns the socket. Datagrams libuv
 * read before the switch still arrive through dgram's 'message' event, so the caller keeps that
 * listener. A datagram longer than a slot is reported truncated and dropped by the caller.
 */
export class UdpReceiveBatch {
  readonly #io: NativeBatchIo;
  readonly #onDatagram: DatagramHandler;
  readonly #onTruncated: () => void;
  readonly #onBatchEnd: (() => void) | undefined;
  readonly #canReceive: (() => boolean) | undefined;
  #watcher: FdWatcher | undefined;
  #paused = false;
  /** Times receiving paused for back-pressure. */
  pauses = 0;
  readonly #slot: number;
  readonly #slots: number;
  readonly #callsPerWake: number;
  readonly #buf: Uint8Array;
  readonly #desc: Int32Array;
  readonly #addrs: Uint8Array;
  /** The last source seen, raw and decoded: one endpoint object while the peer stays the same. */
  readonly #lastRaw = new Uint8Array(SOCKADDR_SLOT);
  #lastRemote: { address: string; port: number } | undefined;
  #fd = -1;
  #watch: { close(): void } | undefined;
  /** recvmmsg calls that returned datagrams (datagrams / calls = mean batch). */
  calls = 0;
  /** Whether the socket took UDP_GRO; then segs[i] is the segment size of slot i (0: a single datagram). */
  gro = false;
  /** Slots that held coalesced datagrams (UDP GRO), and the datagrams they held. */
  groSlots = 0;
  groDatagrams = 0;
  readonly #segs: Int32Array;

  private constructor(io: NativeBatchIo, onDatagram: DatagramHandler, onTruncated: () => void, opts: UdpReceiveBatchOptions) {
    this.#io = io;
    this.#onDatagram = onDatagram;
    this.#onTruncated = onTruncated;
    this.#onBatchEnd = opts.onBatchEnd;
    this.#canReceive = opts.canReceive;
    this.#slot = opts.slotBytes ?? 65536;
    this.#slots = opts.slots ?? 32;
    this.#callsPerWake = opts.callsPerWake ?? 4;
    this.#buf = new Uint8Array(this.#slot * this.#slots);
    this.#desc = new Int32Array(2 * this.#slots);
    this.#addrs = new Uint8Array(SOCKADDR_SLOT * this.#slots);
    this.#segs = new Int32Array(this.#slots);
  }

  /**
   * Takes over receiving for the bound `socket`; undefined (nothing changed) when its fd or handle
   * is not reachable or the fd cannot be duplicated.
   */
  static start(io: NativeBatchIo, socket: dgram.Socket, watcher: FdWatcher, onDatagram: DatagramHandler, onTruncated: () => void, opts: UdpReceiveBatchOptions = {}): UdpReceiveBatch | undefined {
    const fd = udpSocketFd(socket);
    const handle = dgramHandle(socket);
    const recvStop = handle?.["recvStop"];
    if (fd === undefined || typeof recvStop !== "function") return undefined;
    const dup = io.dupFd(fd);
    if (dup < 0) return undefined;
    const r = new UdpReceiveBatch(io, onDatagram, onTruncated, opts);
    r.#fd = dup;
    r.gro = opts.gro === true && io.udpSetGro(dup, 1) === 0;
    r.#watcher = watcher;
    r.#watch = watcher(dup, r.#drain);
    (recvStop as () => number).call(handle);
    return r;
  }

  #drain = (): void => {
    const io = this.#io;
    for (let call = 0; call < this.#callsPerWake && this.#fd >= 0; call++) {
      if (this.#canReceive !== undefined && !this.#canReceive()) {
        this.#pause();
        return;
      }
      const segs = this.gro ? this.#segs : undefined;
      const n = io.udpRecvBatch(this.#fd, this.#buf, this.#slot, this.#desc, this.#addrs, this.#slots, segs);
      if (n <= 0) return; // 0: drained; < 0: -errno (e.g. ECONNREFUSED from an ICMP error), try again on the next wake-up
      this.calls++;
      for (let i = 0; i < n && this.#fd >= 0; i++) {
        if (this.#desc[2 * i + 1] !== 0) {
          this.#onTruncated();
          continue;
        }
        const remote = this.#remote(i * SOCKADDR_SLOT);
        if (remote === undefined) continue;
        const off = i * this.#slot;
        const len = this.#desc[2 * i] ?? 0;
        const seg = segs?.[i] ?? 0;
        if (seg <= 0 || seg >= len) {
          this.#onDatagram(this.#buf.subarray(off, off + len), remote);
          continue;
        }
        // A GRO slot: datagrams of `seg` bytes back to back, the last possibly shorter.
        this.groSlots++;
        for (let at = off, end = off + len; at < end && this.#fd >= 0; at += seg) {
          this.groDatagrams++;
          this.#onDatagram(this.#buf.subarray(at, Math.min(at + seg, end)), remote);
        }
      }
      this.#onBatchEnd?.();
      if (n < this.#slots) return;
    }
  };

  #remote(at: number): { address: string; port: number } | undefined {
    const a = this.#addrs;
    const last = this.#lastRaw;
    // sockaddr_in: family, port, address in the first 8 bytes; sockaddr_in6: family..scope in 28.
    const len = a[at] === 2 ? 8 : 28;
    let same = this.#lastRemote !== undefined;
    for (let k = 0; same && k < len; k++) same = a[at + k] === last[k];
    if (same) return this.#lastRemote;
    const r = decodeSockaddr(a, at);
    if (r !== undefined) {
      last.set(a.subarray(at, at + SOCKADDR_SLOT));
      this.#lastRemote = r;
    }
    return r;
  }

  #pause(): void {
    this.#watch?.close();
    this.#watch = undefined;
    this.#paused = true;
    this.pauses++;
  }

  /** Receives again after a back-pressure pause (no-op otherwise); datagrams that waited are read at once. */
  resume(): void {
    if (!this.#paused || this.#fd < 0 || this.#watcher === undefined) return;
    this.#paused = false;
    this.#watch = this.#watcher(this.#fd, this.#drain);
  }

  /** Stops receiving and closes the duplicate fd (the dgram socket is the caller's to close). Idempotent. */
  close(): void {
    this.#watch?.close();
    this.#watch = undefined;
    if (this.#fd >= 0) this.#io.closeFd(this.#fd);
    this.#fd = -1;
  }
}
