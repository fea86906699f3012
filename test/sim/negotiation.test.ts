/**
 * Table-driven negotiation runs in the simulated network: IKE and ESP proposal sets (RFC 7296
 * s2.7, s3.3), INVALID_KE_PAYLOAD and the retry (s1.2), traffic selector narrowing with ports and
 * IPv6 (s2.9), transport mode (s1.3.1), PSK failures (s2.15, s2.21.2), COOKIEs (s2.6), NAT
 * traversal (s2.23), fragmentation (RFC 7383) and INITIAL_CONTACT (s3.10.1).
 */
import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf, child, A_ID, B_ID, B_ADDR, sitePair, type Pair, type SideOptions } from "./fixtures.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { formatTs } from "../../src/ike/negotiation/traffic-selectors.js";
import { decodeHeader } from "../../src/wire/ike/header.js";
import { decodeMessage, encodeMessage } from "../../src/wire/ike/message.js";
import { ExchangeType, NotifyType } from "../../src/wire/ike/constants.js";
import { findNotify, getKe } from "../../src/wire/ike/find.js";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";

function start(p: Pair): void {
  p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
}
const ok = (p: Pair) => p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 60_000);
const initMessages = (p: Pair, from: "a" | "b") =>
  (from === "a" ? p.a : p.b).sent.map((s) => s.bytes).filter((b) => decodeHeader(b).exchangeType === ExchangeType.IKE_SA_INIT).map((b) => decodeMessage(b));

describe("RFC 7296 s2.7, s3.3: proposal sets", () => {
  const table: Array<{ name: string; a: SideOptions; b: SideOptions; encr?: string; integ?: string; fails?: "ike" | "esp" }> = [
    { name: "identical AES-GCM suites", a: {}, b: {}, encr: "ENCR_AES_GCM_16_128" },
    { name: "responder prefers its own order", a: { espProposals: ["aes128gcm16", "aes256gcm16"] }, b: { espProposals: ["aes256gcm16", "aes128gcm16"] }, encr: "ENCR_AES_GCM_16_256" },
    { name: "CBC + HMAC ESP and IKE", a: { ikeProposals: ["aes256-sha256-ecp256"], espProposals: ["aes256-sha256"] }, b: { ikeProposals: ["aes256-sha256-ecp256"], espProposals: ["aes256-sha256"] }, encr: "ENCR_AES_CBC_256", integ: "AUTH_HMAC_SHA2_256_128" },
    { name: "ChaCha20-Poly1305", a: { ikeProposals: ["chacha20poly1305-prfsha256-x25519"], espProposals: ["chacha20poly1305"] }, b: { ikeProposals: ["chacha20poly1305-prfsha256-x25519"], espProposals: ["chacha20poly1305"] }, encr: "ENCR_CHACHA20_POLY1305" },
    { name: "no common IKE proposal", a: { ikeProposals: ["aes128gcm16-prfsha256-x25519"] }, b: { ikeProposals: ["aes256-sha384-ecp384"] }, fails: "ike" },
    { name: "no common ESP proposal", a: { espProposals: ["aes128gcm16"] }, b: { espProposals: ["aes256-sha512"] }, fails: "esp" },
  ];
  for (const t of table) {
    it(t.name, () => {
      const p = makePair(`prop-${t.name}`, t.a, t.b);
      start(p);
      p.net.runFor(60_000);
      if (!t.fails) {
        expect(errorsOf(p.a)).toEqual([]);
        const [x, y] = pairedChildren(p.a, p.b)[0]!;
        expect(x.encr.name).toBe(t.encr);
        expect(y.encr.name).toBe(t.encr);
        expect(x.integ?.name).toBe(t.integ);
        expect(x.integKeyOut?.expose()).toEqual(y.integKeyIn?.expose());
        return;
      }
      // NO_PROPOSAL_CHOSEN: both sides say so, with both proposal lists.
      expect(p.a.installed.size).toBe(0);
      expect(p.b.installed.size).toBe(0);
      const bEvent = p.b.events.find((e) => e.message.includes("NO_PROPOSAL_CHOSEN"))!;
      expect(bEvent).toBeDefined();
      expect(bEvent.message).toMatch(/AES/);
      const aEvent = p.a.events.find((e) => e.message.includes("NO_PROPOSAL_CHOSEN"))!;
      expect(aEvent.message).toContain("we offered");
      if (t.fails === "ike") {
        expect(bEvent.fields?.offered).toBeDefined();
        expect(bEvent.fields?.configured).toBeDefined();
        expect(p.a.established.length).toBe(0);
      } else {
        // s2.21.2: a Child SA failure in IKE_AUTH leaves the IKE SA up.
        expect(p.a.established.length).toBe(1);
        expect(p.b.established.length).toBe(1);
        expect(p.engA.listSas(p.net.now)[0]!.state).toBe("ESTABLISHED");
      }
    });
  }
});

describe("RFC 7296 s1.2: INVALID_KE_PAYLOAD", () => {
  it("the responder names the group it wants and the initiator retries with it", () => {
    const p = makePair("invalid-ke", { ikeProposals: ["aes128gcm16-prfsha256-x25519-ecp256"] }, { ikeProposals: ["aes128gcm16-prfsha256-ecp256"] });
    start(p);
    // IKE_SA_INIT { SA, KEi(31), Ni } -->   <-- { N(INVALID_KE_PAYLOAD, 19) }
    // IKE_SA_INIT { SA, KEi(19), Ni } -->   <-- { SA, KEr(19), Nr }
    expect(ok(p)).toBe(true);
    const sent = initMessages(p, "a");
    expect(sent.map((m) => getKe(m.payloads)?.group)).toEqual([31, 19]);
    const refusal = initMessages(p, "b")[0]!;
    const n = findNotify(refusal.payloads, NotifyType.INVALID_KE_PAYLOAD)!;
    expect([...n.data]).toEqual([0, 19]);
    // The refusal kept no state on the responder: one IKE SA only.
    expect(p.engB.listSas(p.net.now).length).toBe(1);
  });

  it("CREATE_CHILD_SA with PFS: the responder's INVALID_KE_PAYLOAD makes the initiator retry with its group (s1.3)", () => {
    const kids = (side: "a" | "b") => {
      const pfs = side === "a" ? ["aes128gcm16-x25519-ecp256"] : ["aes128gcm16-ecp256"];
      return side === "a"
        ? [child("net", ["198.18.1.0/24"], ["198.18.2.0/24"]), child("pfs", ["198.18.3.0/24"], ["198.18.4.0/24"], { espProposals: pfs })]
        : [child("net", ["198.18.2.0/24"], ["198.18.1.0/24"]), child("pfs", ["198.18.4.0/24"], ["198.18.3.0/24"], { espProposals: pfs })];
    };
    const p = makePair("child-invalid-ke", { children: kids("a") }, { children: kids("b") });
    start(p);
    // CREATE_CHILD_SA { SA, Ni, KEi(31), TSi, TSr } -->  <-- { N(INVALID_KE_PAYLOAD, 19) }
    // CREATE_CHILD_SA { SA, Ni, KEi(19), TSi, TSr } -->  <-- { SA, Nr, KEr(19), TSi, TSr }
    expect(p.net.runUntil(() => p.a.installed.size === 2 && p.b.installed.size === 2, 30_000)).toBe(true);
    expect(errorsOf(p.a)).toEqual([]);
    expect(p.a.events.some((e) => e.message.includes("peer wants KE group 19"))).toBe(true);
    expect(p.engA.listSas(p.net.now)[0]!.children.find((c) => c.name === "pfs")!.ke).toBe("ECP_256");
    // The rekey of that Child SA remembers nothing and goes through the same retry.
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site", "pfs"));
    p.net.runFor(30_000);
    expect(pairedChildren(p.a, p.b).length).toBe(2);
    expect(errorsOf(p.a)).toEqual([]);
  });

  it("IKE SA rekey: INVALID_KE_PAYLOAD makes the initiator retry with the responder's group", () => {
    const p = makePair("ike-rekey-invalid-ke", { ikeProposals: ["aes128gcm16-prfsha256-ecp256-x25519"] }, { ikeProposals: ["aes128gcm16-prfsha256-ecp256"] });
    start(p);
    expect(ok(p)).toBe(true);
    // B now only wants Curve25519 (a reload); A's rekey with ECP_256 is refused, then retried.
    p.engB.updateConfig(sitePair({}, { ikeProposals: ["aes128gcm16-prfsha256-x25519"] }).b);
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
    p.net.runFor(30_000);
    expect(errorsOf(p.a)).toEqual([]);
    expect(p.engA.listSas(p.net.now).map((s) => s.ke)).toEqual(["CURVE_25519"]);
    expect(p.engB.listSas(p.net.now).map((s) => s.ke)).toEqual(["CURVE_25519"]);
  });

  it("a group the initiator never proposed ends the attempt with an error", () => {
    const p = makePair("invalid-ke-unknown");
    p.b.up = false;
    start(p);
    const req = decodeMessage(p.a.sent[0]!.bytes);
    // <-- IKE_SA_INIT { N(INVALID_KE_PAYLOAD, 20) } (a group A never offered)
    const answer = encodeMessage({
      header: { ...req.header, flags: 0x20, length: 0 },
      payloads: [{ type: 41, critical: false, protocol: 0, notifyType: NotifyType.INVALID_KE_PAYLOAD, spi: new Uint8Array(0), data: new Uint8Array([0, 20]) }],
    });
    p.net.inject(p.a, { address: B_ADDR, port: 500 }, answer);
    expect(p.engA.listSas(p.net.now)).toEqual([]);
    const err = errorsOf(p.a).find((m) => m.includes("INVALID_KE_PAYLOAD"))!;
    expect(err).toContain("group 20");
    expect(p.a.closed.length).toBe(1);
  });
});

describe("RFC 7296 s2.9: traffic selector narrowing", () => {
  const table: Array<{ name: string; aLocal: string[]; aRemote: string[]; bLocal: string[]; bRemote: string[]; expectALocal?: string[]; expectARemote?: string[] }> = [
    { name: "responder narrows a /16 to its /24", aLocal: ["198.18.0.0/16"], aRemote: ["198.19.0.0/16"], bLocal: ["198.19.2.0/24"], bRemote: ["198.18.1.0/24"], expectALocal: ["198.18.1.0/24"], expectARemote: ["198.19.2.0/24"] },
    { name: "ports and protocol", aLocal: ["198.18.1.0/24"], aRemote: ["198.18.2.0/24"], bLocal: ["198.18.2.0/24[tcp/443]"], bRemote: ["198.18.1.0/24"], expectALocal: ["198.18.1.0/24"], expectARemote: ["198.18.2.0/24[tcp/443]"] },
    { name: "IPv6", aLocal: ["2001:db8:1::/48"], aRemote: ["2001:db8:2::/48"], bLocal: ["2001:db8:2:5::/64"], bRemote: ["2001:db8:1::/48"], expectALocal: ["2001:db8:1::/48"], expectARemote: ["2001:db8:2:5::/64"] },
    { name: "disjoint: TS_UNACCEPTABLE", aLocal: ["198.18.1.0/24"], aRemote: ["198.18.2.0/24"], bLocal: ["198.18.9.0/24"], bRemote: ["198.18.1.0/24"] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const p = makePair(`ts-${t.name}`, { localTs: t.aLocal, remoteTs: t.aRemote }, { localTs: t.bLocal, remoteTs: t.bRemote });
      start(p);
      p.net.runFor(60_000);
      if (t.expectALocal) {
        const [x, y] = pairedChildren(p.a, p.b)[0]!;
        expect(x.localTs.map(formatTs)).toEqual(t.expectALocal);
        expect(x.remoteTs.map(formatTs)).toEqual(t.expectARemote);
        expect(y.localTs.map(formatTs)).toEqual(t.expectARemote);
        expect(y.remoteTs.map(formatTs)).toEqual(t.expectALocal);
        return;
      }
      expect(p.a.installed.size).toBe(0);
      const b = p.b.events.find((e) => e.message.startsWith("TS_UNACCEPTABLE"))!;
      expect(b.message).toContain("198.18.2.0/24"); // offered
      expect(b.message).toContain("198.18.9.0/24"); // configured
      const a = p.a.events.find((e) => e.message.startsWith("TS_UNACCEPTABLE"))!;
      expect(a.message).toContain("we offered");
      expect(p.engA.listSas(p.net.now)[0]!.state).toBe("ESTABLISHED");
    });
  }
});

describe("RFC 7296 s1.3.1: USE_TRANSPORT_MODE", () => {
  it("both sides configured for transport mode install transport SAs", () => {
    const p = makePair("transport", { mode: "transport", localTs: ["192.0.2.1/32"], remoteTs: ["192.0.2.2/32"] }, { mode: "transport", localTs: ["192.0.2.2/32"], remoteTs: ["192.0.2.1/32"] });
    start(p);
    expect(ok(p)).toBe(true);
    const [x, y] = pairedChildren(p.a, p.b)[0]!;
    expect(x.mode).toBe("transport");
    expect(y.mode).toBe("transport");
  });
  it("a mode mismatch fails the Child SA and keeps the IKE SA", () => {
    const p = makePair("transport-mismatch", { mode: "tunnel" }, { mode: "transport" });
    start(p);
    p.net.runFor(60_000);
    expect(p.a.installed.size).toBe(0);
    expect(p.b.installed.size).toBe(0);
    expect(p.b.events.some((e) => e.message.includes("transport mode"))).toBe(true);
    expect(p.a.established.length).toBe(1);
  });
});

describe("RFC 7296 s2.15, s2.21.2: PSK authentication failures", () => {
  it("wrong PSK: the responder answers AUTHENTICATION_FAILED and forgets the SA; the initiator reports ID and method", () => {
    const p = makePair("wrong-psk", { psk: "one" }, { psk: "two" });
    start(p);
    p.net.runFor(60_000);
    expect(p.a.installed.size + p.b.installed.size).toBe(0);
    expect(p.engA.listSas(p.net.now)).toEqual([]);
    expect(p.engB.listSas(p.net.now)).toEqual([]);
    const a = errorsOf(p.a).find((m) => m.startsWith("AUTHENTICATION_FAILED"))!;
    expect(a).toContain(A_ID);
    expect(a).toContain("PSK");
    const b = p.b.events.find((e) => e.message.startsWith("AUTHENTICATION_FAILED"))!;
    expect(b.message).toContain(A_ID);
    expect(b.fields?.authMethod).toBe("SHARED_KEY_MESSAGE_INTEGRITY_CODE");
    // No event carries the key.
    for (const e of [...p.a.events, ...p.b.events]) expect(JSON.stringify(e)).not.toMatch(/one|two/);
  });

  it("a responder AUTH that does not verify fails the initiator cleanly", () => {
    const cfg = sitePair();
    // The initiator's secret store answers its own AUTH with the right key but verifies the
    // responder's with a different one, as if the responder had used another PSK.
    class SplitKeys extends IkeEngine {
      calls = 0;
      override findPsk(l: string, r: string) {
        return this.calls++ === 0 ? super.findPsk(l, r) : Secret.fromUtf8("not the responder's key");
      }
    }
    const p = makePair("bad-responder-auth");
    const engA = new SplitKeys(cfg.a, seededRandom("split"), p.net.now);
    p.net.replaceEngine(p.a, engA);
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    p.net.runFor(60_000);
    expect(p.a.installed.size).toBe(0);
    expect(engA.listSas(p.net.now)).toEqual([]);
    const a = errorsOf(p.a).find((m) => m.startsWith("AUTHENTICATION_FAILED"))!;
    expect(a).toContain(B_ID);
    expect(a).toContain("does not verify");
  });

  it("a responder with an unexpected identity fails the initiator cleanly", () => {
    const p = makePair("wrong-idr", { remoteId: "gw-c.example" }, {});
    start(p);
    p.net.runFor(60_000);
    expect(p.a.installed.size).toBe(0);
    expect(errorsOf(p.a).some((m) => m.startsWith("AUTHENTICATION_FAILED"))).toBe(true);
  });
});

describe("RFC 7296 s2.6: COOKIE", () => {
  it("a responder above its half-open threshold demands a COOKIE; the initiator retries with it first", () => {
    const p = makePair("cookie", {}, { cookieThreshold: 0 });
    start(p);
    // IKE_SA_INIT { SA, KEi, Ni } -->  <-- { N(COOKIE) }
    // IKE_SA_INIT { N(COOKIE), SA, KEi, Ni } -->  <-- { SA, KEr, Nr }
    expect(ok(p)).toBe(true);
    const sent = initMessages(p, "a");
    expect(sent.length).toBe(2);
    expect(sent[1]!.payloads[0]!.type).toBe(41);
    expect((sent[1]!.payloads[0] as { notifyType: number }).notifyType).toBe(NotifyType.COOKIE);
    expect(sent[1]!.header.spiI).toBe(sent[0]!.header.spiI);
  });

  it("under a half-open flood the responder keeps no state beyond the threshold and a real peer still connects", () => {
    const p = makePair("flood", {}, { cookieThreshold: 5, remoteAddr: "%any" });
    const flooder = sitePair({ localAddr: "198.51.100.7" }, {}).a;
    for (let i = 0; i < 50; i++) {
      // Each flood request comes from a different spoofed initiator that never answers.
      const eng = new IkeEngine({ ...flooder, connections: flooder.connections.map((c) => ({ ...c, localAddrs: [`198.51.100.${10 + i}`] })) }, seededRandom(`flood-${i}`), p.net.now);
      eng.initiate(p.net.now, "site");
      for (let o = eng.pollOutput(); o; o = eng.pollOutput()) if (o.kind === "transmit") p.net.inject(p.b, o.from, o.bytes);
    }
    const connecting = p.engB.listSas(p.net.now).filter((s) => s.state === "CONNECTING").length;
    expect(connecting).toBe(5);
    const cookies = p.b.sent.filter((s) => findNotify(decodeMessage(s.bytes).payloads, NotifyType.COOKIE)).length;
    expect(cookies).toBe(45);
    start(p);
    expect(ok(p)).toBe(true);
    // The half-open SAs expire.
    p.net.runFor(60_000);
    expect(p.engB.listSas(p.net.now).filter((s) => s.state === "CONNECTING").length).toBe(0);
  });
});

describe("RFC 7296 s2.23: NAT traversal", () => {
  it("forced encapsulation (encap) moves IKE to port 4500 and marks the Child SAs UDP-encapsulated on both sides", () => {
    const p = makePair("encap", { encap: true }, {});
    start(p);
    expect(ok(p)).toBe(true);
    const [x, y] = pairedChildren(p.a, p.b)[0]!;
    expect(x.udpEncapsulation).toBe(true);
    expect(y.udpEncapsulation).toBe(true);
    const auth = p.a.sent.filter((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_AUTH);
    expect(auth[0]!.from.port).toBe(4500);
    expect(auth[0]!.to.port).toBe(4500);
    expect(x.remote.port).toBe(4500);
  });

  it("a NAT in front of the initiator is detected by both sides", () => {
    const p = makePair("nat", { localAddr: "198.51.100.10" }, { remoteAddr: "%any" }, undefined, "203.0.113.5");
    // A's private address is its node address in the simulation.
    p.a.address = "198.51.100.10";
    start(p);
    expect(ok(p)).toBe(true);
    const [x, y] = pairedChildren(p.a, p.b)[0]!;
    expect(x.udpEncapsulation).toBe(true);
    expect(y.udpEncapsulation).toBe(true);
    expect(y.remote.address).toBe("203.0.113.5");
    expect(y.remote.port).toBe(14500);
    const sa = p.engA.listSas(p.net.now)[0]!;
    expect(sa.local.behindNat).toBe(true);
    expect(p.engB.listSas(p.net.now)[0]!.remote.behindNat).toBe(true);
    // Rekeying still works through the NAT.
    p.net.call(p.b, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    p.net.runFor(30_000);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
  });

  it("without NAT and without encap, ESP stays raw and IKE on port 500", () => {
    const p = makePair("no-nat");
    start(p);
    expect(ok(p)).toBe(true);
    expect(pairedChildren(p.a, p.b)[0]![0].udpEncapsulation).toBe(false);
    expect(p.a.sent.every((s) => s.to.port === 500)).toBe(true);
  });
});

describe("RFC 7383: IKE fragmentation", () => {
  it("with a tiny fragmentSize, IKE_AUTH and later exchanges go as SKF fragments and reassemble", () => {
    const many = Array.from({ length: 30 }, (_, i) => `198.18.${i + 10}.0/24`);
    const p = makePair("frag", { fragmentSize: 200, localTs: many }, { fragmentSize: 200, remoteTs: many });
    start(p);
    expect(ok(p)).toBe(true);
    const skf = p.a.sent.filter((s) => decodeHeader(s.bytes).nextPayload === 53);
    expect(skf.length).toBeGreaterThanOrEqual(3);
    expect(p.a.sent.every((s) => s.bytes.length <= 200 || decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_SA_INIT)).toBe(true);
    expect(pairedChildren(p.a, p.b)[0]![0].localTs.length).toBe(30);
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
    p.net.runFor(30_000);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
    expect(p.a.installLog.length).toBe(2);
  });

  it("a retransmitted fragmented request gets the cached fragmented response once, on fragment 1 only", () => {
    const many = Array.from({ length: 30 }, (_, i) => `198.18.${i + 10}.0/24`);
    const p = makePair("frag-retransmit", { fragmentSize: 200, localTs: many }, { fragmentSize: 200, remoteTs: many });
    let dropping = true;
    p.net.dropIf = (from, _to, bytes) => dropping && from === p.b && decodeHeader(bytes).exchangeType === ExchangeType.IKE_AUTH;
    start(p);
    p.net.runFor(3_000);
    dropping = false;
    expect(ok(p)).toBe(true);
    const responses = p.b.sent.filter((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_AUTH);
    const requests = p.a.sent.filter((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_AUTH);
    const perCopy = requests.length / 2;
    expect(Number.isInteger(perCopy)).toBe(true);
    // B answered the first copy and, for the retransmitted copy, resent its identical fragments
    // exactly once (triggered by fragment 1 only, not by each of the request's fragments).
    const distinct = new Set(responses.map((r) => Buffer.from(r.bytes).toString("hex")));
    expect(perCopy).toBeGreaterThan(1);
    expect(distinct.size).toBeGreaterThan(1);
    expect(responses.length).toBe(2 * distinct.size);
    const half = responses.length / 2;
    expect(responses.slice(half).map((r) => r.bytes)).toEqual(responses.slice(0, half).map((r) => r.bytes));
    expect(p.b.installLog.length).toBe(1);
  });

  it("a peer that did not announce IKEV2_FRAGMENTATION_SUPPORTED gets unfragmented messages", () => {
    const many = Array.from({ length: 30 }, (_, i) => `198.18.${i + 10}.0/24`);
    const p = makePair("no-frag", { fragmentSize: 200, localTs: many }, { fragmentation: false, remoteTs: many });
    start(p);
    expect(ok(p)).toBe(true);
    expect(p.a.sent.some((s) => decodeHeader(s.bytes).nextPayload === 53)).toBe(false);
  });
});

describe("RFC 7296 s3.10.1: INITIAL_CONTACT", () => {
  it("after the initiator restarts, the responder drops the stale IKE SA and its Child SAs", () => {
    const p = makePair("initial-contact");
    start(p);
    expect(ok(p)).toBe(true);
    const stale = [...p.b.installed.values()][0]!;
    const cfg = sitePair();
    const fresh = new IkeEngine(cfg.a, seededRandom("rebooted"), p.net.now);
    p.net.replaceEngine(p.a, fresh);
    // IKE_AUTH { IDi, IDr, AUTH, N(INITIAL_CONTACT), SAi2, TSi, TSr } -->
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1, 10_000)).toBe(true);
    p.net.runFor(1000);
    expect(p.engB.listSas(p.net.now).length).toBe(1);
    expect(p.b.installed.size).toBe(1);
    expect(p.b.deleteLog.map((d) => d.id)).toEqual([stale.id]);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
  });
});

describe("RFC 7296 s3.5: identity types in IDi/IDr", () => {
  const table: Array<{ name: string; a: string; b: string; bExpectsA?: string }> = [
    { name: "ID_IPV4_ADDR both ways", a: "192.0.2.1", b: "192.0.2.2" },
    { name: "ID_IPV6_ADDR", a: "2001:db8::1", b: "2001:db8::2" },
    { name: "ID_FQDN", a: "gw-a.example", b: "gw-b.example" },
    { name: "ID_RFC822_ADDR", a: "alice@example.com", b: "gw-b.example" },
    { name: "ID_KEY_ID", a: "keyid:0a0b0c", b: "gw-b.example" },
    { name: "responder accepts %any", a: "gw-a.example", b: "gw-b.example", bExpectsA: "%any" },
  ];
  for (const t of table) {
    it(t.name, () => {
      const p = makePair(`id-${t.name}`, { localId: t.a, remoteId: t.b, psk: "k" }, { localId: t.b, remoteId: t.bExpectsA ?? t.a, psk: "k" });
      // With %any the responder's secret must name the initiator explicitly.
      if (t.bExpectsA) p.engB.updateConfig({ ...sitePair({}, { localId: t.b, remoteId: "%any" }).b, secrets: [{ ids: [t.a, t.b], secret: Secret.fromUtf8("k") }] });
      start(p);
      expect(ok(p)).toBe(true);
      expect(p.engB.listSas(p.net.now)[0]!.remote.id).toBe(t.a);
      expect(p.engA.listSas(p.net.now)[0]!.remote.id).toBe(t.b);
    });
  }
});

describe("RFC 7296 s2.4, s3.10.1: both ends initiating at once", () => {
  for (let seed = 0; seed < 8; seed++) {
    it(`seed ${seed}: each side keeps a working tunnel; INITIAL_CONTACT does not tear down the crossing SA`, () => {
      const p = makePair(`simultaneous-${seed}`, {}, {}, { loss: 0, duplicate: 0, reorder: 0.5, delayMs: 10, reorderDelayMs: 40 });
      p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
      p.net.call(p.b, (e, now) => (e as IkeEngine).initiate(now, "site"));
      p.net.runFor(30_000);
      expect(errorsOf(p.a)).toEqual([]);
      expect(errorsOf(p.b)).toEqual([]);
      // Whatever each side has installed, the other side has its exact pair.
      expect(p.a.installed.size).toBeGreaterThan(0);
      expect(pairedChildren(p.a, p.b).length).toBe(p.a.installed.size);
      expect(p.b.installed.size).toBe(p.a.installed.size);
      const la = p.engA.listSas(p.net.now).map((s) => s.spiI).sort();
      const lb = p.engB.listSas(p.net.now).map((s) => s.spiI).sort();
      expect(la).toEqual(lb);
    });
  }
});
