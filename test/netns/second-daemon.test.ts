import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway } from "../../src/demo/gateway.js";
import { createPair, GATEWAY_COMMAND, ping, type Pair } from "./harness.js";

/**
 * Break-it F13: a second `tsipsec start` in a namespace where a daemon already runs must fail
 * without touching the running daemon's ip rules, its routing table or its TUN (every daemon in a
 * namespace would share them). The running tunnel keeps carrying traffic afterwards.
 */
describe("a second daemon in the same namespace leaves the running one alone", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "dup" });
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  async function secondDaemon(configPath: string, controlPath: string): Promise<{ code: number | null; log: string }> {
    const gw = new Gateway(pair.topo, { name: "gw-a-2", ns: pair.topo.ns.gwA, configPath, controlPath, command: GATEWAY_COMMAND });
    const code = await gw.exited;
    return { code, log: gw.log };
  }

  async function expectTunnelIntact(): Promise<void> {
    const { topo } = pair;
    const rules = await topo.exec(topo.ns.gwA, "ip", ["rule", "show"]);
    expect(rules.stdout).toMatch(/^4501:.*lookup 4500/m);
    const routes = await topo.exec(topo.ns.gwA, "ip", ["route", "show", "table", "4500"]);
    expect(routes.stdout).toMatch(/dev tsipsec0/);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3)).received).toBe(3);
  }

  it("the same config again: refused (port in use), the first tunnel still passes traffic", async () => {
    const r = await secondDaemon(pair.configA, join(pair.dir, "gw-a-second.sock"));
    expect(r.code).toBe(1);
    expect(r.log).toMatch(/cannot start/);
    await expectTunnelIntact();
  });

  it("other ports, TUN name and control socket: refused (routing table in use), the first tunnel still passes traffic", async () => {
    const other = readFileSync(pair.configA, "utf8")
      .replace("name: tsipsec0", "name: tsipsec9")
      .replace("    mtu: 1400", "    mtu: 1400\n  ike_port: 1500\n  natt_port: 14500")
      .replace(/control_socket: .*/, `control_socket: ${join(pair.dir, "gw-a-9.sock")}`);
    const path = join(pair.dir, "gw-a-9.yaml");
    writeFileSync(path, other, { mode: 0o600 });
    const r = await secondDaemon(path, join(pair.dir, "gw-a-9.sock"));
    expect(r.code).toBe(1);
    expect(r.log).toMatch(/routing table 4500 .* in use by another tsipsec daemon/);
    const links = await pair.topo.exec(pair.topo.ns.gwA, "ip", ["link", "show"]);
    expect(links.stdout).not.toMatch(/tsipsec9/);
    await expectTunnelIntact();
  });
});
