import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * Break-it F15: `dpd_action: restart` (swanctl semantics). The peer dies (SIGKILL: no DELETE);
 * the survivor's liveness checks go unanswered (RFC 7296 s2.4), it clears the SAs, and then keeps
 * re-initiating with back-off: when the peer comes back (configured to wait, start_action none),
 * the tunnel re-establishes without operator action.
 */
describe("RFC 7296 s2.4: dpd_action restart re-establishes the tunnel when the peer returns", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "dpdr", startA: "start", startB: "none", dpdDelay: 2, retransmitTimeout: 0.5, retransmitTries: 2, startNow: false });
    const a = readFileSync(pair.configA, "utf8").replace("        start_action: start", "        start_action: start\n        dpd_action: restart");
    writeFileSync(pair.configA, a, { mode: 0o600 });
    await pair.start("b");
    await pair.start("a");
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("after the peer's SIGKILL the SAs are cleared, then re-initiated once the peer is back", async () => {
    const { topo } = pair;
    await pair.gwB.kill();
    await pair.gwA.waitFor("the dead peer's SAs cleared", (s) => s.every((sa) => sa.state !== "ESTABLISHED"), 30_000);
    expect(pair.gwA.log).toMatch(/re-initiating site in/);
    await pair.start("b");
    await pair.gwA.waitTunnel(60_000);
    await pair.gwB.waitTunnel(10_000);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3)).received).toBe(3);
  });
});

describe("RFC 7296 s2.4, RFC 4301 s5.1 (acquire): dpd_action trap brings the tunnel back on the next packet", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "dpdt", startA: "start", startB: "none", dpdDelay: 2, retransmitTimeout: 0.5, retransmitTries: 2, startNow: false });
    const a = readFileSync(pair.configA, "utf8").replace("        start_action: start", "        start_action: start\n        dpd_action: trap");
    writeFileSync(pair.configA, a, { mode: 0o600 });
    await pair.start("b");
    await pair.start("a");
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("after the peer's SIGKILL a trap policy is installed; traffic re-initiates once the peer is back", async () => {
    const { topo } = pair;
    await pair.gwB.kill();
    await pair.gwA.waitFor("the dead peer's SAs cleared", (s) => s.length === 0, 30_000);
    // The log line is written just before the listing empties; give the pipe a moment.
    await new Promise((r) => setTimeout(r, 200));
    expect(pair.gwA.log).toMatch(/trap policy installed after the IKE SA closed/);
    expect(pair.gwA.log).not.toMatch(/re-initiating site in/);
    await pair.start("b");
    // The first packet only triggers the acquire (it is dropped); the tunnel then carries traffic.
    await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 1);
    await pair.gwA.waitTunnel(30_000);
    expect((await ping(topo, topo.ns.hostA, topo.addresses.hostB.v4, 3)).received).toBe(3);
  });
});
