import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import type { Stats } from "../../src/control/protocol.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * The native data plane's parts end to end (issue 7), each configuration an environment the
 * gateways inherit:
 *   - everything on: TUN virtio-net offloads (native/tun_offload.c: the sending gateway reads
 *     TCP frames of up to 64 KiB and splits them before ESP, the receiving one writes runs of
 *     decrypted segments back as GSO frames), UDP GRO, thread-pool I/O, data-plane bursts;
 *   - TSIPSEC_NO_TUN_OFFLOAD=1 + TSIPSEC_NO_UDP_GRO=1: one packet per TUN read/write;
 *   - TSIPSEC_NO_ASYNC_IO=1 + TSIPSEC_NO_BURST=1: sends and writes on the event loop, one
 *     data-plane call per packet;
 *   - TSIPSEC_NO_BATCH_IO=1: one system call per packet (native AEAD only).
 * The transfers' SHA-256 proves segments, checksums and order are right; the counters prove
 * which TUN path ran.
 */
const CONFIGS = [
  { name: "everything on", tag: "off1", env: {}, offload: true },
  { name: "TUN offloads and UDP GRO off", tag: "off0", env: { TSIPSEC_NO_TUN_OFFLOAD: "1", TSIPSEC_NO_UDP_GRO: "1" }, offload: false },
  { name: "event-loop I/O, per-packet data plane", tag: "offs", env: { TSIPSEC_NO_ASYNC_IO: "1", TSIPSEC_NO_BURST: "1" }, offload: true },
  { name: "no batch I/O", tag: "offn", env: { TSIPSEC_NO_BATCH_IO: "1" }, offload: false },
] as const;
const SWITCHES = ["TSIPSEC_NO_TUN_OFFLOAD", "TSIPSEC_NO_UDP_GRO", "TSIPSEC_NO_ASYNC_IO", "TSIPSEC_NO_BURST", "TSIPSEC_NO_BATCH_IO"];
async function stats(controlPath: string): Promise<Stats> {
  return controlRequest(controlPath, { op: "stats" });
}

for (const config of CONFIGS) {
  const offload = config.offload;
  describe(`site-to-site TCP, data plane: ${config.name}`, () => {
    let pair: Pair;
    const saved = Object.fromEntries(SWITCHES.map((k) => [k, process.env[k]]));

    beforeAll(async () => {
      // The gateways inherit this process's environment when they are spawned.
      for (const k of SWITCHES) delete process.env[k];
      Object.assign(process.env, config.env);
      pair = await createPair({ tag: config.tag, startA: "start", startB: "none" });
      await pair.gwA.waitTunnel();
      await pair.gwB.waitTunnel();
    });
    afterAll(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
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

    it(offload ? "read TSO frames and wrote GSO frames on both gateways, no packet dropped" : "reports offload off and used neither, no packet dropped", async () => {
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
