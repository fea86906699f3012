/**
 * Wireshark (tshark 4.0) as an independent judge of a tsipsec <-> strongSwan session: tcpdump
 * captures the outer link at gw-a, and tshark decrypts IKE_AUTH (RFC 7296 s3.14) and the ESP-in-UDP
 * packets (RFC 4303, RFC 3948) down to the inner ICMP, using key rows written by
 * src/drivers/key-export.ts from the keys strongSwan logs (`ike = 4`, `chd = 4`). So this checks
 * both that tsipsec's packets are what an independent dissector expects for the negotiated keys
 * and that the key-export formats are the ones tshark reads.
 *
 * tsipsec's own exported tables (daemon.save_keys) are compared in the pending case
 * `wireshark/tsipsec-save-keys` (harness/cases.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import { ensureStrongSwanInstalled, StrongSwan, waitFor } from "../support/strongswan.js";
import { siteConnection } from "./harness/matrix.js";
import { pingAfterWarmup } from "./harness/traffic.js";
import { TsipsecGateway } from "./harness/tsipsec.js";
import { startCapture, tsharkFields, type Capture } from "./harness/wireshark.js";
import { keyRowsFromCharonLog } from "./harness/cases.js";

const S = SITE_TO_SITE_ADDRESSES;

describe("Wireshark decrypts a captured tsipsec <-> strongSwan session (RFC 7296 s3.14, RFC 4303, RFC 3948)", () => {
  let topology: Topology | undefined;
  let dir = "";

  beforeAll(async () => {
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("ws") });
    dir = mkdtempSync(join(tmpdir(), "tsipsec-wireshark-"));
  });

  afterAll(async () => {
    try {
      await topology?.destroy();
    } finally {
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    }
  });

  it("IKE aes128-sha256-modp2048 / ESP aes128gcm16, tsipsec initiates: tshark shows IDi, IDr and AUTH inside SK, and the inner ICMP of ESP", { timeout: 90_000 }, async () => {
    const topo = topology!;
    const a = siteConnection("a");
    const b = siteConnection("b");
    const ss = await StrongSwan.start({ namespace: topo.ns.gwB, spawnIn: topo.spawnIn, label: "gw-b", logKeys: true });
    let ts: TsipsecGateway | undefined;
    let capture: Capture | undefined;
    try {
      await ss.load([b]);
      ts = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwA, label: "gw-a" }, [a]);
      capture = await startCapture(topo, topo.ns.gwA, "wan0", join(dir, "outer.pcap"));
      const gw = ts;
      await gw.up("s2s");
      const sa = await waitFor("the tunnel on strongSwan", async () => {
        const [x] = await ss.listSas();
        return x?.children[0]?.state === "INSTALLED" ? x : undefined;
      });
      const ping = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
      expect(ping.received, ping.output).toBe(3);
      await capture.stop();

      // Key rows from strongSwan's view of the same SAs (it is the IKE responder here).
      const keys = keyRowsFromCharonLog(ss.log(), sa);
      const child = sa.children[0]!;

      // IKE_AUTH request and response (isakmp.exchangetype 35): IDi/IDr and AUTH only exist once SK is decrypted.
      const auth = await tsharkFields(capture.file, keys, "isakmp.exchangetype == 35", ["isakmp.ispi", "isakmp.id.data.ipv4_addr", "isakmp.auth.method", "isakmp.ts.start_ipv4"]);
      expect(auth.result.code, auth.result.stderr).toBe(0);
      expect(auth.lines.length, `IKE_AUTH messages in the capture:\n${auth.result.stdout}`).toBe(2);
      for (const line of auth.lines) {
        const [spi, ids, method, tsStarts] = line.split("\t");
        expect(spi).toBe(sa.initiatorSpi);
        // Both identities (IDi/IDr in the request, IDr in the response) are the gateways' addresses.
        expect(ids?.split(",").every((id) => id === S.gwAWan.v4 || id === S.gwBWan.v4), `IDs: ${ids}`).toBe(true);
        expect(method, "AUTH method: Shared Key Message Integrity Code (2)").toBe("2");
        expect(tsStarts?.split(",").sort()).toEqual(["198.18.1.0", "198.18.2.0"]);
      }

      // ESP in UDP/4500 both ways, decrypted to the inner ICMP echo request/reply between the hosts.
      const esp = await tsharkFields(capture.file, keys, "esp && icmp", ["esp.spi", "ip.src", "ip.dst", "icmp.type"]);
      expect(esp.result.code, esp.result.stderr).toBe(0);
      const inner = esp.lines.map((l) => l.split("\t"));
      const requests = inner.filter(([, src, , type]) => src?.endsWith(S.hostA.v4) === true && type === "8");
      const replies = inner.filter(([, src, , type]) => src?.endsWith(S.hostB.v4) === true && type === "0");
      expect(requests.length, `decrypted echo requests:\n${esp.result.stdout}`).toBeGreaterThanOrEqual(3);
      expect(replies.length, `decrypted echo replies:\n${esp.result.stdout}`).toBeGreaterThanOrEqual(3);
      expect(new Set(requests.map(([spi]) => spi))).toEqual(new Set([`0x${child.spiIn}`]));
      expect(new Set(replies.map(([spi]) => spi))).toEqual(new Set([`0x${child.spiOut}`]));
      await gw.down("s2s");
    } catch (e) {
      console.error(`${ts?.logTail(60) ?? ""}\n${ss.logTail(60)}`);
      throw e;
    } finally {
      await capture?.stop();
      await ts?.dispose();
      await ss.dispose();
    }
  });
});
