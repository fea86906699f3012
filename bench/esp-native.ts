/**
 * Pure TypeScript vs native ESP data plane vs `openssl speed`, same run (`npm run bench:esp-native`).
 *
 * For AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 at 64/512/1408-byte IP packets, one core:
 *   pure    encapsulate + decapsulate through src/ipsec/esp.ts with the node:crypto contexts
 *   native  the same esp.ts calls with the addon's EncrContext (withNativeEncr): one N-API call per packet,
 *           a fresh output array per call (the EncrContext default)
 *   scratch the same with `scratchOutput: true` (results are views into one buffer per context; what
 *           the daemon uses)
 *   batch   the addon's sealBatch + openBatch over 64 packets in one buffer (AEAD only, no ESP framing):
 *           the ceiling of a batched data plane
 *   openssl `openssl speed -evp <cipher> -bytes <size> -seconds 1`, one pass over each byte
 * Ratios in bytes per second. "rt/openssl" follows bench/esp.ts: round-trip bytes per second over
 * OpenSSL's, where a round trip is two cipher passes, so 0.5 means "each pass at OpenSSL's raw speed".
 * "per-pass" = 2 x rt/openssl (the ">= 0.5x openssl speed" read per cipher pass).
 * Prints a table and writes JSON to bench/results/. Takes about 30 s.
 */
import { getEncr } from "../src/crypto/encr.js";
import { seededRandom } from "../src/crypto/random.js";
import { Secret } from "../src/crypto/secret.js";
import { BATCH_STRIDE, BatchField, loadNativeAddon, NativeAead, withNativeEncr } from "../src/crypto/native/index.js";
import type { EncrAlgorithm } from "../src/crypto/types.js";
import { decapsulate, encapsulate } from "../src/ipsec/esp.js";
import { SecurityAssociation } from "../src/ipsec/sad.js";
import { encodeIpv4Header, parseIpAddress } from "../src/wire/ip.js";
import { fmt, machine, opensslSpeed, rate, writeResult } from "./lib/measure.js";

const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 300);
const SUITES = [
  { name: "AES-128-GCM", id: 20, bits: 128, openssl: "aes-128-gcm" },
  { name: "AES-256-GCM", id: 20, bits: 256, openssl: "aes-256-gcm" },
  { name: "ChaCha20-Poly1305", id: 28, bits: undefined, openssl: "chacha20-poly1305" },
] as const;
const SIZES = [64, 512, 1408];
const BATCH = 64;

const addon = loadNativeAddon();
if (addon === undefined) {
  console.error("native addon not built (build/Release/tsipsec_native.node): run `npm ci` or `npx node-gyp rebuild`");
  process.exit(1);
}

function pair(encr: EncrAlgorithm, keymat: Uint8Array): { out: SecurityAssociation; inb: SecurityAssociation } {
  const common = { spi: 0x1234, mode: "tunnel" as const, encr, now: 0, replayWindow: 1024 };
  const a = parseIpAddress("192.0.2.1");
  const b = parseIpAddress("192.0.2.2");
  return {
    out: new SecurityAssociation({ ...common, direction: "outbound", encrKey: new Secret(keymat.slice()), local: a, remote: b }),
    inb: new SecurityAssociation({ ...common, direction: "inbound", encrKey: new Secret(keymat.slice()), local: b, remote: a }),
  };
}

function packet(size: number): Uint8Array {
  const p = new Uint8Array(size);
  encodeIpv4Header(p, 0, { totalLength: size, protocol: 17, src: 0xc612010a, dst: 0xc612020a });
  for (let i = 20; i < size; i++) p[i] = i & 0xff;
  return p;
}

function roundTrips(encr: EncrAlgorithm, keymat: Uint8Array, size: number): number {
  const { out, inb } = pair(encr, keymat);
  const pkt = packet(size);
  const buf = new Uint8Array(size + 256);
  let failures = 0;
  const pps = rate(() => {
    const esp = encapsulate(out, pkt, buf);
    if (typeof esp === "string" || typeof decapsulate(inb, esp) === "string") failures++;
  }, RUN_MS);
  if (failures > 0) throw new Error(`${encr.name}/${size}: ${failures} round trips failed`);
  return pps;
}

/** sealBatch + openBatch of BATCH packets of `size` bytes, in place; returns round trips per second. */
function batchRoundTrips(encr: EncrAlgorithm, keymat: Uint8Array, size: number): number {
  const aead = NativeAead.create(addon as NonNullable<typeof addon>, encr, new Secret(keymat.slice()));
  const slot = size + 64;
  const buf = new Uint8Array(slot * BATCH);
  const seal = new Int32Array(BATCH * BATCH_STRIDE);
  const open = new Int32Array(BATCH * BATCH_STRIDE);
  for (let i = 0; i < BATCH; i++) {
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
  let bad = 0;
  const pps = rate(
    () => {
      aead.sealBatch(buf, seal, BATCH);
      if (aead.openBatch(buf, open, BATCH) !== BATCH) bad++;
    },
    RUN_MS,
    BATCH,
  );
  aead.dispose();
  if (bad > 0) throw new Error(`${encr.name}/${size}: batch open failed`);
  return pps;
}

interface Row {
  suite: string;
  size: number;
  pureRtPps: number;
  nativeRtPps: number;
  scratchRtPps: number;
  batchRtPps: number;
  opensslBytesPerSecond: number | undefined;
  nativeOverPure: number;
  scratchRtOverOpenssl: number | undefined;
  scratchPerPassOverOpenssl: number | undefined;
  batchPerPassOverOpenssl: number | undefined;
}

const rows: Row[] = [];
const rng = seededRandom("bench-esp-native");
for (const s of SUITES) {
  const pure = getEncr(s.id, s.bits);
  const native = withNativeEncr(pure, addon);
  const scratch = withNativeEncr(pure, addon, { scratchOutput: true });
  const keymat = rng.bytes(pure.keymatLength);
  for (const size of SIZES) {
    const pureRtPps = roundTrips(pure, keymat, size);
    const nativeRtPps = roundTrips(native, keymat, size);
    const scratchRtPps = roundTrips(scratch, keymat, size);
    const batchRtPps = batchRoundTrips(pure, keymat, size);
    const o = opensslSpeed(s.openssl, size);
    const rt = o === undefined ? undefined : (scratchRtPps * size) / o;
    rows.push({
      suite: s.name,
      size,
      pureRtPps,
      nativeRtPps,
      scratchRtPps,
      batchRtPps,
      opensslBytesPerSecond: o,
      nativeOverPure: scratchRtPps / pureRtPps,
      scratchRtOverOpenssl: rt,
      scratchPerPassOverOpenssl: rt === undefined ? undefined : 2 * rt,
      batchPerPassOverOpenssl: o === undefined ? undefined : (2 * batchRtPps * size) / o,
    });
  }
}

const m = machine();
const gbps = (pps: number, size: number): string => fmt((pps * size * 8) / 1e9, 2);
console.log(`ESP encapsulate+decapsulate, one core: pure vs native vs openssl speed (${m.date}, ${m.nproc} x ${m.cpuModel}, Node ${m.node}, OpenSSL ${m.openssl}, load ${m.loadAverage})`);
console.log("Gbit/s per CPU-second of IP packets through encap+decap (a round trip = 2 cipher passes); openssl = one pass");
console.log("suite               size  pure  native scratch batch64  openssl | scratch/pure  rt/openssl  per-pass/openssl (scratch, batch64)");
for (const r of rows) {
  console.log(
    `${r.suite.padEnd(19)}${String(r.size).padStart(5)} ${gbps(r.pureRtPps, r.size).padStart(5)} ${gbps(r.nativeRtPps, r.size).padStart(7)} ${gbps(r.scratchRtPps, r.size).padStart(7)} ${gbps(r.batchRtPps, r.size).padStart(7)} ${
      r.opensslBytesPerSecond === undefined ? "    n/a" : fmt((r.opensslBytesPerSecond * 8) / 1e9, 2).padStart(8)
    } | ${fmt(r.nativeOverPure, 2).padStart(11)}x ${r.scratchRtOverOpenssl === undefined ? "n/a" : fmt(r.scratchRtOverOpenssl, 3).padStart(10)}  ${
      r.scratchPerPassOverOpenssl === undefined ? "n/a" : fmt(r.scratchPerPassOverOpenssl, 3)
    }, ${r.batchPerPassOverOpenssl === undefined ? "n/a" : fmt(r.batchPerPassOverOpenssl, 3)}`,
  );
}
const file = writeResult("esp-native", { machine: m, runMs: RUN_MS, batch: BATCH, rows });
console.log(`\nwrote ${file}`);
