/**
 * ESP data-plane throughput and SPD lookup rate (`npm run bench:esp`).
 *
 * For each transform and packet size: packets/s and Gbit/s of encapsulate alone and of
 * encapsulate + decapsulate (one packet protected and then verified/decrypted, as two gateways
 * would), with the output written into one preallocated buffer (the data plane's fast path).
 * Beside each row: `openssl speed -evp <cipher> -bytes <size> -seconds 1` from the same run and the
 * ratio ours/OpenSSL in bytes per second. OpenSSL's figure is one cipher pass per byte; encap +
 * decap makes two, so 0.5 would mean "as fast as raw OpenSSL in C".
 * Then the SPD outbound lookup rate with 1, 100 and 10,000 policies (indexed lookup).
 * Prints a table and writes JSON to bench/results/. A run takes about a minute.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { getEncr } from "../src/crypto/encr.js";
import { getInteg } from "../src/crypto/integ.js";
import { seededRandom } from "../src/crypto/random.js";
import { Secret } from "../src/crypto/secret.js";
import { DataPlane } from "../src/ipsec/data-plane.js";
import { decapsulate, encapsulate } from "../src/ipsec/esp.js";
import { Sad, SecurityAssociation } from "../src/ipsec/sad.js";
import { addressRange, cidr, trafficSelector } from "../src/ipsec/selectors.js";
import { Spd } from "../src/ipsec/spd.js";
import { encodeIpv4Header, newPacketSelector, parseIpAddress } from "../src/wire/ip.js";

interface Suite {
  name: string;
  encrId: number;
  bits?: number;
  integId?: number;
  openssl: string[];
}

const SUITES: Suite[] = [
  { name: "AES-128-GCM", encrId: 20, bits: 128, openssl: ["aes-128-gcm"] },
  { name: "AES-256-GCM", encrId: 20, bits: 256, openssl: ["aes-256-gcm"] },
  { name: "ChaCha20-Poly1305", encrId: 28, openssl: ["chacha20-poly1305"] },
  // OpenSSL's stitched AES-CBC+HMAC-SHA256 is the closest single-pass reference; plain CBC as a fallback.
  { name: "AES-128-CBC+HMAC-SHA-256", encrId: 12, bits: 128, integId: 12, openssl: ["aes-128-cbc-hmac-sha256", "aes-128-cbc"] },
];
const SIZES = [64, 512, 1408];
const RUN_MS = 300;

function pair(s: Suite): { out: SecurityAssociation; inb: SecurityAssociation } {
  const rng = seededRandom(`bench-${s.name}`);
  const encr = getEncr(s.encrId, s.bits);
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

function packet(size: number): Uint8Array {
  const p = new Uint8Array(size);
  encodeIpv4Header(p, 0, { totalLength: size, protocol: 17, src: 0xc612010a, dst: 0xc612020a });
  for (let i = 20; i < size; i++) p[i] = i & 0xff;
  return p;
}

/** Runs `step` in batches until RUN_MS passed; returns operations per second. */
function rate(step: () => void): number {
  for (let i = 0; i < 200; i++) step(); // warm-up (JIT, OpenSSL contexts)
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < RUN_MS) {
    for (let i = 0; i < 256; i++) step();
    n += 256;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

function opensslSpeed(names: string[], size: number): { cipher: string; bytesPerSecond: number } | undefined {
  for (const cipher of names) {
    try {
      const out = execFileSync("openssl", ["speed", "-evp", cipher, "-bytes", String(size), "-seconds", "1", "-mr"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const line = out.split("\n").find((l) => l.startsWith("+F:"));
      const v = line ? Number(line.split(":").pop()) : NaN;
      if (Number.isFinite(v) && v > 0) return { cipher, bytesPerSecond: v };
    } catch {
      // cipher not available in this OpenSSL build: try the next name
    }
  }
  return undefined;
}

interface Row {
  suite: string;
  size: number;
  encapPps: number;
  encapGbps: number;
  roundTripPps: number;
  roundTripGbps: number;
  openssl?: { cipher: string; gbps: number };
  ratio?: number;
}

const rows: Row[] = [];
for (const s of SUITES) {
  for (const size of SIZES) {
    const pkt = packet(size);
    const buf = new Uint8Array(size + 256);
    const { out, inb } = pair(s);
    const encapPps = rate(() => {
      encapsulate(out, pkt, buf);
    });
    const p2 = pair(s);
    let failures = 0;
    const roundTripPps = rate(() => {
      const esp = encapsulate(p2.out, pkt, buf);
      if (typeof esp === "string" || typeof decapsulate(p2.inb, esp) === "string") failures++;
    });
    if (failures > 0 || typeof decapsulate(inb, encapsulate(out, pkt) as Uint8Array) === "string") {
      throw new Error(`${s.name}/${size}: round trip failed`);
    }
    const o = opensslSpeed(s.openssl, size);
    const roundTripGbps = (roundTripPps * size * 8) / 1e9;
    const row: Row = {
      suite: s.name,
      size,
      encapPps,
      encapGbps: (encapPps * size * 8) / 1e9,
      roundTripPps,
      roundTripGbps,
    };
    if (o) {
      row.openssl = { cipher: o.cipher, gbps: (o.bytesPerSecond * 8) / 1e9 };
      row.ratio = (roundTripPps * size) / o.bytesPerSecond;
    }
    rows.push(row);
  }
}

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
  });
  if (sink < 0) console.log(sink);
  spdRows.push({ policies: count, lookupsPerSecond });
}

// The whole facade: SPD lookup (10,000 policies) + SA + encapsulate at gateway A, demux + SA by
// SPI + decapsulate at gateway B, AES-128-GCM, 1408-byte packets.
let facadeKpps = 0;
{
  const spd = new Spd();
  for (let i = 0; i < 9_999; i++) {
    spd.add({ id: i + 10, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.0.0/15"), remote: cidr(`198.19.${(i >> 8) & 0xff}.${i & 0xff}/32`) })] });
  }
  spd.add({ id: 1, action: "PROTECT", selectors: [trafficSelector({ local: cidr("198.18.1.0/24"), remote: cidr("198.18.2.0/24") })] });
  const { out, inb } = pair(SUITES[0]!);
  const sadA = new Sad();
  sadA.addOutbound(1, out);
  const sadB = new Sad();
  sadB.addInbound(inb);
  const a = new DataPlane({ spd, sad: sadA, outputBuffer: new Uint8Array(65_536) });
  const b = new DataPlane({ spd: new Spd(), sad: sadB });
  const pkt = packet(1408);
  const from = { address: "192.0.2.1", port: 4500 };
  let bad = 0;
  facadeKpps =
    rate(() => {
      const r = a.outbound(0, pkt);
      if (r.kind !== "toNetwork" || b.inbound(0, r.bytes, from).kind !== "toTunnel") bad++;
    }) / 1000;
  if (bad > 0) throw new Error(`facade round trip failed ${bad} times`);
}

const fmt = (n: number, d = 2): string => n.toFixed(d);
console.log(`ESP encapsulate (+ decapsulate), one core, Node ${process.version}, ${RUN_MS} ms per figure`);
console.log("suite                     size   encap kpps  encap Gbit/s   enc+dec kpps  enc+dec Gbit/s  openssl Gbit/s (cipher)            ratio");
for (const r of rows) {
  console.log(
    `${r.suite.padEnd(26)}${String(r.size).padStart(4)}  ${fmt(r.encapPps / 1000, 1).padStart(10)}  ${fmt(r.encapGbps, 3).padStart(12)}  ${fmt(r.roundTripPps / 1000, 1).padStart(13)}  ${fmt(r.roundTripGbps, 3).padStart(14)}  ${
      r.openssl ? `${fmt(r.openssl.gbps, 2).padStart(13)} (${r.openssl.cipher})`.padEnd(36) : "n/a".padEnd(36)
    } ${r.ratio === undefined ? "n/a" : fmt(r.ratio, 3)}`,
  );
}
console.log(`\nDataPlane facade (SPD 10,000 policies + encap, UDP/4500 demux + decap), AES-128-GCM 1408 B: ${fmt(facadeKpps, 1)} kpps, ${fmt((facadeKpps * 1e3 * 1408 * 8) / 1e9, 3)} Gbit/s`);
console.log("\nSPD outbound lookup (indexed, first match)");
for (const s of spdRows) console.log(`${String(s.policies).padStart(6)} policies: ${fmt(s.lookupsPerSecond / 1e6, 2)} M lookups/s`);

mkdirSync("bench/results", { recursive: true });
const file = `bench/results/esp-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, runMs: RUN_MS, esp: rows, facade: { suite: "AES-128-GCM", size: 1408, roundTripKpps: facadeKpps }, spd: spdRows }, null, 2));
console.log(`\nwrote ${file}`);
