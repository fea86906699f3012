import { describe, expect, it } from "vitest";
import { DataPlane, type DataPlaneResult } from "../../src/ipsec/data-plane.js";
import { Sad, type SecurityAssociation } from "../../src/ipsec/sad.js";
import { cidr, trafficSelector } from "../../src/ipsec/selectors.js";
import { Spd } from "../../src/ipsec/spd.js";
import type { Lifetime } from "../../src/ipsec/lifetime.js";
import { saPair, SUITES, udpPacket } from "./support.js";

const TS = trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24") });
const TS_B = trafficSelector({ local: cidr("198.18.2.0/24"), remote: cidr("198.18.1.0/24") });
const A_TO_B = (n = 100): Uint8Array => udpPacket("198.18.1.10", "198.18.2.10", 1000, 2000, new Uint8Array(n));

/** Gateway A (192.0.2.1) and gateway B (192.0.2.2) with one tunnel 198.18.1.0/24 <-> 198.18.2.0/24. */
function gateways(opts: { lifetime?: Lifetime; inLifetime?: Lifetime; udp?: boolean; initialSequence?: { hi: number; lo: number } } = {}) {
  const mk = (local: string, remote: string, ts: typeof TS, spiOut: number, spiIn: number) => {
    const spd = new Spd();
    spd.add({ id: 1, action: "DISCARD", selectors: [trafficSelector({ local: ts.local, remote: cidr(ts.remote === TS.remote ? "198.18.2.66/32" : "198.18.1.66/32") })] });
    spd.add({ id: 2, action: "PROTECT", selectors: [ts] });
    spd.add({ id: 3, action: "BYPASS", selectors: [trafficSelector({ local: cidr("192.0.2.0/24"), remote: cidr("192.0.2.0/24") })] });
    spd.add({ id: 4, action: "PROTECT", selectors: [trafficSelector({ local: ts.local, remote: cidr("198.19.0.0/16") })] });
    const udpEncap = opts.udp ? { localPort: 4500, remotePort: 4500 } : undefined;
    const extra = { mode: "tunnel" as const, lifetime: opts.lifetime, udpEncap, initialSequence: opts.initialSequence };
    const out = saPair(SUITES[0]!, local, remote, { ...extra, spi: spiOut, selectors: [ts], policyId: 2 }, spiOut).out;
    const inb = saPair(SUITES[0]!, remote, local, { ...extra, lifetime: opts.inLifetime ?? opts.lifetime, spi: spiIn, selectors: [ts], initialSequence: undefined }, spiIn).in;
    const sad = new Sad();
    sad.addOutbound(2, out);
    sad.addInbound(inb);
    return { dp: new DataPlane({ spd, sad }), out, inb };
  };
  return { a: mk("192.0.2.1", "192.0.2.2", TS, 0xa1, 0xb1), b: mk("192.0.2.2", "192.0.2.1", TS_B, 0xb1, 0xa1) };
}

function bytesOf(r: DataPlaneResult): Uint8Array {
  if (r.kind !== "toNetwork") throw new Error(`expected toNetwork, got ${JSON.stringify(r.kind === "drop" ? r.reason : r.kind)}`);
  return r.bytes;
}

describe("RFC 4301 s5.1 outbound processing", () => {
  it("PROTECT with an SA: ESP to the peer; the peer's inbound gives the packet back (s5.2)", () => {
    const { a, b } = gateways();
    const pkt = A_TO_B();
    const r = a.dp.outbound(0, pkt);
    expect(r).toMatchObject({ kind: "toNetwork", to: { address: "192.0.2.2" }, encapsulated: false, ipHeaderIncluded: false });
    expect(b.dp.inbound(0, bytesOf(r), { address: "192.0.2.1" })).toEqual({ kind: "toTunnel", bytes: pkt });
  });

  it("DISCARD drops, BYPASS passes in clear, no matching policy drops", () => {
    const { a } = gateways();
    expect(a.dp.outbound(0, udpPacket("198.18.1.10", "198.18.2.66", 1, 2, new Uint8Array(3)))).toEqual({ kind: "drop", reason: "POLICY_DISCARD" });
    const clear = udpPacket("192.0.2.1", "192.0.2.9", 1, 2, new Uint8Array(3));
    expect(a.dp.outbound(0, clear)).toEqual({ kind: "bypass", bytes: clear });
    expect(a.dp.outbound(0, udpPacket("198.18.1.10", "203.0.113.9", 1, 2, new Uint8Array(3)))).toEqual({ kind: "drop", reason: "NO_POLICY" });
    expect(a.dp.drops.POLICY_DISCARD).toBe(1);
    expect(a.dp.drops.NO_POLICY).toBe(1);
  });

  it("PROTECT without an SA asks IKE to acquire one and never sends the packet in clear", () => {
    const { a } = gateways();
    const r = a.dp.outbound(0, udpPacket("198.18.1.10", "198.19.4.4", 1234, 53, new Uint8Array(3)));
    expect(r.kind).toBe("acquire");
    if (r.kind !== "acquire") return;
    expect(r.policy.id).toBe(4);
    expect(r.selector.dst[0]).toBe(0xc6130404);
    expect(r.selector.dstPort).toBe(53);
  });

  it("a malformed packet from the tunnel is MALFORMED", () => {
    const { a } = gateways();
    expect(a.dp.outbound(0, Uint8Array.of(0x45, 0))).toEqual({ kind: "drop", reason: "MALFORMED" });
  });
});

describe("RFC 4303 s3.4.2 / RFC 3948 inbound demultiplexing", () => {
  it("UDP/4500: Non-ESP Marker -> IKE, 0xFF -> keepalive, else ESP; encapsulated flag and port on output", () => {
    const { a, b } = gateways({ udp: true });
    const r = a.dp.outbound(0, A_TO_B());
    expect(r).toMatchObject({ kind: "toNetwork", to: { address: "192.0.2.2", port: 4500 }, encapsulated: true });
    expect(b.dp.inbound(0, bytesOf(r), { address: "192.0.2.1", port: 4500 }).kind).toBe("toTunnel");
    const ike = new Uint8Array(4 + 28);
    ike[4] = 0x42;
    expect(b.dp.inbound(0, ike, { address: "192.0.2.1", port: 4500 })).toEqual({ kind: "ike", bytes: ike.subarray(4) });
    expect(b.dp.inbound(0, Uint8Array.of(0xff), { address: "192.0.2.1", port: 4500 })).toEqual({ kind: "drop", reason: "KEEPALIVE" });
    expect(b.dp.inbound(0, Uint8Array.of(1, 2, 3), { address: "192.0.2.1", port: 4500 })).toEqual({ kind: "drop", reason: "MALFORMED" });
  });

  it("an unknown SPI (e.g. a flipped SPI bit) is NO_SA; replays are REPLAY", () => {
    const { a, b } = gateways();
    const esp = bytesOf(a.dp.outbound(0, A_TO_B()));
    for (let bit = 0; bit < 32; bit++) {
      const bad = esp.slice();
      bad[bit >>> 3]! ^= 0x80 >>> (bit & 7);
      expect(b.dp.inbound(0, bad, { address: "192.0.2.1" })).toEqual({ kind: "drop", reason: "NO_SA" });
    }
    expect(b.dp.drops.NO_SA).toBe(32);
    expect(b.dp.inbound(0, esp, { address: "192.0.2.1" }).kind).toBe("toTunnel");
    expect(b.dp.inbound(0, esp, { address: "192.0.2.1" })).toEqual({ kind: "drop", reason: "REPLAY" });
    expect(b.inb.counters.drops.REPLAY).toBe(1);
  });
});

describe("RFC 4301 s4.4.2.1 SA lifetimes", () => {
  const drain = (dp: DataPlane) => {
    const evs: { kind: string; sa: SecurityAssociation; reason?: string }[] = [];
    for (let e = dp.pollEvent(); e; e = dp.pollEvent()) evs.push(e);
    return evs;
  };

  it("packets: soft limit signals rekeyNeeded once; hard limit drops, removes the SA and reports it", () => {
    const { a } = gateways({ lifetime: { soft: { packets: 3 }, hard: { packets: 5 } } });
    const kinds: string[] = [];
    for (let i = 0; i < 7; i++) kinds.push(a.dp.outbound(i, A_TO_B()).kind);
    expect(kinds).toEqual(["toNetwork", "toNetwork", "toNetwork", "toNetwork", "toNetwork", "drop", "acquire"]);
    const evs = drain(a.dp);
    expect(evs.map((e) => e.kind)).toEqual(["rekeyNeeded", "expired"]);
    expect(evs[0]!.sa).toBe(a.out);
    expect(a.dp.sad.outboundFor(2)).toBeUndefined();
    expect(a.out.counters.drops.HARD_EXPIRED).toBe(1);
  });

  it("bytes: counted on inbound too (the sender here has no limit)", () => {
    const { a, b } = gateways({ lifetime: {}, inLifetime: { soft: { bytes: 300 }, hard: { bytes: 950 } } });
    const res: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = a.dp.outbound(0, A_TO_B(100 - 28));
      if (r.kind === "toNetwork") res.push(b.dp.inbound(0, r.bytes, { address: "192.0.2.1" }).kind);
    }
    // 100-byte packets: the 3rd reaches the soft limit, the 10th would pass 950 bytes.
    expect(res.filter((k) => k === "toTunnel").length).toBe(9);
    expect(res[9]).toBe("drop");
    expect(drain(b.dp).map((e) => e.kind)).toEqual(["rekeyNeeded", "expired"]);
    expect(b.dp.sad.lookupInbound(b.inb.spi)).toBeUndefined();
  });

  it("seconds: handleTimeout at the deadlines (time comes in as an argument)", () => {
    const { a } = gateways({ lifetime: { soft: { seconds: 10 }, hard: { seconds: 20 } } });
    expect(a.dp.nextDeadline()).toBe(10_000);
    a.dp.handleTimeout(9_999);
    expect(a.dp.pollEvent()).toBeUndefined();
    a.dp.handleTimeout(10_000);
    expect(drain(a.dp).map((e) => e.kind)).toEqual(["rekeyNeeded", "rekeyNeeded"]);
    expect(a.dp.nextDeadline()).toBe(20_000);
    expect(a.dp.outbound(15_000, A_TO_B()).kind).toBe("toNetwork");
    expect(a.dp.outbound(20_000, A_TO_B())).toEqual({ kind: "drop", reason: "HARD_EXPIRED" });
    a.dp.handleTimeout(20_000);
    expect(drain(a.dp).map((e) => e.kind)).toEqual(["expired", "expired"]);
    expect(a.dp.sad.all()).toEqual([]);
  });

  it("sequence exhaustion signals rekeyNeeded (reason: sequence) and drops instead of wrapping", () => {
    const { a } = gateways({ initialSequence: { hi: 0, lo: 0xfffffffe } });
    expect(a.dp.outbound(0, A_TO_B()).kind).toBe("toNetwork");
    expect(a.dp.outbound(0, A_TO_B())).toEqual({ kind: "drop", reason: "SEQUENCE_EXHAUSTED" });
    expect(drain(a.dp).map((e) => [e.kind, e.reason])).toEqual([["rekeyNeeded", "sequence"]]);
  });
});

describe("fast path: an output buffer owned by the data plane", () => {
  it("results are views into the buffer", () => {
    const { a, b } = gateways();
    const buf = new Uint8Array(65_536);
    const dp = new DataPlane({ spd: a.dp.spd, sad: a.dp.sad, outputBuffer: buf });
    const pkt = A_TO_B(1300);
    const r = dp.outbound(0, pkt);
    expect(bytesOf(r).buffer).toBe(buf.buffer);
    expect(b.dp.inbound(0, bytesOf(r), { address: "192.0.2.1" })).toEqual({ kind: "toTunnel", bytes: pkt });
  });
});
