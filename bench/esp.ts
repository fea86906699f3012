/**
 * ESP encapsulate + decapsulate per CPU-second against `openssl speed` (`npm run bench:esp`):
 * issue 7's table.
 *
 * For AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and AES-128-CBC+HMAC-SHA-256 at 64/512/1408-byte
 * IP packets (tunnel mode; views into one buffer, as a TUN read batch hands them over), on one
 * core, round trips (encapsulate at one SA, decapsulate at its
 * peer) per CPU-second of this process (`process.cpuUsage`, the unit `openssl speed` reports) on:
 *   daemon  the path the daemon runs: `encapsulateBurst` + `decapsulateBurst` of BURST packets on
 *           SAs whose AEAD is on the native addon (one sealBatch + one openBatch per burst), with
 *           the per-packet fallback inside the same API for transforms the addon lacks (CBC+HMAC)
 *   per-pkt the per-packet native path it replaces (`encapsulate`/`decapsulate`, one N-API call
 *           per packet, scratch outputs): the "before" figure
 *   pure    the same burst API on the pure node:crypto transforms (no addon; per-packet inside)
 *   aead    sealBatch + openBatch of BURST packets alone (no ESP framing): the addon's ceiling
 *   openssl `openssl speed -evp <cipher> -bytes <size> -seconds 1`, run here, one cipher pass
 * Two readings of the ratio, both printed:
 *   strict   round-trip bytes per CPU-second / openssl bytes per second (a round trip is two cipher
 *            passes, so 0.5 means each pass at OpenSSL's raw speed): the issue's target reading
 *   per pass 2 x strict
 * Then the DataPlane facade (SPD of 10,000 policies, SA, ESP, UDP/4500 demux) per packet and per
 * burst, and SPD lookups per second. Prints a table, writes JSON to bench/results/.
 * Each figure is the median of BENCH_ROUNDS (default 3) rounds that interleave all columns and
 * `openssl speed`. Knobs: BENCH_RUN_MS (CPU ms per figure and round, default 300), BENCH_BURST (default 64),
 * BENCH_ONLY=<suite name substring>, BENCH_SIZES=64,1408.
 */
import { getEncr } from "../src/crypto/encr.js";
import { getInteg } from "../src/crypto/integ.js";
import { BATCH_STRIDE, BatchField, loadNativeAddon, NativeAead, withNativeEncr } from "../src/crypto/native/index.js";
import { seededRandom } from "../src/crypto/random.js";
import { Secret } from "../src/crypto/secret.js";
import type { EncrAlgorithm } from "../src/crypto/types.js";
import { DataPlane, type DataPlaneResult } from "../src/ipsec/data-plane.js";
import { decapsulate, decapsulateBurst, encapsulate, encapsulateBurst, EspBurst } from "../src/ipsec/esp.js";
import { Sad, SecurityAssociation, type DropReason } from "../src/ipsec/sad.js";
import { addressRange, cidr, trafficSelector } from "../src/ipsec/selectors.js";
import { Spd } from "../src/ipsec/spd.js";
import { encodeIpv4Header, newPacketSelector, parseIpAddress } from "../src/wire/ip.js";
import { fmt, machine, opensslSpeed, rate, writeResult } from "./lib/measure.js";

const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 300);
const BURST = Number(process.env.BENCH_BURST ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const SIZES = (process.env.BENCH_SIZES ?? "64,512,1408").split(",").map(Number);

interface Suite {
  readonly name: string;
  readonly encrId: number;
  readonly bits?: number;
  readonly integId?: number;
  /** `openssl speed -evp` names, first available wins (OpenSSL's stitched CBC+HMAC is the closest single-pass reference). */
  readonly openssl: readonly string[];
}

const SUITES: readonly Suite[] = [
  { name: "AES-128-GCM", encrId: 20, bits: 128, openssl: ["aes-128-gcm"] },
  { name: "AES-256-GCM", encrId: 20, bits: 256, openssl: ["aes-256-gcm"] },
  { name: "ChaCha20-Poly1305", encrId: 28, openssl: ["chacha20-poly1305"] },
  { name: "AES-128-CBC+HMAC-SHA-256", encrId: 12, bits: 128, integId: 12, openssl: ["aes-128-cbc-hmac-sha256", "aes-128-cbc"] },
].filter((s) => ONLY === undefined || s.name.includes(ONLY));

const addon = loadNativeAddon();

function pair(s: Suite, encr: EncrAlgorithm): { out: SecurityAssociation; inb: SecurityAssociation } {
  const rng = seededRandom(`bench-${s.name}`);
  const integ = s.integId === undefined ? undefined : getInteg(s.integId);
  const ek = rng.bytes(encr.keymatLength);
  const ik = integ ? rng.bytes(integ.keyLength) : undefined;
  const common = { spi: 0x1234, mode: "tunnel" as const, encr, integ, now: 0, random: seededRandom("iv"), replayWindow: 1024 };
  const a = parseIpAddress("192.0.2.1");
  const b = parseIpAddress("192.0.2.2");
  return {
    out: new SecurityAssociation({ ...common, direction: "outbound", encrKey: new Secret(ek.slice()), integKey: ik && new Secret(ik.slice()), local: a, remote: b }),
    inb: new SecurityAssociation({ ...common, direction: "inbound", encrKey: new Secret(ek.slice()), integKey: ik && new Secret(ik.slice()), local: b, remote: a }),
  };
}

/** `count` IPv4/UDP packets of `size` bytes as views into one buffer, as a TUN read batch hands them over. */
function packets(size: number, count: number): Uint8Array[] {
  const stride = (size + 63) & ~63;
  const all = new ArrayBuffer(stride * count);
  return Array.from({ length: count }, (_, i) => packet(size, new Uint8Array(all, i * stride, size)));
}

function packet(size: number, p = new Uint8Array(size)): Uint8Array {
  encodeIpv4Header(p, 0, { totalLength: size, protocol: 17, src: 0xc612010a, dst: 0xc612020a });
  for (let i = 20; i < size; i++) p[i] = i & 0xff;
  return p;
}

/** A step of BURST round trips through the burst API (the daemon's path). */
function burstStep(s: Suite, encr: EncrAlgorithm, size: number): () => void {
  const { out, inb } = pair(s, encr);
  const pkts = packets(size, BURST);
  const outWs = new EspBurst();
  const inWs = new EspBurst();
  const sealed: (Uint8Array | DropReason)[] = [];
  const opened: (Uint8Array | DropReason)[] = [];
  return () => {
    encapsulateBurst(out, pkts, outWs, sealed, BURST);
    decapsulateBurst(inb, sealed as Uint8Array[], inWs, opened, BURST);
    const last = opened[BURST - 1];
    if (typeof last === "string" || last?.length !== size) throw new Error(`${s.name}/${size}: burst round trip failed: ${String(last)}`);
  };
}

/** A step of BURST round trips one packet at a time (output into one preallocated buffer): the path before bursts. */
function perPacketStep(s: Suite, encr: EncrAlgorithm, size: number): () => void {
  const { out, inb } = pair(s, encr);
  const pkts = packets(size, BURST);
  const buf = new Uint8Array(size + 256);
  return () => {
    for (let i = 0; i < BURST; i++) {
      const esp = encapsulate(out, pkts[i] as Uint8Array, buf);
      if (typeof esp === "string" || typeof decapsulate(inb, esp) === "string") throw new Error(`${s.name}/${size}: round trip failed`);
    }
  };
}

/** A step of sealBatch + openBatch of BURST packets in place, no ESP framing: the addon's ceiling. */
function aeadStep(encr: EncrAlgorithm, size: number): () => void {
  const a = addon as NonNullable<typeof addon>;
  const aead = NativeAead.create(a, encr, new Secret(seededRandom("aead").bytes(encr.keymatLength)));
  const slot = size + 64;
  const buf = new Uint8Array(slot * BURST);
  const seal = new Int32Array(BURST * BATCH_STRIDE);
  const open = new Int32Array(BURST * BATCH_STRIDE);
  for (let i = 0; i < BURST; i++) {
    const o = i * slot;
    for (const [d, len] of [
      [seal, size],
      [open, size + encr.icvLength],
    ] as const) {
      d[i * BATCH_STRIDE + BatchField.IV_OFFSET] = o;
      d[i * BATCH_STRIDE + BatchField.AAD_OFFSET] = o + 8;
      d[i * BATCH_STRIDE + BatchField.AAD_LENGTH] = 8;
      d[i * BATCH_STRIDE + BatchField.INPUT_OFFSET] = o + 16;
      d[i * BATCH_STRIDE + BatchField.INPUT_LENGTH] = len;
      d[i * BATCH_STRIDE + BatchField.OUTPUT_OFFSET] = o + 16;
    }
  }
  return () => {
    aead.sealBatch(buf, seal, BURST);
    if (aead.openBatch(buf, open, BURST) !== BURST) throw new Error(`${encr.name}/${size}: batch open failed`);
  };
}

const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

function openssl(names: readonly string[], size: number): { cipher: string; bytesPerSecond: number } | undefined {
  for (const cipher of names) {
    const v = opensslSpeed(cipher, size);
    if (v !== undefined) return { cipher, bytesPerSecond: v };
  }
  return undefined;
}

interface Row {
  suite: string;
  size: number;
  /** What the daemon runs: "native burst" or "per-packet fallback" (transform not on the addon). */
  daemonPath: string;
  daemonRtPps: number;
  perPacketRtPps: number | undefined;
  pureRtPps: number;
  aeadRtPps: number | undefined;
  openssl: { cipher: string; bytesPerSecond: number } | undefined;
  daemonStrict: number | undefined;
  pureStrict: number | undefined;
  perPacketStrict: number | undefined;
}

const rows: Row[] = [];
for (const s of SUITES) {
  const pure = getEncr(s.encrId, s.bits);
  const native = withNativeEncr(pure, addon, { scratchOutput: true });
  const onAddon = native !== pure;
  for (const size of SIZES) {
    // Every figure ROUNDS times, interleaved with `openssl speed`, medians: the machine is shared,
    // so a neighbour's burst of load hits all columns of a round alike instead of one column.
    const steps = { daemon: burstStep(s, native, size), perPacket: onAddon ? perPacketStep(s, native, size) : undefined, pure: onAddon ? burstStep(s, pure, size) : undefined, aead: onAddon ? aeadStep(pure, size) : undefined };
    const seen = { daemon: [] as number[], perPacket: [] as number[], pure: [] as number[], aead: [] as number[], openssl: [] as number[] };
    let cipher: string | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of ["daemon", "perPacket", "pure", "aead"] as const) {
        const step = steps[k];
        if (step !== undefined) seen[k].push(rate(step, RUN_MS, BURST));
      }
      const o = openssl(s.openssl, size);
      if (o !== undefined) {
        cipher = o.cipher;
        seen.openssl.push(o.bytesPerSecond);
      }
    }
    const daemonRtPps = median(seen.daemon);
    const perPacketRtPps = steps.perPacket && median(seen.perPacket);
    const pureRtPps = steps.pure ? median(seen.pure) : daemonRtPps;
    const aeadRtPps = steps.aead && median(seen.aead);
    const o = cipher === undefined ? undefined : { cipher, bytesPerSecond: median(seen.openssl) };
    const strict = (pps: number | undefined): number | undefined => (o === undefined || pps === undefined ? undefined : (pps * size) / o.bytesPerSecond);
    rows.push({
      suite: s.name,
      size,
      daemonPath: onAddon ? `native burst of ${BURST}` : addon === undefined ? "pure (no addon)" : "per-packet fallback (not on the addon)",
      daemonRtPps,
      perPacketRtPps,
      pureRtPps,
      aeadRtPps,
      openssl: o,
      daemonStrict: strict(daemonRtPps),
      pureStrict: strict(pureRtPps),
      perPacketStrict: strict(perPacketRtPps),
    });
  }
}

// The whole facade: SPD lookup (10,000 policies) + SA + encapsulate at gateway A, UDP/4500 demux +
// SA by SPI + decapsulate at gateway B, AES-128-GCM 1408 B, on the daemon's transform (native when
// loaded): one packet per call, and BURST packets per outboundBurst/inboundBurst call.
function facade(): { perPacketKpps: number; burstKpps: number } {
  const spd = new Spd();
  for (let i = 0; i < 9_999; i++) {
    spd.add({ id: i + 10, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.0.0/15"), remote: cidr(`198.19.${(i >> 8) & 0xff}.${i & 0xff}/32`) })] });
  }
  spd.add({ id: 1, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24") })] });
  const gcm: Suite = { name: "AES-128-GCM", encrId: 20, bits: 128, openssl: [] };
  const encr = withNativeEncr(getEncr(20, 128), addon, { scratchOutput: true });
  const mk = (): { a: DataPlane; b: DataPlane } => {
    const { out, inb } = pair(gcm, encr);
    const sadA = new Sad();
    sadA.addOutbound(1, out);
    const sadB = new Sad();
    sadB.addInbound(inb);
    return { a: new DataPlane({ spd, sad: sadA, outputBuffer: new Uint8Array(65_536) }), b: new DataPlane({ spd: new Spd(), sad: sadB }) };
  };
  const pkt = packet(1408);
  const pkts = packets(1408, BURST);
  const from = { address: "192.0.2.1", port: 4500 };
  let bad = 0;
  const one = mk();
  const perPacketKpps =
    rate(() => {
      const r = one.a.outbound(0, pkt);
      if (r.kind !== "toNetwork" || one.b.inbound(0, r.bytes, from).kind !== "toTunnel") bad++;
    }, RUN_MS) / 1000;
  const many = mk();
  const datagrams: Uint8Array[] = [];
  const burstKpps =
    rate(
      () => {
        const rs: readonly DataPlaneResult[] = many.a.outboundBurst(0, pkts);
        for (let i = 0; i < BURST; i++) {
          const r = rs[i] as DataPlaneResult;
          if (r.kind === "toNetwork") datagrams[i] = r.bytes;
          else bad++;
        }
        const back = many.b.inboundBurst(0, datagrams, from);
        if (back[BURST - 1]?.kind !== "toTunnel") bad++;
      },
      RUN_MS,
      BURST,
    ) / 1000;
  if (bad > 0) throw new Error(`facade round trip failed ${bad} times`);
  return { perPacketKpps, burstKpps };
}
const fac = facade();

interface SpdRow {
  policies: number;
  lookupsPerSecond: number;
}
const spdRows: SpdRow[] = [];
for (const count of [1, 100, 10_000]) {
  const spd = new Spd();
  const local = cidr("198.18.0.0/15");
  for (let i = 0; i < count; i++) {
    // Distinct /32 remote hosts in 198.19.0.0/16 plus a few ranges, mixed protocols: a large site table.
    const hi = (i >> 8) & 0xff;
    const lo = i & 0xff;
    const remote = i % 50 === 49 ? addressRange(parseIpAddress(`198.19.${hi}.0`), parseIpAddress(`198.19.${hi}.127`)) : cidr(`198.19.${hi}.${lo}/32`);
    spd.add({ id: i, action: "PROTECT", selectors: [trafficSelector({ local, remote, protocol: i % 4 === 0 ? 6 : 0 })] });
  }
  spd.add({ id: 1_000_000, action: "BYPASS", selectors: [trafficSelector({ local: cidr("0.0.0.0/0"), remote: cidr("0.0.0.0/0") })] });
  const probes = Array.from({ length: 1024 }, (_, k) => {
    const sel = newPacketSelector();
    const i = (k * 7919) % Math.max(count, 1);
    sel.family = 4;
    sel.src[0] = 0xc612010a;
    sel.dst[0] = (0xc6130000 | (((i >> 8) & 0xff) << 8) | (i & 0xff)) >>> 0;
    sel.protocol = k % 2 ? 17 : 6;
    sel.srcPort = 1000 + k;
    sel.dstPort = 443;
    return sel;
  });
  spd.lookup(probes[0]!); // build the index outside the timed loop
  let k = 0;
  let sink = 0;
  const lookupsPerSecond = rate(() => {
    sink += spd.lookup(probes[k++ & 1023]!)?.id ?? 0;
  }, RUN_MS);
  if (sink < 0) console.log(sink);
  spdRows.push({ policies: count, lookupsPerSecond });
}

const m = machine();
const gbps = (pps: number | undefined, size: number): string => (pps === undefined ? "-" : fmt((pps * size * 8) / 1e9, 2));
const ratio = (r: number | undefined): string => (r === undefined ? "n/a" : `${fmt(r, 3)} / ${fmt(2 * r, 2)}`);
console.log(`ESP encapsulate+decapsulate per CPU-second vs openssl speed (${m.date}, ${m.nproc} x ${m.cpuModel}, Node ${m.node}, OpenSSL ${m.openssl}, load ${m.loadAverage})`);
console.log(`native addon: ${addon === undefined ? "NOT LOADED (daemon path = pure)" : "loaded"}; burst = ${BURST} packets; medians of ${ROUNDS} interleaved rounds of ${RUN_MS} CPU-ms per figure`);
console.log("Gbit/s of IP packets per CPU-second through encap+decap (2 cipher passes); openssl = 1 pass; ratios 'strict / per pass'");
console.log(
  `${"suite".padEnd(25)}${"size".padStart(5)} ${"daemon".padStart(7)} ${"per-pkt".padStart(7)} ${"pure".padStart(6)} ${"aead".padStart(6)} ${"openssl".padStart(8)} | ${"daemon vs openssl".padEnd(18)} ${"pure vs openssl".padEnd(16)} ${"per-pkt vs openssl".padEnd(18)} daemon path`,
);
for (const r of rows) {
  console.log(
    `${r.suite.padEnd(25)}${String(r.size).padStart(5)} ${gbps(r.daemonRtPps, r.size).padStart(7)} ${gbps(r.perPacketRtPps, r.size).padStart(7)} ${gbps(r.pureRtPps, r.size).padStart(6)} ${gbps(r.aeadRtPps, r.size).padStart(6)} ${(r.openssl === undefined ? "n/a" : fmt((r.openssl.bytesPerSecond * 8) / 1e9, 2)).padStart(8)} | ${ratio(r.daemonStrict).padEnd(18)} ${ratio(r.pureStrict).padEnd(16)} ${ratio(r.perPacketStrict).padEnd(18)} ${r.daemonPath}${r.openssl && r.suite.includes("CBC") ? ` (openssl: ${r.openssl.cipher})` : ""}`,
  );
}
console.log(
  `\nDataPlane facade (SPD 10,000 policies + encap, UDP/4500 demux + decap), AES-128-GCM 1408 B, round trips per CPU-second: per packet ${fmt(fac.perPacketKpps, 1)} kpps (${fmt((fac.perPacketKpps * 1e3 * 1408 * 8) / 1e9, 2)} Gbit/s), burst of ${BURST} ${fmt(fac.burstKpps, 1)} kpps (${fmt((fac.burstKpps * 1e3 * 1408 * 8) / 1e9, 2)} Gbit/s)`,
);
console.log("\nSPD outbound lookup (indexed, first match), per CPU-second");
for (const s of spdRows) console.log(`${String(s.policies).padStart(6)} policies: ${fmt(s.lookupsPerSecond / 1e6, 2)} M lookups/s`);
const file = writeResult("esp", { machine: m, runMs: RUN_MS, rounds: ROUNDS, burst: BURST, addonLoaded: addon !== undefined, rows, facade: fac, spd: spdRows });
console.log(`\nwrote ${file}`);
