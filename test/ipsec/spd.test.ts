import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressRange, cidr, icmpTypeCode, portRange, PORT_ANY, trafficSelector, type TrafficSelector } from "../../src/ipsec/selectors.js";
import { Spd, type Policy, type PolicyAction } from "../../src/ipsec/spd.js";
import { newPacketSelector, parseIpAddress, peekIp, PORT_OPAQUE, type PacketSelector } from "../../src/wire/ip.js";
import { ipPacket, udpPacket } from "./support.js";

function sel(p: Partial<Omit<PacketSelector, "src" | "dst">> & { src: string; dst: string }): PacketSelector {
  const s = newPacketSelector();
  const a = parseIpAddress(p.src);
  const b = parseIpAddress(p.dst);
  s.family = a.length === 4 ? 4 : 6;
  for (let i = 0; i < a.length / 4; i++) {
    s.src[i] = ((a[4 * i]! << 24) >>> 0) + (a[4 * i + 1]! << 16) + (a[4 * i + 2]! << 8) + a[4 * i + 3]!;
    s.dst[i] = ((b[4 * i]! << 24) >>> 0) + (b[4 * i + 1]! << 16) + (b[4 * i + 2]! << 8) + b[4 * i + 3]!;
  }
  s.protocol = p.protocol ?? 17;
  s.srcPort = p.srcPort ?? 1000;
  s.dstPort = p.dstPort ?? 2000;
  return s;
}

describe("RFC 4301 s4.4.1 SPD: ordered policies, first match wins", () => {
  it("DISCARD before PROTECT before BYPASS by order, per selector fields", () => {
    const spd = new Spd();
    const local = cidr("198.18.1.0/24");
    spd.add({ id: 1, action: "DISCARD", selectors: [trafficSelector({ local, remote: cidr("198.18.2.66/32") })] });
    spd.add({ id: 2, action: "PROTECT", selectors: [trafficSelector({ local, remote: cidr("198.18.2.0/24"), protocol: 6, remotePort: portRange(443) })] });
    spd.add({ id: 3, action: "PROTECT", selectors: [trafficSelector({ local, remote: cidr("198.18.2.0/24"), protocol: 1, localPort: icmpTypeCode(8) })] });
    spd.add({ id: 4, action: "BYPASS", selectors: [trafficSelector({ local: cidr("0.0.0.0/0"), remote: cidr("0.0.0.0/0") })] });
    spd.add({ id: 5, action: "PROTECT", selectors: [trafficSelector({ local: cidr("2001:db8:1::/48"), remote: cidr("2001:db8:2::/48") })] });
    const look = (s: PacketSelector): number | undefined => spd.lookup(s)?.id;
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.66", protocol: 6, dstPort: 443 }))).toBe(1);
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.7", protocol: 6, dstPort: 443 }))).toBe(2);
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.7", protocol: 6, dstPort: 80 }))).toBe(4);
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.7", protocol: 1, srcPort: 0x0800, dstPort: 0x0800 }))).toBe(3);
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.7", protocol: 1, srcPort: 0x0000, dstPort: 0x0000 }))).toBe(4);
    expect(look(sel({ src: "2001:db8:1::5", dst: "2001:db8:2::9" }))).toBe(5);
    expect(look(sel({ src: "2001:db8:1::5", dst: "2001:db8:3::9" }))).toBeUndefined();
    // Inbound direction: local is the destination.
    expect(spd.lookup(sel({ src: "198.18.2.7", dst: "198.18.1.5", protocol: 6, srcPort: 443 }), false)?.id).toBe(2);
    spd.remove(1);
    expect(look(sel({ src: "198.18.1.5", dst: "198.18.2.66", protocol: 6, dstPort: 443 }))).toBe(2);
  });

  it("non-first fragments (OPAQUE ports) match only port ANY (s4.4.1.1)", () => {
    const spd = new Spd();
    spd.add({ id: 1, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24"), protocol: 17, remotePort: portRange(53) })] });
    spd.add({ id: 2, action: "DISCARD", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24"), protocol: 17 })] });
    expect(spd.lookup(sel({ src: "198.18.1.1", dst: "198.18.2.1", dstPort: 53 }))?.id).toBe(1);
    expect(spd.lookup(sel({ src: "198.18.1.1", dst: "198.18.2.1", srcPort: PORT_OPAQUE, dstPort: PORT_OPAQUE }))?.id).toBe(2);
  });

  it("selectors read from real packets (peekIp)", () => {
    const spd = new Spd();
    spd.add({ id: 7, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24"), protocol: 17, localPort: portRange(4000, 4010) })] });
    expect(spd.lookup(peekIp(udpPacket("198.18.1.1", "198.18.2.1", 4005, 9, new Uint8Array(4))))?.id).toBe(7);
    expect(spd.lookup(peekIp(udpPacket("198.18.1.1", "198.18.2.1", 4011, 9, new Uint8Array(4))))).toBeUndefined();
    expect(spd.lookup(peekIp(ipPacket("198.18.1.1", "198.18.2.1", 6, new Uint8Array(20))))).toBeUndefined();
  });
});

const ACTIONS: PolicyAction[] = ["PROTECT", "BYPASS", "DISCARD"];

/** Random policies over a small space so that overlaps (and order) really matter. */
function arbSelector(family: 4 | 6): fc.Arbitrary<TrafficSelector> {
  const addr = fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 })).map(([a, b]) => {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const mk = (x: number): Uint8Array => (family === 4 ? parseIpAddress(`198.18.${x}.0`) : parseIpAddress(`2001:db8::${x.toString(16)}00`));
    const mkEnd = (x: number): Uint8Array => (family === 4 ? parseIpAddress(`198.18.${x}.255`) : parseIpAddress(`2001:db8::${x.toString(16)}ff`));
    return addressRange(mk(lo), mkEnd(hi));
  });
  const anyAddr = family === 4 ? cidr("0.0.0.0/0") : cidr("::/0");
  const ports = fc.oneof(
    fc.constant(PORT_ANY),
    fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })).map(([a, b]) => portRange(Math.min(a, b), Math.max(a, b))),
  );
  return fc.record({
    local: fc.oneof(addr, fc.constant(anyAddr)),
    remote: fc.oneof(addr, addr, fc.constant(anyAddr)),
    protocol: fc.constantFrom(0, 6, 17, 1),
    localPort: ports,
    remotePort: ports,
  });
}

const arbPolicies = fc.array(
  fc.record({
    action: fc.constantFrom(...ACTIONS),
    selectors: fc.array(fc.oneof(arbSelector(4), arbSelector(6)), { minLength: 1, maxLength: 3 }),
  }),
  { minLength: 0, maxLength: 60 },
);

const arbPacket = fc.record({
  v6: fc.boolean(),
  src: fc.integer({ min: 0, max: 70 }),
  dst: fc.integer({ min: 0, max: 70 }),
  srcLow: fc.integer({ min: 0, max: 255 }),
  dstLow: fc.integer({ min: 0, max: 255 }),
  protocol: fc.constantFrom(6, 17, 1, 50, 58),
  sport: fc.oneof(fc.integer({ min: 0, max: 22 }), fc.constant(PORT_OPAQUE)),
  dport: fc.oneof(fc.integer({ min: 0, max: 22 }), fc.constant(PORT_OPAQUE)),
});

describe("RFC 4301 s4.4.1 indexed SPD lookup equals a naive first-match scan", () => {
  it("random policy sets and packets, both directions", () => {
    fc.assert(
      fc.property(arbPolicies, fc.array(arbPacket, { minLength: 1, maxLength: 40 }), fc.boolean(), (pols, pkts, outbound) => {
        const spd = new Spd();
        pols.forEach((p, i) => spd.add({ id: i, ...p } as Policy));
        for (const k of pkts) {
          const s = k.v6
            ? sel({ src: `2001:db8::${k.src.toString(16)}${k.srcLow.toString(16).padStart(2, "0")}`, dst: `2001:db8::${k.dst.toString(16)}${k.dstLow.toString(16).padStart(2, "0")}`, protocol: k.protocol, srcPort: k.sport, dstPort: k.dport })
            : sel({ src: `198.18.${k.src}.${k.srcLow}`, dst: `198.18.${k.dst}.${k.dstLow}`, protocol: k.protocol, srcPort: k.sport, dstPort: k.dport });
          expect(spd.lookup(s, outbound)?.id).toBe(spd.lookupLinear(s, outbound)?.id);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("ranges touching the ends of the address space (0.0.0.0 and 255.255.255.255)", () => {
    const spd = new Spd();
    spd.add({ id: 1, action: "BYPASS", selectors: [trafficSelector({ local: cidr("0.0.0.0/0"), remote: addressRange(parseIpAddress("255.255.255.0"), parseIpAddress("255.255.255.255")) })] });
    spd.add({ id: 2, action: "DISCARD", selectors: [trafficSelector({ local: cidr("0.0.0.0/0"), remote: cidr("0.0.0.0/1") })] });
    spd.add({ id: 3, action: "PROTECT", selectors: [trafficSelector({ local: cidr("::/0"), remote: cidr("ffff::/16") })] });
    expect(spd.lookup(sel({ src: "198.18.0.1", dst: "255.255.255.255" }))?.id).toBe(1);
    expect(spd.lookup(sel({ src: "198.18.0.1", dst: "0.0.0.0" }))?.id).toBe(2);
    expect(spd.lookup(sel({ src: "198.18.0.1", dst: "200.0.0.1" }))).toBeUndefined();
    expect(spd.lookup(sel({ src: "2001:db8::1", dst: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" }))?.id).toBe(3);
  });

  it("10,000 policies: the index agrees with the scan", () => {
    const spd = new Spd();
    for (let i = 0; i < 10_000; i++) {
      const remote = cidr(`198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 0xff}.${i & 0xff}/32`);
      spd.add({ id: i, action: i % 7 === 0 ? "DISCARD" : "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.0.0/15"), remote, protocol: i % 3 === 0 ? 17 : 0 })] });
    }
    spd.add({ id: 99_999, action: "BYPASS", selectors: [trafficSelector({ local: cidr("0.0.0.0/0"), remote: cidr("0.0.0.0/0") })] });
    for (let i = 0; i < 10_200; i += 37) {
      const s = sel({ src: "198.18.0.1", dst: `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 0xff}.${i & 0xff}`, protocol: i % 2 ? 6 : 17 });
      expect(spd.lookup(s)?.id).toBe(spd.lookupLinear(s)?.id);
    }
  });
});
