import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  formatTs,
  formatTsList,
  icmpPorts,
  narrowTrafficSelectors,
  parseTs,
  tsContains,
  tsEquals,
  tsForPacket,
  tsFromCidr,
  tsFromRange,
  tsIntersect,
  TsParseError,
} from "../../../src/ike/negotiation/traffic-selectors.js";
import { IpProto, TsType } from "../../../src/wire/ike/constants.js";
import type { TrafficSelector } from "../../../src/wire/ike/types.js";

const ts = (s: string): TrafficSelector => parseTs(s);
const list = (s: string): TrafficSelector[] => (s === "" ? [] : s.split(",").map((x) => parseTs(x.trim())));

describe("RFC 7296 s3.13.1: traffic selector construction and text form", () => {
  it.each([
    ["198.18.1.0/24", "198.18.1.0", "198.18.1.255"],
    ["198.18.1.77/24", "198.18.1.0", "198.18.1.255"],
    ["0.0.0.0/0", "0.0.0.0", "255.255.255.255"],
    ["198.18.1.7", "198.18.1.7", "198.18.1.7"],
    ["2001:db8::/64", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"],
    ["::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ])("tsFromCidr(%s) covers %s..%s", (cidr, start, end) => {
    const t = tsFromCidr(cidr);
    expect(formatTs(tsFromRange(start, end))).toBe(formatTs(t));
    expect(t.ipProtocol).toBe(0);
    expect([t.startPort, t.endPort]).toEqual([0, 65535]);
    expect(t.type).toBe(start.includes(":") ? TsType.TS_IPV6_ADDR_RANGE : TsType.TS_IPV4_ADDR_RANGE);
  });

  it.each([
    ["198.18.1.0/24[tcp/443]"],
    ["198.18.1.5..198.18.1.9"],
    ["0.0.0.0/0"],
    ["198.18.1.7/32[udp/500]"],
    ["198.18.0.0/15[udp/1000-2000]"],
    ["2001:db8::/64[ipv6-icmp/128]"],
    ["198.18.1.0/24[icmp/3/1]"],
    ["198.18.1.0/24[icmp/8]"],
    ["198.18.1.0/24[gre]"],
    ["198.18.1.0/24[tcp/OPAQUE]"],
    ["2001:db8::1..2001:db8::9[tcp]"],
  ])("formatTs(parseTs(%s)) round-trips", (s) => {
    expect(formatTs(ts(s))).toBe(s);
  });

  it("ICMP type/code go in the port fields (RFC 4301 s4.4.1.1)", () => {
    expect(icmpPorts(8)).toEqual([0x0800, 0x08ff]);
    expect(icmpPorts(3, 1)).toEqual([0x0301, 0x0301]);
    const t = tsFromCidr("198.18.1.0/24", IpProto.ICMP, icmpPorts(8, 0));
    expect([t.startPort, t.endPort]).toEqual([0x0800, 0x0800]);
  });

  it.each(["198.18.1.0/33", "198.18.1/24", "2001:db8::/129", "198.18.1.9..198.18.1.5", "198.18.1.1..2001:db8::1", "198.18.1.0/24[foo/1]", "198.18.1.0/24[tcp/70000]"])(
    "rejects %s with TsParseError",
    (s) => {
      expect(() => parseTs(s)).toThrow(TsParseError);
    },
  );
});

describe("RFC 7296 s2.9: traffic selector narrowing", () => {
  const matrix: Array<[string, string, string, string]> = [
    // [name, offered, allowed, expected]
    ["identical", "198.18.1.0/24", "198.18.1.0/24", "198.18.1.0/24"],
    ["responder narrows the subnet", "198.18.0.0/16", "198.18.1.0/24", "198.18.1.0/24"],
    ["offer inside policy stays", "198.18.1.0/28", "198.18.0.0/16", "198.18.1.0/28"],
    ["partial overlap gives a range", "198.18.1.0..198.18.1.100", "198.18.1.50..198.18.1.200", "198.18.1.50..198.18.1.100"],
    ["disjoint -> empty (TS_UNACCEPTABLE)", "198.18.1.0/24", "198.18.2.0/24", ""],
    ["any protocol narrowed to tcp", "198.18.1.0/24", "198.18.1.0/24[tcp]", "198.18.1.0/24[tcp]"],
    ["tcp offered, udp allowed -> empty", "198.18.1.0/24[tcp]", "198.18.1.0/24[udp]", ""],
    ["port ranges intersect", "198.18.1.0/24[tcp/1000-2000]", "198.18.1.0/24[tcp/1500-3000]", "198.18.1.0/24[tcp/1500-2000]"],
    ["disjoint ports -> empty", "198.18.1.0/24[tcp/80]", "198.18.1.0/24[tcp/443]", ""],
    ["single port from any", "198.18.1.0/24", "198.18.1.0/24[tcp/443]", "198.18.1.0/24[tcp/443]"],
    ["ICMP echo request from any ICMP", "198.18.1.0/24[icmp]", "198.18.1.0/24[icmp/8]", "198.18.1.0/24[icmp/8]"],
    ["ICMP type 8 vs type 0 -> empty", "198.18.1.0/24[icmp/8]", "198.18.1.0/24[icmp/0]", ""],
    ["ICMP type/code narrowed", "198.18.1.0/24[icmp/3]", "198.18.1.0/24[icmp/3/4]", "198.18.1.0/24[icmp/3/4]"],
    ["OPAQUE with any", "198.18.1.0/24[tcp/OPAQUE]", "198.18.1.0/24[tcp]", "198.18.1.0/24[tcp/OPAQUE]"],
    ["OPAQUE with a port -> empty", "198.18.1.0/24[tcp/OPAQUE]", "198.18.1.0/24[tcp/80]", ""],
    ["IPv6 narrowing", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/48"],
    ["IPv4 offer vs IPv6 policy -> empty", "198.18.1.0/24", "2001:db8::/32", ""],
    ["several offered, several allowed", "198.18.1.0/24, 2001:db8::/64", "2001:db8::/48, 198.18.1.128/25, 198.18.1.0/26", "198.18.1.128/25, 198.18.1.0/26, 2001:db8::/64"],
    ["covered duplicates dropped", "198.18.1.0/24, 198.18.1.0/25", "198.18.0.0/16", "198.18.1.0/24"],
  ];
  it.each(matrix)("%s", (_name, offered, allowed, expected) => {
    const r = narrowTrafficSelectors(list(offered), list(allowed));
    expect(formatTsList(r)).toBe(expected === "" ? "(none)" : expected);
    // Always a subset of what was offered.
    for (const x of r) expect(list(offered).some((o) => tsContains(o, x))).toBe(true);
  });

  it("the first TS is the triggering packet: the responder returns the subset that contains it", () => {
    // Initiator policy 198.18.0.0/16; packet from 198.18.7.9 tcp/443 triggered the acquire.
    const offered = [tsForPacket(new Uint8Array([198, 18, 7, 9]), IpProto.TCP, 443), tsFromCidr("198.18.0.0/16")];
    const allowed = list("198.18.1.0/24, 198.18.7.0/24, 198.18.9.0/24");
    expect(formatTsList(narrowTrafficSelectors(offered, allowed, { triggerFirst: true }))).toBe("198.18.7.0/24");
    // Without the hint all three are returned; the packet selector is not treated as a range.
    expect(narrowTrafficSelectors(offered.slice(1), allowed).length).toBe(3);
    // A packet outside every allowed range: fall back to the whole narrowed set.
    const outside = [tsForPacket(new Uint8Array([198, 18, 200, 1]), IpProto.TCP, 443), tsFromCidr("198.18.0.0/16")];
    expect(narrowTrafficSelectors(outside, allowed, { triggerFirst: true }).length).toBe(3);
  });

  it("intersection is commutative, contained in both, and equal selectors contain each other (property)", () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => [198, 18, a, b]);
    const sel = fc
      .record({ a: v4, b: v4, proto: fc.constantFrom(0, 6, 17, 1), p1: fc.integer({ min: 0, max: 65535 }), p2: fc.integer({ min: 0, max: 65535 }) })
      .map(({ a, b, proto, p1, p2 }) => {
        const [s, e] = Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0 ? [a, b] : [b, a];
        return {
          type: TsType.TS_IPV4_ADDR_RANGE,
          ipProtocol: proto,
          startPort: Math.min(p1, p2),
          endPort: Math.max(p1, p2),
          startAddress: new Uint8Array(s),
          endAddress: new Uint8Array(e),
        } satisfies TrafficSelector;
      });
    fc.assert(
      fc.property(sel, sel, (x, y) => {
        const i1 = tsIntersect(x, y);
        const i2 = tsIntersect(y, x);
        if (i1 === undefined) return i2 === undefined;
        return i2 !== undefined && tsEquals(i1, i2) && tsContains(x, i1) && tsContains(y, i1) && tsContains(x, x);
      }),
    );
  });
});
