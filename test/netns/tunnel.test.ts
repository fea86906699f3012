import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { Capture, CLEARTEXT_LEAK_FILTER, createPair, ping, type Pair } from "./harness.js";

/**
 * Two tsipsec gateways on real namespaces (docs/testbed.md topology), start_action: start on gw-a,
 * IPv4 and IPv6 inner subnets in one Child SA, tunnel mode, ESP in UDP (RFC 3948).
 */
describe("site-to-site tunnel (RFC 4301 s5 packet processing, RFC 3948 UDP encapsulation)", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "tun", ipv6Inner: true, startA: "start", startB: "none", saveKeys: true });
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("brings up one IKE SA with one installed Child SA on both gateways", async () => {
    const a = await pair.gwA.listSas();
    const b = await pair.gwB.listSas();
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(a[0]?.spiI).toBe(b[0]?.spiI);
    expect(a[0]?.initiator).toBe(true);
    expect(b[0]?.initiator).toBe(false);
    const ca = a[0]?.children[0];
    const cb = b[0]?.children[0];
    expect(ca?.state).toBe("INSTALLED");
    expect(ca?.udpEncapsulation).toBe(true);
    // Our inbound SPI is the peer's outbound SPI (RFC 4303 s2.1: the receiver chooses the SPI).
    expect(ca?.spiIn).toBe(cb?.spiOut);
    expect(ca?.spiOut).toBe(cb?.spiIn);
  });

  it("carries IPv4 ping and IPv6 ping between the protected hosts, through ESP only", async () => {
    const { topo } = pair;
    const cap = await Capture.start(topo, topo.ns.gwA, "wan0", join(pair.dir, "tunnel.pcap"));
    const before = (await pair.gwA.installedChildren())[0];
    const v4 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 5);
    const v6 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v6, 5);
    await cap.stop();
    expect(v4.received, v4.output).toBe(5);
    expect(v6.received, v6.output).toBe(5);
    const after = (await pair.gwA.installedChildren())[0];
    // 10 echo requests out and 10 replies in went through this Child SA.
    expect((after?.packetsOut ?? 0) - (before?.packetsOut ?? 0)).toBeGreaterThanOrEqual(10);
    expect((after?.packetsIn ?? 0) - (before?.packetsIn ?? 0)).toBeGreaterThanOrEqual(10);
    // On the outer link: ESP in UDP/4500 between the gateways, and no inner address in clear.
    expect(await cap.count("udp port 4500 and host 192.0.2.1 and host 192.0.2.2")).toBeGreaterThanOrEqual(20);
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
  });

  it("carries a TCP transfer (IPv4, 4 MiB) intact: SHA-256 equal on both ends", async () => {
    const { topo } = pair;
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 4 * 1024 * 1024 });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.receivedBytes).toBe(4 * 1024 * 1024);
  });

  it("clamps the MSS of TCP SYNs and SYN-ACKs crossing the tunnel to fit the 1400-byte TUN MTU", async () => {
    const { topo } = pair;
    const capB = await Capture.start(topo, topo.ns.gwB, "lan0", join(pair.dir, "mss-b.pcap"));
    const capA = await Capture.start(topo, topo.ns.gwA, "lan0", join(pair.dir, "mss-a.pcap"));
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 64 * 1024, port: 5003 });
    await capA.stop();
    await capB.stop();
    expect(r.ok).toBe(true);
    const mssOf = async (cap: Capture, ns: string, filter: string): Promise<number[]> => {
      const out = await topo.exec(ns, "tcpdump", ["-r", cap.file, "-n", "-v", filter], { allowFailure: true });
      return [...out.stdout.matchAll(/mss (\d+)/g)].map((m) => Number(m[1]));
    };
    // Both hosts offer 1460 (their link MTU is 1500): the SYN leaves host-a with 1460 and reaches
    // host-b with at most 1400 - 20 - 20; the SYN-ACK likewise in the other direction.
    const synSent = await mssOf(capA, topo.ns.gwA, "tcp[tcpflags] == tcp-syn and port 5003");
    const synArrived = await mssOf(capB, topo.ns.gwB, "tcp[tcpflags] == tcp-syn and port 5003");
    const synAckSent = await mssOf(capB, topo.ns.gwB, "tcp[tcpflags] == (tcp-syn|tcp-ack) and port 5003");
    const synAckArrived = await mssOf(capA, topo.ns.gwA, "tcp[tcpflags] == (tcp-syn|tcp-ack) and port 5003");
    expect(synSent).toEqual([1460]);
    expect(synArrived).toEqual([1360]);
    expect(synAckSent).toEqual([1460]);
    expect(synAckArrived).toEqual([1360]);
  });

  it("carries a TCP transfer over IPv6 inner addresses intact", async () => {
    const { topo } = pair;
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v6, clientNs: topo.ns.hostA, bytes: 2 * 1024 * 1024, port: 5002 });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
  });

  it("writes the Child SA's ESP keys to the Wireshark esp_sa table (save_keys), mode 0600", async () => {
    const file = join(pair.dir, "esp_sa-a");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const child = (await pair.gwA.installedChildren())[0];
    expect(text).toContain(`0x${child?.spiIn}`);
    expect(text).toContain(`0x${child?.spiOut}`);
  });

  it("reports ESP counters and drops by reason in stats", async () => {
    const s = await controlRequest(pair.gwA.controlPath, { op: "stats" });
    expect(s.childSas.installed).toBe(1);
    expect(s.ikeSas.established).toBe(1);
    expect(s.esp.packetsOut).toBeGreaterThan(1000);
    expect(s.esp.packetsIn).toBeGreaterThan(100);
    expect(typeof s.drops).toBe("object");
  });

  it("counts forged ESP (unknown SPI, RFC 4303 s3.4.2) and a tampered ICV by reason, without disturbing the tunnel", async () => {
    const { topo } = pair;
    const before = await controlRequest(pair.gwB.controlPath, { op: "stats" });
    const spiIn = (await pair.gwB.installedChildren())[0]?.spiIn ?? "00000000";
    // From gw-a's namespace (not its daemon): one ESP packet with an SPI nobody uses, one with
    // gw-b's real inbound SPI, a sequence number ahead of the replay window (so the replay
    // pre-check passes, RFC 4303 s3.4.3) and a garbage body (authentication fails), one NAT-keepalive.
    const script = `
      const s = require("node:dgram").createSocket("udp4");
      const unknown = Buffer.from("deadbeef0000000100112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");
      const forged = Buffer.concat([Buffer.from(process.argv[1], "hex"), Buffer.from("7fffffff", "hex"), Buffer.alloc(48, 7)]);
      s.send(unknown, 4500, "192.0.2.2", () => s.send(forged, 4500, "192.0.2.2", () => s.send(Buffer.from([0xff]), 4500, "192.0.2.2", () => s.close())));
    `;
    await topo.exec(topo.ns.gwA, process.execPath, ["-e", script, spiIn]);
    await new Promise((r) => setTimeout(r, 300));
    const after = await controlRequest(pair.gwB.controlPath, { op: "stats" });
    expect((after.drops["NO_SA"] ?? 0) - (before.drops["NO_SA"] ?? 0)).toBe(1);
    expect((after.drops["ICV_FAILURE"] ?? 0) - (before.drops["ICV_FAILURE"] ?? 0)).toBe(1);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 2)).received).toBe(2);
  });

  it("fail-closed: after `down` the SAs are gone and protected traffic never leaves in clear", async () => {
    const { topo } = pair;
    const r = await controlRequest(pair.gwA.controlPath, { op: "down", conn: "site" });
    expect(r.message).toMatch(/deleting 1 IKE SA/);
    await pair.gwA.waitFor("no IKE SA", (sas) => sas.length === 0);
    await pair.gwB.waitFor("no IKE SA (the peer's DELETE)", (sas) => sas.length === 0);
    const cap = await Capture.start(topo, topo.ns.gwA, "wan0", join(pair.dir, "down.pcap"));
    const v4 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3);
    const v6 = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v6, 3);
    await cap.stop();
    expect(v4.received).toBe(0);
    expect(v6.received).toBe(0);
    expect(await cap.count(CLEARTEXT_LEAK_FILTER)).toBe(0);
    // `up` brings it back and waits for the Child SA.
    const up = await controlRequest(pair.gwA.controlPath, { op: "up", conn: "site" });
    expect(up.message).toMatch(/established/);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 2)).received).toBe(2);
  });

  it("SIGTERM: deletes the SAs with the peer, removes routes, rules and the TUN, exits 0", async () => {
    const { topo } = pair;
    expect(await pair.gwB.installedChildren()).toHaveLength(1);
    const code = await pair.gwA.stop(5000);
    expect(code).toBe(0);
    // No DPD in this configuration: only gw-a's INFORMATIONAL DELETE can have told gw-b.
    await pair.gwB.waitFor("the peer's DELETE", (sas) => sas.length === 0, 3000);
    const link = await topo.exec(topo.ns.gwA, "ip", ["link", "show", "tsipsec0"], { allowFailure: true });
    expect(link.code).not.toBe(0);
    const rules = await topo.exec(topo.ns.gwA, "ip", ["rule", "list"]);
    expect(rules.stdout).not.toMatch(/lookup 4500/);
    expect(pair.gwA.log).toMatch(/"msg":"stopped"/);
  });
});
