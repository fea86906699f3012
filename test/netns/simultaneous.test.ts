import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { sleep } from "../../src/demo/gateway.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * Both gateways configured with start_action: start and started together: each initiates, so
 * duplicate IKE/Child SAs may be created at once (RFC 7296 s2.8.1 discusses the rekey twin of this
 * race). Whatever the engines keep, traffic must flow both ways and keep flowing after the
 * duplicates are cleaned up.
 */
describe("simultaneous initiation from both gateways", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "sim", startA: "start", startB: "start", startNow: false });
    await Promise.all([pair.start("a"), pair.start("b")]);
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("carries traffic both ways, also after the duplicates settle", async () => {
    const { topo } = pair;
    const p1 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3);
    expect(p1.received, `gw-a:\n${pair.gwA.logTail()}\ngw-b:\n${pair.gwB.logTail()}`).toBe(3);
    expect((await ping(topo, topo.ns.hostB, topo.addresses.hostA.v4, 3)).received).toBe(3);
    await sleep(3000);
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 2 * 1024 * 1024 });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect((await ping(topo, topo.ns.hostB, topo.addresses.hostA.v4, 3)).received).toBe(3);
    // Every installed Child SA on one side has its twin on the other (no half-deleted SA left).
    const a = await pair.gwA.installedChildren();
    const b = await pair.gwB.installedChildren();
    expect(a.map((c) => c.spiIn).sort()).toEqual(b.map((c) => c.spiOut).sort());
  });
});
