import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpTransfer } from "../../src/demo/tcp-check.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * The pure TypeScript data plane end to end (issue 7: "a pure TypeScript path must remain and be
 * tested"): both gateways started with TSIPSEC_NO_NATIVE=1, so neither the native AEAD nor the
 * native batch I/O (TUN batches, sendmmsg/recvmmsg, UDP GSO) is used. RFC 4301 s5 tunnel mode
 * with RFC 3948 UDP encapsulation, as test/netns/tunnel.test.ts runs it on the native path.
 */
describe("site-to-site tunnel on the pure path (TSIPSEC_NO_NATIVE=1)", () => {
  let pair: Pair;
  const saved = process.env["TSIPSEC_NO_NATIVE"];

  beforeAll(async () => {
    // The gateways inherit this process's environment when they are spawned.
    process.env["TSIPSEC_NO_NATIVE"] = "1";
    pair = await createPair({ tag: "pur", startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env["TSIPSEC_NO_NATIVE"];
    else process.env["TSIPSEC_NO_NATIVE"] = saved;
    await pair?.close();
  });

  it("both daemons run without the addon", () => {
    for (const gw of [pair.gwA, pair.gwB]) {
      expect(gw.log).toMatch(/native fast path off: pure TypeScript data plane/);
      expect(gw.log).not.toMatch(/native fast path: ESP AEAD/);
    }
  });

  it("carries ping and a SHA-256-checked 2 MiB TCP transfer host-a -> host-b", async () => {
    const { topo } = pair;
    const p = await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 5);
    expect(p.received, p.output).toBe(5);
    const r = await tcpTransfer(topo, { serverNs: topo.ns.hostB, serverAddress: topo.addresses.hostB.v4, clientNs: topo.ns.hostA, bytes: 2 * 1024 * 1024 });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
  });
});
