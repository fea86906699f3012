import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { Secret } from "../../src/crypto/secret.js";
import { decapsulate, encapsulate, espOverhead, openPayload, sealPayload } from "../../src/ipsec/esp.js";
import { SecurityAssociation } from "../../src/ipsec/sad.js";
import { cidr, trafficSelector } from "../../src/ipsec/selectors.js";
import { encodeEspHeader } from "../../src/wire/esp.js";
import { foldChecksum, onesComplementSum, parseIpAddress } from "../../src/wire/ip.js";
import { ipPacket, saPair, SUITES, udpPacket, udpSegment, type Suite } from "./support.js";

const FAMILY_ADDRS = {
  4: { a: "198.18.1.10", b: "198.18.2.10", outerA: "192.0.2.1", outerB: "192.0.2.2" },
  6: { a: "2001:db8:1::10", b: "2001:db8:2::10", outerA: "2001:db8:ff::1", outerB: "2001:db8:ff::2" },
} as const;

interface Mix {
  readonly name: string;
  readonly mode: "tunnel" | "transport";
  readonly inner: 4 | 6;
  readonly outer: 4 | 6;
}
const MIXES: readonly Mix[] = [
  { name: "4-in-4 tunnel", mode: "tunnel", inner: 4, outer: 4 },
  { name: "6-in-6 tunnel", mode: "tunnel", inner: 6, outer: 6 },
  { name: "4-in-6 tunnel", mode: "tunnel", inner: 4, outer: 6 },
  { name: "6-in-4 tunnel", mode: "tunnel", inner: 6, outer: 4 },
  { name: "IPv4 transport", mode: "transport", inner: 4, outer: 4 },
  { name: "IPv6 transport", mode: "transport", inner: 6, outer: 6 },
];

function pairFor(suite: Suite, mix: Mix, extra: Partial<ConstructorParameters<typeof SecurityAssociation>[0]> = {}, seed = 1) {
  const o = FAMILY_ADDRS[mix.outer];
  // Transport mode protects host-to-host traffic: the outer addresses are the hosts'.
  const a = mix.mode === "transport" ? FAMILY_ADDRS[mix.inner].a : o.outerA;
  const b = mix.mode === "transport" ? FAMILY_ADDRS[mix.inner].b : o.outerB;
  return saPair(suite, a, b, { mode: mix.mode, replayWindow: 128, ...extra }, seed);
}

function innerPacket(mix: Mix, body: Uint8Array, sport = 4000, dport = 5000): Uint8Array {
  const f = FAMILY_ADDRS[mix.inner];
  return udpPacket(f.a, f.b, sport, dport, body);
}

/** What the receiver must hand to the tunnel: the whole packet (tunnel) or the same transport payload (transport). */
function expectSame(mix: Mix, got: Uint8Array, sent: Uint8Array): void {
  if (mix.mode === "tunnel") {
    expect(got).toEqual(sent);
  } else {
    const hl = mix.inner === 4 ? 20 : 40;
    expect(got.subarray(hl)).toEqual(sent.subarray(hl));
    expect(got[mix.inner === 4 ? 9 : 6]).toBe(17);
  }
}

describe("RFC 4303 s3.3/s3.4 encapsulate then decapsulate gives the packet back", () => {
  for (const suite of SUITES) {
    for (const mix of MIXES) {
      it(`${suite.name}, ${mix.name}`, () => {
        const { out, in: inb } = pairFor(suite, mix);
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (body) => {
            const pkt = innerPacket(mix, body);
            const esp = encapsulate(out, pkt);
            if (typeof esp === "string") throw new Error(esp);
            // s2.4: payload + padding + trailer aligned to the block size and to 4 bytes.
            const encr = out.encr!;
            const ctLen = esp.length - 8 - encr.ivLength - (encr.aead ? encr.icvLength : 0) - (out.integ?.icvLength ?? 0);
            expect(ctLen % Math.max(4, encr.blockSize)).toBe(0);
            expect(esp.length).toBeLessThanOrEqual(pkt.length + espOverhead(out, pkt.length));
            const back = decapsulate(inb, esp);
            if (typeof back === "string") throw new Error(back);
            expectSame(mix, back, pkt);
          }),
          { numRuns: 40 },
        );
        expect(inb.counters.packets).toBe(out.counters.packets);
      });
    }
  }

  it("writes into a caller's output buffer without allocating the result", () => {
    const { out, in: inb } = pairFor(SUITES[0]!, MIXES[0]!);
    const buf = new Uint8Array(2048);
    const pkt = innerPacket(MIXES[0]!, new Uint8Array(100));
    const esp = encapsulate(out, pkt, buf) as Uint8Array;
    expect(esp.buffer).toBe(buf.buffer);
    expect(decapsulate(inb, esp)).toEqual(pkt);
  });
});

describe("RFC 4303 s3.4.4 integrity: any single flipped bit is rejected", () => {
  for (const suite of SUITES) {
    it(suite.name, () => {
      const mix = MIXES[0]!;
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (body, pick) => {
          const { out, in: inb } = pairFor(suite, mix);
          const esp = encapsulate(out, innerPacket(mix, body)) as Uint8Array;
          // Bits after the SPI (the SPI selects the SA: see data-plane.test.ts for NO_SA).
          const bit = 32 + (pick % (esp.length * 8 - 32));
          const bad = esp.slice();
          bad[bit >>> 3]! ^= 1 << (bit & 7);
          const r = decapsulate(inb, bad);
          expect(typeof r).toBe("string");
          expect(["ICV_FAILURE", "TOO_OLD", "REPLAY", "MALFORMED"]).toContain(r);
          // The genuine packet still goes through: a forgery did not move the window.
          expect(typeof decapsulate(inb, esp)).not.toBe("string");
        }),
        { numRuns: 60 },
      );
    });
  }

  it("a forged packet with a huge sequence number does not advance the window (s3.4.3: update after ICV)", () => {
    const { out, in: inb } = pairFor(SUITES[0]!, MIXES[0]!);
    const good = encapsulate(out, innerPacket(MIXES[0]!, new Uint8Array(10))) as Uint8Array;
    const forged = good.slice();
    encodeEspHeader(forged, 0, inb.spi, 0x7fffffff);
    expect(decapsulate(inb, forged)).toBe("ICV_FAILURE");
    expect(typeof decapsulate(inb, good)).not.toBe("string");
    expect(inb.counters.drops.ICV_FAILURE).toBe(1);
  });
});

describe("RFC 4303 s3.4.3 anti-replay through decapsulate", () => {
  it("a replayed packet is REPLAY; reordering within the window is accepted; older than the window is TOO_OLD", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), fc.integer(), (n, seed) => {
        const { out, in: inb } = pairFor(SUITES[2]!, MIXES[0]!, { replayWindow: 64 });
        const pkts = Array.from({ length: n }, (_, i) => encapsulate(out, innerPacket(MIXES[0]!, Uint8Array.of(i))) as Uint8Array);
        const order = fc.sample(fc.shuffledSubarray(pkts, { minLength: n, maxLength: n }), { numRuns: 1, seed })[0]!;
        for (const p of order) expect(typeof decapsulate(inb, p)).not.toBe("string");
        for (const p of order) expect(decapsulate(inb, p)).toBe("REPLAY");
        expect(inb.counters.drops.REPLAY).toBe(n);
      }),
      { numRuns: 30 },
    );
  });

  it("a packet more than the window behind the highest is TOO_OLD", () => {
    const { out, in: inb } = pairFor(SUITES[0]!, MIXES[0]!, { replayWindow: 32 });
    const first = encapsulate(out, innerPacket(MIXES[0]!, new Uint8Array(1))) as Uint8Array;
    let last: Uint8Array = first;
    for (let i = 0; i < 40; i++) last = encapsulate(out, innerPacket(MIXES[0]!, new Uint8Array(1))) as Uint8Array;
    expect(typeof decapsulate(inb, last)).not.toBe("string");
    expect(decapsulate(inb, first)).toBe("TOO_OLD");
  });
});

describe("RFC 4303 s2.2.1 Extended Sequence Numbers", () => {
  for (const suite of [SUITES[0]!, SUITES[3]!]) {
    it(`${suite.name}: crossing 2^32 works; only the low half is on the wire`, () => {
      const start = { hi: 0, lo: 0xffffffff - 5 };
      const { out, in: inb } = pairFor(suite, MIXES[0]!, { esn: true, initialSequence: start });
      const lows: number[] = [];
      for (let i = 0; i < 12; i++) {
        const pkt = innerPacket(MIXES[0]!, Uint8Array.of(i, i, i));
        const esp = encapsulate(out, pkt) as Uint8Array;
        lows.push(((esp[4]! << 24) >>> 0) + (esp[5]! << 16) + (esp[6]! << 8) + esp[7]!);
        expect(decapsulate(inb, esp)).toEqual(pkt);
      }
      expect(lows).toEqual([0xfffffffb, 0xfffffffc, 0xfffffffd, 0xfffffffe, 0xffffffff, 0, 1, 2, 3, 4, 5, 6]);
      expect(out.seqHi).toBe(1);
      expect(inb.replay!.top).toEqual({ hi: 1, lo: 6 });
    });
  }

  it("a receiver with the wrong high half (no ESN on one side) fails the ICV", () => {
    const { out } = pairFor(SUITES[3]!, MIXES[0]!, { esn: true, initialSequence: { hi: 3, lo: 10 } });
    const { in: inb } = pairFor(SUITES[3]!, MIXES[0]!, { esn: false, initialSequence: { hi: 0, lo: 10 } });
    expect(decapsulate(inb, encapsulate(out, innerPacket(MIXES[0]!, new Uint8Array(4))) as Uint8Array)).toBe("ICV_FAILURE");
  });
});

describe("RFC 4303 s3.3.3 sequence counter exhaustion stops sending instead of wrapping", () => {
  it("without ESN the last number sent is 2^32-1", () => {
    const { out } = pairFor(SUITES[0]!, MIXES[0]!, { initialSequence: { hi: 0, lo: 0xfffffffe } });
    const pkt = innerPacket(MIXES[0]!, new Uint8Array(8));
    expect(typeof encapsulate(out, pkt)).not.toBe("string");
    expect(encapsulate(out, pkt)).toBe("SEQUENCE_EXHAUSTED");
    expect(encapsulate(out, pkt)).toBe("SEQUENCE_EXHAUSTED");
    expect(out.counters.drops.SEQUENCE_EXHAUSTED).toBe(2);
  });

  it("with ESN the last number sent is 2^64-1", () => {
    const { out } = pairFor(SUITES[0]!, MIXES[0]!, { esn: true, initialSequence: { hi: 0xffffffff, lo: 0xfffffffe } });
    const pkt = innerPacket(MIXES[0]!, new Uint8Array(8));
    expect(typeof encapsulate(out, pkt)).not.toBe("string");
    expect(encapsulate(out, pkt)).toBe("SEQUENCE_EXHAUSTED");
  });
});

/** NULL encryption + HMAC lets a test build any plaintext with a valid ICV. */
function nullSa(direction: "inbound" | "outbound", extra: Partial<ConstructorParameters<typeof SecurityAssociation>[0]> = {}): SecurityAssociation {
  return new SecurityAssociation({
    spi: 0x2222,
    direction,
    mode: "tunnel",
    encr: getEncr(11),
    encrKey: new Secret(new Uint8Array(0)),
    integ: getInteg(12),
    integKey: new Secret(new Uint8Array(32).fill(7)),
    local: parseIpAddress(direction === "inbound" ? "192.0.2.2" : "192.0.2.1"),
    remote: parseIpAddress(direction === "inbound" ? "192.0.2.1" : "192.0.2.2"),
    now: 0,
    ...extra,
  });
}

function forge(plaintext: Uint8Array, seq: number): Uint8Array {
  const p = new Uint8Array(8 + plaintext.length + 16);
  encodeEspHeader(p, 0, 0x2222, seq);
  p.set(plaintext, 8);
  const icv = getInteg(12).create(new Secret(new Uint8Array(32).fill(7))).compute(p.subarray(0, 8 + plaintext.length));
  p.set(icv, 8 + plaintext.length);
  return p;
}

describe("RFC 4303 s2.4 padding is checked by the receiver", () => {
  it("any wrong padding byte is BAD_PADDING; a pad length beyond the payload too", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 255 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (padLen, at, delta) => {
        const inner = innerPacket(MIXES[0]!, new Uint8Array(12));
        const pt = new Uint8Array(inner.length + padLen + 2);
        pt.set(inner);
        for (let i = 1; i <= padLen; i++) pt[inner.length + i - 1] = i;
        pt[pt.length - 2] = padLen;
        pt[pt.length - 1] = 4;
        expect(decapsulate(nullSa("inbound"), forge(pt, 1))).toEqual(inner);
        const k = inner.length + (at % padLen);
        pt[k] = (pt[k]! + delta) & 0xff;
        expect(decapsulate(nullSa("inbound"), forge(pt, 1))).toBe("BAD_PADDING");
      }),
      { numRuns: 100 },
    );
    expect(decapsulate(nullSa("inbound"), forge(Uint8Array.of(1, 2, 3, 200, 4), 1))).toBe("BAD_PADDING");
  });

  it("next header 59 is a dummy packet, dropped silently (s2.6)", () => {
    const out = nullSa("outbound");
    const inb = nullSa("inbound");
    const dummy = sealPayload(out, new Uint8Array(40), 59) as Uint8Array;
    expect(decapsulate(inb, dummy)).toBe("DUMMY");
    expect(inb.counters.drops.DUMMY).toBe(1);
  });

  it("a tunnel-mode next header that is not 4/41, or an inner packet of the other family, is MALFORMED", () => {
    const inner = innerPacket(MIXES[0]!, new Uint8Array(4));
    expect(decapsulate(nullSa("inbound"), sealPayload(nullSa("outbound"), inner, 17) as Uint8Array)).toBe("MALFORMED");
    expect(decapsulate(nullSa("inbound"), sealPayload(nullSa("outbound"), inner, 41) as Uint8Array)).toBe("MALFORMED");
  });
});

describe("RFC 4303 s2.7 TFC padding", () => {
  it("pads tunnel-mode packets to the SA's size and the receiver removes it", () => {
    const { out, in: inb } = pairFor(SUITES[0]!, MIXES[0]!, { tfcPadTo: 1000 });
    const pkt = innerPacket(MIXES[0]!, new Uint8Array(30));
    const esp = encapsulate(out, pkt) as Uint8Array;
    expect(esp.length).toBeGreaterThanOrEqual(8 + 8 + 1000 + 2 + 16);
    const opened = openPayload(inb, esp);
    if (typeof opened === "string") throw new Error(opened);
    expect(opened.payloadLength).toBe(1000);
    const { out: o2, in: i2 } = pairFor(SUITES[0]!, MIXES[0]!, { tfcPadTo: 1000 }, 2);
    expect(decapsulate(i2, encapsulate(o2, pkt) as Uint8Array)).toEqual(pkt);
  });
});

describe("RFC 4301 s5.2 inbound packets must match the SA's selectors", () => {
  it("an inner packet outside the selectors is SELECTOR_MISMATCH", () => {
    const ts = trafficSelector({ local: cidr("198.18.2.0/24"), remote: cidr("198.18.1.0/24") });
    const { out, in: inb } = pairFor(SUITES[0]!, MIXES[0]!, { selectors: [ts] });
    const ok = udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(5));
    const bad = udpPacket("198.18.9.10", "198.18.2.10", 1, 2, new Uint8Array(5));
    expect(decapsulate(inb, encapsulate(out, ok) as Uint8Array)).toEqual(ok);
    expect(decapsulate(inb, encapsulate(out, bad) as Uint8Array)).toBe("SELECTOR_MISMATCH");
    expect(inb.counters.drops.SELECTOR_MISMATCH).toBe(1);
  });
});

describe("RFC 3948 s3.1.2 transport mode behind NAT: inner checksum fixed with NAT-OA", () => {
  function udpChecksumOk(pkt: Uint8Array): boolean {
    const seg = pkt.subarray(20);
    let s = onesComplementSum(pkt, 12, 20); // pseudo-header addresses
    s += 17 + seg.length;
    s = onesComplementSum(seg, 0, seg.length, s);
    return foldChecksum(s) === 0;
  }
  it("TCP/UDP checksums computed with the original addresses verify after decapsulation", () => {
    // Sender 198.18.1.10 (private, NAT-OA) is seen as 203.0.113.7 after NAT.
    const seg = udpSegment(1234, 5678, Uint8Array.from({ length: 33 }, (_, i) => i * 7));
    const orig = ipPacket("198.18.1.10", "192.0.2.2", 17, seg);
    let s = onesComplementSum(orig, 12, 20) + 17 + seg.length;
    s = onesComplementSum(seg, 0, seg.length, s);
    const c = foldChecksum(s);
    orig[26] = c >>> 8;
    orig[27] = c & 0xff;
    expect(udpChecksumOk(orig)).toBe(true);
    const { out } = saPair(SUITES[0]!, "198.18.1.10", "192.0.2.2", { mode: "transport", udpEncap: { localPort: 4500, remotePort: 4500 } });
    const { in: inb } = saPair(SUITES[0]!, "203.0.113.7", "192.0.2.2", {
      mode: "transport",
      udpEncap: { localPort: 4500, remotePort: 4500 },
      natOriginal: { local: parseIpAddress("192.0.2.2"), remote: parseIpAddress("198.18.1.10") },
    });
    const back = decapsulate(inb, encapsulate(out, orig) as Uint8Array) as Uint8Array;
    expect(Array.from(back.subarray(12, 16))).toEqual([203, 0, 113, 7]);
    expect(udpChecksumOk(back)).toBe(true);
  });
});

describe("untrusted input never throws", () => {
  it("random bytes and truncations give a drop reason", () => {
    for (const suite of SUITES) {
      const { out, in: inb } = pairFor(suite, MIXES[0]!, { antiReplay: false });
      const good = encapsulate(out, innerPacket(MIXES[0]!, new Uint8Array(50))) as Uint8Array;
      for (let n = 0; n < good.length; n++) expect(typeof decapsulate(inb, good.subarray(0, n))).toBe("string");
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
          expect(typeof decapsulate(inb, junk)).toBe("string");
          expect(typeof encapsulate(out, junk)).toMatch(/string|object/);
        }),
        { numRuns: 100 },
      );
    }
  });
});
