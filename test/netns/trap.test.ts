import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { Capture, CLEARTEXT_LEAK_FILTER, createPair, ping, type Pair } from "./harness.js";

/**
 * start_action: trap (RFC 4301 s5.1 step 3a, RFC 7296 s2.9): the policy and its route exist before
 * any SA; the first matching packet makes the gateway negotiate (acquire) and is dropped, never
 * sent in clear; once the Child SA is installed traffic flows.
 */
describe("trap policies: the first packet triggers IKE (RFC 7296 s2.9)", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "trap", startA: "trap", startB: "trap" });
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("installs the trap route into the TUN at start, with no SA yet", async () => {
    expect(await pair.gwA.listSas()).toEqual([]);
    const r = await pair.topo.exec(pair.topo.ns.gwA, "ip", ["route", "get", pair.topo.addresses.hostB.v4, "from", pair.topo.addresses.hostA.v4, "iif", "lan0"]);
    expect(r.stdout).toMatch(/dev tsipsec0/);
  });

  it("negotiates on the first packet, drops packets until the SA exists, and never leaks them", async () => {
    const { topo } = pair;
    const cap = await Capture.start(topo, topo.ns.gwA, "wan0", join(pair.dir, "trap.pcap"));
    const p = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 10);
    await cap.stop();
    // The first echo request is consumed by the acquire; later ones get through the new SA.
    expect(p.received, p.output).toBeGreaterThanOrEqual(7);
    const sas = await pair.gwA.waitTunnel(5000);
    expect(sas[0]?.initiator).toBe(true);
    expect(await cap.count("udp port 500")).toBeGreaterThanOrEqual(2); // IKE_SA_INIT request and response
    expect(await cap.count("udp port 4500")).toBeGreaterThan(0);
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
    const stats = await controlRequest(pair.gwA.controlPath, { op: "stats" });
    expect(stats.esp.packetsOut).toBeGreaterThanOrEqual(p.received);
  });

  it("carries TCP through the trapped tunnel", async () => {
    const { topo } = pair;
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 2 * 1024 * 1024 });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
  });

  it("after `down` the trap stays armed: nothing leaks and the next packet renegotiates", async () => {
    const { topo } = pair;
    await controlRequest(pair.gwA.controlPath, { op: "down", conn: "site" });
    await pair.gwA.waitFor("no IKE SA", (sas) => sas.length === 0);
    await pair.gwB.waitFor("no IKE SA", (sas) => sas.length === 0);
    const r = await topo.exec(topo.ns.gwA, "ip", ["route", "get", topo.addresses.hostB.v4, "from", topo.addresses.hostA.v4, "iif", "lan0"]);
    expect(r.stdout).toMatch(/dev tsipsec0/);
    const cap = await Capture.start(topo, topo.ns.gwB, "wan0", join(pair.dir, "retrap.pcap"));
    // This time host-b speaks first: gw-b's trap fires.
    const p = await ping(topo, topo.ns.hostB, topo.addresses.hostA.v4, 8);
    await cap.stop();
    expect(p.received, p.output).toBeGreaterThanOrEqual(5);
    const sas = await pair.gwB.waitTunnel(5000);
    expect(sas[0]?.initiator).toBe(true);
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
  });
});
