import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadNativeAddon } from "../../src/crypto/native/index.js";
import { nativeBatchIo, VNET_FRAME_MAX, VNET_HDR_LEN, type NativeBatchIo } from "../../src/drivers/batch-io.js";
import { foldChecksum, onesComplementSum, setIpv4HeaderChecksum } from "../../src/wire/ip.js";

/**
 * native/tun_offload.c through the addon's test entry points (vnetSplit, vnetCoalesce): the TSO
 * split of frames the kernel hands a TUN with IFF_VNET_HDR + TUNSETOFFLOAD, and the GRO-style
 * coalescing of decrypted segments into GSO frames for the TUN write. The expected packets are
 * built here from the RFCs (RFC 791/8200 headers, RFC 9293 TCP, RFC 1071 checksums), not by the C
 * code. A real TUN carrying TCP through both paths: test/netns (every TCP transfer) and the
 * offload assertions in test/netns/offload.test.ts.
 */

const io = nativeBatchIo(loadNativeAddon());
function batchIo(): NativeBatchIo {
  if (io === undefined) throw new Error("the native addon (build/Release/tsipsec_native.node) was not built: run `npm ci`");
  return io;
}

const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const GSO_NONE = 0;
const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const CWR = 0x80;

interface Flow {
  v6: boolean;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  ttl: number;
  tos: number;
  /** TCP options (a multiple of 4 bytes), e.g. timestamps. */
  options: Uint8Array;
  ack: number;
  window: number;
}

/** Sum of the TCP pseudo-header (RFC 9293 s3.1, RFC 8200 s8.1) for `tcpLength` bytes. */
function pseudoSum(f: Flow, tcpLength: number): number {
  let s = onesComplementSum(f.src, 0, f.src.length) + onesComplementSum(f.dst, 0, f.dst.length);
  s += 6 + (tcpLength >>> 16) + (tcpLength & 0xffff);
  return s;
}

/** An IPv4/IPv6 TCP segment with correct lengths and checksums. */
function segment(f: Flow, seq: number, flags: number, payload: Uint8Array, id: number): Uint8Array {
  const iphl = f.v6 ? 40 : 20;
  const thl = 20 + f.options.length;
  const p = new Uint8Array(iphl + thl + payload.length);
  const v = new DataView(p.buffer);
  if (f.v6) {
    v.setUint32(0, (6 << 28) | (f.tos << 20));
    v.setUint16(4, thl + payload.length);
    p[6] = 6;
    p[7] = f.ttl;
    p.set(f.src, 8);
    p.set(f.dst, 24);
  } else {
    p[0] = 0x45;
    p[1] = f.tos;
    v.setUint16(2, p.length);
    v.setUint16(4, id & 0xffff);
    v.setUint16(6, 0x4000); // DF
    p[8] = f.ttl;
    p[9] = 6;
    p.set(f.src, 12);
    p.set(f.dst, 16);
    setIpv4HeaderChecksum(p);
  }
  v.setUint16(iphl, f.sport);
  v.setUint16(iphl + 2, f.dport);
  v.setUint32(iphl + 4, seq >>> 0);
  v.setUint32(iphl + 8, f.ack >>> 0);
  p[iphl + 12] = (thl / 4) << 4;
  p[iphl + 13] = flags;
  v.setUint16(iphl + 14, f.window);
  p.set(f.options, iphl + 20);
  p.set(payload, iphl + thl);
  v.setUint16(iphl + 16, foldChecksum(onesComplementSum(p, iphl, p.length, pseudoSum(f, thl + payload.length))));
  return p;
}

/** The frame the kernel reads out of a TSO-enabled TUN for a run of segments (one big segment, partial checksum). */
function tsoFrame(f: Flow, seq: number, lastFlags: number, payloads: Uint8Array[], id: number): Uint8Array {
  const all = Buffer.concat(payloads);
  const big = segment(f, seq, lastFlags, all, id);
  const iphl = f.v6 ? 40 : 20;
  const thl = 20 + f.options.length;
  // CHECKSUM_PARTIAL: the TCP checksum field holds the folded pseudo-header sum only.
  const ps = ~foldChecksum(pseudoSum(f, thl + all.length)) & 0xffff;
  new DataView(big.buffer).setUint16(iphl + 16, ps);
  return frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: f.v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: iphl + thl, gsoSize: payloads[0]?.length ?? 0, csumStart: iphl, csumOffset: 16 }, big);
}

interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

function frame(h: VnetHdr, packet: Uint8Array): Uint8Array {
  const f = new Uint8Array(VNET_HDR_LEN + packet.length);
  const v = new DataView(f.buffer);
  f[0] = h.flags;
  f[1] = h.gsoType;
  v.setUint16(2, h.hdrLen, true);
  v.setUint16(4, h.gsoSize, true);
  v.setUint16(6, h.csumStart, true);
  v.setUint16(8, h.csumOffset, true);
  f.set(packet, VNET_HDR_LEN);
  return f;
}

function header(f: Uint8Array): VnetHdr {
  const v = new DataView(f.buffer, f.byteOffset);
  return { flags: f[0] ?? 0, gsoType: f[1] ?? 0, hdrLen: v.getUint16(2, true), gsoSize: v.getUint16(4, true), csumStart: v.getUint16(6, true), csumOffset: v.getUint16(8, true) };
}

/** vnetSplit until done, with an output buffer of `outBytes` (small values force resumption). */
function split(f: Uint8Array, outBytes = 1 << 20): { packets: Uint8Array[]; status: number } {
  const packets: Uint8Array[] = [];
  const state = new Int32Array(2);
  for (let rounds = 0; rounds < 10_000; rounds++) {
    const out = new Uint8Array(outBytes);
    const desc = new Int32Array(512);
    const n = batchIo().vnetSplit(f, f.length, out, desc, state);
    for (let i = 0; i < n; i++) packets.push(out.slice(desc[2 * i] ?? 0, (desc[2 * i] ?? 0) + (desc[2 * i + 1] ?? 0)));
    if (state[1] !== 0) return { packets, status: state[1] ?? 0 };
    if (n === 0) throw new Error("vnetSplit made no progress with room for a packet");
  }
  throw new Error("vnetSplit did not finish");
}

function coalesce(packets: Uint8Array[]): Array<{ frame: Uint8Array; packets: number }> {
  const total = packets.reduce((s, p) => s + p.length, 0);
  const buf = new Uint8Array(total + 8 * packets.length);
  const desc = new Int32Array(2 * packets.length);
  let off = 0;
  packets.forEach((p, i) => {
    buf.set(p, off);
    desc[2 * i] = off;
    desc[2 * i + 1] = p.length;
    off += p.length + 3; // odd gaps: offsets need no alignment
  });
  const out = new Uint8Array(total + VNET_HDR_LEN * packets.length + 16);
  const odesc = new Int32Array(3 * packets.length + 3);
  const n = batchIo().vnetCoalesce(buf, desc, packets.length, out, odesc);
  return Array.from({ length: n }, (_, k) => ({ frame: out.slice(odesc[3 * k] ?? 0, (odesc[3 * k] ?? 0) + (odesc[3 * k + 1] ?? 0)), packets: odesc[3 * k + 2] ?? 0 }));
}

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const flowArb: fc.Arbitrary<Flow> = fc.boolean().chain((v6) =>
  fc.record({
    v6: fc.constant(v6),
    src: bytes(v6 ? 16 : 4),
    dst: bytes(v6 ? 16 : 4),
    sport: fc.integer({ min: 1, max: 65535 }),
    dport: fc.integer({ min: 1, max: 65535 }),
    ttl: fc.integer({ min: 1, max: 255 }),
    tos: fc.integer({ min: 0, max: 255 }),
    options: fc.constantFrom(new Uint8Array(0), Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9])),
    ack: fc.nat({ max: 0xffffffff }),
    window: fc.integer({ min: 0, max: 65535 }),
  }),
);

/** A run as the sender's TCP makes it: `count` segments of `mss` bytes, the last shorter or equal. */
const runArb = fc.record({
  flow: flowArb,
  mss: fc.integer({ min: 1, max: 1448 }),
  count: fc.integer({ min: 1, max: 70 }),
  lastShort: fc.nat({ max: 1447 }),
  seq: fc.nat({ max: 0xffffffff }),
  id: fc.nat({ max: 0xffff }),
  psh: fc.boolean(),
  seed: fc.nat(),
});

interface Run {
  flow: Flow;
  mss: number;
  count: number;
  lastShort: number;
  seq: number;
  id: number;
  psh: boolean;
  seed: number;
}

function runSegments(r: Run): Uint8Array[] {
  const segs: Uint8Array[] = [];
  let seq = r.seq;
  for (let i = 0; i < r.count; i++) {
    const last = i === r.count - 1;
    const len = last ? Math.max(1, r.mss - (r.lastShort % r.mss)) : r.mss;
    const payload = Uint8Array.from({ length: len }, (_, k) => (r.seed + i * 31 + k) & 0xff);
    segs.push(segment(r.flow, seq, last && r.psh ? ACK | PSH : ACK, payload, r.id + i));
    seq = (seq + len) >>> 0;
  }
  return segs;
}

describe("TSO split of frames read from the TUN (virtio-net header, RFC 9293 segments)", () => {
  it("splits a kernel TSO frame into the segments the sender's stack would have sent", () => {
    fc.assert(
      fc.property(runArb, (r) => {
        const segs = runSegments(r);
        const payloads = segs.map((s) => s.subarray((r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length));
        if ((r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length + payloads.reduce((s, p) => s + p.length, 0) > 65535) return;
        const f = tsoFrame(r.flow, r.seq, r.psh ? ACK | PSH : ACK, payloads, r.id);
        const { packets, status } = split(f);
        expect(status).toBe(1);
        expect(packets.map((p) => Buffer.from(p).toString("hex"))).toEqual(segs.map((s) => Buffer.from(s).toString("hex")));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps FIN and PSH for the last segment and CWR for the first", () => {
    const flow: Flow = { v6: false, src: Uint8Array.from([198, 18, 1, 2]), dst: Uint8Array.from([198, 18, 2, 2]), sport: 40000, dport: 5201, ttl: 64, tos: 0, options: new Uint8Array(0), ack: 7, window: 500 };
    const payloads = [new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(50).fill(3)];
    const { packets } = split(tsoFrame(flow, 1000, ACK | PSH | FIN | CWR, payloads, 1));
    expect(packets.map((p) => p[20 + 13])).toEqual([ACK | CWR, ACK, ACK | PSH | FIN]);
  });

  it("resumes a frame that did not fit the output buffer, segment by segment", () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 1600, max: 9000 }), (r, outBytes) => {
        const segs = runSegments({ ...r, mss: Math.min(r.mss, 1400) });
        const iphl = r.flow.v6 ? 40 : 20;
        const hdrs = iphl + 20 + r.flow.options.length;
        const payloads = segs.map((s) => s.subarray(hdrs));
        if (hdrs + payloads.reduce((s, p) => s + p.length, 0) > 65535) return;
        const { packets } = split(tsoFrame(r.flow, r.seq, r.psh ? ACK | PSH : ACK, payloads, r.id), outBytes);
        expect(packets.length).toBe(segs.length);
        expect(packets.every((p, i) => Buffer.compare(p, segs[i] ?? new Uint8Array()) === 0)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("completes a partial checksum (TUN_F_CSUM) of a frame without GSO: TCP and UDP", () => {
    const flow: Flow = { v6: true, src: new Uint8Array(16).fill(0x20), dst: new Uint8Array(16).fill(0x21), sport: 1, dport: 2, ttl: 9, tos: 0, options: new Uint8Array(0), ack: 0, window: 1 };
    const good = segment(flow, 5, ACK | PSH, Uint8Array.from([1, 2, 3]), 0);
    const partial = good.slice();
    new DataView(partial.buffer).setUint16(40 + 16, ~foldChecksum(pseudoSum(flow, 23)) & 0xffff);
    const { packets } = split(frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 40, csumOffset: 16 }, partial));
    expect(Buffer.from(packets[0] ?? []).toString("hex")).toBe(Buffer.from(good).toString("hex"));

    // UDP (RFC 768): a computed checksum of 0 is sent as 0xffff. The last payload word is chosen
    // so that the sum over pseudo-header, header and payload folds to 0xffff (checksum 0).
    const udp = new Uint8Array(30);
    udp.set([0x45, 0, 0, 30, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 1, 1, 198, 18, 2, 2, 0, 1, 0, 2, 0, 10, 0, 0]);
    setIpv4HeaderChecksum(udp);
    const ps = onesComplementSum(udp, 12, 20) + 17 + 10;
    const without = ~foldChecksum(onesComplementSum(udp, 20, 30, ps)) & 0xffff; // folded sum, last word 0
    new DataView(udp.buffer).setUint16(28, 0xffff - without);
    expect(foldChecksum(onesComplementSum(udp, 20, 30, ps))).toBe(0);
    const partialUdp = udp.slice();
    new DataView(partialUdp.buffer).setUint16(26, ~foldChecksum(ps) & 0xffff);
    const out = split(frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 20, csumOffset: 6 }, partialUdp)).packets[0] ?? new Uint8Array();
    expect(new DataView(out.buffer).getUint16(26)).toBe(0xffff);
  });

  it("sends a computed UDP checksum of 0 as 0xffff behind IPv6 extension headers too", () => {
    // The 0 -> 0xffff rule looked for UDP in the IPv6 next-header field only: behind a
    // Destination Options header a UDP checksum of 0 went out, which IPv6 receivers drop
    // (RFC 8200 s8.1). Linux's skb_checksum_help maps 0 to 0xffff for any partial checksum.
    const udp = new Uint8Array(58);
    const v = new DataView(udp.buffer);
    v.setUint32(0, 6 << 28);
    v.setUint16(4, 18); // payload: 8 (Destination Options) + 8 (UDP header) + 2
    udp[6] = 60; // Destination Options
    udp[7] = 64;
    udp.fill(0x20, 8, 24);
    udp.fill(0x21, 24, 40);
    udp.set([17, 0, 1, 4, 0, 0, 0, 0], 40); // next header UDP, PadN
    udp.set([0, 1, 0, 2, 0, 10, 0, 0], 48);
    const ps = onesComplementSum(udp, 8, 40) + 17 + 10;
    const without = ~foldChecksum(onesComplementSum(udp, 48, 58, ps)) & 0xffff; // folded sum, last word 0
    v.setUint16(56, 0xffff - without);
    expect(foldChecksum(onesComplementSum(udp, 48, 58, ps))).toBe(0); // the complete checksum is 0
    const partial = udp.slice();
    new DataView(partial.buffer).setUint16(54, ~foldChecksum(ps) & 0xffff);
    const out = split(frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 48, csumOffset: 6 }, partial)).packets[0] ?? new Uint8Array();
    expect(out.length).toBe(58);
    expect(new DataView(out.buffer).getUint16(54)).toBe(0xffff);
    expect(foldChecksum(onesComplementSum(out, 48, 58, ps))).toBe(0); // and it verifies
  });

  it("drops malformed frames (-1) and never reads past one: arbitrary headers and packets", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff }), fc.nat({ max: 0xffff }), (pkt, flags, gsoType, gsoSize, cs, co) => {
        const f = frame({ flags, gsoType, hdrLen: 0, gsoSize, csumStart: cs, csumOffset: co }, pkt);
        const { status, packets } = split(f);
        expect([1, -1]).toContain(status);
        for (const p of packets) expect(p.length).toBeLessThanOrEqual(pkt.length);
      }),
      { numRuns: 2000 },
    );
    expect(split(new Uint8Array(VNET_HDR_LEN)).status).toBe(-1);
    // Longer than a TUN reads: a 65535-byte segment plus headers has no 16-bit IPv4 total length
    // (it came out as 65575 & 0xffff = 39). vnetSplit and tunReadOffload take any buffer size.
    const flow: Flow = { v6: false, src: Uint8Array.from([198, 18, 1, 2]), dst: Uint8Array.from([198, 18, 2, 2]), sport: 1, dport: 2, ttl: 64, tos: 0, options: new Uint8Array(0), ack: 0, window: 1 };
    const long = frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 40, gsoSize: 65535, csumStart: 20, csumOffset: 16 }, segment(flow, 0, ACK, new Uint8Array(65535 - 40), 0));
    const longer = new Uint8Array(VNET_FRAME_MAX + 5000);
    longer.set(long);
    expect(split(longer).status).toBe(-1);
    expect(split(long).status).toBe(1); // VNET_FRAME_MAX itself is fine
    expect(split(frame({ flags: 0, gsoType: 3 /* UDP (UFO), never enabled */, hdrLen: 0, gsoSize: 8, csumStart: 0, csumOffset: 0 }, new Uint8Array(60).fill(0x45))).status).toBe(-1);
  });
});

describe("tunReadOffload's carried state", () => {
  it("drops a pending frame whose next segment is negative instead of copying the bytes in front of it", () => {
    // state[1] lives in a JS-owned Int32Array; vnet_split took it as is, and segment -1 sat
    // gso_size bytes before the frame (an out-of-bounds read into `buf`, found by ASan in
    // native/fuzz/tun_offload_fuzz.c). fd -1: after the pending frame the read fails with EBADF.
    const flow: Flow = { v6: false, src: Uint8Array.from([198, 18, 1, 2]), dst: Uint8Array.from([198, 18, 2, 2]), sport: 40000, dport: 5201, ttl: 64, tos: 0, options: new Uint8Array(0), ack: 7, window: 500 };
    const f = tsoFrame(flow, 1000, ACK, [new Uint8Array(1000).fill(1), new Uint8Array(1000).fill(2)], 1);
    const memory = new Uint8Array(4096 + VNET_FRAME_MAX).fill(0xee); // what lies in front of the frame
    const frameBuf = memory.subarray(4096);
    frameBuf.set(f);
    const buf = new Uint8Array(1 << 16);
    const desc = new Int32Array(64);
    const state = Int32Array.from([f.length, -1, 0, 0, 0]);
    const n = batchIo().tunReadOffload(-1, buf, desc, 32, frameBuf, state);
    expect(n).toBeLessThan(0); // -EBADF: no packet came out of the pending frame
    expect(Array.from(state)).toEqual([0, 0, 0, 0, 1]); // dropped as malformed
    expect(buf.includes(0xee)).toBe(false);
  });
});

describe("GRO-style coalescing for the TUN write", () => {
  it("coalesces a run into one GSO frame that splits back into the same segments", () => {
    fc.assert(
      fc.property(runArb, (r) => {
        const segs = runSegments(r);
        const frames = coalesce(segs);
        const back = frames.flatMap((f) => split(f.frame).packets);
        expect(back.map((p) => Buffer.from(p).toString("hex"))).toEqual(segs.map((s) => Buffer.from(s).toString("hex")));
        expect(frames.reduce((s, f) => s + f.packets, 0)).toBe(segs.length);
        const first = frames[0];
        if (first !== undefined && first.packets > 1) {
          const h = header(first.frame);
          expect(h).toEqual({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: r.flow.v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: (r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length, gsoSize: r.mss, csumStart: r.flow.v6 ? 40 : 20, csumOffset: 16 });
        }
        // A run of equal segments stays whole up to 64 segments and 64 KiB.
        const hdrs = (r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length;
        if (r.count <= 64 && hdrs + r.mss * r.count <= 65535) expect(frames.length).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it("never merges what must stay apart: any mix of flows, flags, gaps and other protocols splits back unchanged", () => {
    const packetArb = fc.oneof(
      { weight: 4, arbitrary: runArb.map((r) => runSegments({ ...r, count: Math.min(r.count, 6) })) },
      {
        weight: 1,
        arbitrary: fc.tuple(flowArb, fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 60 })).map(([f, seq, flags, p]) => [segment(f, seq, flags, p, 0)]),
      },
      {
        weight: 1,
        arbitrary: fc.uint8Array({ minLength: 20, maxLength: 80 }).map((p) => {
          const q = p.slice();
          q[0] = 0x45;
          q[9] = 17; // UDP: never coalesced
          new DataView(q.buffer).setUint16(2, q.length);
          return [q];
        }),
      },
    );
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 8 }), (groups) => {
        const packets = groups.flat();
        const frames = coalesce(packets);
        expect(frames.reduce((s, f) => s + f.packets, 0)).toBe(packets.length);
        const back = frames.flatMap((f) => (header(f.frame).gsoType === GSO_NONE ? [f.frame.subarray(VNET_HDR_LEN)] : split(f.frame).packets));
        expect(back.map((p) => Buffer.from(p).toString("hex"))).toEqual(packets.map((s) => Buffer.from(s).toString("hex")));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves a segment out of order, with another ACK number, or after PSH in its own frame", () => {
    const flow: Flow = { v6: false, src: Uint8Array.from([198, 18, 2, 2]), dst: Uint8Array.from([198, 18, 1, 2]), sport: 5201, dport: 40000, ttl: 63, tos: 0, options: new Uint8Array(0), ack: 1, window: 9 };
    const p = (n: number): Uint8Array => new Uint8Array(100).fill(n);
    const inOrder = [segment(flow, 0, ACK, p(1), 1), segment(flow, 100, ACK, p(2), 2)];
    expect(coalesce(inOrder).map((f) => f.packets)).toEqual([2]);
    expect(coalesce([segment(flow, 0, ACK, p(1), 1), segment(flow, 300, ACK, p(2), 2)]).map((f) => f.packets)).toEqual([1, 1]);
    expect(coalesce([segment(flow, 0, ACK, p(1), 1), segment({ ...flow, ack: 2 }, 100, ACK, p(2), 2)]).map((f) => f.packets)).toEqual([1, 1]);
    expect(coalesce([segment(flow, 0, ACK | PSH, p(1), 1), segment(flow, 100, ACK, p(2), 2)]).map((f) => f.packets)).toEqual([1, 1]);
    expect(coalesce([segment(flow, 0, ACK, p(1), 1), segment(flow, 100, ACK, p(2), 9)]).map((f) => f.packets)).toEqual([1, 1]);
    // a shorter segment ends the run: what follows starts a new frame
    expect(coalesce([segment(flow, 0, ACK, p(1), 1), segment(flow, 100, ACK, new Uint8Array(10), 2), segment(flow, 110, ACK, p(3), 3)]).map((f) => f.packets)).toEqual([2, 1]);
  });

  it("never merges a segment whose TCP or IPv4 header checksum is wrong (the GSO frame's sums are recomputed)", () => {
    // Found by native/fuzz/tun_offload_fuzz.c: a corrupted segment (sealed by its sender's gateway
    // as it was) came out of the GSO frame with fresh, valid checksums, and TCP took it as good data.
    for (const v6 of [false, true]) {
      const flow: Flow = { v6, src: new Uint8Array(v6 ? 16 : 4).fill(7), dst: new Uint8Array(v6 ? 16 : 4).fill(9), sport: 5201, dport: 40000, ttl: 63, tos: 0, options: new Uint8Array(0), ack: 1, window: 9 };
      const iphl = v6 ? 40 : 20;
      const run = (): Uint8Array[] => [0, 1, 2].map((k) => segment(flow, 100 * k, ACK, new Uint8Array(100).fill(k + 1), 5 + k));
      expect(coalesce(run()).map((f) => f.packets)).toEqual([3]);
      const corrupt: Array<[number, number, number[]]> = [
        [0, iphl + 20 + 50, [1, 2]], // payload byte of the first segment: the first goes alone
        [1, iphl + 20 + 7, [1, 1, 1]], // the second: it breaks the run and cannot start one with the third
        [2, iphl + 20 + 99, [2, 1]], // the last
        [1, iphl + 16, [1, 1, 1]], // the TCP checksum field itself
      ];
      if (!v6) corrupt.push([1, 10, [1, 1, 1]]); // the IPv4 header checksum
      for (const [which, at, frames] of corrupt) {
        const segs = run();
        const bad = segs[which] ?? new Uint8Array();
        bad[at] = (bad[at] ?? 0) ^ 0x40;
        const out = coalesce(segs);
        expect(out.map((f) => f.packets)).toEqual(frames);
        const back = out.flatMap((f) => (header(f.frame).gsoType === GSO_NONE ? [f.frame.subarray(VNET_HDR_LEN)] : split(f.frame).packets));
        expect(back.map((q) => Buffer.from(q).toString("hex"))).toEqual(segs.map((q) => Buffer.from(q).toString("hex")));
      }
    }
  });
});
