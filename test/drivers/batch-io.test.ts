import dgram from "node:dgram";
import { once } from "node:events";
import fc from "fast-check";
import koffi from "koffi";
import { afterEach, describe, expect, it } from "vitest";
import { loadNativeAddon, nativeReadableWatcher, type ReadableWatcher } from "../../src/crypto/native/index.js";
import {
  decodeSockaddr,
  encodeSockaddr,
  nativeBatchIo,
  SEND_NOT_ATTEMPTED,
  SEND_RESERVE,
  SEND_STRIDE,
  SOCKADDR_SLOT,
  UdpReceiveBatch,
  UdpSendBatch,
  udpSocketFd,
  type NativeBatchIo,
} from "../../src/drivers/batch-io.js";
import { type UdpDriver } from "../../src/drivers/udp.js";
import { openUdpOnFreePorts } from "../support/udp-driver.js";

/**
 * native/batch_io.c through src/drivers/batch-io.ts. A non-blocking AF_UNIX SOCK_DGRAM
 * socketpair stands in for the TUN fd (like TUN, one read = one whole packet, EAGAIN when
 * empty); UDP runs over loopback sockets on ephemeral ports, as test/drivers/udp.test.ts does.
 * The addon is built by `npm ci` (binding.gyp); these tests need it.
 */

const addon = loadNativeAddon();
const io = nativeBatchIo(addon);

function watcher(): ReadableWatcher {
  const w = nativeReadableWatcher(addon);
  if (w === undefined) throw new Error("the native addon was not built");
  return w;
}

function batchIo(): NativeBatchIo {
  if (io === undefined) throw new Error("the native addon (build/Release/tsipsec_native.node) was not built: run `npm ci` or `npx node-gyp rebuild`");
  return io;
}

const lib = koffi.load("libc.so.6");
const socketpair = lib.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)");
const socketFn = lib.func("int socket(int domain, int type, int protocol)");
const bindFn = lib.func("int bind(int fd, const void *addr, unsigned int len)");
const getsockname = lib.func("int getsockname(int fd, _Out_ void *addr, _Inout_ unsigned int *len)");
const closeFn = lib.func("int close(int fd)");
const AF_UNIX = 1;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const EBADF = 9;
const EINVAL = 22;

const fds: number[] = [];
const sockets: dgram.Socket[] = [];
const receivers: UdpReceiveBatch[] = [];
let driver: UdpDriver | undefined;

afterEach(async () => {
  for (const r of receivers.splice(0)) r.close();
  for (const fd of fds.splice(0)) closeFn(fd);
  for (const s of sockets.splice(0)) s.close();
  await driver?.close();
  driver = undefined;
});

/** A packet-preserving non-blocking fd pair: [a, b]. */
function packetPair(): [number, number] {
  const sv = [0, 0];
  expect(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv)).toBe(0);
  const [a, b] = sv as [number, number];
  fds.push(a, b);
  return [a, b];
}

function packet(n: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (n * 31 + i) & 0xff);
}

/** Packs packets into one buffer with an (offset, length) descriptor, as the TUN write queue does. */
function pack(packets: Uint8Array[]): { buf: Uint8Array; desc: Int32Array } {
  const buf = new Uint8Array(packets.reduce((s, p) => s + p.length + 8, 0));
  const desc = new Int32Array(2 * packets.length);
  let off = 0;
  packets.forEach((p, i) => {
    buf.set(p, off);
    desc[2 * i] = off;
    desc[2 * i + 1] = p.length;
    off += p.length + 8;
  });
  return { buf, desc };
}

async function udpSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

function collect(s: dgram.Socket, count: number): Promise<Array<{ msg: Buffer; port: number }>> {
  const got: Array<{ msg: Buffer; port: number }> = [];
  return new Promise((resolve) => {
    s.on("message", (msg, rinfo) => {
      got.push({ msg, port: rinfo.port });
      if (got.length === count) resolve(got);
    });
  });
}

describe("sockaddr slots (struct sockaddr_in / sockaddr_in6, host layout)", () => {
  it("round-trips IPv4 and IPv6 addresses and ports", () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join("."));
    const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.nat(0xffff), (address, port) => {
        const slot = new Uint8Array(SOCKADDR_SLOT + 8);
        expect(encodeSockaddr(address, port, slot, 8)).toBe(true);
        const back = decodeSockaddr(slot, 8);
        expect(back?.port).toBe(port);
        // Text may be canonicalised (IPv6 zero compression): compare by re-encoding.
        const again = new Uint8Array(SOCKADDR_SLOT);
        expect(encodeSockaddr(back?.address ?? "", port, again)).toBe(true);
        expect(again).toEqual(slot.subarray(8));
      }),
    );
  });

  it("lays out sockaddr_in as the kernel expects: AF_INET, port in network order, address", () => {
    const slot = new Uint8Array(SOCKADDR_SLOT);
    encodeSockaddr("192.0.2.1", 4500, slot);
    expect([...slot.subarray(0, 8)]).toEqual([2, 0, 0x11, 0x94, 192, 0, 2, 1]);
  });

  it("refuses text that is not a plain address (zone, name), so the caller falls back", () => {
    const slot = new Uint8Array(SOCKADDR_SLOT);
    expect(encodeSockaddr("fe80::1%lo", 1, slot)).toBe(false);
    expect(encodeSockaddr("gw-b.example", 1, slot)).toBe(false);
    expect(decodeSockaddr(new Uint8Array(SOCKADDR_SLOT))).toBeUndefined();
  });
});

describe("tunReadBatch / tunWriteBatch (one crossing per burst, packet boundaries kept)", () => {
  it("writes a batch and reads it back whole, packed 8-byte aligned, then reports 0 at EAGAIN", () => {
    const [a, b] = packetPair();
    const packets = [packet(1, 60), packet(2, 1400), packet(3, 1), packet(4, 577)];
    const { buf, desc } = pack(packets);
    expect(batchIo().tunWriteBatch(a, buf, desc, packets.length)).toBe(4);
    const rbuf = new Uint8Array(8 * 2048);
    const rdesc = new Int32Array(2 * 16);
    const n = batchIo().tunReadBatch(b, rbuf, rdesc, 16, 2048);
    expect(n).toBe(4);
    for (let i = 0; i < n; i++) {
      const off = rdesc[2 * i] ?? -1;
      expect(off % 8).toBe(0);
      expect(rbuf.subarray(off, off + (rdesc[2 * i + 1] ?? 0))).toEqual(packets[i]);
    }
    expect(batchIo().tunReadBatch(b, rbuf, rdesc, 16, 2048)).toBe(0);
  });

  it("stops at maxPackets and when less than maxPacketBytes of room is left; the rest stays queued", () => {
    const [a, b] = packetPair();
    const packets = Array.from({ length: 10 }, (_, i) => packet(i, 100));
    const { buf, desc } = pack(packets);
    expect(batchIo().tunWriteBatch(a, buf, desc, 10)).toBe(10);
    const rdesc = new Int32Array(2 * 16);
    expect(batchIo().tunReadBatch(b, new Uint8Array(4096), rdesc, 3, 200)).toBe(3);
    // 104 bytes per aligned packet: after 2 packets 4096 - 208 < 3900 bytes of room are left.
    expect(batchIo().tunReadBatch(b, new Uint8Array(4096), rdesc, 16, 3900)).toBe(2);
    const rbuf = new Uint8Array(4096);
    expect(batchIo().tunReadBatch(b, rbuf, rdesc, 16, 200)).toBe(5);
    expect(rbuf.subarray(rdesc[0] ?? 0, (rdesc[0] ?? 0) + 100)).toEqual(packets[5]);
  });

  it("returns -errno when the first read fails (EBADF), and counts only whole writes", () => {
    const rdesc = new Int32Array(2);
    expect(batchIo().tunReadBatch(-1, new Uint8Array(64), rdesc, 1, 64)).toBe(-EBADF);
    const [a, b] = packetPair();
    const { buf, desc } = pack([packet(1, 10), packet(2, 10)]);
    desc[2] = buf.length; // second packet points past the buffer: skipped, not written
    expect(batchIo().tunWriteBatch(a, buf, desc, 2)).toBe(1);
    expect(batchIo().tunReadBatch(b, new Uint8Array(64), rdesc, 1, 64)).toBe(1);
    expect(batchIo().tunWriteBatch(-1, buf, desc, 1)).toBe(0);
  });

  it("rejects arguments of the wrong type (caller bugs) with TypeError", () => {
    const bad = batchIo() as unknown as { tunReadBatch(...a: unknown[]): number; tunWriteBatch(...a: unknown[]): number };
    expect(() => bad.tunReadBatch(0, new Uint8Array(8), new Uint32Array(2), 1, 8)).toThrow(TypeError);
    expect(() => bad.tunWriteBatch(0, new Uint8Array(8), new Int32Array(2), 5)).toThrow(TypeError);
  });
});

describe("udpSendBatch (sendmmsg) and udpRecvBatch (recvmmsg), RFC 3948 ESP-in-UDP datagrams", () => {
  it("sends a batch to several destinations in order, per-datagram status 0", async () => {
    const from = await udpSocket();
    const to1 = await udpSocket();
    const to2 = await udpSocket();
    const fd = udpSocketFd(from);
    expect(fd).toBeGreaterThanOrEqual(0);
    const packets = Array.from({ length: 40 }, (_, i) => packet(i, 100 + i));
    const { buf, desc: pairs } = pack(packets);
    const desc = new Int32Array(packets.length * SEND_STRIDE);
    const addrs = new Uint8Array(2 * SOCKADDR_SLOT);
    encodeSockaddr("127.0.0.1", to1.address().port, addrs, 0);
    encodeSockaddr("127.0.0.1", to2.address().port, addrs, SOCKADDR_SLOT);
    packets.forEach((_, i) => {
      desc[i * SEND_STRIDE] = pairs[2 * i] ?? 0;
      desc[i * SEND_STRIDE + 1] = pairs[2 * i + 1] ?? 0;
      desc[i * SEND_STRIDE + 2] = i % 2;
    });
    const got1 = collect(to1, 20);
    const got2 = collect(to2, 20);
    expect(batchIo().udpSendBatch(fd ?? -1, buf, desc, packets.length, addrs)).toBe(40);
    for (let i = 0; i < 40; i++) expect(desc[i * SEND_STRIDE + 3]).toBe(0);
    const [r1, r2] = await Promise.all([got1, got2]);
    expect(r1.map((r) => Uint8Array.from(r.msg))).toEqual(packets.filter((_, i) => i % 2 === 0));
    expect(r2.map((r) => Uint8Array.from(r.msg))).toEqual(packets.filter((_, i) => i % 2 === 1));
    expect(r1[0]?.port).toBe(from.address().port);
  });

  it("marks a datagram with a bad address slot -EINVAL and still sends the others", async () => {
    const from = await udpSocket();
    const to = await udpSocket();
    const { buf, desc: pairs } = pack([packet(1, 20), packet(2, 20), packet(3, 20)]);
    const desc = new Int32Array(3 * SEND_STRIDE);
    const addrs = new Uint8Array(SOCKADDR_SLOT);
    encodeSockaddr("127.0.0.1", to.address().port, addrs);
    for (let i = 0; i < 3; i++) {
      desc[i * SEND_STRIDE] = pairs[2 * i] ?? 0;
      desc[i * SEND_STRIDE + 1] = pairs[2 * i + 1] ?? 0;
      desc[i * SEND_STRIDE + 2] = i === 1 ? 7 : 0; // slot 7 does not exist
    }
    const got = collect(to, 2);
    expect(batchIo().udpSendBatch(udpSocketFd(from) ?? -1, buf, desc, 3, addrs)).toBe(2);
    expect([desc[3], desc[7], desc[11]]).toEqual([0, -EINVAL, 0]);
    expect((await got).map((r) => Uint8Array.from(r.msg))).toEqual([packet(1, 20), packet(3, 20)]);
  });

  it("receives a burst with one recvmmsg: lengths, source addresses, truncation flag; 0 when empty", async () => {
    // A socket libuv does not read (dgram would race us for the datagrams): plain socket(2).
    const fd = Number(socketFn(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    expect(fd).toBeGreaterThanOrEqual(0);
    fds.push(fd);
    const sa = new Uint8Array(SOCKADDR_SLOT);
    encodeSockaddr("127.0.0.1", 0, sa);
    expect(bindFn(fd, sa, 16)).toBe(0);
    const name = new Uint8Array(SOCKADDR_SLOT);
    expect(getsockname(fd, name, [16])).toBe(0);
    const port = decodeSockaddr(name)?.port ?? 0;
    const sender = await udpSocket();
    const sizes = [10, 300, 1400, 2000];
    for (const [i, size] of sizes.entries()) sender.send(packet(i, size), port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 50));
    const slot = 1500;
    const buf = new Uint8Array(8 * slot);
    const desc = new Int32Array(16);
    const addrs = new Uint8Array(8 * SOCKADDR_SLOT);
    const n = batchIo().udpRecvBatch(fd, buf, slot, desc, addrs, 8);
    expect(n).toBe(4);
    for (let i = 0; i < 3; i++) {
      expect(desc[2 * i]).toBe(sizes[i]);
      expect(desc[2 * i + 1]).toBe(0);
      expect(buf.subarray(i * slot, i * slot + (sizes[i] ?? 0))).toEqual(packet(i, sizes[i] ?? 0));
      expect(decodeSockaddr(addrs, i * SOCKADDR_SLOT)).toEqual({ address: "127.0.0.1", port: sender.address().port });
    }
    expect(desc[7]).toBe(1); // 2000 bytes into a 1500-byte slot: MSG_TRUNC
    expect(batchIo().udpRecvBatch(fd, buf, slot, desc, addrs, 8)).toBe(0);
    expect(batchIo().udpRecvBatch(-1, buf, slot, desc, addrs, 8)).toBe(-EBADF);
  });
});

describe("udpSendBatch with UDP GSO (UDP_SEGMENT): the receiver sees the same datagrams", () => {
  it("splits runs of equal-size datagrams per destination back into the original datagrams, in order", async () => {
    const from = await udpSocket();
    const to1 = await udpSocket();
    const to2 = await udpSocket();
    // Runs: 10 x 1200 + a shorter 500 (one GSO message), 3 x 1200 to another peer, then sizes that grow.
    const plan: Array<{ size: number; slot: number }> = [
      ...Array.from({ length: 10 }, () => ({ size: 1200, slot: 0 })),
      { size: 500, slot: 0 },
      ...Array.from({ length: 3 }, () => ({ size: 1200, slot: 1 })),
      { size: 100, slot: 0 },
      { size: 200, slot: 0 },
      { size: 200, slot: 0 },
    ];
    const packets = plan.map((p, i) => packet(i, p.size));
    const { buf, desc: pairs } = pack(packets);
    const desc = new Int32Array(packets.length * SEND_STRIDE);
    const addrs = new Uint8Array(2 * SOCKADDR_SLOT);
    encodeSockaddr("127.0.0.1", to1.address().port, addrs, 0);
    encodeSockaddr("127.0.0.1", to2.address().port, addrs, SOCKADDR_SLOT);
    plan.forEach((p, i) => {
      desc[i * SEND_STRIDE] = pairs[2 * i] ?? 0;
      desc[i * SEND_STRIDE + 1] = pairs[2 * i + 1] ?? 0;
      desc[i * SEND_STRIDE + 2] = p.slot;
    });
    const got1 = collect(to1, 14);
    const got2 = collect(to2, 3);
    expect(batchIo().udpSendBatch(udpSocketFd(from) ?? -1, buf, desc, packets.length, addrs, 1)).toBe(packets.length);
    for (let i = 0; i < packets.length; i++) expect(desc[i * SEND_STRIDE + 3]).toBe(0);
    const [r1, r2] = await Promise.all([got1, got2]);
    expect(r1.map((r) => Uint8Array.from(r.msg))).toEqual(packets.filter((_, i) => plan[i]?.slot === 0));
    expect(r2.map((r) => Uint8Array.from(r.msg))).toEqual(packets.filter((_, i) => plan[i]?.slot === 1));
  });
});

describe("UdpSendBatch (one sendmmsg per callback)", () => {
  it("queues datagrams and sends them all in one call when the current callback returns", async () => {
    const from = await udpSocket();
    const to = await udpSocket();
    const fallback: Uint8Array[] = [];
    const batch = new UdpSendBatch(batchIo(), udpSocketFd(from) ?? -1, (b) => fallback.push(b), () => undefined);
    const packets = Array.from({ length: 30 }, (_, i) => packet(i, 1300));
    const got = collect(to, 30);
    for (const p of packets) batch.push(p, to.address().port, "127.0.0.1");
    expect(batch.pending).toBe(30);
    await Promise.resolve(); // the microtask flush
    expect(batch.pending).toBe(0);
    expect(batch.calls).toBe(1);
    expect((await got).map((r) => Uint8Array.from(r.msg))).toEqual(packets);
    expect(fallback).toEqual([]);
  });

  it("flushes when full (maxPackets) and keeps order across flushes", async () => {
    const from = await udpSocket();
    const to = await udpSocket();
    const batch = new UdpSendBatch(batchIo(), udpSocketFd(from) ?? -1, () => undefined, () => undefined, { maxPackets: 4 });
    const packets = Array.from({ length: 10 }, (_, i) => packet(i, 50));
    const got = collect(to, 10);
    for (const p of packets) batch.push(p, to.address().port, "127.0.0.1");
    expect(batch.calls).toBe(2);
    expect(batch.pending).toBe(2);
    expect((await got).map((r) => Uint8Array.from(r.msg))).toEqual(packets);
    expect(batch.calls).toBe(3);
  });

  it("hands datagrams it cannot batch (no plain address, too large) to the fallback", () => {
    const fallback: Array<{ len: number; address: string }> = [];
    const batch = new UdpSendBatch(batchIo(), -1, (b, _port, address) => fallback.push({ len: b.length, address }), () => undefined, { bufferBytes: 4096 });
    batch.push(packet(1, 10), 4500, "fe80::1%lo");
    batch.push(packet(2, 2000), 4500, "127.0.0.1");
    expect(fallback).toEqual([
      { len: 10, address: "fe80::1%lo" },
      { len: 2000, address: "127.0.0.1" },
    ]);
    expect(batch.pending).toBe(0);
  });

  it("reports datagrams the kernel refused to onError with their errno", () => {
    const errors: number[] = [];
    const batch = new UdpSendBatch(batchIo(), -1, () => undefined, (e) => errors.push(e));
    batch.push(packet(1, 10), 4500, "127.0.0.1");
    batch.push(packet(2, 10), 4500, "127.0.0.1");
    batch.flush();
    expect(errors).toEqual([EBADF, EBADF]);
  });

  it("the not-attempted status sends through the fallback (a copy: the buffer is reused)", () => {
    expect(SEND_NOT_ATTEMPTED).toBe(1);
    const fake: NativeBatchIo = {
      ...batchIo(),
      udpSendBatch: (_fd, _buf, desc, count) => {
        for (let i = 0; i < count; i++) desc[i * SEND_STRIDE + 3] = i === 0 ? 0 : SEND_NOT_ATTEMPTED;
        return 1;
      },
    };
    const fallback: Array<{ bytes: Uint8Array; port: number; address: string }> = [];
    const batch = new UdpSendBatch(fake, 3, (bytes, port, address) => fallback.push({ bytes, port, address }), () => undefined);
    batch.push(packet(1, 10), 4500, "192.0.2.2");
    batch.push(packet(2, 12), 4501, "192.0.2.3");
    batch.flush();
    batch.push(packet(9, 12), 4500, "192.0.2.2"); // reuses the buffer: the copy must not change
    expect(fallback).toEqual([{ bytes: packet(2, 12), port: 4501, address: "192.0.2.3" }]);
  });
});

describe("UdpSendBatch with async (sends on the thread pool, one burst in flight, in order)", () => {
  it("delivers every datagram in order over loopback, large bursts through the thread pool", async () => {
    const from = await udpSocket();
    const to = await udpSocket();
    const batch = new UdpSendBatch(batchIo(), udpSocketFd(from) ?? -1, () => undefined, () => undefined, { async: true, gso: true });
    const packets = Array.from({ length: 150 }, (_, i) => packet(i, 200));
    const got = collect(to, 150);
    for (const p of packets) batch.push(p, to.address().port, "127.0.0.1");
    expect((await got).map((r) => Uint8Array.from(r.msg))).toEqual(packets);
    expect(batch.asyncCalls).toBeGreaterThan(0);
    // The last burst's completion may run after its datagrams arrived: then nothing is pending.
    for (let i = 0; i < 200 && batch.pending > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(batch.pending).toBe(0);
  });

  it("queues bursts behind the one in flight, reports full with SEND_RESERVE spares left, and drains in order", () => {
    const jobs: Array<{ first: number; count: number; done: (sent: number) => void }> = [];
    const syncSends: number[] = [];
    const fake: NativeBatchIo = {
      ...batchIo(),
      udpSendBatch: (_fd, buf, desc, count) => {
        for (let i = 0; i < count; i++) desc[i * SEND_STRIDE + 3] = 0;
        syncSends.push(buf[desc[0] ?? 0] ?? -1);
        return count;
      },
      udpSendBatchAsync: (_fd, buf, desc, count, _addrs, _gso, done) => {
        for (let i = 0; i < count; i++) desc[i * SEND_STRIDE + 3] = 0;
        jobs.push({ first: buf[desc[0] ?? 0] ?? -1, count, done });
      },
    };
    let drains = 0;
    const batch = new UdpSendBatch(fake, 3, () => undefined, () => undefined, { async: true, maxPackets: 8, queueDepth: 8, onDrain: () => drains++ });
    const push = (id: number): void => batch.push(Uint8Array.of(id, 1, 2, 3), 4500, "192.0.2.2");
    for (let i = 0; i < 8; i++) push(i); // fills the first burst
    push(8); // rotates: the full burst leaves for the thread pool
    expect(jobs.map((j) => [j.first, j.count])).toEqual([[0, 8]]);
    for (let i = 9; i < 8 + 8 * 3; i++) push(i);
    batch.flush();
    expect(jobs.length).toBe(1); // one in flight at a time; the rest wait in order
    expect(batch.full).toBe(true); // 8 spares - 3 queued < SEND_RESERVE + 1
    expect(SEND_RESERVE).toBe(5);
    jobs[0]?.done(8);
    expect(drains).toBe(1);
    expect(jobs.map((j) => j.first)).toEqual([0, 8]);
    jobs[1]?.done(8);
    jobs[2]?.done(8);
    jobs[3]?.done(8);
    expect(jobs.map((j) => j.first)).toEqual([0, 8, 16, 24]);
    expect(batch.pending).toBe(0);
    expect(batch.full).toBe(false);
    // A small burst with nothing in flight goes at once, on the event loop (no thread hop).
    push(99);
    batch.flush();
    expect(syncSends).toEqual([99]);
    expect(jobs.length).toBe(4);
  });
});

describe("the UDP driver with batchIo (RFC 3948 s2.1 ESP-in-UDP sends via sendmmsg)", () => {
  it("sends ESP from the NAT-T port in one batch per callback; IKE there too, behind it", async () => {
    const d = await openUdpOnFreePorts({ onIke: () => undefined, onEsp: () => undefined }, { addresses: ["127.0.0.1"], batchIo: batchIo() });
    driver = d;
    const p = await udpSocket();
    const to = { address: "127.0.0.1", port: p.address().port };
    const esp = Array.from({ length: 20 }, (_, i) => packet(i, 200));
    const got = collect(p, 21);
    for (const e of esp) d.sendEsp(to, e);
    d.sendIke({ address: "127.0.0.1", port: d.natTPort }, to, packet(99, 28));
    const all = await got;
    expect(d.counters.espOut).toBe(20);
    expect(all.every((r) => r.port === d.natTPort)).toBe(true);
    const espSeen = all.filter((r) => r.msg.length === 200).map((r) => Uint8Array.from(r.msg));
    expect(espSeen).toEqual(esp);
    // The IKE message carries the 4-byte Non-ESP Marker (RFC 3948 s2.2).
    expect(all.find((r) => r.msg.length === 32)?.msg.subarray(0, 4)).toEqual(Buffer.alloc(4));
  });

  it("with asyncSend, IKE on the NAT-T port never overtakes ESP queued before it (a rekey's DELETE after the old SA's last packets)", async () => {
    // RFC 7296 s2.8: after a Child SA rekey the peer deletes the old inbound SA when the DELETE
    // arrives. ESP sealed with that SA and still queued for the thread pool must reach the wire
    // first, or the peer drops it as NO_SA (seen: ~300 drops per 8 rekeys under TCP load).
    const d = await openUdpOnFreePorts({ onIke: () => undefined, onEsp: () => undefined }, { addresses: ["127.0.0.1"], batchIo: batchIo(), asyncSend: true });
    driver = d;
    const p = await udpSocket();
    const to = { address: "127.0.0.1", port: p.address().port };
    const esp = Array.from({ length: 150 }, (_, i) => packet(i, 200));
    const got = collect(p, 151);
    for (const e of esp) d.sendEsp(to, e);
    d.sendIke({ address: "127.0.0.1", port: d.natTPort }, to, packet(99, 28));
    const all = await got;
    expect(all.map((r) => r.msg.length)).toEqual([...esp.map(() => 200), 32]);
    expect(all.slice(0, 150).map((r) => Uint8Array.from(r.msg))).toEqual(esp);
    expect(all[150]?.msg.subarray(0, 4)).toEqual(Buffer.alloc(4));
    expect(d.counters.ikeOut).toBe(1);
  });
});

describe("UdpReceiveBatch (recvmmsg on a dgram socket's duplicate fd)", () => {
  it("takes over receiving: every datagram arrives once, in order, with its source; none through 'message'", async () => {
    const rx = await udpSocket();
    const tx = await udpSocket();
    const viaDgram: Buffer[] = [];
    rx.on("message", (m) => viaDgram.push(m));
    const got: Array<{ bytes: Uint8Array; remote: { address: string; port: number } }> = [];
    let done: (() => void) | undefined;
    const r = UdpReceiveBatch.start(batchIo(), rx, watcher(), (bytes, remote) => {
      got.push({ bytes: bytes.slice(), remote });
      if (got.length === 100) done?.();
    }, () => undefined);
    expect(r).toBeDefined();
    if (r !== undefined) receivers.push(r);
    const all = new Promise<void>((res) => (done = res));
    const packets = Array.from({ length: 100 }, (_, i) => packet(i, 64 + i));
    for (const p of packets) tx.send(p, rx.address().port, "127.0.0.1");
    await all;
    expect(got.map((g) => g.bytes)).toEqual(packets);
    expect(got.every((g) => g.remote.address === "127.0.0.1" && g.remote.port === tx.address().port)).toBe(true);
    // One endpoint object while the source stays the same (no allocation per datagram).
    expect(new Set(got.map((g) => g.remote)).size).toBe(1);
    expect(viaDgram).toEqual([]);
    expect(r?.calls).toBeLessThanOrEqual(100);
  });

  it("with UDP GRO, a peer's GSO burst arrives as one read and is split back into its datagrams, in order", async () => {
    const rx = await udpSocket();
    const tx = await udpSocket();
    const got: Uint8Array[] = [];
    let done: (() => void) | undefined;
    const all = new Promise<void>((res) => (done = res));
    // 20 x 1200 + a shorter 300 in one UDP_SEGMENT message, then 5 datagrams of other sizes.
    const packets = [...Array.from({ length: 20 }, (_, i) => packet(i, 1200)), packet(20, 300), ...Array.from({ length: 5 }, (_, i) => packet(30 + i, 100 + 50 * i))];
    const r = UdpReceiveBatch.start(batchIo(), rx, watcher(), (bytes) => {
      got.push(bytes.slice());
      if (got.length === packets.length) done?.();
    }, () => undefined, { gro: true });
    expect(r).toBeDefined();
    if (r !== undefined) receivers.push(r);
    expect(r?.gro).toBe(true);
    const { buf, desc: pairs } = pack(packets);
    const desc = new Int32Array(packets.length * SEND_STRIDE);
    const addrs = new Uint8Array(SOCKADDR_SLOT);
    encodeSockaddr("127.0.0.1", rx.address().port, addrs, 0);
    packets.forEach((_, i) => {
      desc[i * SEND_STRIDE] = pairs[2 * i] ?? 0;
      desc[i * SEND_STRIDE + 1] = pairs[2 * i + 1] ?? 0;
      desc[i * SEND_STRIDE + 2] = 0;
    });
    expect(batchIo().udpSendBatch(udpSocketFd(tx) ?? -1, buf, desc, packets.length, addrs, 1)).toBe(packets.length);
    await all;
    expect(got).toEqual(packets);
    // The 21-datagram GSO message came up as one coalesced slot (loopback keeps it whole).
    expect(r?.groSlots).toBeGreaterThanOrEqual(1);
    expect(r?.groDatagrams).toBeGreaterThanOrEqual(21);
  });

  it("onBatchEnd follows each recvmmsg: the views handed out in that call are still intact there", async () => {
    const rx = await udpSocket();
    const tx = await udpSocket();
    let pending: Uint8Array[] = [];
    const atBatchEnd: Uint8Array[] = [];
    let batches = 0;
    let done: (() => void) | undefined;
    const all = new Promise<void>((res) => (done = res));
    const packets = Array.from({ length: 50 }, (_, i) => packet(i, 100 + i));
    const r = UdpReceiveBatch.start(batchIo(), rx, watcher(), (bytes) => {
      pending.push(bytes); // a view into the receive buffer, not a copy
    }, () => undefined, {
      slots: 8,
      onBatchEnd: () => {
        batches++;
        for (const v of pending) atBatchEnd.push(v.slice());
        pending = [];
        if (atBatchEnd.length === packets.length) done?.();
      },
    });
    if (r !== undefined) receivers.push(r);
    for (const p of packets) tx.send(p, rx.address().port, "127.0.0.1");
    await all;
    expect(atBatchEnd).toEqual(packets);
    expect(batches).toBe(r?.calls);
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(packets.length / 8));
  });

  it("reports datagrams longer than a slot as truncated instead of delivering a cut packet", async () => {
    const rx = await udpSocket();
    const tx = await udpSocket();
    const got: number[] = [];
    let truncated = 0;
    let done: (() => void) | undefined;
    const finished = new Promise<void>((res) => (done = res));
    const r = UdpReceiveBatch.start(batchIo(), rx, watcher(), (bytes) => {
      got.push(bytes.length);
      if (bytes.length === 10) done?.();
    }, () => truncated++, { slotBytes: 512, slots: 4 });
    if (r !== undefined) receivers.push(r);
    tx.send(packet(1, 600), rx.address().port, "127.0.0.1");
    tx.send(packet(2, 10), rx.address().port, "127.0.0.1");
    await finished;
    expect(got).toEqual([10]);
    expect(truncated).toBe(1);
  });

  it("the UDP driver receives ESP and IKE on the NAT-T port through it (RFC 3948 s2.2 demux)", async () => {
    const seen = { esp: [] as Uint8Array[], ike: [] as Uint8Array[] };
    let done: (() => void) | undefined;
    const finished = new Promise<void>((res) => (done = res));
    const d = await openUdpOnFreePorts({
            onIke: (dg) => {
              seen.ike.push(dg.bytes);
              done?.();
            },
            onEsp: (p) => void seen.esp.push(Uint8Array.from(p)),
          }, { addresses: ["127.0.0.1"], batchIo: batchIo(), watchReadable: watcher() });
    driver = d;
    const p = await udpSocket();
    const esp = Array.from({ length: 50 }, (_, i) => Uint8Array.from([0, 0, 1, i + 1, ...packet(i, 100)]));
    for (const e of esp) p.send(e, d.natTPort, "127.0.0.1");
    p.send(Uint8Array.of(0xff), d.natTPort, "127.0.0.1");
    const ike = Uint8Array.from({ length: 28 }, (_, i) => (i < 8 ? i + 1 : 0));
    p.send(Uint8Array.from([0, 0, 0, 0, ...ike]), d.natTPort, "127.0.0.1");
    await finished;
    expect(seen.esp).toEqual(esp);
    expect(d.counters.espIn).toBe(50);
    expect(d.counters.keepalivesIn).toBe(1);
    // IKE is copied out of the reused batch buffer: the engine may keep it.
    expect(seen.ike).toEqual([ike]);
    expect(seen.ike[0]?.buffer.byteLength).toBe(28);
  });
});
