import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf, child, type Pair } from "./fixtures.js";
import type { IkeEngine } from "../../src/ike/engine.js";
import { decodeHeader } from "../../src/wire/ike/header.js";
import { ExchangeType } from "../../src/wire/ike/constants.js";
import { decodeMessage } from "../../src/wire/ike/message.js";
import { decryptSk } from "../../src/ike/protection.js";

function up(p: Pair, a = {}, timeout = 10_000): void {
  void a;
  p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
  expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, timeout)).toBe(true);
}

const settle = (p: Pair, ms = 20_000): void => p.net.runFor(ms);

describe("RFC 7296 s1.4.1: INFORMATIONAL DELETE", () => {
  it("terminate deletes the IKE SA and its Child SAs on both sides", () => {
    const p = makePair(10);
    up(p);
    // INFORMATIONAL { HDR, SK { D(IKE) } } -->  <-- { HDR, SK { } }
    p.net.call(p.a, (e, now) => (e as IkeEngine).terminate(now, "site"));
    settle(p);
    expect(p.a.installed.size).toBe(0);
    expect(p.b.installed.size).toBe(0);
    expect(p.a.closed.length).toBe(1);
    expect(p.b.closed.length).toBe(1);
    expect(p.b.closed[0]!.reason).toContain("deleted by peer");
    expect(p.engA.listSas(p.net.now)).toEqual([]);
    expect(p.engB.listSas(p.net.now)).toEqual([]);
  });

  it("terminateChild deletes the Child SA pair and keeps the IKE SA", () => {
    const p = makePair(11);
    up(p);
    const [sa] = [...p.a.installed.values()];
    // INFORMATIONAL { HDR, SK { D(ESP, SPI_a_in) } } -->  <-- { HDR, SK { D(ESP, SPI_b_in) } }
    p.net.call(p.b, (e, now) => (e as IkeEngine).terminateChild(now, "site", "net"));
    settle(p);
    expect(p.a.installed.size).toBe(0);
    expect(p.b.installed.size).toBe(0);
    expect(p.a.deleteLog.map((d) => d.spiIn)).toEqual([sa!.spiIn]);
    // s1.4.1: B's request names B's inbound SPI; A's answer names the paired SPI, A's inbound one.
    const ikeB = [...p.engB.ikeSas()][0]!;
    const ikeA = [...p.engA.ikeSas()][0]!;
    const open = (bytes: Uint8Array, keys: NonNullable<typeof ikeB.skKeys>["inbound"]) => {
      const r = decryptSk(bytes, decodeMessage(bytes), keys);
      if (!r.ok) throw new Error(r.detail);
      return r.payloads;
    };
    const req = p.b.sent.filter((x) => decodeHeader(x.bytes).exchangeType === ExchangeType.INFORMATIONAL).at(-1)!;
    const res = p.a.sent.filter((x) => decodeHeader(x.bytes).exchangeType === ExchangeType.INFORMATIONAL).at(-1)!;
    const dReq = open(req.bytes, ikeA.skKeys!.inbound).find((x) => x.type === 42) as { spis: Uint8Array[] };
    const dRes = open(res.bytes, ikeB.skKeys!.inbound).find((x) => x.type === 42) as { spis: Uint8Array[] };
    expect(dReq.spis.map((b) => Buffer.from(b).readUInt32BE(0))).toEqual([sa!.spiOut]);
    expect(dRes.spis.map((b) => Buffer.from(b).readUInt32BE(0))).toEqual([sa!.spiIn]);
    expect(p.a.closed.length).toBe(0);
    expect(p.engA.listSas(p.net.now)[0]!.state).toBe("ESTABLISHED");
  });
});

describe("RFC 7296 s2.1, s2.4: retransmission, cached responses, liveness", () => {
  it("a lost IKE_AUTH response is recovered by retransmission; the retransmitted request gets the identical cached response", () => {
    const p = makePair(12);
    let dropped = 0;
    p.net.dropIf = (from, _to, bytes) => {
      const h = decodeHeader(bytes);
      if (from === p.b && h.exchangeType === ExchangeType.IKE_AUTH && dropped === 0) {
        dropped++;
        return true;
      }
      return false;
    };
    up(p, {}, 30_000);
    const authResponses = p.b.sent.filter((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_AUTH);
    expect(authResponses.length).toBe(2);
    expect(authResponses[1]!.bytes).toEqual(authResponses[0]!.bytes);
    // B processed IKE_AUTH once: one Child SA, one establishment.
    expect(p.b.installLog.length).toBe(1);
    expect(p.b.established.length).toBe(1);
  });

  it("DPD: a silent peer is declared dead after the retransmissions; IKE SA and Child SAs are deleted", () => {
    const p = makePair(13, { dpdDelaySeconds: 30 });
    up(p);
    const t0 = p.net.now;
    p.b.up = false;
    // INFORMATIONAL { HDR, SK { } } --> (x6, no answer)
    p.net.runFor(400_000);
    expect(p.a.closed.length).toBe(1);
    expect(p.a.closed[0]!.reason).toContain("not responding");
    expect(p.a.installed.size).toBe(0);
    expect(p.a.deleteLog.length).toBe(1);
    const informational = p.a.sent.filter((s) => s.at > t0 && decodeHeader(s.bytes).exchangeType === ExchangeType.INFORMATIONAL);
    // The first check plus 5 retransmissions, 4 s * 1.8^n apart.
    expect(informational.length).toBe(6);
    const gaps = informational.slice(1).map((s, i) => s.at - informational[i]!.at);
    expect(gaps).toEqual([4000, 7200, 12960, 23328, 41990]);
  });

  it("DPD: an answering peer keeps the SA up", () => {
    const p = makePair(14, { dpdDelaySeconds: 30 });
    up(p);
    p.net.runFor(300_000);
    expect(p.a.closed.length).toBe(0);
    expect(p.a.installed.size).toBe(1);
    const checks = p.a.sent.filter((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.INFORMATIONAL);
    expect(checks.length).toBeGreaterThanOrEqual(8);
  });
});

describe("RFC 7296 s1.3.1, s2.8: CREATE_CHILD_SA", () => {
  it("creates a second Child SA with PFS", () => {
    const second = (side: "a" | "b") =>
      side === "a"
        ? [child("net", ["198.18.1.0/24"], ["198.18.2.0/24"]), child("pfs", ["198.18.3.0/24"], ["198.18.4.0/24"], { espProposals: ["aes256gcm16-ecp256"] })]
        : [child("net", ["198.18.2.0/24"], ["198.18.1.0/24"]), child("pfs", ["198.18.4.0/24"], ["198.18.3.0/24"], { espProposals: ["aes256gcm16-ecp256"] })];
    const p = makePair(15, { children: second("a") }, { children: second("b") });
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    // IKE_AUTH carries "net"; CREATE_CHILD_SA { HDR, SK { SA, Ni, KEi, TSi, TSr } } --> carries "pfs"
    expect(p.net.runUntil(() => p.a.installed.size === 2 && p.b.installed.size === 2, 20_000)).toBe(true);
    const pairs = pairedChildren(p.a, p.b);
    expect(pairs.length).toBe(2);
    const pfs = pairs.find(([x]) => x.child === "pfs")!;
    expect(pfs[0].encr.name).toBe("ENCR_AES_GCM_16_256");
    expect(pfs[0].encrKeyOut.expose()).toEqual(pfs[1].encrKeyIn.expose());
    expect(p.engA.listSas(p.net.now)[0]!.children.find((c) => c.name === "pfs")!.ke).toBe("ECP_256");
  });

  for (const side of ["a", "b"] as const) {
    it(`rekeys the Child SA (initiated by ${side.toUpperCase()}): new SA installed both sides, old deleted after`, () => {
      const p = makePair(`rekey-child-${side}`);
      up(p);
      const old = [...p.a.installed.values()][0]!;
      // CREATE_CHILD_SA { HDR, SK { N(REKEY_SA), SA, Ni, TSi, TSr } } -->  <-- { HDR, SK { SA, Nr, TSi, TSr } }
      // INFORMATIONAL { HDR, SK { D(ESP, old) } } -->  <-- { HDR, SK { D(ESP, old peer) } }
      p.net.call(side === "a" ? p.a : p.b, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      settle(p);
      expect(errorsOf(p.a)).toEqual([]);
      expect(errorsOf(p.b)).toEqual([]);
      expect(p.a.installed.size).toBe(1);
      expect(p.b.installed.size).toBe(1);
      const pairs = pairedChildren(p.a, p.b);
      expect(pairs.length).toBe(1);
      const [na, nb] = pairs[0]!;
      expect(na.spiIn).not.toBe(old.spiIn);
      expect(na.replaces).toBe(old.id);
      expect(nb.replaces).toBeDefined();
      expect(na.encrKeyOut.expose()).toEqual(nb.encrKeyIn.expose());
      expect(p.a.deleteLog.map((d) => d.id)).toEqual([old.id]);
    });

    it(`rekeys the IKE SA (initiated by ${side.toUpperCase()}): Child SAs move to the new IKE SA, the old one is deleted`, () => {
      const p = makePair(`rekey-ike-${side}`);
      up(p);
      const before = p.engA.listSas(p.net.now)[0]!;
      // CREATE_CHILD_SA { HDR, SK { SA(new SPI), Ni, KEi } } -->  <-- { HDR, SK { SA(new SPI), Nr, KEr } }
      // INFORMATIONAL (old IKE SA) { HDR, SK { D(IKE) } } -->  <-- { HDR, SK { } }
      p.net.call(side === "a" ? p.a : p.b, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
      settle(p);
      expect(errorsOf(p.a)).toEqual([]);
      expect(errorsOf(p.b)).toEqual([]);
      const after = p.engA.listSas(p.net.now);
      const afterB = p.engB.listSas(p.net.now);
      expect(after.length).toBe(1);
      expect(afterB.length).toBe(1);
      expect(after[0]!.spiI).not.toBe(before.spiI);
      expect(after[0]!.spiI).toBe(afterB[0]!.spiI);
      expect(after[0]!.spiR).toBe(afterB[0]!.spiR);
      expect(after[0]!.children.length).toBe(1);
      expect(afterB[0]!.children.length).toBe(1);
      expect(p.a.installed.size).toBe(1);
      expect(p.a.deleteLog.length).toBe(0);
      // The Child SA moved (ikeSaRekeyed), and no ikeSaClosed told the daemon to drop it.
      for (const n of [p.a, p.b]) {
        expect(n.rekeyed.length).toBe(1);
        expect(n.rekeyed[0]!.childIds).toEqual([...n.installed.keys()]);
        expect(n.closed).toEqual([]);
      }
      // The new IKE SA works: a Child SA rekey over it succeeds.
      p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyChild(now, "site"));
      settle(p);
      expect(pairedChildren(p.a, p.b).length).toBe(1);
      expect(p.a.deleteLog.length).toBe(1);
    });
  }

  it("Child SA soft lifetime triggers a rekey and the hard lifetime is never reached", () => {
    const p = makePair(16, { childRekeySeconds: 100, childLifeSeconds: 150 }, { childRekeySeconds: 1000, childLifeSeconds: 1200 });
    up(p);
    p.net.runFor(1000_000);
    expect(p.a.installed.size).toBe(1);
    expect(p.b.installed.size).toBe(1);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
    expect(p.a.installLog.length).toBeGreaterThanOrEqual(10);
  });

  it("IKE SA rekey timer fires with jitter and keeps the tunnel", () => {
    const p = makePair(17, { rekeyTimeSeconds: 200 }, { rekeyTimeSeconds: 300 });
    up(p);
    p.net.runFor(1000_000);
    expect(errorsOf(p.a)).toEqual([]);
    expect(p.engA.listSas(p.net.now).length).toBe(1);
    expect(p.engB.listSas(p.net.now).length).toBe(1);
    expect(p.a.established.length).toBeGreaterThanOrEqual(5);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
  });
});
