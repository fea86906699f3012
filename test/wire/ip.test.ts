import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecodeError } from "../../src/wire/errors.js";
import { fromHex } from "../../src/wire/hex.js";
import {
  adjustChecksum,
  foldChecksum,
  formatIpAddress,
  ipv4HeaderChecksum,
  ipv4HeaderChecksumValid,
  onesComplementSum,
  parseIpAddress,
  peekIp,
  PORT_OPAQUE,
  setIpv4HeaderChecksum,
} from "../../src/wire/ip.js";
import { ipPacket, readJson, udpPacket } from "../ipsec/support.js";

describe("RFC 791 IPv4 header peek", () => {
  it("addresses, protocol, ports, lengths", () => {
    const p = udpPacket("198.18.1.10", "198.18.2.20", 1234, 53, new Uint8Array(10));
    const s = peekIp(p);
    expect(s).toMatchObject({ family: 4, protocol: 17, srcPort: 1234, dstPort: 53, totalLength: 38, payloadOffset: 20 });
    expect(s.src[0]).toBe(0xc612010a);
    expect(s.dst[0]).toBe(0xc6120214);
  });

  it("ICMP type/code go into both port fields as type<<8|code (RFC 4301 s4.4.1.1)", () => {
    const s = peekIp(ipPacket("198.18.1.1", "198.18.1.2", 1, Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0)));
    expect([s.srcPort, s.dstPort]).toEqual([0x0800, 0x0800]);
  });

  it("a non-first fragment has OPAQUE ports", () => {
    const p = udpPacket("198.18.1.10", "198.18.2.20", 1234, 53, new Uint8Array(10));
    p[7] = 1; // fragment offset 8 bytes
    setIpv4HeaderChecksum(p);
    expect(peekIp(p).srcPort).toBe(PORT_OPAQUE);
  });

  it("truncation, bad IHL, bad total length, bad version are DecodeErrors; nothing else is ever thrown", () => {
    const p = udpPacket("198.18.1.10", "198.18.2.20", 1, 2, new Uint8Array(4));
    expect(() => peekIp(p.subarray(0, 19))).toThrow(DecodeError);
    expect(() => peekIp(Uint8Array.of(0x44, ...new Uint8Array(30)))).toThrow(/IHL/);
    expect(() => peekIp(p.subarray(0, 25))).toThrow(/totalLength/);
    expect(() => peekIp(Uint8Array.of(0x55))).toThrow(/version/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(0x45, 0x46, 0x60), (junk, first) => {
        const b = Uint8Array.of(first, ...junk);
        try {
          peekIp(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("RFC 8200 s4 IPv6 extension headers are walked to the next-layer protocol", () => {
  it("hop-by-hop, routing, destination options, fragment, then TCP", () => {
    const tcp = new Uint8Array(20);
    tcp.set([0x04, 0xd2, 0x01, 0xbb]);
    const ext = [
      Uint8Array.of(43, 0, 1, 4, 0, 0, 0, 0), // hop-by-hop -> routing
      Uint8Array.of(60, 0, 0, 0, 0, 0, 0, 0), // routing -> destination options
      Uint8Array.of(44, 0, 1, 4, 0, 0, 0, 0), // destination options -> fragment
      Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 1), // fragment (offset 0) -> TCP
    ];
    const body = new Uint8Array([...ext.flatMap((e) => [...e]), ...tcp]);
    const s = peekIp(ipPacket("2001:db8:1::1", "2001:db8:2::2", 0, body));
    expect(s).toMatchObject({ family: 6, protocol: 6, srcPort: 1234, dstPort: 443, payloadOffset: 72 });
    expect(Array.from(s.dst)).toEqual([0x20010db8, 0x00020000, 0, 2]);
    // A later fragment: ports unknown.
    body[26] = 0x01;
    expect(peekIp(ipPacket("2001:db8:1::1", "2001:db8:2::2", 0, body)).srcPort).toBe(PORT_OPAQUE);
    // A truncated extension header.
    expect(() => peekIp(ipPacket("2001:db8:1::1", "2001:db8:2::2", 0, Uint8Array.of(6, 3)))).toThrow(/extensionHeader/);
  });
});

describe("RFC 1071/1624 Internet checksum", () => {
  it("the RFC 3602 sample headers validate (esp/rfc3602-aes-cbc.json)", () => {
    const v = readJson<{ esp_packets: { original_ip_header?: string | null; post_encryption_ip_header?: string | null }[] }>("esp/rfc3602-aes-cbc.json");
    const headers = v.esp_packets.flatMap((c) => [c.original_ip_header, c.post_encryption_ip_header]).filter((h): h is string => typeof h === "string");
    expect(headers.length).toBeGreaterThan(0);
    for (const h of headers) {
      const b = fromHex(h);
      expect(ipv4HeaderChecksumValid(b)).toBe(true);
      expect(ipv4HeaderChecksum(b)).toBe((b[10]! << 8) | b[11]!);
    }
  });

  it("an incremental update equals a recomputation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (data, repl) => {
        const sum = foldChecksum(onesComplementSum(data, 0, 20));
        const next = data.slice();
        next.set(repl, 4);
        const adjusted = adjustChecksum(sum, onesComplementSum(data, 4, 12), onesComplementSum(repl, 0, 8));
        const full = foldChecksum(onesComplementSum(next, 0, 20));
        // One's-complement has two zeros (0x0000 and 0xffff); both mean the same sum.
        expect(adjusted === full || (adjusted | full) === 0xffff).toBe(true);
      }),
    );
  });
});

describe("address text", () => {
  it("parse/format round trip for IPv4 and IPv6", () => {
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        expect(formatIpAddress(parseIpAddress(a))).toBe(a);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseIpAddress(formatIpAddress(b))).toEqual(b);
      }),
    );
    expect(formatIpAddress(parseIpAddress("2001:db8::1"))).toBe("2001:db8::1");
    expect(() => parseIpAddress("198.18.1")).toThrow(DecodeError);
    expect(() => parseIpAddress("2001:db8::1::2")).toThrow(DecodeError);
  });
});
