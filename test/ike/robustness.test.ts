/**
 * Malformed and hostile input (RFC 7296 s2.21, s2.5, s3.2, s3.9, s3.4; design.md rule 5): every
 * datagram below is thrown at gateway B while it has IKE SAs with A and with C. Unauthenticated
 * garbage is dropped silently; authenticated but malformed requests get INVALID_SYNTAX or
 * UNSUPPORTED_CRITICAL_PAYLOAD. Afterwards B still works, and the other peer's SA is untouched.
 */
import { describe, it, expect, beforeEach } from "vitest";
import { IkeEngine } from "../../src/ike/engine.js";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";
import { SimNetwork, type SimNode } from "../sim/network.js";
import { connection, pairedChildren, errorsOf, A_ADDR, B_ADDR, A_ID, B_ID, PSK } from "../sim/fixtures.js";
import type { EngineConfig } from "../../src/ike/api.js";
import { decodeHeader } from "../../src/wire/ike/header.js";
import { decodeMessage, encodePayloadChain } from "../../src/wire/ike/message.js";
import { encodeHeader } from "../../src/wire/ike/header.js";
import { encryptSk } from "../../src/ike/protection.js";
import { ExchangeType, NotifyType } from "../../src/wire/ike/constants.js";
import { findNotify } from "../../src/wire/ike/find.js";
import type { Payload } from "../../src/wire/ike/types.js";
import { checkChildResponse } from "../../src/ike/exchanges/child-negotiation.js";
import { parseProposalString } from "../../src/ike/negotiation/proposals.js";

const C_ADDR = "192.0.2.3";
const C_ID = "gw-c.example";

interface World {
  net: SimNetwork;
  a: SimNode;
  b: SimNode;
  c: SimNode;
  engA: IkeEngine;
  engB: IkeEngine;
  engC: IkeEngine;
}

function world(seed: string): World {
  const cfg = (conns: ReturnType<typeof connection>[]): EngineConfig => ({
    connections: conns,
    secrets: [{ ids: [A_ID, B_ID, C_ID], secret: Secret.fromUtf8(PSK) }],
    cookieThreshold: 100,
    halfOpenTimeoutSeconds: 30,
  });
  const a = cfg([connection("site", { addr: A_ADDR, id: A_ID, ts: ["198.18.1.0/24"] }, { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] })]);
  const c = cfg([connection("site", { addr: C_ADDR, id: C_ID, ts: ["198.18.3.0/24"] }, { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] })]);
  const b = cfg([
    connection("to-a", { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] }, { addr: A_ADDR, id: A_ID, ts: ["198.18.1.0/24"] }),
    connection("to-c", { addr: B_ADDR, id: B_ID, ts: ["198.18.2.0/24"] }, { addr: C_ADDR, id: C_ID, ts: ["198.18.3.0/24"] }),
  ]);
  const net = new SimNetwork(seed);
  const engA = new IkeEngine(a, seededRandom(`${seed}a`), net.now);
  const engB = new IkeEngine(b, seededRandom(`${seed}b`), net.now);
  const engC = new IkeEngine(c, seededRandom(`${seed}c`), net.now);
  const w = { net, a: net.addNode("A", A_ADDR, engA), b: net.addNode("B", B_ADDR, engB), c: net.addNode("C", C_ADDR, engC), engA, engB, engC };
  net.call(w.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
  net.call(w.c, (e, now) => (e as IkeEngine).initiate(now, "site"));
  net.runFor(5_000);
  return w;
}

/** B's state apart from timers: every IKE SA with its SPIs, state and Child SA SPIs. */
function snapshot(w: World): string {
  return JSON.stringify(w.engB.listSas(w.net.now).map((s) => [s.connection, s.state, s.spiI, s.spiR, s.children.map((c) => [c.spiIn, c.spiOut, c.state])]));
}

/** Both peers still work: each rekeys its Child SA through B. */
function stillWorks(w: World): void {
  w.net.call(w.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
  w.net.call(w.c, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
  w.net.runFor(30_000);
  expect(w.a.installed.size).toBe(1);
  expect(w.c.installed.size).toBe(1);
  expect(w.b.installed.size).toBe(2);
  expect(pairedChildren(w.a, w.b).length).toBe(1);
  expect(pairedChildren(w.c, w.b).length).toBe(1);
  expect(errorsOf(w.b)).toEqual([]);
}

/** A real request A sent to B after establishment (a DPD-style INFORMATIONAL), as a template. */
function protectedRequest(w: World): Uint8Array {
  const sa = [...w.engA.ikeSas()][0]!;
  w.engA.sendRequest(w.net.now, sa, ExchangeType.INFORMATIONAL, [], { kind: "dpd" });
  let bytes: Uint8Array | undefined;
  for (let o = w.engA.pollOutput(); o; o = w.engA.pollOutput()) if (o.kind === "transmit") bytes = o.bytes;
  // Abandon it on A's side so the window stays usable for the follow-up checks.
  sa.msgIds.completed();
  sa.msgIds.nextRequestId -= 1;
  sa.active = undefined;
  sa.timers.clear("retransmit");
  return bytes!;
}

function transmitsFromB(w: World, f: () => void): Uint8Array[] {
  const before = w.b.sent.length;
  f();
  return w.b.sent.slice(before).map((s) => s.bytes);
}

/** A raw payload (any type, any body), for shapes the encoder refuses to produce. */
interface RawPayload {
  rawType: number;
  body: Uint8Array;
  critical?: boolean;
}
type Piece = Payload | RawPayload;
const isRaw = (p: Piece): p is RawPayload => "rawType" in p;

/** Encodes a payload chain byte by byte, so malformed payloads can be placed inside. */
function chainBytes(pieces: Piece[]): { firstType: number; bytes: Uint8Array } {
  const parts = pieces.map((p) => {
    if (!isRaw(p)) return { type: p.type as number, bytes: encodePayloadChain([p]).bytes };
    const b = new Uint8Array(4 + p.body.length);
    b[1] = p.critical ? 0x80 : 0;
    new DataView(b.buffer).setUint16(2, b.length);
    b.set(p.body, 4);
    return { type: p.rawType, bytes: b };
  });
  parts.forEach((x, i) => (x.bytes[0] = parts[i + 1]?.type ?? 0));
  const total = parts.reduce((n, x) => n + x.bytes.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const x of parts) {
    out.set(x.bytes, o);
    o += x.bytes.length;
  }
  return { firstType: parts[0]?.type ?? 0, bytes: out };
}

function initRequest(pieces: Piece[]): Uint8Array {
  const chain = chainBytes(pieces);
  const header = encodeHeader({ spiI: 0x1122334455667788n, spiR: 0n, nextPayload: chain.firstType, version: 0x20, exchangeType: ExchangeType.IKE_SA_INIT, flags: 0x08, messageId: 0, length: 28 + chain.bytes.length });
  const out = new Uint8Array(28 + chain.bytes.length);
  out.set(header);
  out.set(chain.bytes, 28);
  return out;
}

/** A request A protects with its real keys, carrying arbitrary (possibly malformed) inner bytes. */
function sendProtected(w: World, exchangeType: number, pieces: Piece[]): void {
  const sa = [...w.engA.ikeSas()][0]!;
  const chain = chainBytes(pieces);
  const keys = sa.skKeys!.outbound;
  const header = { spiI: sa.spiI, spiR: sa.spiR, nextPayload: 0, version: 0x20, exchangeType, flags: 0x08, messageId: sa.msgIds.nextRequestId, length: 0 };
  const bytes = encryptSk({ header, innerPayloads: chain, keys, iv: new Uint8Array(keys.encr.alg.ivLength).fill(3) });
  sa.msgIds.sent(w.net.now, exchangeType, [bytes], sa.connection.retransmit);
  sa.active = { kind: "dpd" };
  w.net.inject(w.b, { address: A_ADDR, port: 500 }, bytes);
}

const goodSa = (): Payload => ({ type: 33, critical: false, proposals: parseProposalString("aes128gcm16-prfsha256-x25519", "ike").map((p, i) => ({ ...p, number: i + 1, spi: new Uint8Array(0) })) });
const raw = (rawType: number, body: Uint8Array, critical = false): RawPayload => ({ rawType, body, critical });
const ke = (len: number): Payload => ({ type: 34, critical: false, group: 31, reserved: 0, keyData: new Uint8Array(len).fill(9) });

describe("RFC 7296 s2.21: unauthenticated garbage is dropped silently and harms nothing", () => {
  let w: World;
  beforeEach(() => {
    w = world("garbage");
    expect(w.b.installed.size).toBe(2);
  });

  const cases: Array<{ name: string; bytes: (w: World) => Uint8Array[] }> = [
    { name: "empty datagram", bytes: () => [new Uint8Array(0)] },
    { name: "shorter than the header", bytes: () => [new Uint8Array(27)] },
    { name: "every truncation of a real protected request", bytes: (w) => { const r = protectedRequest(w); return Array.from({ length: r.length }, (_, i) => r.slice(0, i)); } },
    { name: "oversized: trailing bytes after the message", bytes: (w) => { const r = protectedRequest(w); const o = new Uint8Array(r.length + 100); o.set(r); return [o]; } },
    { name: "bad ICV (every byte of the SK payload flipped in turn)", bytes: (w) => { const r = protectedRequest(w); return Array.from({ length: r.length - 28 }, (_, i) => { const x = r.slice(); x[28 + i]! ^= 0x01; return x; }); } },
    { name: "header tampered (AAD): flags, exchange type, message id", bytes: (w) => { const r = protectedRequest(w); return [18, 19, 23].map((i) => { const x = r.slice(); x[i]! ^= 0x40; return x; }); } },
    { name: "wrong SPIr", bytes: (w) => { const r = protectedRequest(w); const x = r.slice(); x[12]! ^= 0xff; return [x]; } },
    { name: "wrong SPIi for a known SPIr", bytes: (w) => { const r = protectedRequest(w); const x = r.slice(); x[0]! ^= 0xff; return [x]; } },
    { name: "IKEv1 (major version 1)", bytes: (w) => { const r = protectedRequest(w); const x = r.slice(); x[17] = 0x10; return [x]; } },
    { name: "header length lies", bytes: (w) => { const r = protectedRequest(w); const x = r.slice(); x[27]! += 4; return [x]; } },
    { name: "IKE_SA_INIT with a nonce of 0 bytes", bytes: () => [initRequest([goodSa(), ke(32), raw(40, new Uint8Array(0))])] },
    { name: "IKE_SA_INIT with a nonce of 15 bytes", bytes: () => [initRequest([goodSa(), ke(32), raw(40, new Uint8Array(15))])] },
    { name: "IKE_SA_INIT with a nonce of 257 bytes", bytes: () => [initRequest([goodSa(), ke(32), raw(40, new Uint8Array(257))])] },
    { name: "IKE_SA_INIT truncated at every length", bytes: () => { const r = initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32))]); return Array.from({ length: r.length - 1 }, (_, i) => r.slice(0, i)); } },
    { name: "a response nobody asked for", bytes: (w) => { const r = protectedRequest(w); const x = r.slice(); x[19]! |= 0x20; return [x]; } },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const before = snapshot(w);
      const datagrams = t.bytes(w);
      const out = transmitsFromB(w, () => {
        for (const d of datagrams) w.net.inject(w.b, { address: A_ADDR, port: 500 }, d);
      });
      expect(out).toEqual([]);
      expect(snapshot(w)).toBe(before);
      expect(w.b.events.filter((e) => e.fields?.internal)).toEqual([]);
      stillWorks(w);
    });
  }
});

describe("RFC 7296 s1.2, s2.5: refusals to IKE_SA_INIT keep no state", () => {
  let w: World;
  beforeEach(() => {
    w = world("init");
  });
  const cases: Array<{ name: string; payloads: Piece[]; notify: number | undefined }> = [
    { name: "KE data of the wrong length for its group: INVALID_SYNTAX", payloads: [goodSa(), ke(31), raw(40, new Uint8Array(32))], notify: NotifyType.INVALID_SYNTAX },
    { name: "KE data of 0 bytes: INVALID_SYNTAX", payloads: [goodSa(), ke(0), raw(40, new Uint8Array(32))], notify: NotifyType.INVALID_SYNTAX },
    { name: "unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD", payloads: [goodSa(), ke(32), raw(40, new Uint8Array(32)), raw(200, new Uint8Array(4), true)], notify: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD },
    { name: "unknown non-critical payload is skipped: accepted", payloads: [goodSa(), ke(32), raw(40, new Uint8Array(32)), raw(200, new Uint8Array(4), false)], notify: undefined },
    { name: "missing KE: dropped", payloads: [goodSa(), raw(40, new Uint8Array(32))], notify: -1 },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const before = snapshot(w);
      const out = transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, initRequest(t.payloads)));
      if (t.notify === -1) {
        expect(out).toEqual([]);
      } else if (t.notify === undefined) {
        expect(out.length).toBe(1);
        expect(decodeMessage(out[0]!).payloads.some((p) => p.type === 33)).toBe(true);
        // Accepted as half-open; it expires later.
        w.net.runFor(60_000);
      } else {
        expect(out.length).toBe(1);
        const m = decodeMessage(out[0]!);
        expect(findNotify(m.payloads, t.notify)).toBeDefined();
        if (t.notify === NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD) expect([...findNotify(m.payloads, t.notify)!.data]).toEqual([200]);
        expect(snapshot(w)).toBe(before);
      }
      stillWorks(w);
    });
  }
});

describe("RFC 7296 s2.6: half-open IKE SAs per peer address are bounded, COOKIE or not", () => {
  it("a sixth concurrent IKE_SA_INIT from one address is dropped before any KE work; other addresses are unaffected", () => {
    // A COOKIE only proves the address answers; an attacker who echoes it could otherwise make
    // the responder run a key exchange for every datagram (strongSwan's block_threshold, 5).
    const w = world("half-open-per-peer");
    const halfOpenFrom = (addr: string): number => [...w.engB.ikeSas()].filter((s) => s.state === "awaitingAuthRequest" && s.remote.address === addr).length;
    const answered: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32).fill(i + 1))]);
      new DataView(r.buffer, r.byteOffset).setUint32(0, 0x10000 + i);
      answered.push(transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 1000 + i }, r)).length);
    }
    expect(halfOpenFrom(A_ADDR)).toBe(5);
    expect(answered).toEqual([...Array<number>(5).fill(1), ...Array<number>(15).fill(0)]);
    expect(w.engB.counters.halfOpenBlocked).toBe(15);
    // C's address still gets through.
    const c = initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32).fill(99))]);
    expect(transmitsFromB(w, () => w.net.inject(w.b, { address: C_ADDR, port: 500 }, c)).length).toBe(1);
    // Once they time out, A's address may start again.
    w.net.runFor(31_000);
    expect(halfOpenFrom(A_ADDR)).toBe(0);
    stillWorks(w);
  });
});

describe("RFC 7296 s2.1, s2.6, s2.21: the engine counts what it drops, resends and demands (swanctl --stats)", () => {
  it("invalid datagrams, resent cached responses and COOKIE demands are counted; established SAs add nothing", () => {
    const w = world("counters");
    expect(w.engB.counters).toEqual({ invalid: 0, retransmits: 0, responsesResent: 0, cookiesDemanded: 0, halfOpenBlocked: 0 });
    const first = protectedRequest(w);
    w.net.inject(w.b, { address: A_ADDR, port: 500 }, first);
    w.net.inject(w.b, { address: A_ADDR, port: 500 }, first);
    expect(w.engB.counters.responsesResent).toBe(1);
    const junk = [new Uint8Array(0), new Uint8Array(27), first.slice(0, 40)];
    const forged = first.slice();
    forged[forged.length - 1]! ^= 1;
    junk.push(forged);
    for (const j of junk) w.net.inject(w.b, { address: "192.0.2.66", port: 500 }, j);
    expect(w.engB.counters.invalid).toBe(junk.length);
    expect(w.engB.counters.responsesResent).toBe(1);
  });

  it("IKE_SA_INIT above the half-open threshold is answered with a COOKIE, counted", () => {
    const w = world("counters-cookie");
    w.engB.updateConfig({ ...w.engB.config, cookieThreshold: 0 });
    w.net.inject(w.b, { address: A_ADDR, port: 500 }, initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32))]));
    expect(w.engB.counters.cookiesDemanded).toBe(1);
  });

  it("our unanswered request is retransmitted after its timeout, counted", () => {
    const w = world("counters-retransmit");
    w.b.up = false;
    w.net.call(w.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    w.net.runFor(10_000);
    expect(w.engA.counters.retransmits).toBeGreaterThanOrEqual(1);
  });
});

describe("RFC 7296 s2.6: refusals an unauthenticated flood can trigger do not flood the log", () => {
  it("IKE_SA_INIT from an address with no connection: a few warn lines per window, the rest at debug and counted", () => {
    const w = world("log-flood");
    const attacker = { address: "192.0.2.66", port: 40000 };
    const warns = (): string[] => w.b.events.filter((e) => e.level === "warn" && e.message.includes("no connection configured")).map((e) => e.message);
    const out = transmitsFromB(w, () => {
      for (let i = 0; i < 1000; i++) w.net.inject(w.b, { ...attacker, port: 40000 + (i % 200) }, initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32).fill(i & 0xff))]));
    });
    // Every request is still refused (NO_PROPOSAL_CHOSEN, stateless): only the log is bounded.
    expect(out.length).toBe(1000);
    const first = warns();
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThanOrEqual(10);
    expect(w.b.events.filter((e) => e.level === "debug" && e.message.includes("no connection configured")).length).toBe(1000 - first.length);
    // After the window the next refusal is logged again and says how many were suppressed.
    w.net.runFor(61_000);
    w.net.inject(w.b, attacker, initRequest([goodSa(), ke(32), raw(40, new Uint8Array(32))]));
    const later = warns().slice(first.length);
    expect(later.length).toBe(1);
    expect(later[0]).toContain(`${1000 - first.length} more like this`);
  });
});

describe("RFC 7296 s2.21, s3.2: authenticated but malformed requests", () => {
  it("an unknown critical payload inside SK gets UNSUPPORTED_CRITICAL_PAYLOAD", () => {
    const w = world("crit");
    const sa = [...w.engA.ikeSas()][0]!;
    // INFORMATIONAL { HDR, SK { <payload 200, C=1> } } -->  <-- { HDR, SK { N(UNSUPPORTED_CRITICAL_PAYLOAD, 200) } }
    void sa;
    const out = transmitsFromB(w, () => sendProtected(w, ExchangeType.INFORMATIONAL, [raw(200, new Uint8Array(8), true)]));
    expect(out.length).toBe(1);
    for (const b of out) w.net.inject(w.a, { address: B_ADDR, port: 500 }, b);
    expect(w.a.events.some((e) => e.message.includes("UNSUPPORTED_CRITICAL_PAYLOAD"))).toBe(true);
    stillWorks(w);
  });

  for (const len of [0, 15, 257]) {
    it(`a CREATE_CHILD_SA with a ${len}-byte nonce gets INVALID_SYNTAX`, () => {
      const w = world(`nonce-${len}`);
      // CREATE_CHILD_SA { HDR, SK { SA, Ni(len) } } -->  <-- { HDR, SK { N(INVALID_SYNTAX) } }
      const out = transmitsFromB(w, () => sendProtected(w, ExchangeType.CREATE_CHILD_SA, [goodSa(), raw(40, new Uint8Array(len))]));
      expect(out.length).toBe(1);
      for (const b of out) w.net.inject(w.a, { address: B_ADDR, port: 500 }, b);
      expect(w.a.events.some((e) => e.message.includes("INVALID_SYNTAX"))).toBe(true);
      stillWorks(w);
    });
  }

  it("an unknown status notify in a request is ignored; the request is answered", () => {
    const w = world("status");
    const sa = [...w.engA.ikeSas()][0]!;
    w.engA.sendRequest(w.net.now, sa, ExchangeType.INFORMATIONAL, [{ type: 41, critical: false, protocol: 0, notifyType: 40000, spi: new Uint8Array(0), data: new Uint8Array(0) }], { kind: "dpd" });
    w.net.drain(w.a);
    w.net.runFor(1000);
    expect(sa.msgIds.pending).toBeUndefined();
    expect(w.a.events.some((e) => e.level === "warn")).toBe(false);
    stillWorks(w);
  });
});

describe("RFC 7296 s2.3: Message IDs in the engine", () => {
  it("a replayed old request is dropped; a retransmission of the last one gets the cached answer", () => {
    const w = world("replay");
    const first = protectedRequest(w);
    // Let A really send it (the template above was abandoned): re-send it as A would.
    const answer = transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, first));
    expect(answer.length).toBe(1);
    const again = transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, first));
    expect(again).toEqual(answer);
    // Two more exchanges move the window on; the first request is now old.
    const sa = [...w.engA.ikeSas()][0]!;
    sa.msgIds.nextRequestId += 1;
    w.net.call(w.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    w.net.runFor(10_000);
    const late = transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, first));
    expect(late).toEqual([]);
    expect(w.b.events.some((e) => e.message.includes("is old"))).toBe(true);
    stillWorks(w);
  });

  it("a forged copy of the last request (right SPIs and Message ID, bad ICV) gets no cached answer, from anywhere", () => {
    // The SPIs and Message IDs are in clear on the wire; only the ICV proves a datagram is the
    // peer's retransmission. Answering anything else would reflect B's cached response to a
    // spoofed address (s2.21.2: messages that fail integrity are dropped).
    const w = world("forged-retransmit");
    const first = protectedRequest(w);
    const answer = transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, first));
    expect(answer.length).toBe(1);
    const forged = first.slice();
    forged[forged.length - 1]! ^= 0x01;
    for (const from of [{ address: A_ADDR, port: 500 }, { address: "192.0.2.66", port: 40000 }]) {
      const out = transmitsFromB(w, () => w.net.inject(w.b, from, forged));
      expect(out).toEqual([]);
    }
    // The genuine retransmission still gets the cached answer.
    expect(transmitsFromB(w, () => w.net.inject(w.b, { address: A_ADDR, port: 500 }, first))).toEqual(answer);
    // A forged IKE_SA_INIT with our SPIr and Message ID 0 (a real retransmission has SPIr 0) is no retransmission either.
    const init = first.slice();
    init[18] = ExchangeType.IKE_SA_INIT;
    new DataView(init.buffer, init.byteOffset).setUint32(20, 0);
    const sa = [...w.engB.ikeSas()].find((s) => s.connection.name === "to-a")!;
    sa.msgIds.lastResponse = { messageId: 0, packets: answer };
    sa.msgIds.expectedPeerRequestId = 1;
    expect(transmitsFromB(w, () => w.net.inject(w.b, { address: "192.0.2.66", port: 40000 }, init))).toEqual([]);
  });

  it("a request beyond the window is dropped", () => {
    const w = world("window");
    const sa = [...w.engA.ikeSas()][0]!;
    sa.msgIds.nextRequestId += 3;
    const out = transmitsFromB(w, () => {
      w.engA.sendRequest(w.net.now, sa, ExchangeType.INFORMATIONAL, [], { kind: "dpd" });
      w.net.drain(w.a);
      w.net.runFor(100);
    });
    expect(out).toEqual([]);
    expect(w.b.events.some((e) => e.message.includes("outside the window"))).toBe(true);
  });

  it("our pending request never blocks answering the peer's", () => {
    const w = world("crossing");
    w.net.call(w.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    w.net.call(w.b, (e, now) => (e as IkeEngine).rekeyIke(now, "to-a"));
    w.net.runFor(60_000);
    expect(pairedChildren(w.a, w.b).length).toBe(1);
    expect(errorsOf(w.a)).toEqual([]);
  });
});

describe("RFC 7296 s2.21, s3.10.1: error notifies in responses", () => {
  const sent = {
    proposals: parseProposalString("aes128gcm16", "esp").map((p, i) => ({ ...p, number: i + 1, spi: new Uint8Array([0, 0, 1, 0]) })),
    tsi: [], tsr: [], transport: false,
    child: { name: "net" } as Parameters<typeof checkChildResponse>[1]["child"],
  };
  const n = (t: number): Payload => ({ type: 41, critical: false, protocol: 0, notifyType: t, spi: new Uint8Array(0), data: new Uint8Array(0) });
  it("an unknown error type fails the request and is named", () => {
    const r = checkChildResponse([n(12345)], sent);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.name).toBe("NOTIFY(12345)");
  });
  it("an unknown status type is ignored", () => {
    const chosen = { ...sent.proposals[0]!, transforms: sent.proposals[0]!.transforms };
    const r = checkChildResponse([n(40000), { type: 33, critical: false, proposals: [chosen] }, { type: 44, critical: false, selectors: [], reserved: new Uint8Array(3) }, { type: 45, critical: false, selectors: [], reserved: new Uint8Array(3) }], sent);
    expect(r.ok).toBe(true);
  });
});

describe("design.md rule 5: nothing escapes the engine", () => {
  it("random bytes at every entry point never throw", () => {
    const w = world("fuzz");
    const rnd = seededRandom("fuzz-bytes");
    for (let i = 0; i < 2000; i++) {
      const len = rnd.bytes(1)[0]! * 2;
      const b = rnd.bytes(len);
      // Make some of them look like IKE headers aimed at B's real SAs.
      if (len >= 28 && i % 2 === 0) {
        const real = w.a.sent[w.a.sent.length - 1]!.bytes;
        b.set(real.subarray(0, 16));
        b[17] = 0x20;
        new DataView(b.buffer).setUint32(24, len);
      }
      expect(() => w.engB.handleDatagram(w.net.now, { local: { address: B_ADDR, port: 500 }, remote: { address: A_ADDR, port: 500 }, bytes: b })).not.toThrow();
    }
    w.net.drain(w.b);
    expect(w.b.events.filter((e) => e.fields?.internal)).toEqual([]);
    stillWorks(w);
    void decodeHeader;
  });
});
