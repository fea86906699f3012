import { ERRNO, libc, O_CLOEXEC, O_NONBLOCK, O_RDWR, POLLIN, type Libc } from "./libc.js";
import { ip } from "./iproute.js";
import { createServer } from "node:net";
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_READ_STATE, VNET_FRAME_MAX, type NativeBatchIo } from "./batch-io.js";

/**
 * A Linux TUN device (layer 3, no packet-information header) for the user-space data plane.
 *
 * Theory of operation. The fd from `/dev/net/tun` + `ioctl(TUNSETIFF, IFF_TUN|IFF_NO_PI)` is set
 * O_NONBLOCK. Reading one packet per libuv thread-pool hop (fs.read) tops out near 40 kpps
 * (testbed.md), so instead ONE poll(2) waits on koffi's worker thread, and when the fd is readable
 * the main thread drains it with non-blocking read(2) calls (each a cheap synchronous FFI call
 * into one preallocated buffer) until EAGAIN or a budget is spent. A drain that read something
 * is followed by another one on the next event-loop turn; only an empty drain goes back to
 * poll. One thread hop per idle period, not per packet or per batch. Writes are synchronous non-blocking write(2) calls: the kernel
 * accepts a TUN write at once or drops it (counted).
 *
 * Routes to the remote traffic selectors go into a dedicated routing table consulted by an
 * `ip rule` placed before `main`; a second rule sends our own IKE/ESP datagrams (UDP source port
 * 500/4500 or as configured) to `main` first, so transport mode (where the protected peer IS
 * the ESP peer) never loops ESP back into the tunnel.
 *
 * Needs CAP_NET_ADMIN and the `ip` command.
 */

/** TUNSETIFF = _IOW('T', 202, int). */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
/** Every read and write carries a struct virtio_net_hdr (GSO and checksum offload information). */
const IFF_VNET_HDR = 0x4000;
/** struct ifreq is 40 bytes on 64-bit Linux: char ifr_name[16] + a 24-byte union. */
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;

/** Default MTU: 1500 minus outer IPv4/IPv6 + UDP + ESP header, IV, padding and ICV headroom. */
export const DEFAULT_TUN_MTU = 1400;
/** Default routing table for the tunnel routes (and the priorities of our two ip rules). */
export const DEFAULT_ROUTE_TABLE = 4500;
const RULE_PRIORITY_BYPASS = 4500;
const RULE_PRIORITY_TUNNEL = 4501;

/** Packets drained per wake-up before yielding to other I/O (UDP receive, timers). */
const READ_BUDGET = 256;
/** Packets per native batch call (read or write). */
const NATIVE_BATCH = 64;
/** Packets per offload read call: a TSO frame alone can carry 45 segments of 1400 bytes. */
const OFFLOAD_BATCH = 256;
/** A TUN read never returns more than this (no IFF_VNET_HDR/GSO): room kept free per read. */
const MAX_TUN_PACKET = 65536;
/** With asyncWrites: bursts that may wait behind the one being written, and packets per burst (a GRO read of the NAT-T socket can bring 2,000). */
const WRITE_QUEUE_DEPTH = 8;
/** writeQueueFull below this many spare bursts: room kept for what one receive wake-up can still deliver. */
const WRITE_RESERVE = 4;
const ASYNC_WRITE_BURST = 512;
/** With asyncWrites, a burst this small is written at once when none is in flight (latency of sparse traffic). */
const SYNC_WRITE_MAX = 4;

/** Queued TUN writes: packets packed into one buffer, (offset, length) pairs. */
interface WriteBurst {
  readonly buf: Uint8Array;
  readonly desc: Int32Array;
  count: number;
  used: number;
}

function newWriteBurst(packets = NATIVE_BATCH): WriteBurst {
  return { buf: new Uint8Array(packets * 1600 + MAX_TUN_PACKET), desc: new Int32Array(2 * packets), count: 0, used: 0 };
}

/** poll(2) timeout, ms: bounds how long close() waits for the poll thread. */
const POLL_TIMEOUT_MS = 200;

export interface TunOptions {
  /** Interface name, at most 15 bytes (default "tsipsec0"). */
  name?: string;
  /** MTU in bytes (default 1400). */
  mtu?: number;
  /** Routing table for tunnel routes (default 4500). */
  routeTable?: number;
  /** UDP source ports of our own IKE/ESP traffic that must bypass the tunnel table (default [500, 4500]). */
  bypassUdpPorts?: number[];
  /**
   * Watches the fd for readability on the event loop itself (the native addon's uv_poll watcher,
   * `nativeReadableWatcher` in src/crypto/native/): no poll(2) thread hop per idle period, and
   * the watcher calls again while packets remain (level-triggered), so no re-drain scheduling.
   * Without it the driver polls on koffi's worker thread as described above.
   */
  watchReadable?: (fd: number, onReadable: () => void) => { close(): void };
  /**
   * Batched reads and writes from the native addon (src/drivers/batch-io.ts): a wake-up reads up
   * to 64 packets per crossing into one preallocated buffer, and writes queue until the event
   * loop's check phase (setImmediate: after every datagram of the current poll round was
   * decrypted), then go to the kernel in one crossing. Used together with watchReadable.
   */
  batchIo?: Pick<NativeBatchIo, "tunReadBatch" | "tunWriteBatch" | "tunSetOffload" | "tunReadOffload" | "tunWriteOffload" | "tunWriteAsync">;
  /**
   * virtio-net offloads (needs batchIo): the device is opened with IFF_VNET_HDR and TUNSETOFFLOAD
   * (checksum + TSO for IPv4/IPv6), so the kernel hands over TCP frames of up to 64 KiB instead of
   * segmenting them first, and runs of decrypted TCP segments of one flow are written back as one
   * GSO frame (native/tun_offload.c). The callbacks still see plain IP packets of at most the MTU.
   * Default false.
   */
  offload?: boolean;
  /**
   * With batchIo: write bursts on a libuv thread-pool thread (the TUN write carries the kernel's
   * forwarding of each packet) while the event loop decrypts the next ones; at most one burst in
   * flight, so order is kept. Default false.
   */
  asyncWrites?: boolean;
  /**
   * Back-pressure (with watchReadable): asked before each read; false stops reading (the kernel's
   * TUN queue holds, then drops, what comes meanwhile) until `resumeReading()`.
   */
  canRead?: () => boolean;
  /** With asyncWrites: called when a write burst came back from the thread pool (room again after `writeQueueFull`). */
  onWritable?: () => void;
}

export interface TunCounters {
  /** Packets read from the TUN (leaving the host towards the tunnel). */
  rxPackets: number;
  rxBytes: number;
  /** Packets written to the TUN (arriving from the tunnel). */
  txPackets: number;
  txBytes: number;
  /** Writes the kernel refused (buffer full, device down). */
  txErrors: number;
  /** Read wake-ups (batches); rxPackets / readBatches is the mean batch size. */
  readBatches: number;
  /** With offload: TSO frames read (each split into segments), GSO frames written (each a run of coalesced segments), packets inside those, malformed frames dropped. */
  tsoFramesRead: number;
  gsoFramesWritten: number;
  gsoPacketsWritten: number;
  offloadDropped: number;
}

/**
 * Called for every packet read. `packet` is a view into a reused buffer: valid only until the
 * callback returns (copy it to keep it).
 */
export type PacketHandler = (packet: Uint8Array) => void;

export interface TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly counters: Readonly<TunCounters>;
  /** Whether virtio-net offloads (TSO in, GSO out) are on (TunOptions.offload and a kernel that took TUNSETOFFLOAD). */
  readonly offload: boolean;
  /**
   * Starts the read loop; `onPacket` sees each IP packet read. Call once. With `onBatchEnd`, the
   * packets handed to `onPacket` stay valid until the following `onBatchEnd` call returns (it
   * comes after every group of packets read in one go, before the buffer is reused), so a caller
   * can gather a burst and process it there.
   */
  start(onPacket: PacketHandler, onBatchEnd?: () => void): void;
  /** With asyncWrites: (nearly) every write burst is queued or in flight; a producer with back-pressure pauses until onWritable. */
  readonly writeQueueFull: boolean;
  /** Reads again after a canRead pause (no-op otherwise). */
  resumeReading(): void;
  /** Writes one IP packet to the kernel. Returns false when the kernel refused it (counted). */
  write(packet: Uint8Array): boolean;
  /** Routes `cidr` (e.g. "198.18.2.0/24", "2001:db8:2::/64") into the TUN; idempotent. `src` sets the preferred source address. */
  addRoute(cidr: string, src?: string): Promise<void>;
  /** Removes a route added by addRoute; a missing route is not an error. */
  delRoute(cidr: string): Promise<void>;
  /** Routes currently installed through this device. */
  routes(): string[];
  /** Stops reading, removes routes and rules and closes the device (the interface disappears). Idempotent. */
  close(): Promise<void>;
}

/** Thrown when the TUN device cannot be created; the message names the cause in words. */
export class TunError extends Error {
  override readonly name = "TunError";
}

/** Opens and configures a TUN device (name, MTU, up, routing rules). */
export async function openTun(options: TunOptions = {}): Promise<TunDevice> {
  const name = options.name ?? "tsipsec0";
  const mtu = options.mtu ?? DEFAULT_TUN_MTU;
  const table = options.routeTable ?? DEFAULT_ROUTE_TABLE;
  const bypassPorts = [...new Set(options.bypassUdpPorts ?? [500, 4500])];
  if (Buffer.byteLength(name) >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new TunError(`TUN name ${JSON.stringify(name)} must be 1-15 characters of [A-Za-z0-9_.-]`);
  }
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new TunError(`TUN MTU must be 576..65535 bytes, got ${mtu}`);

  // Every daemon in a namespace would share the routing table and rule priorities: claim them
  // first, so a second daemon fails here without touching the first one's rules and routes.
  const tableLock = await claimRouteTable(table);
  const c = libc();
  const fd = c.open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const e = c.errno();
    tableLock.close();
    if (e === ERRNO.ENOENT) throw new TunError("/dev/net/tun does not exist (load the tun kernel module: modprobe tun)");
    if (e === ERRNO.EPERM || e === ERRNO.EACCES) throw new TunError("cannot open /dev/net/tun: permission denied (run as root or with CAP_NET_ADMIN)");
    throw new TunError(`cannot open /dev/net/tun: ${c.describe(e)}`);
  }
  const batchIo = options.watchReadable !== undefined ? options.batchIo : undefined;
  const vnet = options.offload === true && batchIo !== undefined;
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(Buffer.from(name, "utf8"), 0);
  new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0), true);
  if (c.ioctl(fd, TUNSETIFF, ifr) < 0) {
    const e = c.errno();
    c.close(fd);
    tableLock.close();
    if (e === ERRNO.EBUSY) throw new TunError(`TUN device ${name} is already in use`);
    if (e === ERRNO.EPERM) throw new TunError("TUNSETIFF: permission denied (run as root or with CAP_NET_ADMIN)");
    throw new TunError(`TUNSETIFF ${name}: ${c.describe(e)}`);
  }
  // Without TSO (an old kernel refusing TUNSETOFFLOAD) the frames still carry the header: the
  // offload read/write paths handle plain frames too, so only the flag's meaning changes.
  const offload = vnet && batchIo.tunSetOffload(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) === 0;
  const device = new LinuxTun(c, fd, name, mtu, table, bypassPorts, options.watchReadable, batchIo, vnet, offload, options.asyncWrites === true, options.canRead, options.onWritable);
  device.tableLock = tableLock;
  try {
    await ip(["link", "set", "dev", name, "mtu", String(mtu), "up"]);
    await device.installRules();
  } catch (e) {
    await device.close();
    throw e;
  }
  return device;
}

/**
 * Claims routing table `table` (and our rule priorities) for this process in this network
 * namespace: an abstract Unix socket is per namespace and vanishes with its process, so a crashed
 * daemon's claim never lingers while a live one's is exclusive. Throws TunError when taken.
 */
async function claimRouteTable(table: number): Promise<{ close(): void }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(
        e.code === "EADDRINUSE"
          ? new TunError(`routing table ${table} and ip rules ${RULE_PRIORITY_BYPASS}/${RULE_PRIORITY_TUNNEL} are in use by another tsipsec daemon in this network namespace; stop it first`)
          : new TunError(`cannot claim routing table ${table}: ${e.message}`),
      );
    });
    server.listen(`\0tsipsec-route-table-${table}`, () => resolve());
  });
  server.unref();
  return { close: () => void server.close() };
}

class LinuxTun implements TunDevice {
  /** This process's claim on the routing table (claimRouteTable); released by close(). */
  tableLock: { close(): void } | undefined;
  readonly #counters: TunCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txErrors: 0, readBatches: 0, tsoFramesRead: 0, gsoFramesWritten: 0, gsoPacketsWritten: 0, offloadDropped: 0 };
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #table: number;
  readonly #bypassPorts: number[];
  /** One buffer for every read: the largest IP packet. */
  readonly #readBuffer = new Uint8Array(65536);
  /** struct pollfd { int fd; short events; short revents; } */
  readonly #pollfd = new Uint8Array(8);
  readonly #routes = new Map<string, string | undefined>();
  #rulesInstalled: Array<readonly string[]> = [];
  #onPacket: PacketHandler | undefined;
  #onBatchEnd: (() => void) | undefined;
  #closed = false;
  readonly #watchReadable: TunOptions["watchReadable"];
  #watch: { close(): void } | undefined;
  #pollInFlight: Promise<void> | undefined;
  readonly #batchIo: TunOptions["batchIo"];
  /** Native batch reads: packets packed into one buffer, (offset, length) pairs in the descriptor. */
  readonly #batchReadBuffer: Uint8Array | undefined;
  readonly #batchReadDesc: Int32Array = new Int32Array(2 * NATIVE_BATCH);
  /**
   * Queued writes (native batch path): packets copied into a burst until the flush. With
   * asyncWrites, full bursts wait (in order) behind the one a thread-pool thread is writing.
   */
  #wFill: WriteBurst | undefined;
  readonly #wReady: WriteBurst[] = [];
  readonly #wFree: WriteBurst[] = [];
  #wInFlight: WriteBurst | undefined;
  #wIdle: (() => void) | undefined;
  readonly #canRead: (() => boolean) | undefined;
  readonly #onWritable: (() => void) | undefined;
  #readPaused = false;
  readonly #asyncWrites: boolean;
  /** IFF_VNET_HDR: frames are read into #frame and split (a frame may wait there between reads); writes are coalesced through #writeScratch (native/tun_offload.c). */
  readonly #vnet: boolean;
  readonly #frame: Uint8Array | undefined;
  readonly #writeScratch: Uint8Array | null = null;
  /** tunReadOffload state: pending frame bytes, next segment, frames read, TSO frames, malformed. */
  readonly #readState = new Int32Array(TUN_READ_STATE);
  /** tunWriteOffload state: frames written, packets coalesced, GSO frames. */
  readonly #writeState = new Int32Array(3);
  #writeFlush: NodeJS.Immediate | undefined;

  constructor(
    c: Libc,
    fd: number,
    readonly name: string,
    readonly mtu: number,
    table: number,
    bypassPorts: number[],
    watchReadable?: TunOptions["watchReadable"],
    batchIo?: TunOptions["batchIo"],
    vnet = false,
    readonly offload = false,
    asyncWrites = false,
    canRead?: () => boolean,
    onWritable?: () => void,
  ) {
    this.#canRead = canRead;
    this.#onWritable = onWritable;
    this.#watchReadable = watchReadable;
    this.#batchIo = batchIo;
    this.#vnet = vnet && batchIo !== undefined;
    if (batchIo !== undefined) {
      this.#batchReadBuffer = new Uint8Array(this.#vnet ? OFFLOAD_BATCH * 1536 : NATIVE_BATCH * 2048 + MAX_TUN_PACKET);
      this.#wFill = newWriteBurst();
    }
    this.#asyncWrites = asyncWrites && batchIo !== undefined;
    if (this.#asyncWrites) {
      this.#wFill = newWriteBurst(ASYNC_WRITE_BURST);
      for (let i = 0; i < WRITE_QUEUE_DEPTH; i++) this.#wFree.push(newWriteBurst(ASYNC_WRITE_BURST));
    }
    if (this.#vnet) {
      this.#frame = new Uint8Array(VNET_FRAME_MAX);
      this.#writeScratch = new Uint8Array(VNET_FRAME_MAX);
      this.#batchReadDesc = new Int32Array(2 * OFFLOAD_BATCH);
    }
    this.#libc = c;
    this.#fd = fd;
    this.#table = table;
    this.#bypassPorts = bypassPorts;
    const v = new DataView(this.#pollfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
  }

  async installRules(): Promise<void> {
    const rules: Array<readonly string[]> = [];
    for (const family of ["-4", "-6"]) {
      for (const port of this.#bypassPorts) {
        rules.push([family, "rule", "add", "priority", String(RULE_PRIORITY_BYPASS), "ipproto", "udp", "sport", String(port), "lookup", "main"]);
      }
      rules.push([family, "rule", "add", "priority", String(RULE_PRIORITY_TUNNEL), "lookup", String(this.#table)]);
    }
    for (const rule of rules) {
      // A daemon that died without cleaning up left the same rule behind: replace it, don't stack it.
      await ip(rule.map((a) => (a === "add" ? "del" : a)), { allowFailure: true });
      await ip(rule);
      this.#rulesInstalled.push(rule);
    }
    // Stale routes of a previous run in our table would bypass the SPD's view of what is up.
    await ip(["-4", "route", "flush", "table", String(this.#table)], { allowFailure: true });
    await ip(["-6", "route", "flush", "table", String(this.#table)], { allowFailure: true });
  }

  start(onPacket: PacketHandler, onBatchEnd?: () => void): void {
    if (this.#onPacket !== undefined) throw new Error("TunDevice.start called twice");
    this.#onPacket = onPacket;
    this.#onBatchEnd = onBatchEnd;
    if (this.#watchReadable !== undefined) {
      this.#watch = this.#watchReadable(this.#fd, this.#readBatch);
      return;
    }
    this.#drain();
  }

  /** Reads until EAGAIN or the budget; then polls (EAGAIN) or yields (budget spent). */
  #drain = (): void => {
    const n = this.#readBatch();
    if (this.#closed || this.#onPacket === undefined) return;
    // Under load the next packet is usually already on its way: look again after the event loop
    // has run its other I/O (setImmediate) instead of paying a thread hop for poll(2). Only a
    // drain that found nothing parks the loop in poll.
    if (n > 0) {
      setImmediate(this.#drain);
      return;
    }
    this.#poll();
  };

  /** Reads until EAGAIN or the budget; returns the packets read. */
  #readBatch = (): number => {
    if (this.#closed) return 0;
    const onPacket = this.#onPacket;
    if (onPacket === undefined) return 0;
    if (this.#canRead !== undefined && this.#watch !== undefined && !this.#canRead()) {
      // Back-pressure: stop the level-triggered watcher until resumeReading().
      this.#watch.close();
      this.#watch = undefined;
      this.#readPaused = true;
      return 0;
    }
    if (this.#batchIo !== undefined && this.#batchReadBuffer !== undefined) return this.#readNative(onPacket, this.#batchIo, this.#batchReadBuffer);
    const buf = this.#readBuffer;
    let n = 0;
    for (; n < READ_BUDGET; n++) {
      const len = this.#libc.read(this.#fd, buf, buf.length);
      if (len < 0) {
        const e = this.#libc.errno();
        if (e === ERRNO.EINTR) continue;
        // EAGAIN: drained. Anything else (EBADF after close, EIO when down): wait and retry.
        break;
      }
      if (len === 0) break;
      this.#counters.rxPackets++;
      this.#counters.rxBytes += len;
      onPacket(buf.subarray(0, len));
      this.#onBatchEnd?.(); // one packet per read(2) here: the buffer is reused by the next one
      if (this.#closed) return n + 1;
    }
    if (n > 0) this.#counters.readBatches++;
    return n;
  };

  /** #readBatch on the addon: one crossing per up to NATIVE_BATCH packets. */
  #readNative(onPacket: PacketHandler, io: NonNullable<TunOptions["batchIo"]>, buf: Uint8Array): number {
    const desc = this.#batchReadDesc;
    let total = 0;
    const frame = this.#frame;
    const perCall = frame !== undefined ? OFFLOAD_BATCH : NATIVE_BATCH;
    while (total < READ_BUDGET) {
      const n = frame !== undefined ? io.tunReadOffload(this.#fd, buf, desc, OFFLOAD_BATCH, frame, this.#readState) : io.tunReadBatch(this.#fd, buf, desc, NATIVE_BATCH, MAX_TUN_PACKET);
      if (n <= 0) break; // 0: drained (EAGAIN); < 0: -errno (EBADF after close, EIO when down)
      this.#counters.readBatches++;
      for (let i = 0; i < n; i++) {
        const off = desc[2 * i] ?? 0;
        const len = desc[2 * i + 1] ?? 0;
        this.#counters.rxPackets++;
        this.#counters.rxBytes += len;
        onPacket(buf.subarray(off, off + len));
        if (this.#closed) return total + i + 1;
      }
      this.#onBatchEnd?.(); // before the next read call reuses buf
      if (this.#closed) return total + n;
      total += n;
      // The read loop stopped at EAGAIN (or a full buffer): drained. With offload a frame left
      // half-split (state[0]) means the buffer filled: go on.
      if (n < perCall && (frame === undefined || this.#readState[0] === 0)) break;
    }
    return total;
  }

  /** Writes the queued packets in one crossing (native batch path); with asyncWrites, hands them to the thread pool in order. */
  #flushWrites = (): void => {
    this.#writeFlush = undefined;
    const b = this.#wFill;
    if (b !== undefined && b.count > 0) {
      if (!this.#asyncWrites) {
        this.#writeNow(b);
        return;
      }
      const next = this.#wFree.pop();
      if (next === undefined) {
        this.#pumpWrites(); // every burst is queued: b keeps filling until one comes back
        return;
      }
      this.#wReady.push(b);
      this.#wFill = next;
    }
    this.#pumpWrites();
  };

  /** Starts the next queued burst when none is in flight (small ones synchronously: no thread hop for sparse traffic). */
  #pumpWrites(): void {
    const io = this.#batchIo;
    if (io === undefined) return;
    while (this.#wInFlight === undefined) {
      const b = this.#wReady.shift();
      if (b === undefined) {
        this.#wIdle?.();
        return;
      }
      if (b.count <= SYNC_WRITE_MAX || this.#closed) {
        this.#writeNow(b);
        this.#wFree.push(b);
        continue;
      }
      this.#wInFlight = b;
      const n = b.count;
      io.tunWriteAsync(this.#fd, b.buf, b.desc, n, this.#writeScratch, this.#writeScratch !== null ? this.#writeState : null, (ok) => {
        this.#wInFlight = undefined;
        this.#settleWrites(b, n, ok);
        this.#wFree.push(b);
        this.#pumpWrites();
        this.#onWritable?.();
      });
    }
  }

  get writeQueueFull(): boolean {
    return this.#asyncWrites && this.#wFree.length < WRITE_RESERVE;
  }

  resumeReading(): void {
    if (!this.#readPaused || this.#closed || this.#watchReadable === undefined) return;
    this.#readPaused = false;
    this.#watch = this.#watchReadable(this.#fd, this.#readBatch);
  }

  #writeNow(b: WriteBurst): void {
    const io = this.#batchIo;
    if (io === undefined || b.count === 0) return;
    const n = b.count;
    const scratch = this.#writeScratch;
    const ok = scratch !== null ? io.tunWriteOffload(this.#fd, b.buf, b.desc, n, scratch, this.#writeState) : io.tunWriteBatch(this.#fd, b.buf, b.desc, n);
    this.#settleWrites(b, n, ok);
  }

  #settleWrites(b: WriteBurst, n: number, ok: number): void {
    b.count = 0;
    b.used = 0;
    this.#counters.txPackets += ok;
    this.#counters.txErrors += n - ok;
  }

  #poll(): void {
    this.#pollInFlight = new Promise((resolve) => {
      this.#libc.pollAsync(this.#pollfd, 1, POLL_TIMEOUT_MS, () => {
        this.#pollInFlight = undefined;
        resolve();
        this.#drain();
      });
    });
  }

  write(packet: Uint8Array): boolean {
    if (this.#closed) return false;
    let b = this.#wFill;
    if (b !== undefined && packet.length <= MAX_TUN_PACKET) {
      // Queued (copied): the kernel's verdict comes at the flush, counted in txErrors there.
      if (b.count === b.desc.length / 2 || b.used + packet.length > b.buf.length) {
        this.#flushWrites();
        b = this.#wFill as WriteBurst;
        if (b.count !== 0) {
          this.#counters.txErrors++; // every burst is full and one is being written: a full queue
          return false;
        }
      }
      const i = b.count++;
      const off = b.used;
      b.buf.set(packet, off);
      b.used = (off + packet.length + 7) & ~7;
      b.desc[2 * i] = off;
      b.desc[2 * i + 1] = packet.length;
      this.#counters.txBytes += packet.length;
      this.#writeFlush ??= setImmediate(this.#flushWrites);
      return true;
    }
    if (this.#vnet) {
      // Only larger than any IP packet gets here: every frame must carry the virtio header.
      this.#counters.txErrors++;
      return false;
    }
    const n = this.#libc.write(this.#fd, packet, packet.length);
    if (n !== packet.length) {
      this.#counters.txErrors++;
      return false;
    }
    this.#counters.txPackets++;
    this.#counters.txBytes += n;
    return true;
  }

  get counters(): Readonly<TunCounters> {
    const c = this.#counters;
    c.tsoFramesRead = this.#readState[3] ?? 0;
    c.offloadDropped = this.#readState[4] ?? 0;
    c.gsoPacketsWritten = this.#writeState[1] ?? 0;
    c.gsoFramesWritten = this.#writeState[2] ?? 0;
    return c;
  }

  async addRoute(cidr: string, src?: string): Promise<void> {
    const family = cidr.includes(":") ? "-6" : "-4";
    const args = [family, "route", "replace", cidr, "dev", this.name, "table", String(this.#table)];
    if (src !== undefined) args.push("src", src);
    await ip(args);
    this.#routes.set(cidr, src);
  }

  async delRoute(cidr: string): Promise<void> {
    const family = cidr.includes(":") ? "-6" : "-4";
    this.#routes.delete(cidr);
    await ip([family, "route", "del", cidr, "dev", this.name, "table", String(this.#table)], { allowFailure: true });
  }

  routes(): string[] {
    return [...this.#routes.keys()];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#writeFlush !== undefined) clearImmediate(this.#writeFlush);
    this.#flushWrites();
    this.#closed = true;
    // A burst on the thread pool still writes to the fd: wait for it (the rest then goes synchronously).
    if (this.#wInFlight !== undefined) await new Promise<void>((resolve) => (this.#wIdle = resolve));
    this.#wIdle = undefined;
    for (const cidr of [...this.#routes.keys()]) await this.delRoute(cidr);
    for (const rule of this.#rulesInstalled) {
      await ip(rule.map((a) => (a === "add" ? "del" : a)), { allowFailure: true });
    }
    this.#rulesInstalled = [];
    this.tableLock?.close();
    this.tableLock = undefined;
    // The poll thread still references the fd: close only once it has returned, so the fd
    // number cannot be reused under it.
    if (this.#pollInFlight !== undefined) await this.#pollInFlight;
    this.#watch?.close();
    this.#watch = undefined;
    this.#libc.close(this.#fd);
  }
}
