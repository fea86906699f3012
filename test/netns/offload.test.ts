import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import type { Stats } from "../../src/control/protocol.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * TUN virtio-net offloads end to end (issue 7, native/tun_offload.c): with IFF_VNET_HDR and
 * TSO on the TUN, the sending gateway reads TCP frames of up to 64 KiB and splits them into
 * segments before ESP, and the receiving gateway writes runs of decrypted segments back as GSO
 * frames. The transfer's SHA-256 proves the segments and checksums are right; the counters prove
 * both paths ran. The same with TSIPSEC_NO_TUN_OFFLOAD=1 keeps the one-packet-per-write path.
 */
async function stats(controlPath: string): Promise<Stats> {
  return controlRequest(controlPath, { op: "stats" });
}

for (const offload of [true, false]) {
  describe(`site-to-site TCP with TUN offloads ${offload ? "on" : "off (TSIPSEC_NO_TUN_OFFLOAD=1)"}`, () => {
    let pair: Pair;
    const saved = process.env["TSIPSEC_NO_TUN_OFFLOAD"];

    beforeAll(async () => {
      // The gateways inherit this process's environment when they are spawned.
      if (offload) delete process.env["TSIPSEC_NO_TUN_OFFLOAD"];
      else process.env["TSIPSEC_NO_TUN_OFFLOAD"] = "1";
      pair = await createPair({ tag: offload ? "off1" : "off0", startA: "start", startB: "none" });
      await pair.gwA.waitTunnel();
      await pair.gwB.waitTunnel();
    });
    afterAll(async () => {
      if (saved === undefined) delete process.env["TSIPSEC_NO_TUN_OFFLOAD"];
      else process.env["TSIPSEC_NO_TUN_OFFLOAD"] = saved;
      await pair?.close();
    });

    it("carries ping and SHA-256-checked 8 MiB TCP transfers both ways", async () => {
      const { topo } = pair;
      const p = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3);
      expect(p.received, p.output).toBe(3);
      const ab = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 8 * 1024 * 1024 });
      expect(ab.error).toBeUndefined();
      expect(ab.ok).toBe(true);
      const ba = await tcpTransfer(topo, { serverNs: topo.ns.hostA, serverAddress: topo.addresses.hostA.v4, clientNs: topo.ns.hostB, bytes: 8 * 1024 * 1024, port: 5002 });
      expect(ba.error).toBeUndefined();
      expect(ba.ok).toBe(true);
    });

    it(offload ? "read TSO frames and wrote GSO frames on both gateways" : "reports offload off and used neither", async () => {
      for (const gw of [pair.gwA, pair.gwB]) {
        const s = await stats(gw.controlPath);
        const tun = s.tun;
        expect(tun, gw.name).toBeDefined();
        if (tun === undefined) return;
        expect(tun.offload).toBe(offload);
        expect(s.drops["TUN_OFFLOAD_MALFORMED"] ?? 0).toBe(0);
        expect(s.drops["TUN_WRITE"] ?? 0).toBe(0);
        if (offload) {
          // Each gateway was the sender of one transfer and the receiver of the other.
          expect(tun.tsoFramesRead, gw.name).toBeGreaterThan(0);
          expect(tun.gsoFramesWritten, gw.name).toBeGreaterThan(0);
          expect(tun.gsoPacketsWritten, gw.name).toBeGreaterThan(tun.gsoFramesWritten);
          // The segments of a TSO frame are ordinary ESP packets: more packets read than frames.
          expect(tun.packetsRead).toBeGreaterThan(tun.tsoFramesRead);
        } else {
          expect(tun.tsoFramesRead).toBe(0);
          expect(tun.gsoFramesWritten).toBe(0);
        }
        expect(tun.packetsRead).toBeGreaterThan(1000);
        expect(tun.packetsWritten).toBeGreaterThan(1000);
      }
    });
  });
}
