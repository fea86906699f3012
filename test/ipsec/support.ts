import { readFileSync } from "node:fs";
import { getEncr } from "../../src/crypto/encr.js";
import { getInteg } from "../../src/crypto/integ.js";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";
import type { EncrAlgorithm } from "../../src/crypto/types.js";
import { SecurityAssociation, type SaParams } from "../../src/ipsec/sad.js";
import { fromHex } from "../../src/wire/hex.js";
import { encodeIpv4Header, encodeIpv6Header, parseIpAddress } from "../../src/wire/ip.js";

/** Shared helpers for the data-plane tests: transforms by short name, SA pairs, packet builders. */

import { VECTORS_DIR } from "../support/vectors.js";

/** The shared vectors folder (test/support/vectors.ts: ../shared/vectors or TSIPSEC_VECTORS). */
export const VECTORS = VECTORS_DIR;

export function readJson<T>(rel: string): T {
  return JSON.parse(readFileSync(`${VECTORS}/${rel}`, "utf8")) as T;
}

export interface Suite {
  readonly name: string;
  readonly encrId: number;
  readonly encrBits?: number;
  readonly integId?: number;
}

/** The transforms the property tests and the benchmark cover. */
export const SUITES: readonly Suite[] = [
  { name: "AES-128-GCM-16", encrId: 20, encrBits: 128 },
  { name: "AES-256-GCM-16", encrId: 20, encrBits: 256 },
  { name: "ChaCha20-Poly1305", encrId: 28 },
  { name: "AES-128-CBC+HMAC-SHA-256-128", encrId: 12, encrBits: 128, integId: 12 },
  { name: "AES-256-CTR+HMAC-SHA-512-256", encrId: 13, encrBits: 256, integId: 14 },
  { name: "AES-128-GMAC", encrId: 21, encrBits: 128 },
  { name: "NULL+HMAC-SHA-256-128", encrId: 11, integId: 12 },
];

type Common = Omit<SaParams, "spi" | "direction" | "encr" | "encrKey" | "integ" | "integKey" | "local" | "remote" | "now"> & {
  readonly spi?: number;
  readonly now?: number;
};

/**
 * An outbound SA at `a` and the matching inbound SA at `b` (same keys, derived from `seed`).
 * `aAddr`/`bAddr` are the outer addresses as text; `wrapEncr` swaps the transform (e.g. onto the
 * native addon with `nativeEncrWrapper`).
 */
export function saPair(
  suite: Suite,
  aAddr: string,
  bAddr: string,
  extra: Common,
  seed = 1,
  wrapEncr: (encr: EncrAlgorithm) => EncrAlgorithm = (e) => e,
): { out: SecurityAssociation; in: SecurityAssociation } {
  const rng = seededRandom(`keys-${seed}`);
  const encr = wrapEncr(getEncr(suite.encrId, suite.encrBits));
  const integ = suite.integId === undefined ? undefined : getInteg(suite.integId);
  const ek = rng.bytes(encr.keymatLength);
  const ik = integ ? rng.bytes(integ.keyLength) : undefined;
  const spi = extra.spi ?? 0x1000 + seed;
  const base = {
    ...extra,
    spi,
    encr,
    integ,
    now: extra.now ?? 0,
    random: extra.random ?? seededRandom(`iv-${seed}`),
  };
  const out = new SecurityAssociation({
    ...base,
    direction: "outbound",
    encrKey: new Secret(ek.slice()),
    integKey: ik ? new Secret(ik.slice()) : undefined,
    local: parseIpAddress(aAddr),
    remote: parseIpAddress(bAddr),
  });
  const inb = new SecurityAssociation({
    ...base,
    direction: "inbound",
    encrKey: new Secret(ek.slice()),
    integKey: ik ? new Secret(ik.slice()) : undefined,
    local: parseIpAddress(bAddr),
    remote: parseIpAddress(aAddr),
  });
  return { out, in: inb };
}

/** A UDP packet (IPv4 or IPv6 by address text) with `payload`; UDP checksum left 0 over IPv4. */
export function udpPacket(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, ttl = 64): Uint8Array {
  return ipPacket(src, dst, 17, udpSegment(sport, dport, payload), ttl);
}

export function udpSegment(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const seg = new Uint8Array(8 + payload.length);
  seg[0] = sport >>> 8;
  seg[1] = sport & 0xff;
  seg[2] = dport >>> 8;
  seg[3] = dport & 0xff;
  seg[4] = seg.length >>> 8;
  seg[5] = seg.length & 0xff;
  seg.set(payload, 8);
  return seg;
}

/** An IP packet carrying `body` as protocol `protocol`. */
export function ipPacket(src: string, dst: string, protocol: number, body: Uint8Array, ttl = 64): Uint8Array {
  const s = parseIpAddress(src);
  const d = parseIpAddress(dst);
  if (s.length === 4) {
    const p = new Uint8Array(20 + body.length);
    const u32 = (a: Uint8Array): number => ((a[0]! << 24) >>> 0) + (a[1]! << 16) + (a[2]! << 8) + a[3]!;
    encodeIpv4Header(p, 0, { totalLength: p.length, protocol, src: u32(s), dst: u32(d), ttl, identification: 0x1234 });
    p.set(body, 20);
    return p;
  }
  const p = new Uint8Array(40 + body.length);
  encodeIpv6Header(p, 0, { payloadLength: body.length, nextHeader: protocol, src: s, dst: d, hopLimit: ttl, flowLabel: 0x12345, trafficClass: 0x28 });
  p.set(body, 40);
  return p;
}

export const hex = fromHex;
