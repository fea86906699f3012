/**
 * The engine's operator-facing API in the simulated network: acquire from a trap policy (RFC 4301
 * s5.2, RFC 7296 s2.9 trigger selector), Child SA hard lifetimes, reload, terminate during a rekey,
 * and the notifies IKE_SA_INIT always carries.
 */
import { describe, it, expect } from "vitest";
import { makePair, pairedChildren, errorsOf, sitePair } from "./fixtures.js";
import type { IkeEngine } from "../../src/ike/engine.js";
import { parseTs, formatTs } from "../../src/ike/negotiation/traffic-selectors.js";
import { decodeHeader } from "../../src/wire/ike/header.js";
import { decodeMessage } from "../../src/wire/ike/message.js";
import { ExchangeType, NotifyType } from "../../src/wire/ike/constants.js";
import { findNotify } from "../../src/wire/ike/find.js";

describe("RFC 7296 s2.9: acquire with the triggering packet's selector", () => {
  it("negotiates the child once, putting the packet's selector first, and the responder narrows to the range holding it", () => {
    const p = makePair("acquire", { localTs: ["198.18.1.0/24", "198.18.5.0/24"] }, { remoteTs: ["198.18.5.0/24"] });
    const trigger = parseTs("198.18.5.7/32[tcp/4000]");
    p.net.call(p.a, (e, now) => (e as IkeEngine).acquire(now, "site", "net", trigger));
    // A second acquire for the same child while it is being negotiated is a duplicate.
    p.net.call(p.a, (e, now) => (e as IkeEngine).acquire(now, "site", "net", trigger));
    expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 10_000)).toBe(true);
    p.net.runFor(5_000);
    expect(p.a.installLog.length).toBe(1);
    const [x] = pairedChildren(p.a, p.b)[0]!;
    expect(x.localTs.map(formatTs)).toEqual(["198.18.5.0/24"]);
    p.net.call(p.a, (e, now) => (e as IkeEngine).acquire(now, "site", "net", trigger));
    p.net.runFor(5_000);
    expect(p.a.installLog.length).toBe(1);
  });
});

describe("RFC 7296 s2.8: Child SA hard lifetime without rekey", () => {
  it("deletes the Child SA on both sides at the hard lifetime", () => {
    const p = makePair("hard", { childRekeySeconds: 0, childLifeSeconds: 100 }, { childRekeySeconds: 0, childLifeSeconds: 1000 });
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 10_000)).toBe(true);
    const t0 = p.net.now;
    p.net.runFor(99_000);
    expect(p.a.installed.size).toBe(1);
    p.net.runFor(5_000);
    expect(p.a.installed.size).toBe(0);
    expect(p.b.installed.size).toBe(0);
    expect(p.a.deleteLog[0]!.reason).toContain("hard lifetime");
    expect(p.net.now - t0).toBeGreaterThanOrEqual(100_000);
    expect(p.engA.listSas(p.net.now)[0]!.state).toBe("ESTABLISHED");
  });
});

describe("reload (updateConfig)", () => {
  it("a new connection is usable after reload and existing SAs keep running", () => {
    const p = makePair("reload");
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1, 10_000)).toBe(true);
    const next = sitePair({ rekeyTimeSeconds: 50 });
    p.engA.updateConfig(next.a);
    p.net.runFor(200_000);
    // The reloaded rekey time applies to the running SA's next arming.
    p.net.call(p.a, (e, now) => (e as IkeEngine).rekeyIke(now, "site"));
    p.net.runFor(200_000);
    expect(p.a.established.length).toBeGreaterThanOrEqual(3);
    expect(pairedChildren(p.a, p.b).length).toBe(1);
    expect(errorsOf(p.a)).toEqual([]);
  });
});

describe("RFC 7296 s1.4.1: terminate while a rekey is in flight", () => {
  it("the DELETE follows the rekey and removes the successor IKE SA too", () => {
    const p = makePair("terminate-rekey");
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 10_000)).toBe(true);
    p.net.call(p.a, (e, now) => {
      (e as IkeEngine).rekeyIke(now, "site");
      (e as IkeEngine).terminate(now, "site");
    });
    p.net.runFor(60_000);
    expect(p.engA.listSas(p.net.now)).toEqual([]);
    expect(p.engB.listSas(p.net.now)).toEqual([]);
    expect(p.a.installed.size + p.b.installed.size).toBe(0);
  });
});

describe("RFC 7296 s2.23, RFC 7383 s2.3, RFC 7427 s4: IKE_SA_INIT notifies", () => {
  it("both directions carry NAT detection, fragmentation support and signature hash algorithms", () => {
    const p = makePair("notifies");
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1, 10_000)).toBe(true);
    for (const node of [p.a, p.b]) {
      const init = node.sent.find((s) => decodeHeader(s.bytes).exchangeType === ExchangeType.IKE_SA_INIT)!;
      const m = decodeMessage(init.bytes);
      for (const t of [NotifyType.NAT_DETECTION_SOURCE_IP, NotifyType.NAT_DETECTION_DESTINATION_IP, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED]) {
        expect(findNotify(m.payloads, t), `${node.name} ${t}`).toBeDefined();
      }
      expect([...findNotify(m.payloads, NotifyType.SIGNATURE_HASH_ALGORITHMS)!.data]).toEqual([0, 2, 0, 3, 0, 4]);
    }
  });
});

describe("swanctl --list-sas (listSas)", () => {
  it("reports both ends with states, SPIs, identities, algorithms, timers, modes and selectors", () => {
    const p = makePair("list", { encap: true, rekeyTimeSeconds: 14400, childRekeySeconds: 3000, childLifeSeconds: 3600 });
    p.net.call(p.a, (e, now) => (e as IkeEngine).initiate(now, "site"));
    expect(p.net.runUntil(() => p.a.installed.size === 1 && p.b.installed.size === 1, 10_000)).toBe(true);
    p.net.runFor(10_000);
    const [a] = p.engA.listSas(p.net.now);
    const [b] = p.engB.listSas(p.net.now);
    expect(a!.connection).toBe("site");
    expect(a!.state).toBe("ESTABLISHED");
    expect(a!.initiator).toBe(true);
    expect(b!.initiator).toBe(false);
    expect(a!.spiI).toBe(b!.spiI);
    expect(a!.spiR).toBe(b!.spiR);
    expect(a!.spiI).toMatch(/^[0-9a-f]{16}$/);
    // encap: A is not behind a NAT, but its faked NATD source hash makes B believe A is (s2.23).
    expect(a!.local).toEqual({ id: "gw-a.example", address: "192.0.2.1", port: 4500, behindNat: false });
    expect(b!.remote).toEqual({ id: "gw-a.example", address: "192.0.2.1", port: 4500, behindNat: true });
    expect(a!.remote.id).toBe("gw-b.example");
    expect(a!.encr).toBe("AES_GCM_16-128");
    expect(a!.integ).toBeUndefined();
    expect(a!.prf).toBe("PRF_HMAC_SHA2_256");
    expect(a!.ke).toBe("CURVE_25519");
    expect(a!.establishedSecondsAgo).toBeGreaterThanOrEqual(10);
    expect(a!.rekeyInSeconds).toBeLessThanOrEqual(14400 - 10);
    expect(a!.rekeyInSeconds).toBeGreaterThan(14400 * 0.9 - 11);
    const ca = a!.children[0]!;
    const cb = b!.children[0]!;
    expect(ca.name).toBe("net");
    expect(ca.state).toBe("INSTALLED");
    expect(ca.mode).toBe("TUNNEL");
    expect(ca.udpEncapsulation).toBe(true);
    expect(ca.protocol).toBe("ESP");
    expect(ca.encr).toBe("AES_GCM_16-128");
    expect(ca.spiIn).toBe(cb.spiOut);
    expect(ca.spiOut).toBe(cb.spiIn);
    expect(ca.localTs).toEqual(["198.18.1.0/24"]);
    expect(ca.remoteTs).toEqual(["198.18.2.0/24"]);
    expect(ca.expiresInSeconds).toBeLessThanOrEqual(3600 - 10);
    expect(ca.rekeyInSeconds).toBeLessThanOrEqual(3000 - 10);
    expect(ca.rekeyInSeconds).toBeGreaterThan(3000 * 0.9 - 11);
    expect(ca.installedSecondsAgo).toBeGreaterThanOrEqual(10);
    expect(ca.reqid).toBe(1);
  });
});
