import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSiteToSite, listTopologyNamespaces, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";

/**
 * The four-namespace topology of docs/testbed.md, on real namespaces (needs root, as CI runs).
 * What matters for the tunnel tests: neighbours reach each other, and the two sites do NOT reach
 * each other without a tunnel (the only path between them must be the one IPsec installs).
 */
describe("testbed.md four-namespace site-to-site topology", () => {
  let topo: Topology;
  const suffix = uniqueSuffix("nt");

  beforeAll(async () => {
    topo = await createSiteToSite({ suffix, ipv6: true });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it("creates four namespaces with the run's suffix", async () => {
    const names = await listTopologyNamespaces(suffix);
    expect(names.sort()).toEqual([topo.ns.gwA, topo.ns.gwB, topo.ns.hostA, topo.ns.hostB].sort());
  });

  it("host-a reaches its gateway and the gateways reach each other (IPv4 and IPv6)", async () => {
    const A = topo.addresses;
    const ok = async (ns: string, to: string): Promise<number | null> =>
      (await topo.exec(ns, "ping", ["-c", "1", "-W", "2", to], { allowFailure: true })).code;
    expect(await ok(topo.ns.hostA, A.gwALan.v4)).toBe(0);
    expect(await ok(topo.ns.gwA, A.gwBWan.v4)).toBe(0);
    expect(await ok(topo.ns.hostB, A.gwBLan.v4)).toBe(0);
    expect(await ok(topo.ns.hostA, A.gwALan.v6)).toBe(0);
    expect(await ok(topo.ns.gwA, A.gwBWan.v6)).toBe(0);
  });

  it("gateways forward and have no route to the other site's protected subnet", async () => {
    const fwd = await topo.exec(topo.ns.gwA, "sysctl", ["-n", "net.ipv4.ip_forward"]);
    expect(fwd.stdout.trim()).toBe("1");
    const r = await topo.exec(topo.ns.gwA, "ip", ["route", "get", topo.addresses.hostB.v4], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unreachable/i);
    const p = await topo.exec(topo.ns.hostA, "ping", ["-c", "1", "-W", "1", topo.addresses.hostB.v4], { allowFailure: true });
    expect(p.code).not.toBe(0);
  });

  it("destroy() removes every namespace and kills processes left inside", async () => {
    const t2 = await createSiteToSite({ suffix: uniqueSuffix("nd") });
    const sleeper = t2.spawnIn(t2.ns.gwA, "sleep", ["600"]);
    const exited = new Promise((r) => sleeper.once("exit", r));
    await t2.destroy();
    await exited;
    expect(await listTopologyNamespaces(t2.suffix)).toEqual([]);
  });
});
