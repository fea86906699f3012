import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getInteg } from "../../src/crypto/integ.js";
import { Secret } from "../../src/crypto/secret.js";
import { decapsulate, encapsulate } from "../../src/ipsec/ah.js";
import { DataPlane } from "../../src/ipsec/data-plane.js";
import { Sad, SecurityAssociation } from "../../src/ipsec/sad.js";
import { cidr, trafficSelector } from "../../src/ipsec/selectors.js";
import { Spd } from "../../src/ipsec/spd.js";
import { decodeAhHeader } from "../../src/wire/ah.js";
import { ipv4HeaderChecksumValid, parseIpAddress, peekIp, setIpv4HeaderChecksum } from "../../src/wire/ip.js";
import { udpPacket } from "./support.js";

const KEY = Uint8Array.from({ length: 64 }, (_, i) => i + 1);

function ahPair(mode: "tunnel" | "transport", outer: 4 | 6, inner: 4 | 6, integId = 12, extra: Partial<ConstructorParameters<typeof SecurityAssociation>[0]> = {}) {
  const integ = getInteg(integId);
  const key = KEY.subarray(0, integ.keyLength);
  const addrs = mode === "transport" ? (inner === 4 ? ["198.18.1.10", "198.18.2.10"] : ["2001:db8:1::10", "2001:db8:2::10"]) : outer === 4 ? ["192.0.2.1", "192.0.2.2"] : ["2001:db8:ff::1", "2001:db8:ff::2"];
  const mk = (direction: "inbound" | "outbound") =>
    new SecurityAssociation({
      spi: 0x51,
      direction,
      protocol: "ah",
      mode,
      integ,
      integKey: new Secret(key.slice()),
      local: parseIpAddress(direction === "outbound" ? addrs[0]! : addrs[1]!),
      remote: parseIpAddress(direction === "outbound" ? addrs[1]! : addrs[0]!),
      now: 0,
      ...extra,
    });
  return { out: mk("outbound"), in: mk("inbound") };
}

const inner4 = (n = 40): Uint8Array => udpPacket("198.18.1.10", "198.18.2.10", 1, 2, Uint8Array.from({ length: n }, (_, i) => i));
const inner6 = (n = 40): Uint8Array => udpPacket("2001:db8:1::10", "2001:db8:2::10", 1, 2, Uint8Array.from({ length: n }, (_, i) => i));

const MIXES = [
  ["tunnel", 4, 4],
  ["tunnel", 6, 6],
  ["tunnel", 4, 6],
  ["tunnel", 6, 4],
  ["transport", 4, 4],
  ["transport", 6, 6],
] as const;

describe("RFC 4302 s3.1/s3.4 AH round trip, IPv4 and IPv6, tunnel and transport", () => {
  for (const [mode, outer, inner] of MIXES) {
    for (const integId of [2, 12, 14, 5]) {
      it(`${mode} ${inner}-in-${outer}, INTEG ${integId}`, () => {
        const { out, in: inb } = ahPair(mode, outer, inner, integId);
        fc.assert(
          fc.property(fc.integer({ min: 0, max: 1200 }), (n) => {
            const pkt = inner === 4 ? inner4(n) : inner6(n);
            const prot = encapsulate(out, pkt) as Uint8Array;
            const sel = peekIp(prot);
            const ahAt = sel.family === 4 ? 20 : 40;
            const ah = decodeAhHeader(prot, ahAt);
            // s2.6: AH length a multiple of 4 (IPv4) or 8 (IPv6).
            expect(ah.length % (sel.family === 4 ? 4 : 8)).toBe(0);
            if (sel.family === 4) expect(ipv4HeaderChecksumValid(prot)).toBe(true);
            const back = decapsulate(inb, prot);
            if (typeof back === "string") throw new Error(back);
            if (mode === "tunnel") expect(back).toEqual(pkt);
            else expect(back.subarray(inner === 4 ? 20 : 40)).toEqual(pkt.subarray(inner === 4 ? 20 : 40));
          }),
          { numRuns: 15 },
        );
      });
    }
  }
});

describe("RFC 4302 s3.3.3.1 mutable fields are zeroed for the ICV, everything else is covered", () => {
  it("IPv4: TOS, flags/fragment offset, TTL and checksum may change in transit; addresses and payload may not", () => {
    const { out, in: inb } = ahPair("transport", 4, 4);
    const prot = encapsulate(out, inner4()) as Uint8Array;
    const transit = prot.slice();
    transit[1] = 0xb8; // DSCP EF
    transit[6] = 0x40; // DF
    transit[8] = 3; // TTL decremented by routers
    setIpv4HeaderChecksum(transit);
    expect(typeof decapsulate(inb, transit)).not.toBe("string");
    for (const at of [4, 12, 19, 20, 24, prot.length - 1]) {
      const { out: o2, in: i2 } = ahPair("transport", 4, 4);
      const p = encapsulate(o2, inner4()) as Uint8Array;
      p[at]! ^= 0x01;
      expect(decapsulate(i2, p)).toMatch(/ICV_FAILURE|MALFORMED|NO_SA|TOO_OLD/);
    }
  });

  it("IPv4 options: a mutable option (record route) may change in transit, an immutable one (router alert) may not", () => {
    // IHL 8: 12 bytes of options = Router Alert (4 bytes, immutable) + Record Route (7 bytes, mutable) + EOL.
    const base = inner4(8);
    const pkt = new Uint8Array(base.length + 12);
    pkt.set(base.subarray(0, 20));
    pkt[0] = 0x48;
    pkt.set([148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0], 20);
    pkt.set(base.subarray(20), 32);
    pkt[2] = pkt.length >>> 8;
    pkt[3] = pkt.length & 0xff;
    setIpv4HeaderChecksum(pkt);
    const { out, in: inb } = ahPair("transport", 4, 4);
    const prot = encapsulate(out, pkt) as Uint8Array;
    expect(prot[32]).toBe(17); // AH after the 32-byte header, carrying UDP
    const rr = prot.slice();
    rr.set([198, 18, 0, 1], 27); // a router recorded its address
    rr[26] = 8;
    setIpv4HeaderChecksum(rr);
    expect(typeof decapsulate(inb, rr)).not.toBe("string");
    const { out: o2, in: i2 } = ahPair("transport", 4, 4);
    const ra = (encapsulate(o2, pkt) as Uint8Array).slice();
    ra[23] = 1; // Router Alert value changed
    setIpv4HeaderChecksum(ra);
    expect(decapsulate(i2, ra)).toBe("ICV_FAILURE");
  });

  it("IPv6: traffic class, flow label and hop limit may change; the rest may not", () => {
    const { out, in: inb } = ahPair("transport", 6, 6);
    const prot = encapsulate(out, inner6()) as Uint8Array;
    const transit = prot.slice();
    transit[0] = 0x6f;
    transit[1] = 0xff;
    transit[3] = 0x77;
    transit[7] = 1;
    expect(typeof decapsulate(inb, transit)).not.toBe("string");
    const { out: o2, in: i2 } = ahPair("transport", 6, 6);
    const p = encapsulate(o2, inner6()) as Uint8Array;
    p[8]! ^= 1; // source address
    expect(decapsulate(i2, p)).toBe("ICV_FAILURE");
  });

  it("the ICV is HMAC-SHA-256-128 over exactly the zeroed packet (independent computation with node:crypto)", () => {
    const { out } = ahPair("tunnel", 4, 4);
    const prot = encapsulate(out, inner4(10)) as Uint8Array;
    const icv = prot.slice(32, 48);
    const z = prot.slice();
    z[1] = 0;
    z[6] = 0;
    z[7] = 0;
    z[8] = 0;
    z[10] = 0;
    z[11] = 0;
    z.fill(0, 32, 48);
    const mac = createHmac("sha256", KEY.subarray(0, 32)).update(z).digest().subarray(0, 16);
    expect(Buffer.from(icv).equals(mac)).toBe(true);
    expect(prot[9]).toBe(51);
    expect(prot[20]).toBe(4); // AH next header: IPv4 inside
  });

  it("any flipped immutable bit is rejected", () => {
    fc.assert(
      fc.property(fc.nat(), (pick) => {
        const { out, in: inb } = ahPair("tunnel", 6, 4);
        const prot = encapsulate(out, inner4(30)) as Uint8Array;
        // Skip the IPv6 mutable bits (bytes 0-3 after the version nibble, byte 7).
        const candidates: number[] = [];
        for (let bit = 0; bit < prot.length * 8; bit++) {
          const byte = bit >>> 3;
          if ((byte >= 1 && byte <= 3) || byte === 7 || (byte === 0 && (bit & 7) >= 4)) continue;
          candidates.push(bit);
        }
        const bit = candidates[pick % candidates.length]!;
        prot[bit >>> 3]! ^= 0x80 >>> (bit & 7);
        expect(typeof decapsulate(inb, prot)).toBe("string");
      }),
      { numRuns: 200 },
    );
  });
});

describe("RFC 4302 s3.4.3 AH anti-replay and ESN", () => {
  it("replays are rejected; ESN crosses 2^32 with the high half in the ICV", () => {
    const { out, in: inb } = ahPair("tunnel", 4, 4, 12, { esn: true, initialSequence: { hi: 0, lo: 0xfffffffd } });
    const pkts = Array.from({ length: 6 }, () => encapsulate(out, inner4()) as Uint8Array);
    for (const p of pkts.reverse()) expect(typeof decapsulate(inb, p)).not.toBe("string");
    for (const p of pkts) expect(decapsulate(inb, p)).toBe("REPLAY");
    expect(out.seqHi).toBe(1);
  });
});

describe("AH through the data plane (IP protocol 51)", () => {
  for (const outer of [4, 6] as const) it(`outbound gives a whole IPv${outer} packet; inbound with protocol 51 gives the inner packet`, () => {
    const { out, in: inb } = ahPair("tunnel", outer, 4);
    const spd = new Spd();
    spd.add({ id: 1, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24") })] });
    const sadA = new Sad();
    sadA.addOutbound(1, out);
    const sadB = new Sad();
    sadB.addInbound(inb);
    const a = new DataPlane({ spd, sad: sadA });
    const b = new DataPlane({ spd: new Spd(), sad: sadB });
    const r = a.outbound(0, inner4());
    expect(r).toMatchObject({ kind: "toNetwork", ipHeaderIncluded: true, to: { address: outer === 4 ? "192.0.2.2" : "2001:db8:ff::2" } });
    if (r.kind !== "toNetwork") return;
    expect(b.inbound(0, r.bytes, { address: "192.0.2.1" }, 51)).toEqual({ kind: "toTunnel", bytes: inner4() });
    expect(b.inbound(0, r.bytes.subarray(0, 30), { address: "192.0.2.1" }, 51)).toEqual({ kind: "drop", reason: "MALFORMED" });
  });
});
