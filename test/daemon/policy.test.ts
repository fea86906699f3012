import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rangeToCidrs, routesFor, sameTsList, spdSelectors, triggeringTs, addressInTs } from "../../src/daemon/policy.js";
import { selectorMatches } from "../../src/ipsec/selectors.js";
import { formatTs, tsFromCidr, tsFromRange } from "../../src/ike/negotiation/traffic-selectors.js";
import { newPacketSelector, parseIpAddress, addressWords } from "../../src/wire/ip.js";

/** Selectors as negotiated (RFC 7296 s3.13.1) -> SPD selectors (RFC 4301 s4.4.1) and routes. */
describe("RFC 4301 s4.4.1: SPD selectors from negotiated TSi/TSr", () => {
  it("pairs every local with every remote selector of the same family", () => {
    const local = [tsFromCidr("198.18.1.0/24"), tsFromCidr("2001:db8:1::/64")];
    const remote = [tsFromCidr("198.18.2.0/24"), tsFromCidr("2001:db8:2::/64")];
    const s = spdSelectors(local, remote);
    expect(s).toHaveLength(2);
    expect(s.map((x) => x.local.family)).toEqual([4, 6]);
  });

  it("keeps a protocol/port restriction from either side and drops pairs whose protocols conflict", () => {
    const s = spdSelectors([tsFromCidr("198.18.1.0/24", 6)], [tsFromCidr("198.18.2.0/24", 0, 80), tsFromCidr("198.18.2.0/24", 17)]);
    expect(s).toHaveLength(1);
    expect(s[0]?.protocol).toBe(6);
    expect(s[0]?.remotePort).toEqual({ start: 80, end: 80 });
  });

  it("matches outbound packets from the local subnet to the remote subnet, and not the reverse", () => {
    const [sel] = spdSelectors([tsFromCidr("198.18.1.0/24")], [tsFromCidr("198.18.2.0/24")]);
    const p = newPacketSelector();
    p.family = 4;
    addressWords(parseIpAddress("198.18.1.10"), p.src);
    addressWords(parseIpAddress("198.18.2.10"), p.dst);
    p.protocol = 1;
    expect(sel !== undefined && selectorMatches(sel, p, true)).toBe(true);
    addressWords(parseIpAddress("198.18.2.10"), p.src);
    addressWords(parseIpAddress("198.18.1.10"), p.dst);
    expect(sel !== undefined && selectorMatches(sel, p, true)).toBe(false);
  });
});

describe("routes into the TUN for remote selectors", () => {
  it("covers a prefix with itself and an arbitrary range with the fewest blocks", () => {
    expect(rangeToCidrs(parseIpAddress("198.18.2.0"), parseIpAddress("198.18.2.255"))).toEqual(["198.18.2.0/24"]);
    expect(rangeToCidrs(parseIpAddress("10.0.0.1"), parseIpAddress("10.0.0.6"))).toEqual(["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]);
    expect(rangeToCidrs(parseIpAddress("0.0.0.0"), parseIpAddress("255.255.255.255"))).toEqual(["0.0.0.0/0"]);
    expect(rangeToCidrs(parseIpAddress("2001:db8:2::"), parseIpAddress("2001:db8:2::ffff:ffff:ffff:ffff"))).toEqual(["2001:db8:2::/64"]);
    expect(routesFor([tsFromCidr("198.18.2.0/24"), tsFromCidr("198.18.2.0/24", 6)])).toEqual(["198.18.2.0/24"]);
  });

  it("the blocks cover exactly the range: every address inside, none outside (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 5000 }), (start, len) => {
        const end = Math.min(0xffffffff, start + len);
        const bytes = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
        const blocks = rangeToCidrs(bytes(start), bytes(end)).map((c) => {
          const [a, l] = c.split("/");
          const base = parseIpAddress(a ?? "").reduce((acc, b) => acc * 256 + b, 0);
          return { base, size: 2 ** (32 - Number(l)) };
        });
        let next = start;
        for (const b of blocks) {
          if (b.base !== next) return false;
          if (b.base % b.size !== 0) return false;
          next = b.base + b.size;
        }
        return next === end + 1;
      }),
    );
  });
});

describe("RFC 7296 s2.9: the triggering packet's selector for an acquire", () => {
  it("is the packet's source address, protocol and source port", () => {
    const p = newPacketSelector();
    p.family = 4;
    addressWords(parseIpAddress("198.18.1.10"), p.src);
    addressWords(parseIpAddress("198.18.2.10"), p.dst);
    p.protocol = 6;
    p.srcPort = 40000;
    p.dstPort = 80;
    const ts = triggeringTs(p);
    expect(ts).toEqual(tsFromRange("198.18.1.10", "198.18.1.10", 6, 40000));
    expect(addressInTs(parseIpAddress("198.18.1.10"), [tsFromCidr("198.18.1.0/24")])).toBe(true);
    expect(addressInTs(parseIpAddress("198.18.2.10"), [tsFromCidr("198.18.1.0/24")])).toBe(false);
  });
});

describe("sameTsList: the install path's check that a Child SA brings the policy's selectors again", () => {
  // Well-formed IPv4 ranges (start <= end, ports in order): where formatTs prints every field.
  const v4 = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const arbTs = fc
    .record({
      ipProtocol: fc.constantFrom(0, 6, 17),
      ports: fc.tuple(fc.constantFrom(0, 80, 65535), fc.constantFrom(0, 443, 65535)),
      addrs: fc.tuple(fc.constantFrom(0x0a000000, 0x0a000001, 0xc6120200), fc.constantFrom(0, 1, 255, 65535)),
    })
    .map(({ ipProtocol, ports, addrs }) => ({
      type: 7,
      ipProtocol,
      startPort: Math.min(...ports),
      endPort: Math.max(...ports),
      startAddress: v4(addrs[0]),
      endAddress: v4(addrs[0] + addrs[1]),
    }));
  const copy = <T extends { startAddress: Uint8Array; endAddress: Uint8Array }>(l: T[]): T[] => l.map((t) => ({ ...t, startAddress: t.startAddress.slice(), endAddress: t.endAddress.slice() }));

  it("agrees with comparing the printed selectors (formatTs), on copies", () => {
    fc.assert(
      fc.property(fc.array(arbTs, { maxLength: 2 }), fc.array(arbTs, { maxLength: 2 }), (a, b) => {
        const text = (l: typeof a): string => l.map(formatTs).join(",");
        expect(sameTsList(a, copy(a))).toBe(true);
        expect(sameTsList(a, b)).toBe(text(a) === text(b));
      }),
    );
  });

  it("tells apart a one-byte, one-port or order difference", () => {
    const a = [tsFromCidr("10.1.0.0/16"), tsFromCidr("10.2.0.0/16")];
    expect(sameTsList(a, [tsFromCidr("10.1.0.0/16"), tsFromCidr("10.2.0.0/16")])).toBe(true);
    expect(sameTsList(a, [tsFromCidr("10.2.0.0/16"), tsFromCidr("10.1.0.0/16")])).toBe(false);
    expect(sameTsList(a, [tsFromCidr("10.1.0.0/16"), tsFromCidr("10.3.0.0/16")])).toBe(false);
    expect(sameTsList(a, [tsFromCidr("10.1.0.0/16")])).toBe(false);
    expect(sameTsList(a, [tsFromCidr("10.1.0.0/16"), { ...tsFromCidr("10.2.0.0/16"), endPort: 80 }])).toBe(false);
  });
});
