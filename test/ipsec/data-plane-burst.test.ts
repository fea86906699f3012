import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadNativeAddon, nativeEncrWrapper } from "../../src/crypto/native/index.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { DataPlane, type DataPlaneEvent, type DataPlaneResult, type Endpoint } from "../../src/ipsec/data-plane.js";
import type { Lifetime } from "../../src/ipsec/lifetime.js";
import { Sad, type SecurityAssociation } from "../../src/ipsec/sad.js";
import { cidr, trafficSelector } from "../../src/ipsec/selectors.js";
import { Spd } from "../../src/ipsec/spd.js";
import { saPair, SUITES, udpPacket, type Suite } from "./support.js";

// DataPlane.outboundBurst / inboundBurst against outbound / inbound called packet by packet on an
// identical DataPlane: same results, drops, events (rekey at soft limits and near sequence
// exhaustion, expiry at hard limits in the middle of a burst) and SA state, on the native addon
// and on the pure path.

const addon = loadNativeAddon();
if (addon === undefined) throw new Error("build/Release/tsipsec_native.node is missing or does not load: run `npm ci` (node-gyp rebuild)");
const NATIVE = nativeEncrWrapper(addon, { scratchOutput: true });
const PURE = (e: EncrAlgorithm): EncrAlgorithm => e;

const PATHS: readonly { name: string; suite: Suite; wrap: (e: EncrAlgorithm) => EncrAlgorithm }[] = [
  { name: "native AES-128-GCM", suite: SUITES[0]!, wrap: NATIVE },
  { name: "native ChaCha20-Poly1305", suite: SUITES[2]!, wrap: NATIVE },
  { name: "pure AES-128-GCM", suite: SUITES[0]!, wrap: PURE },
  { name: "pure AES-128-CBC+HMAC-SHA-256", suite: SUITES[3]!, wrap: PURE },
];

const TS = trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24") });
const TS2 = trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.3.0/24") });
const TS_B = trafficSelector({ local: cidr("198.18.2.0/24"), remote: cidr("198.18.1.0/24") });
const TS2_B = trafficSelector({ local: cidr("198.18.3.0/24"), remote: cidr("198.18.1.0/24") });

interface Options {
  readonly lifetime: Lifetime;
  readonly esn: boolean;
  readonly start: number;
  readonly udp: boolean;
}

/**
 * Gateway A's side with two tunnels (policies 2 and 5, SAs 0xa1/0xa2), a DISCARD, a BYPASS and a
 * PROTECT policy without an SA; and gateway B's inbound SAs for both tunnels.
 */
function world(wrap: (e: EncrAlgorithm) => EncrAlgorithm, suite: Suite, o: Options) {
  const spd = new Spd();
  spd.add({ id: 1, action: "DISCARD", selectors: [trafficSelector({ local: TS.local, remote: cidr("198.18.2.66/32") })] });
  spd.add({ id: 2, action: "PROTECT", selectors: [TS] });
  spd.add({ id: 5, action: "PROTECT", selectors: [TS2] });
  spd.add({ id: 3, action: "BYPASS", selectors: [trafficSelector({ local: cidr("192.0.2.0/24"), remote: cidr("192.0.2.0/24") })] });
  spd.add({ id: 4, action: "PROTECT", selectors: [trafficSelector({ local: TS.local, remote: cidr("198.19.0.0/16") })] });
  const udpEncap = o.udp ? { localPort: 4500, remotePort: 4500 } : undefined;
  const extra = { mode: "tunnel" as const, lifetime: o.lifetime, udpEncap, esn: o.esn, replayWindow: 64, initialSequence: { hi: 0, lo: o.start } };
  const t1 = saPair(suite, "192.0.2.1", "192.0.2.2", { ...extra, spi: 0xa1, policyId: 2 }, 1, wrap);
  const t2 = saPair(suite, "192.0.2.1", "192.0.2.3", { ...extra, spi: 0xa2, policyId: 5 }, 2, wrap);
  const sadA = new Sad();
  sadA.addOutbound(2, t1.out);
  sadA.addOutbound(5, t2.out);
  const b1 = saPair(suite, "192.0.2.1", "192.0.2.2", { ...extra, spi: 0xa1, selectors: [TS_B] }, 1, wrap).in;
  const b2 = saPair(suite, "192.0.2.1", "192.0.2.3", { ...extra, spi: 0xa2, selectors: [TS2_B] }, 2, wrap).in;
  const sadB = new Sad();
  sadB.addInbound(b1);
  sadB.addInbound(b2);
  return { a: new DataPlane({ spd, sad: sadA, outputBuffer: new Uint8Array(4096) }), b: new DataPlane({ spd: new Spd(), sad: sadB }), sas: [t1.out, t2.out, b1, b2] };
}

function events(dp: DataPlane): { kind: string; spi: number; reason?: string }[] {
  const out: { kind: string; spi: number; reason?: string }[] = [];
  for (let e: DataPlaneEvent | undefined = dp.pollEvent(); e; e = dp.pollEvent()) out.push(e.kind === "rekeyNeeded" ? { kind: e.kind, spi: e.sa.spi, reason: e.reason } : { kind: e.kind, spi: e.sa.spi });
  return out;
}

function stateOf(sas: readonly SecurityAssociation[]) {
  return sas.map((sa) => ({ seqLo: sa.seqLo, seqHi: sa.seqHi, counters: structuredClone(sa.counters), top: sa.replay?.top, lifetime: [sa.lifetime.packets, sa.lifetime.bytes, sa.lifetime.expired] }));
}

/** A result with its bytes copied (per-packet results may be views into reused buffers). */
function copy(r: DataPlaneResult): DataPlaneResult {
  return "bytes" in r ? { ...r, bytes: r.bytes.slice() } : r;
}

const packetArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1400 }).map((n) => udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(n).fill(n & 0xff))) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }).map((n) => udpPacket("198.18.1.11", "198.18.3.10", 7, 8, new Uint8Array(n).fill(3))) },
  { weight: 1, arbitrary: fc.constant(udpPacket("198.18.1.10", "198.18.2.66", 1, 2, new Uint8Array(3))) },
  { weight: 1, arbitrary: fc.constant(udpPacket("192.0.2.1", "192.0.2.9", 1, 2, new Uint8Array(3))) },
  { weight: 1, arbitrary: fc.constant(udpPacket("198.18.1.10", "198.19.4.4", 1234, 53, new Uint8Array(3))) },
  { weight: 1, arbitrary: fc.constant(udpPacket("198.18.1.10", "203.0.113.9", 1, 2, new Uint8Array(3))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }) },
);

const optionsArb: fc.Arbitrary<Options> = fc.record({
  lifetime: fc.oneof(
    fc.constant({}),
    fc.record({ soft: fc.record({ packets: fc.integer({ min: 1, max: 30 }) }), hard: fc.record({ packets: fc.integer({ min: 5, max: 60 }) }) }),
    fc.record({ soft: fc.record({ bytes: fc.integer({ min: 100, max: 8000 }) }), hard: fc.record({ bytes: fc.integer({ min: 1000, max: 30000 }) }) }),
  ),
  esn: fc.boolean(),
  // Near the end of the counter: rekeyNeeded (reason "sequence") and SEQUENCE_EXHAUSTED inside a burst.
  start: fc.oneof(fc.constant(0), fc.integer({ min: 0x10000 - 20, max: 0x10000 + 5 }).map((k) => 0xffffffff - k), fc.integer({ min: 1, max: 30 }).map((k) => 0xffffffff - k)),
  udp: fc.boolean(),
});

const cutsArb = fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 8 });

function* chunks<T>(xs: readonly T[], cuts: readonly number[]): Generator<T[]> {
  let at = 0;
  for (let k = 0; at < xs.length; k++) {
    const n = Math.min(cuts[k % cuts.length]!, xs.length - at);
    yield xs.slice(at, at + n);
    at += n;
  }
}

describe("DataPlane.outboundBurst == outbound, packet for packet", () => {
  for (const path of PATHS) {
    it(path.name, () => {
      fc.assert(
        fc.property(optionsArb, fc.array(packetArb, { minLength: 1, maxLength: 80 }), cutsArb, (o, packets, cuts) => {
          const ref = world(path.wrap, path.suite, o);
          const bur = world(path.wrap, path.suite, o);
          for (const chunk of chunks(packets, cuts)) {
            const want = chunk.map((p) => copy(ref.a.outbound(0, p)));
            const got = bur.a.outboundBurst(0, chunk);
            expect(got.length).toBe(chunk.length);
            expect(got.map(copy)).toEqual(want);
            expect(events(bur.a)).toEqual(events(ref.a));
            expect(bur.a.drops).toEqual(ref.a.drops);
            expect(stateOf(bur.sas)).toEqual(stateOf(ref.sas));
          }
        }),
        { numRuns: 50 },
      );
    });
  }
});

type Mangle = { kind: "none" } | { kind: "flip"; at: number } | { kind: "ike" } | { kind: "keepalive" } | { kind: "junk"; bytes: Uint8Array };
const mangleArb: fc.Arbitrary<Mangle> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "ike" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "keepalive" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("junk" as const), bytes: fc.uint8Array({ maxLength: 40 }) }) },
);

function mangle(esp: Uint8Array, m: Mangle): Uint8Array {
  switch (m.kind) {
    case "none":
      return esp;
    case "flip": {
      const e = esp.slice();
      e[m.at % e.length]! ^= 0x10;
      return e;
    }
    case "ike":
      return Uint8Array.of(0, 0, 0, 0, 0x42, 1, 2, 3);
    case "keepalive":
      return Uint8Array.of(0xff);
    case "junk":
      return m.bytes;
  }
}

describe("DataPlane.inboundBurst == inbound, datagram for datagram", () => {
  for (const path of PATHS) {
    it(path.name, () => {
      fc.assert(
        fc.property(optionsArb, fc.array(packetArb, { minLength: 1, maxLength: 60 }), fc.array(fc.tuple(fc.nat(), mangleArb), { minLength: 1, maxLength: 80 }), cutsArb, (o, packets, picks, cuts) => {
          // ESP from a sender without limits (the receivers have them), then replays/reordering/damage.
          const gen = world(path.wrap, path.suite, { ...o, lifetime: {} });
          const esps: Uint8Array[] = [];
          for (const p of packets) {
            const r = gen.a.outbound(0, p);
            if (r.kind === "toNetwork") esps.push(r.bytes.slice());
          }
          if (esps.length === 0) return;
          const stream = picks.map(([i, m]) => mangle(esps[i % esps.length]!, m));
          const from: Endpoint = o.udp ? { address: "192.0.2.1", port: 4500 } : { address: "192.0.2.1" };
          const ref = world(path.wrap, path.suite, o);
          const bur = world(path.wrap, path.suite, o);
          for (const chunk of chunks(stream, cuts)) {
            const want = chunk.map((d) => copy(ref.b.inbound(0, d, from)));
            const got = bur.b.inboundBurst(0, chunk, chunk.map(() => from));
            expect(got.map(copy)).toEqual(want);
            expect(events(bur.b)).toEqual(events(ref.b));
            expect(bur.b.drops).toEqual(ref.b.drops);
            expect(stateOf(bur.sas)).toEqual(stateOf(ref.sas));
          }
        }),
        { numRuns: 50 },
      );
    });
  }

  it("a hard limit reached inside a burst: the SA is removed, later datagrams of the burst are NO_SA", () => {
    const o: Options = { lifetime: { hard: { packets: 3 } }, esn: false, start: 0, udp: false };
    const gen = world(NATIVE, SUITES[0]!, { ...o, lifetime: {} });
    const esps = Array.from({ length: 6 }, () => (gen.a.outbound(0, udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(10))) as { bytes: Uint8Array }).bytes.slice());
    const bur = world(NATIVE, SUITES[0]!, o);
    const got = bur.b.inboundBurst(0, esps, { address: "192.0.2.1" });
    expect(got.map((r) => (r.kind === "drop" ? r.reason : r.kind))).toEqual(["toTunnel", "toTunnel", "toTunnel", "HARD_EXPIRED", "NO_SA", "NO_SA"]);
    expect(events(bur.b)).toEqual([{ kind: "expired", spi: 0xa1 }]);
  });

  it("outbound: packets sealed before a hard limit in the same burst still go out (the SA's keys are wiped only after)", () => {
    const o: Options = { lifetime: { hard: { packets: 3 } }, esn: false, start: 0, udp: false };
    const bur = world(NATIVE, SUITES[0]!, o);
    const pkts = Array.from({ length: 5 }, () => udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(10)));
    const got = bur.a.outboundBurst(0, pkts);
    expect(got.map((r) => (r.kind === "drop" ? r.reason : r.kind))).toEqual(["toNetwork", "toNetwork", "toNetwork", "HARD_EXPIRED", "acquire"]);
    const back = bur.b.inboundBurst(0, got.slice(0, 3).map((r) => (r as { bytes: Uint8Array }).bytes), { address: "192.0.2.1" });
    expect(back.map((r) => r.kind)).toEqual(["toTunnel", "toTunnel", "toTunnel"]);
  });
});
