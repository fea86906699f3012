import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNativeContext, loadNativeAddon, nativeEncrWrapper } from "../../src/crypto/native/index.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { decapsulate, decapsulateBurst, encapsulate, encapsulateBurst, EspBurst } from "../../src/ipsec/esp.js";
import type { DropReason, SecurityAssociation } from "../../src/ipsec/sad.js";
import { cidr, trafficSelector } from "../../src/ipsec/selectors.js";
import { saPair, udpPacket, type Suite } from "./support.js";

// The burst API of src/ipsec/esp.ts (EspBurst, encapsulateBurst, decapsulateBurst) against the
// per-packet functions: same bytes, same drop reasons, same SA state (sequence counter, replay
// window, counters), on the native addon (one sealBatch/openBatch per burst) and on the pure path
// (per-packet fallback). The addon is built by `npm ci`; these tests require it.

const addon = loadNativeAddon();
if (addon === undefined) throw new Error("build/Release/tsipsec_native.node is missing or does not load: run `npm ci` (node-gyp rebuild)");
/** The daemon's wrapper: native AEAD with scratch outputs (views overwritten by the next call). */
const NATIVE = nativeEncrWrapper(addon, { scratchOutput: true });
const PURE = (e: EncrAlgorithm): EncrAlgorithm => e;

interface Path {
  readonly name: string;
  readonly suite: Suite;
  readonly wrap: (e: EncrAlgorithm) => EncrAlgorithm;
  readonly native: boolean;
}
const PATHS: readonly Path[] = [
  { name: "native AES-128-GCM-16", suite: { name: "AES-128-GCM-16", encrId: 20, encrBits: 128 }, wrap: NATIVE, native: true },
  { name: "native AES-256-GCM-8", suite: { name: "AES-256-GCM-8", encrId: 18, encrBits: 256 }, wrap: NATIVE, native: true },
  { name: "native ChaCha20-Poly1305", suite: { name: "ChaCha20-Poly1305", encrId: 28 }, wrap: NATIVE, native: true },
  { name: "pure AES-128-GCM-16", suite: { name: "AES-128-GCM-16", encrId: 20, encrBits: 128 }, wrap: PURE, native: false },
  { name: "pure AES-128-CBC+HMAC-SHA-256-128", suite: { name: "CBC+HMAC", encrId: 12, encrBits: 128, integId: 12 }, wrap: PURE, native: false },
];

const TS = trafficSelector({ local: cidr("198.18.2.0/24"), remote: cidr("198.18.1.0/24") });

interface Setup {
  readonly mode: "tunnel" | "transport";
  readonly esn: boolean;
  readonly start: { hi: number; lo: number };
  readonly tfcPadTo: number;
}

/** Per-packet reference SAs, burst SAs and a generator of ESP packets: all with the same keys. */
function sas(path: Path, s: Setup) {
  const addrs = s.mode === "tunnel" ? (["192.0.2.1", "192.0.2.2"] as const) : (["198.18.1.10", "198.18.2.10"] as const);
  const extra = {
    mode: s.mode,
    esn: s.esn,
    replayWindow: 64,
    tfcPadTo: s.tfcPadTo,
    initialSequence: s.start,
    selectors: s.mode === "tunnel" ? [TS] : [],
  };
  const ref = saPair(path.suite, addrs[0], addrs[1], extra, 7, path.wrap);
  const burst = saPair(path.suite, addrs[0], addrs[1], extra, 7, path.wrap);
  const gen = saPair(path.suite, addrs[0], addrs[1], extra, 7, path.wrap).out;
  expect(isNativeContext(burst.out.encrContext!)).toBe(path.native);
  return { ref, burst, gen };
}

function stateOf(sa: SecurityAssociation) {
  return { seqHi: sa.seqHi, seqLo: sa.seqLo, exhausted: sa.exhausted, counters: structuredClone(sa.counters), top: sa.replay?.top };
}

const copy = (r: Uint8Array | DropReason): Uint8Array | DropReason => (typeof r === "string" ? r : r.slice());

/**
 * The packets as views into one buffer with `gap` bytes between them, as a TUN read batch or a
 * recvmmsg buffer hands them over (the addon then reads them in place); or unchanged.
 */
function packed(packets: readonly Uint8Array[], how: { pack: boolean; gap: number }): Uint8Array[] {
  if (!how.pack) return [...packets];
  const all = new Uint8Array(packets.reduce((n, p) => n + p.length + how.gap, how.gap));
  let at = how.gap;
  return packets.map((p) => {
    all.set(p, at);
    const v = all.subarray(at, at + p.length);
    at += p.length + how.gap;
    return v;
  });
}
const packArb = fc.record({ pack: fc.boolean(), gap: fc.nat(17) });

/** An inner packet: mostly valid UDP from 198.18.1.0/24 to 198.18.2.0/24, sometimes outside the selectors or not IP at all. */
const innerArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 0, max: 1400 }), fc.nat(255)).map(([n, b]) => udpPacket("198.18.1.10", "198.18.2.10", 1000 + b, 2000, new Uint8Array(n).fill(b))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 200 }).map((n) => udpPacket("198.18.1.10", "198.18.9.10", 1, 2, new Uint8Array(n))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 40 }) },
);

const setupArb = (esnOnly = false): fc.Arbitrary<Setup> =>
  fc.record({
    mode: fc.constantFrom("tunnel" as const, "transport" as const),
    esn: esnOnly ? fc.constant(true) : fc.boolean(),
    // Fresh SAs, or a few packets before 2^32 (ESN crosses it, without ESN the counter runs out
    // inside the burst), or a few packets before 2^64 (ESN runs out).
    start: fc.oneof(
      fc.constant({ hi: 0, lo: 0 }),
      fc.integer({ min: 1, max: 40 }).map((k) => ({ hi: 0, lo: 0xffffffff - k })),
      fc.integer({ min: 1, max: 40 }).map((k) => ({ hi: 0xffffffff, lo: 0xffffffff - k })),
    ),
    tfcPadTo: fc.constantFrom(0, 0, 300),
  });

describe("encapsulateBurst == encapsulate, packet for packet", () => {
  for (const path of PATHS) {
    it(path.name, () => {
      fc.assert(
        fc.property(setupArb(), fc.array(fc.array(innerArb, { minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 4 }), packArb, (setup, bursts, how) => {
          const { ref, burst } = sas(path, setup);
          const ws = new EspBurst(4096); // small: the buffer grows inside a burst too
          const results: (Uint8Array | DropReason)[] = [];
          for (const unpacked of bursts) {
            const packets = packed(unpacked, how);
            const before = packets.map((p) => p.slice());
            const want = packets.map((p) => copy(encapsulate(ref.out, p)));
            encapsulateBurst(burst.out, packets, ws, results);
            expect(results.slice(0, packets.length)).toEqual(want);
            expect(packets).toEqual(before); // the caller's packets are not modified
            expect(stateOf(burst.out)).toEqual(stateOf(ref.out));
          }
        }),
        { numRuns: 60 },
      );
    });
  }
});

type Corruption = { kind: "none" } | { kind: "flip"; at: number; bit: number } | { kind: "truncate"; by: number } | { kind: "junk"; bytes: Uint8Array };

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: "none" as const }) },
  // Anywhere, or in the ESP header (SPI, sequence number: both authenticated).
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: fc.oneof(fc.nat(), fc.nat(7)), bit: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate" as const), by: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("junk" as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 64 }) }) },
);

function corrupt(esp: Uint8Array, c: Corruption): Uint8Array {
  switch (c.kind) {
    case "none":
      return esp;
    case "flip": {
      const e = esp.slice();
      const at = c.at % e.length;
      e[at] = e[at]! ^ (1 << c.bit);
      return e;
    }
    case "truncate":
      return esp.subarray(0, Math.max(0, esp.length - c.by));
    case "junk":
      return c.bytes;
  }
}

/**
 * ESP packets from the generator SA: in order, with occasional jumps of the sender's counter
 * (past the replay window, or past 2^32 with ESN, so the receiver infers a new high half).
 */
const poolArb = fc.array(
  fc.record({ inner: innerArb, jump: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }) }, { weight: 1, arbitrary: fc.constant(0x7fffffff) }) }),
  { minLength: 1, maxLength: 30 },
);

/** The inbound stream: picks from the pool (replays, reordering) with corruptions, cut into bursts. */
const streamArb = fc.array(fc.tuple(fc.nat(), corruptionArb), { minLength: 1, maxLength: 60 });
const cutsArb = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 });

function makePool(gen: SecurityAssociation, pool: readonly { inner: Uint8Array; jump: number }[]): Uint8Array[] {
  const esps: Uint8Array[] = [];
  for (const { inner, jump } of pool) {
    if (jump > 0 && !gen.exhausted) {
      // Move the sender's counter forward (never backwards, never past the end).
      const next = (gen.seqHi * 0x1_0000_0000 + gen.seqLo + jump) % (gen.esn ? 2 ** 64 : 2 ** 32);
      if (next > gen.seqHi * 0x1_0000_0000 + gen.seqLo) {
        gen.seqHi = gen.esn ? Math.floor(next / 0x1_0000_0000) : 0;
        gen.seqLo = next % 0x1_0000_0000;
      }
    }
    const e = encapsulate(gen, inner);
    if (typeof e !== "string") esps.push(e.slice());
  }
  return esps;
}

function checkInbound(path: Path, setup: Setup, pool: readonly { inner: Uint8Array; jump: number }[], stream: readonly [number, Corruption][], cuts: readonly number[], how = { pack: false, gap: 0 }): void {
  const { ref, burst, gen } = sas(path, setup);
  const esps = makePool(gen, pool);
  if (esps.length === 0) return;
  const packets = stream.map(([i, c]) => corrupt(esps[i % esps.length]!, c));
  const ws = new EspBurst(2048);
  const results: (Uint8Array | DropReason)[] = [];
  let at = 0;
  for (let k = 0; at < packets.length; k++) {
    const n = Math.min(cuts[k % cuts.length]!, packets.length - at);
    const chunk = packed(packets.slice(at, at + n), how);
    const before = chunk.map((p) => p.slice());
    at += n;
    const want = chunk.map((p) => copy(decapsulate(ref.in, p)));
    decapsulateBurst(burst.in, chunk, ws, results);
    expect(results.slice(0, n)).toEqual(want);
    expect(chunk).toEqual(before);
    expect(stateOf(burst.in)).toEqual(stateOf(ref.in));
  }
}

describe("decapsulateBurst == decapsulate, packet for packet (ICV failures, replays, reordering, junk inside a burst)", () => {
  for (const path of PATHS) {
    it(path.name, () => {
      fc.assert(fc.property(setupArb(), poolArb, streamArb, cutsArb, packArb, (setup, pool, stream, cuts, how) => checkInbound(path, setup, pool, stream, cuts, how)), { numRuns: 80 });
    });
  }

  for (const path of PATHS.filter((p) => p.native)) {
    it(`${path.name}, ESN: a packet whose inferred high half changes because of an earlier packet of the burst`, () => {
      fc.assert(fc.property(setupArb(true), poolArb, streamArb, cutsArb, packArb, (setup, pool, stream, cuts, how) => checkInbound(path, setup, pool, stream, cuts, how)), { numRuns: 80 });
    });
  }

  it("the cases the properties rely on do happen: a jump past 2^32 re-infers the high half of a later packet of the same burst", () => {
    // Window top at (0, 2^32-16). Packet A = (1, 0x100) moves it past 2^32; packet B sent as
    // (0, 2^32-5) is then read as (1, 2^32-5) and fails its ICV, exactly as one at a time.
    const path = PATHS[0]!;
    const setup: Setup = { mode: "tunnel", esn: true, start: { hi: 0, lo: 0xfffffff0 }, tfcPadTo: 0 };
    const { ref, burst, gen } = sas(path, setup);
    const pkt = udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(100));
    gen.seqLo = 0xfffffffa;
    const b = (encapsulate(gen, pkt) as Uint8Array).slice(); // (0, 2^32-5)
    gen.seqHi = 1;
    gen.seqLo = 0xff;
    const a = (encapsulate(gen, pkt) as Uint8Array).slice(); // (1, 0x100)
    const want = [a, b].map((p) => copy(decapsulate(ref.in, p)));
    expect(want[0]).toEqual(pkt);
    expect(want[1]).toBe("ICV_FAILURE");
    const results: (Uint8Array | DropReason)[] = [];
    decapsulateBurst(burst.in, [a, b], new EspBurst(), results);
    expect(results).toEqual(want);
    expect(stateOf(burst.in)).toEqual(stateOf(ref.in));
  });

  it("a forged copy before the genuine packet in one burst: the forgery fails, the genuine one is accepted once", () => {
    const path = PATHS[0]!;
    const { ref, burst, gen } = sas(path, { mode: "tunnel", esn: false, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
    const pkt = udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(64));
    const good = (encapsulate(gen, pkt) as Uint8Array).slice();
    const forged = corrupt(good, { kind: "flip", at: good.length - 1, bit: 0 });
    const stream = [forged, good, good];
    const want = stream.map((p) => copy(decapsulate(ref.in, p)));
    expect(want).toEqual(["ICV_FAILURE", pkt, "REPLAY"]);
    const results: (Uint8Array | DropReason)[] = [];
    decapsulateBurst(burst.in, stream, new EspBurst(), results);
    expect(results).toEqual(want);
  });
});

describe("EspBurst with several SAs in one burst", () => {
  it("groups per SA (one addon call each) and keeps every SA's results in order", () => {
    const p1 = sas(PATHS[0]!, { mode: "tunnel", esn: false, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
    const p2 = sas(PATHS[2]!, { mode: "tunnel", esn: true, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
    const p3 = sas(PATHS[4]!, { mode: "tunnel", esn: false, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
    const pkts = Array.from({ length: 30 }, (_, i) => udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(10 * i)));
    const order = pkts.map((_, i) => [p1, p2, p3][i % 3]!);
    const ws = new EspBurst(1024);
    const slots = pkts.map((p, i) => ws.addEncapsulate(order[i]!.burst.out, p));
    ws.run();
    const sealed = slots.map((s) => (typeof s === "string" ? s : ws.result(s)));
    const want = pkts.map((p, i) => copy(encapsulate(order[i]!.ref.out, p)));
    expect(sealed).toEqual(want);
    // And back through the receivers, all in one inbound burst.
    ws.reset();
    const inSlots = want.map((e, i) => ws.addDecapsulate(order[i]!.burst.in, e as Uint8Array));
    ws.run();
    expect(inSlots.map((s) => ws.result(s))).toEqual(pkts);
  });

  it("steady traffic (same sizes burst after burst, views reused) stays equal to the per-packet path, also when the buffer grows", () => {
    for (const path of PATHS) {
      for (const mode of ["tunnel", "transport"] as const) {
        const p = sas(path, { mode, esn: false, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
        const outWs = new EspBurst(1024);
        const inWs = new EspBurst(1024);
        const sealed: (Uint8Array | DropReason)[] = [];
        const opened: (Uint8Array | DropReason)[] = [];
        for (let round = 0; round < 6; round++) {
          // Same sizes each round but new contents, except the 8th packet (same place, new length);
          // round 3 adds 52 big packets: the buffers grow, views of the old ones must not be reused.
          const n = round === 3 ? 60 : 8;
          const size = (i: number): number => (i >= 8 ? 1400 : i === 7 ? 100 + 8 * round : 100 + i);
          const pkts = Array.from({ length: n }, (_, i) => udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(size(i)).fill(round * 16 + i)));
          const want = pkts.map((x) => copy(encapsulate(p.ref.out, x)));
          encapsulateBurst(p.burst.out, pkts, outWs, sealed, n);
          expect(sealed.slice(0, n)).toEqual(want);
          const wantBack = want.map((e) => copy(decapsulate(p.ref.in, e as Uint8Array)));
          decapsulateBurst(p.burst.in, sealed as Uint8Array[], inWs, opened, n);
          expect(opened.slice(0, n)).toEqual(wantBack);
        }
      }
    }
  });

  it("result() before run() is a caller bug and throws", () => {
    const p = sas(PATHS[0]!, { mode: "tunnel", esn: false, start: { hi: 0, lo: 0 }, tfcPadTo: 0 });
    const ws = new EspBurst();
    const s = ws.addEncapsulate(p.burst.out, udpPacket("198.18.1.10", "198.18.2.10", 1, 2, new Uint8Array(1)));
    expect(() => ws.result(s as number)).toThrow(/before run/);
  });
});
