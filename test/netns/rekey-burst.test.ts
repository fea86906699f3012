import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { sleep } from "../../src/demo/gateway.js";
import { createPair, type Pair } from "./harness.js";

/**
 * Rekeys while the native data plane runs flat out (thread-pool ESP sends, receive bursts):
 * the operator rekeys the Child SA and the IKE SA from either side while unpaced TCP runs both
 * ways. Make-before-break (RFC 7296 s2.8) means no packet of the old SA may be lost: each side
 * sends its DELETE only after the old SA's last packets, and a receiver handles the DELETE
 * only after the ESP that arrived before it. Both broke with the thread-pool sends (the DELETE
 * went out beside the queued ESP) and the receive bursts (a DELETE in the middle of a burst was
 * handled before the burst's ESP): several hundred NO_SA drops per run.
 */
describe("rekeys under full-speed bidirectional TCP (thread-pool sends, bursts)", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "rkb", startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("carries SHA-256-checked TCP both ways through child and IKE rekeys from both sides with no NO_SA drop", async () => {
    const { topo } = pair;
    const bytes = 160 * 1024 * 1024;
    let done = 0;
    const transfers = [
      tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes, port: 5011, timeoutMs: 25_000 }),
      tcpTransfer(topo, { serverNs: topo.ns.hostA, serverAddress: topo.addresses.hostA.v4, clientNs: topo.ns.hostB, bytes, port: 5012, timeoutMs: 25_000 }),
    ].map((t) => t.finally(() => done++));
    const requests = [
      { path: pair.gwA.controlPath, ike: false },
      { path: pair.gwB.controlPath, ike: false },
      { path: pair.gwA.controlPath, ike: true },
      { path: pair.gwB.controlPath, ike: true },
    ];
    let rekeys = 0;
    await sleep(300);
    while (done < 2 || rekeys < 4) {
      const r = requests[rekeys % requests.length];
      if (r === undefined) break;
      await controlRequest(r.path, { op: "rekey", conn: "site", ike: r.ike });
      rekeys++;
      if (rekeys >= 12) break;
      await sleep(400);
    }
    for (const t of transfers) {
      const r = await t;
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.receivedBytes).toBe(bytes);
    }
    // Both sides converge on one IKE SA with one Child SA.
    for (const gw of [pair.gwA, pair.gwB]) {
      await gw.waitFor("one IKE SA with one installed Child SA", (sas) => sas.length === 1 && sas[0]?.state === "ESTABLISHED" && sas[0].children.filter((c) => c.state === "INSTALLED").length === 1, 10_000);
    }
    for (const gw of [pair.gwA, pair.gwB]) {
      const s = await controlRequest(gw.controlPath, { op: "stats" });
      expect(s.drops, gw.name).not.toHaveProperty("NO_SA");
      expect(s.drops, gw.name).not.toHaveProperty("ICV_FAILURE");
      expect(s.drops, gw.name).not.toHaveProperty("REPLAY");
      expect(s.drops, gw.name).not.toHaveProperty("INTERNAL_ERROR");
    }
  }, 29_000);
});
