import dgram from "node:dgram";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { InboundDatagram, UdpEndpoint } from "../../src/ike/api.js";
import { openUdp, type UdpDriver, type UdpHandlers } from "../../src/drivers/udp.js";
import { openUdpOnFreePorts } from "../support/udp-driver.js";

/**
 * The UDP driver over loopback sockets on high ports (the ports are options, so no namespace or
 * privileged port is needed here). RFC 3948 s2.2 (Non-ESP Marker), s2.3 (NAT-keepalive).
 */

interface Seen {
  ike: InboundDatagram[];
  esp: Array<{ packet: Uint8Array; remote: UdpEndpoint }>;
}

let driver: UdpDriver | undefined;
const peers: dgram.Socket[] = [];

afterEach(async () => {
  await driver?.close();
  driver = undefined;
  for (const p of peers.splice(0)) p.close();
});

async function openOnFreePorts(addresses: string[], extra: Partial<Parameters<typeof openUdp>[1]> = {}): Promise<{ d: UdpDriver; seen: Seen; wait: () => Promise<void> }> {
  const seen: Seen = { ike: [], esp: [] };
  let wake: (() => void) | undefined;
  const handlers: UdpHandlers = {
    onIke: (dg) => {
      seen.ike.push({ ...dg, bytes: Uint8Array.from(dg.bytes) });
      wake?.();
    },
    onEsp: (packet, remote) => {
      seen.esp.push({ packet: Uint8Array.from(packet), remote });
      wake?.();
    },
  };
  const d = await openUdpOnFreePorts(handlers, { addresses, ...extra });
  driver = d;
  return { d, seen, wait: () => new Promise<void>((r) => (wake = r)) };
}

async function peer(type: "udp4" | "udp6", address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  peers.push(s);
  s.bind(0, address);
  await once(s, "listening");
  return s;
}

const IKE_HEADER = Uint8Array.from({ length: 28 }, (_, i) => (i < 8 ? i + 1 : 0));

describe("RFC 7296 s2.23 / RFC 3948 s2.2: IKE on the IKE port and the NAT-T port", () => {
  it("delivers IKE received on the IKE port unchanged, with local and remote endpoints", async () => {
    const { d, seen, wait } = await openOnFreePorts(["127.0.0.1"]);
    const p = await peer("udp4", "127.0.0.1");
    const got = wait();
    p.send(IKE_HEADER, d.ikePort, "127.0.0.1");
    await got;
    expect(seen.ike[0]?.bytes).toEqual(IKE_HEADER);
    expect(seen.ike[0]?.local).toEqual({ address: "127.0.0.1", port: d.ikePort });
    expect(seen.ike[0]?.remote).toEqual({ address: "127.0.0.1", port: p.address().port });
  });

  it("strips the Non-ESP Marker from IKE received on the NAT-T port", async () => {
    const { d, seen, wait } = await openOnFreePorts(["127.0.0.1"]);
    const p = await peer("udp4", "127.0.0.1");
    const got = wait();
    p.send(Buffer.concat([Buffer.alloc(4), IKE_HEADER]), d.natTPort, "127.0.0.1");
    await got;
    expect(seen.ike[0]?.bytes).toEqual(IKE_HEADER);
    expect(seen.ike[0]?.local.port).toBe(d.natTPort);
    expect(seen.esp).toEqual([]);
  });

  it("adds the Non-ESP Marker when sending IKE from the NAT-T port, and not from the IKE port", async () => {
    const { d } = await openOnFreePorts(["127.0.0.1"]);
    const p = await peer("udp4", "127.0.0.1");
    const to = { address: "127.0.0.1", port: p.address().port };
    d.sendIke({ address: "127.0.0.1", port: d.natTPort }, to, IKE_HEADER);
    const [withMarker, rinfo] = (await once(p, "message")) as [Buffer, dgram.RemoteInfo];
    expect(rinfo.port).toBe(d.natTPort);
    expect(Uint8Array.from(withMarker)).toEqual(Uint8Array.from([0, 0, 0, 0, ...IKE_HEADER]));
    d.sendIke({ address: "127.0.0.1", port: d.ikePort }, to, IKE_HEADER);
    const [plain, rinfo2] = (await once(p, "message")) as [Buffer, dgram.RemoteInfo];
    expect(rinfo2.port).toBe(d.ikePort);
    expect(Uint8Array.from(plain)).toEqual(IKE_HEADER);
  });
});

describe("RFC 3948 s2.1-2.3: ESP in UDP and keepalives on the NAT-T port", () => {
  it("hands ESP (non-zero SPI) to onEsp, drops keepalives and runts with counters", async () => {
    const { d, seen, wait } = await openOnFreePorts(["127.0.0.1"]);
    const p = await peer("udp4", "127.0.0.1");
    const esp = Uint8Array.from([0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1, 9, 9, 9, 9]);
    p.send(Uint8Array.of(0xff), d.natTPort, "127.0.0.1");
    p.send(Uint8Array.of(1, 2, 3), d.natTPort, "127.0.0.1");
    const got = wait();
    p.send(esp, d.natTPort, "127.0.0.1");
    await got;
    expect(seen.esp[0]?.packet).toEqual(esp);
    expect(seen.ike).toEqual([]);
    expect(d.counters.keepalivesIn).toBe(1);
    expect(d.counters.malformedIn).toBe(1);
    expect(d.counters.espIn).toBe(1);
  });

  it("sends ESP from the NAT-T port with no marker", async () => {
    const { d } = await openOnFreePorts(["127.0.0.1"]);
    const p = await peer("udp4", "127.0.0.1");
    const esp = Uint8Array.from([0, 0, 0x10, 0x01, 0, 0, 0, 7, 1, 2, 3]);
    d.sendEsp({ address: "127.0.0.1", port: p.address().port }, esp);
    const [msg, rinfo] = (await once(p, "message")) as [Buffer, dgram.RemoteInfo];
    expect(rinfo.port).toBe(d.natTPort);
    expect(Uint8Array.from(msg)).toEqual(esp);
  });

  it("sends NAT-keepalives (one 0xFF byte) to a registered peer until stopped", async () => {
    const { d } = await openOnFreePorts(["127.0.0.1"], { keepaliveSeconds: 0.02 });
    const p = await peer("udp4", "127.0.0.1");
    const to = { address: "127.0.0.1", port: p.address().port };
    d.startKeepalive({ address: "127.0.0.1", port: d.natTPort }, to);
    const [msg, rinfo] = (await once(p, "message")) as [Buffer, dgram.RemoteInfo];
    d.stopKeepalive(to);
    expect(Uint8Array.from(msg)).toEqual(Uint8Array.of(0xff));
    expect(rinfo.port).toBe(d.natTPort);
    expect(d.counters.keepalivesOut).toBeGreaterThanOrEqual(1);
  });
});

describe("IPv6 and binding", () => {
  it("binds IPv6 addresses and carries IKE over them", async () => {
    const { d, seen, wait } = await openOnFreePorts(["::1"]);
    const p = await peer("udp6", "::1");
    const got = wait();
    p.send(Buffer.concat([Buffer.alloc(4), IKE_HEADER]), d.natTPort, "::1");
    await got;
    expect(seen.ike[0]?.local).toEqual({ address: "::1", port: d.natTPort });
    expect(seen.ike[0]?.remote.address).toBe("::1");
  });

  it("reports a port already in use as UdpBindError naming address and port", async () => {
    const { d } = await openOnFreePorts(["127.0.0.1"]);
    await expect(openUdp({ onIke: () => undefined, onEsp: () => undefined }, { ikePort: d.ikePort, natTPort: d.natTPort, addresses: ["127.0.0.1"] })).rejects.toThrow(
      new RegExp(`cannot bind UDP 127\\.0\\.0\\.1:${d.ikePort}: .*EADDRINUSE.*another IKE daemon`),
    );
  });

  it("names the cause when the address is not configured on this host", async () => {
    // 192.0.2.77 is a documentation address that no interface of this namespace carries.
    await expect(openUdp({ onIke: () => undefined, onEsp: () => undefined }, { ikePort: 40500, natTPort: 44500, addresses: ["192.0.2.77"] })).rejects.toThrow(
      /cannot bind UDP 192\.0\.2\.77:40500: .*not configured on this host/,
    );
  });
});
