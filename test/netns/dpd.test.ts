import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { Capture, CLEARTEXT_LEAK_FILTER, createPair, ping, type Pair } from "./harness.js";

/**
 * A gateway dies (SIGKILL: no DELETE goes out).
 * - RFC 7296 s2.4 INITIAL_CONTACT: when it comes back at once and initiates, the survivor drops
 *   the stale IKE/Child SAs it still had for that peer and keeps only the new ones.
 * - RFC 7296 s2.4 liveness checks (DPD): when it stays dead, the survivor notices within a few
 *   retransmissions and removes its SAs; protected traffic meanwhile never leaves in clear.
 */
describe("peer crash: INITIAL_CONTACT and dead peer detection (RFC 7296 s2.4)", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "dpd", startA: "start", startB: "none", dpdDelay: 2, retransmitTimeout: 0.5, retransmitTries: 3 });
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("a restarted initiator's INITIAL_CONTACT replaces the stale SAs on the survivor", async () => {
    const { topo } = pair;
    const old = (await pair.gwB.listSas())[0];
    await pair.gwA.kill();
    await pair.start("a");
    await pair.gwA.waitTunnel();
    const sas = await pair.gwB.waitFor("only the new IKE SA", (s) => s.length === 1 && s[0]?.spiI !== old?.spiI && s[0]?.children.length === 1);
    expect(sas[0]?.children[0]?.spiIn).not.toBe(old?.children[0]?.spiIn);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3)).received).toBe(3);
  });

  it("the survivor detects a dead peer by DPD, removes its SAs and routes, and leaks nothing meanwhile", async () => {
    const { topo } = pair;
    const cap = await Capture.start(topo, topo.ns.gwB, "wan0", join(pair.dir, "dead.pcap"));
    await pair.gwA.kill();
    // host-b keeps sending towards host-a while gw-b still believes in the SA, and after.
    const pinger = topo.spawnIn(topo.ns.hostB, "ping", ["-i", "0.2", "-W", "1", topo.addresses.hostA.v4]);
    try {
      await pair.gwB.waitFor("the dead peer's IKE SA removed", (s) => s.length === 0, 30_000);
      expect(pair.gwB.log).toMatch(/IKE SA closed/);
      // The unanswered liveness checks were retransmitted before giving up (RFC 7296 s2.1, s2.4).
      const stats = await controlRequest(pair.gwB.controlPath, { op: "stats" });
      expect(stats.ike.retransmits).toBeGreaterThanOrEqual(1);
      // The engine's other counters reach `stats` too (nothing was refused or resent here).
      expect([stats.ike.cookiesDemanded, stats.ike.halfOpenBlocked]).toEqual([0, 0]);
      const route = await topo.exec(topo.ns.gwB, "ip", ["route", "get", topo.addresses.hostA.v4, "from", topo.addresses.hostB.v4, "iif", "lan0"], { allowFailure: true });
      expect(route.stdout).not.toMatch(/tsipsec0/);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      pinger.kill("SIGINT");
      await cap.stop();
    }
    // gw-b's liveness checks went out (IKE on 4500) ...
    expect(await cap.count("udp port 4500 and src host 192.0.2.2")).toBeGreaterThan(0);
    // ... but no packet of host-b's ever crossed the outer link in clear.
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
  });

  it("the tunnel comes back when the dead gateway restarts", async () => {
    const { topo } = pair;
    await pair.start("a");
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
    expect((await ping(topo, topo.ns.hostB, topo.addresses.hostA.v4, 3)).received).toBe(3);
  });
});
