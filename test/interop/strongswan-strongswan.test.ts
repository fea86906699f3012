/**
 * The harness proves itself: strongSwan <-> strongSwan site-to-site in the four-namespace topology
 * (docs/testbed.md), PSK, IKE aes128-sha256-modp2048, ESP aes128gcm16 (RFC 4106), UDP-encapsulated
 * (RFC 3948, forced by kernel-libipsec). No tsipsec code is involved, so a failure here is a
 * harness or testbed problem, not a tsipsec bug.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import { ensureStrongSwanInstalled, StrongSwan, type SwanConnection } from "../support/strongswan.js";
import { pingAfterWarmup, tcpTransfer } from "./harness/traffic.js";

const A = {
  gwAWan: SITE_TO_SITE_ADDRESSES.gwAWan.v4,
  gwBWan: SITE_TO_SITE_ADDRESSES.gwBWan.v4,
  siteA: SITE_TO_SITE_ADDRESSES.siteA.v4,
  siteB: SITE_TO_SITE_ADDRESSES.siteB.v4,
  hostB: SITE_TO_SITE_ADDRESSES.hostB.v4,
};

function connection(side: "a" | "b"): SwanConnection {
  const [local, remote, localTs, remoteTs] = side === "a" ? [A.gwAWan, A.gwBWan, A.siteA, A.siteB] : [A.gwBWan, A.gwAWan, A.siteB, A.siteA];
  return {
    name: "s2s",
    localAddrs: [local],
    remoteAddrs: [remote],
    proposals: ["aes128-sha256-modp2048"],
    localId: local,
    remoteId: remote,
    psk: "interop-harness-psk-0123456789",
    children: [{ name: "net", localTs: [localTs], remoteTs: [remoteTs], espProposals: ["aes128gcm16"], startAction: "none", mode: "tunnel" }],
  };
}

describe("strongSwan <-> strongSwan site-to-site (harness self-test; RFC 7296 s1.3, RFC 4106, RFC 3948)", () => {
  let topology: Topology | undefined;
  let gwA: StrongSwan | undefined;
  let gwB: StrongSwan | undefined;

  beforeAll(async () => {
    // A missing strongSwan is installed; an install that fails fails the suite (never a skip).
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("ss") });
  });

  afterAll(async () => {
    try {
      await gwA?.dispose();
      await gwB?.dispose();
    } finally {
      await topology?.destroy();
    }
  });

  it("brings up IKE aes128-sha256-modp2048 / ESP aes128gcm16 and carries ping and TCP between the hosts", async () => {
    const topo = topology!;
    gwA = await StrongSwan.start({ namespace: topo.ns.gwA, spawnIn: topo.spawnIn, label: "gw-a" });
    gwB = await StrongSwan.start({ namespace: topo.ns.gwB, spawnIn: topo.spawnIn, label: "gw-b" });
    await gwA.load([connection("a")]);
    await gwB.load([connection("b")]);
    try {
      // IKE_SA_INIT, IKE_AUTH { SA, TSi, TSr } -->
      const r = await gwA.initiate("net");
      expect(r.ok, r.output).toBe(true);

      const [saA] = await gwA.listSas();
      const [saB] = await gwB.listSas();
      expect(saA?.state).toBe("ESTABLISHED");
      expect(saB?.state).toBe("ESTABLISHED");
      expect(saA?.initiatorSpi).toBe(saB?.initiatorSpi);
      expect(saA?.responderSpi).toBe(saB?.responderSpi);
      expect([saA?.encrAlg, saA?.encrKeysize, saA?.integAlg, saA?.prfAlg, saA?.dhGroup]).toEqual(["AES_CBC", 128, "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048"]);
      const childA = saA?.children[0];
      const childB = saB?.children[0];
      expect(childA?.state).toBe("INSTALLED");
      // The SPI one side receives on is the one the other sends with (RFC 7296 s2.17).
      expect(childA?.spiIn).toBe(childB?.spiOut);
      expect(childA?.spiOut).toBe(childB?.spiIn);
      expect([childA?.encrAlg, childA?.encrKeysize, childA?.integAlg]).toEqual(["AES_GCM_16", 128, undefined]);
      // kernel-libipsec always uses ESP in UDP (testbed.md).
      expect(childA?.encap).toBe(true);
      expect(childA?.localTs).toEqual([A.siteA]);
      expect(childA?.remoteTs).toEqual([A.siteB]);

      const p = await pingAfterWarmup(topo, topo.ns.hostA, A.hostB, 3);
      expect(p.received, p.output).toBe(3);
      const t = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: A.hostB, clientNs: topo.ns.hostA, size: 256 * 1024 });
      expect(t.ok, t.detail).toBe(true);

      // The bytes went through the Child SA: both directions counted on both sides.
      const [afterA] = await gwA.listSas();
      const ca = afterA?.children[0];
      expect(ca?.bytesOut ?? 0).toBeGreaterThan(256 * 1024);
      expect(ca?.bytesIn ?? 0).toBeGreaterThan(0);

      // INFORMATIONAL { D } --> : both sides forget the IKE SA.
      const d = await gwA.terminate({ ike: "s2s" });
      expect(d.ok, d.output).toBe(true);
      expect(await gwA.listSas()).toEqual([]);
      expect(await gwB.listSas()).toEqual([]);
    } catch (e) {
      console.error(`${gwA.logTail(60)}\n${gwB.logTail(60)}`);
      throw e;
    }
  });
});
