import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { Capture, CLEARTEXT_LEAK_FILTER, createPair, ping, type Pair } from "./harness.js";

/**
 * IKE and ESP-in-UDP over an IPv6 outer link (2001:db8:ff::1 <-> 2001:db8:ff::2) carrying IPv4
 * and IPv6 inner traffic (RFC 4301 s4.1: a tunnel's inner and outer families are independent).
 */
describe("IPv6 outer addresses", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "o6", ipv6Outer: true, ipv6Inner: true, startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("establishes over IPv6 and carries IPv4 and IPv6 inner traffic, ESP only on the wire", async () => {
    const { topo } = pair;
    const sas = await pair.gwA.listSas();
    expect(sas[0]?.local.address).toBe("2001:db8:ff::1");
    expect(sas[0]?.remote.address).toBe("2001:db8:ff::2");
    const cap = await Capture.start(topo, topo.ns.gwA, "wan0", join(pair.dir, "o6.pcap"));
    const v4 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3);
    const v6 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v6, 3);
    const tcp = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v6, clientNs: topo.ns.hostA, bytes: 1024 * 1024 });
    await cap.stop();
    expect(v4.received, v4.output).toBe(3);
    expect(v6.received, v6.output).toBe(3);
    expect(tcp.error).toBeUndefined();
    expect(tcp.ok).toBe(true);
    expect(await cap.count("ip6 and udp port 4500")).toBeGreaterThan(10);
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
  });
});
