import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { Capture, createPair, ping, type Pair } from "./harness.js";

/**
 * Transport mode (RFC 4301 s4.1, RFC 4303 s3.1.1): the gateways protect their own traffic
 * (192.0.2.1 <-> 192.0.2.2). The tunnel route for the peer's address must not swallow the ESP and
 * IKE datagrams themselves (they bypass by source port), and nothing between the two leaves in
 * clear except IKE and ESP-in-UDP.
 */
describe("transport mode between the two gateways", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "tra", mode: "transport", startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("negotiates a TRANSPORT Child SA for the gateways' own addresses", async () => {
    const sas = await pair.gwA.listSas();
    const c = sas[0]?.children[0];
    expect(c?.mode).toBe("TRANSPORT");
    expect(c?.localTs).toEqual(["192.0.2.1/32"]);
    expect(c?.remoteTs).toEqual(["192.0.2.2/32"]);
  });

  it("carries ping and a SHA-256-checked TCP transfer between the gateways through ESP only", async () => {
    const { topo } = pair;
    const cap = await Capture.start(topo, topo.ns.gwA, "wan0", join(pair.dir, "transport.pcap"));
    const before = (await pair.gwA.installedChildren())[0];
    const p = await ping(topo, topo.ns.gwA, topo.addresses.gwBWan.v4, 5);
    const r = await tcpTransfer(topo, { serverNs: topo.ns.gwB, serverAddress: topo.addresses.gwBWan.v4, clientNs: topo.ns.gwA, bytes: 2 * 1024 * 1024 });
    await cap.stop();
    expect(p.received, p.output).toBe(5);
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    const after = (await pair.gwA.installedChildren())[0];
    expect((after?.packetsOut ?? 0) - (before?.packetsOut ?? 0)).toBeGreaterThan(5);
    // Everything between the gateways is UDP (IKE/ESP-in-UDP): no ICMP or TCP in clear.
    expect(await cap.count("icmp")).toBe(0);
    expect(await cap.count("tcp")).toBe(0);
    expect(await cap.count("udp port 4500")).toBeGreaterThan(10);
  });
});
