import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { sleep } from "../../src/demo/gateway.js";
import { createPair, type Pair } from "./harness.js";

/**
 * Rekeying under load (RFC 7296 s2.8 Child SA rekey, s2.18 IKE SA rekey): a paced TCP transfer
 * runs across several rekeys and must complete with every byte intact and no reset. The new
 * outbound SA takes over at once (make-before-break), the old inbound SA keeps receiving until
 * its DELETE.
 */
describe("rekey under a running TCP transfer (RFC 7296 s2.8, s2.18)", () => {
  let pair: Pair;

  beforeAll(async () => {
    // Short lifetimes on both sides: rekeys are driven by both gateways' timers (with jitter),
    // so collisions (s2.8.1) can happen too.
    pair = await createPair({ tag: "rek", startA: "start", startB: "none", childRekeyTime: 3, ikeRekeyTime: 5 });
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("timer-driven Child and IKE SA rekeys: the transfer completes intact over new SAs", async () => {
    const { topo } = pair;
    const first = (await pair.gwA.listSas())[0];
    const firstChild = first?.children[0];
    const seen = { ikeSpis: new Set<string>(), childSpis: new Set<string>() };
    const transfer = tcpTransfer(topo, {
      serverNs: topo.ns.hostB,
      serverAddress: topo.addresses.hostB.v4,
      clientNs: topo.ns.hostA,
      bytes: 24 * 1024 * 1024,
      paceMs: 11_000,
      timeoutMs: 60_000,
    });
    let done = false;
    void transfer.finally(() => (done = true));
    while (!done) {
      for (const s of await pair.gwA.listSas()) {
        seen.ikeSpis.add(s.spiI);
        for (const c of s.children) seen.childSpis.add(c.spiIn);
      }
      await sleep(250);
    }
    const r = await transfer;
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.receivedBytes).toBe(24 * 1024 * 1024);
    // At least two Child SA rekeys and one IKE SA rekey happened while the data flowed.
    expect(seen.childSpis.size).toBeGreaterThanOrEqual(3);
    expect(seen.ikeSpis.size).toBeGreaterThanOrEqual(2);
    const now = await pair.gwA.installedChildren();
    expect(now.length).toBeGreaterThanOrEqual(1);
    expect(now.map((c) => c.spiIn)).not.toContain(firstChild?.spiIn);
    // The daemon installed the rekeyed Child SAs as replacements (make-before-break).
    const replacements = pair.gwA.log.split("\n").filter((l) => /"replaces":\d+.*"msg":"Child SA installed"/.test(l));
    expect(replacements.length).toBeGreaterThanOrEqual(2);
    // No replay or ICV failure was caused by the switch-over.
    const stats = await controlRequest(pair.gwB.controlPath, { op: "stats" });
    expect(stats.drops["ICV_FAILURE"] ?? 0).toBe(0);
    expect(stats.drops["REPLAY"] ?? 0).toBe(0);
  });
});

describe("operator rekey (tsipsec rekey --ike) under traffic", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "rko", startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("rekeys the Child SA and the IKE SA on request while TCP runs", async () => {
    const { topo } = pair;
    const before = (await pair.gwA.listSas())[0];
    const transfer = tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 12 * 1024 * 1024, paceMs: 4000 });
    await sleep(1000);
    const r1 = await controlRequest(pair.gwA.controlPath, { op: "rekey", conn: "site", ike: true });
    expect(r1.message).toMatch(/rekeying/);
    await sleep(1000);
    const r2 = await controlRequest(pair.gwB.controlPath, { op: "rekey", conn: "site" });
    expect(r2.message).toMatch(/rekeying/);
    const r = await transfer;
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    const after = await pair.gwA.waitFor("rekeyed SAs", (sas) => sas.length === 1 && sas[0]?.spiI !== before?.spiI && sas[0]?.children.length === 1);
    expect(after[0]?.children[0]?.spiIn).not.toBe(before?.children[0]?.spiIn);
    expect(after[0]?.children[0]?.state).toBe("INSTALLED");
  });
});
