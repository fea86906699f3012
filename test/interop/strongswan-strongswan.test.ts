/**
 * The harness proves itself: strongSwan <-> strongSwan site-to-site in the four-namespace topology
 * (docs/testbed.md), PSK, UDP-encapsulated ESP (RFC 3948, forced by kernel-libipsec). No tsipsec
 * code is involved, so a failure here is a harness or testbed problem, not a tsipsec bug. The
 * algorithm rows are the same as the tsipsec matrix's: this is the baseline that says what
 * strongSwan itself does with each row here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import { ensureStrongSwanInstalled, StrongSwan, waitFor } from "../support/strongswan.js";
import { ALGORITHM_ROWS, ESN_ROW, LIBIPSEC_NO_ESN, siteConnection, swanChildAlgorithms, swanIkeAlgorithms, type AlgorithmRow } from "./harness/matrix.js";
import { pingAfterWarmup, tcpTransfer } from "./harness/traffic.js";

const S = SITE_TO_SITE_ADDRESSES;

describe("strongSwan <-> strongSwan site-to-site (harness self-test; RFC 7296 s1.3, RFC 3948)", () => {
  let topology: Topology | undefined;
  let gwA: StrongSwan | undefined;
  let gwB: StrongSwan | undefined;

  beforeAll(async () => {
    // A missing strongSwan is installed; an install that fails fails the suite (never a skip).
    await ensureStrongSwanInstalled();
    topology = await createSiteToSite({ suffix: uniqueSuffix("ss") });
    gwA = await StrongSwan.start({ namespace: topology.ns.gwA, spawnIn: topology.spawnIn, label: "gw-a" });
    gwB = await StrongSwan.start({ namespace: topology.ns.gwB, spawnIn: topology.spawnIn, label: "gw-b" });
  });

  afterAll(async () => {
    try {
      await gwA?.dispose();
      await gwB?.dispose();
    } finally {
      await topology?.destroy();
    }
  });

  /** Brings the row up from gw-a, checks both listings and traffic, optionally rekeys, tears down. */
  async function runRow(row: AlgorithmRow): Promise<void> {
    const topo = topology!;
    const a = gwA!;
    const b = gwB!;
    await a.load([siteConnection("a", { ike: row.ike, esp: row.esp })]);
    await b.load([siteConnection("b", { ike: row.ike, esp: row.esp })]);
    try {
      // IKE_SA_INIT, IKE_AUTH { SA, TSi, TSr } -->
      const r = await a.initiate("net");
      expect(r.ok, r.output).toBe(true);
      const [saA] = await a.listSas();
      const [saB] = await b.listSas();
      expect(saA?.state).toBe("ESTABLISHED");
      expect(saB?.state).toBe("ESTABLISHED");
      expect([saA?.initiatorSpi, saA?.responderSpi]).toEqual([saB?.initiatorSpi, saB?.responderSpi]);
      expect(swanIkeAlgorithms(saA!)).toEqual(row.expectIke);
      expect(swanIkeAlgorithms(saB!)).toEqual(row.expectIke);
      const childA = saA?.children[0];
      const childB = saB?.children[0];
      expect(childA?.state).toBe("INSTALLED");
      // The SPI one side receives on is the one the other sends with (RFC 7296 s2.17).
      expect([childA?.spiIn, childA?.spiOut]).toEqual([childB?.spiOut, childB?.spiIn]);
      const { keAfterRekey: _ke, ...child } = row.expectChild;
      expect(swanChildAlgorithms(childA!)).toEqual(child);
      expect(swanChildAlgorithms(childB!)).toEqual(child);
      // kernel-libipsec always uses ESP in UDP (testbed.md).
      expect(childA?.encap).toBe(true);
      expect([childA?.localTs, childA?.remoteTs]).toEqual([[S.siteA.v4], [S.siteB.v4]]);

      const p = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
      expect(p.received, p.output).toBe(3);
      const t = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: S.hostB.v4, clientNs: topo.ns.hostA, size: 256 * 1024 });
      expect(t.ok, t.detail).toBe(true);
      const [after] = await a.listSas();
      expect(after?.children[0]?.bytesOut ?? 0).toBeGreaterThan(256 * 1024);
      expect(after?.children[0]?.bytesIn ?? 0).toBeGreaterThan(0);

      if (row.expectChild.keAfterRekey !== undefined) {
        // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
        const oldSpi = childA?.spiIn;
        const rk = await a.rekey({ child: "net" });
        expect(rk.ok, rk.output).toBe(true);
        const rekeyed = await waitFor("the rekeyed Child SA on gw-a", async () => {
          const c = (await a.installedChildren()).find((x) => x.spiIn !== oldSpi);
          return c !== undefined && (await a.installedChildren()).length === 1 ? c : undefined;
        });
        expect(rekeyed.dhGroup).toBe(row.expectChild.keAfterRekey);
        const p2 = await pingAfterWarmup(topo, topo.ns.hostA, S.hostB.v4, 3);
        expect(p2.received, p2.output).toBe(3);
      }

      // INFORMATIONAL { D } --> : both sides forget the IKE SA.
      const d = await a.terminate({ ike: "s2s" });
      expect(d.ok, d.output).toBe(true);
      expect(await a.listSas()).toEqual([]);
      expect(await b.listSas()).toEqual([]);
    } catch (e) {
      console.error(`${a.logTail(60)}\n${b.logTail(60)}`);
      await a.terminate({ ike: "s2s" }, { force: true, timeoutSeconds: 2 });
      await b.terminate({ ike: "s2s" }, { force: true, timeoutSeconds: 2 });
      throw e;
    }
  }

  for (const row of ALGORITHM_ROWS) {
    it(`${row.name}: tunnel up, ping and TCP between the hosts, listings agree, delete`, async () => {
      await runRow(row);
    });
  }

  it(`${ESN_ROW.name}: libipsec selects EXT_SEQ but refuses to install it; the IKE SA stays (testbed fact)`, async () => {
    const a = gwA!;
    const b = gwB!;
    await a.load([siteConnection("a", { ike: ESN_ROW.ike, esp: ESN_ROW.esp })]);
    await b.load([siteConnection("b", { ike: ESN_ROW.ike, esp: ESN_ROW.esp })]);
    try {
      const r = await a.initiate("net");
      expect(r.ok).toBe(false);
      expect(b.grepLog(/selected proposal: ESP:AES_GCM_16_128\/EXT_SEQ/).length).toBeGreaterThan(0);
      expect(b.grepLog(LIBIPSEC_NO_ESN).length).toBeGreaterThan(0);
      const [saA] = await a.listSas();
      const [saB] = await b.listSas();
      expect([saA?.state, saB?.state]).toEqual(["ESTABLISHED", "ESTABLISHED"]);
      expect([saA?.children, saB?.children]).toEqual([[], []]);
    } finally {
      await a.terminate({ ike: "s2s" }, { timeoutSeconds: 5 });
    }
  });
});
