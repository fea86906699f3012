import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controlRequest } from "../../src/control/client.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * Break-it F10-F12: what the log and `reload` tell the operator.
 * - RFC 7296 s2.9: a Child SA installed with narrower traffic selectors than configured says so.
 * - `reload --config OTHER` is a one-off: a later plain reload reads the start file again.
 * - a connection removed by `reload` has its SAs deleted (RFC 7296 s1.4.1), not left running unexplained.
 */
describe("operator visibility: narrowing and reload", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "rlnw", startA: "start", startB: "none", startNow: false });
    // gw-b would accept all of 198.18.0.0/16 from gw-a; gw-a offers only its /24.
    const b = readFileSync(pair.configB, "utf8").replace('remote_ts: "198.18.1.0/24"', 'remote_ts: "198.18.0.0/16"');
    expect(b).toContain("198.18.0.0/16");
    writeFileSync(pair.configB, b, { mode: 0o600 });
    await pair.start("b");
    await pair.start("a");
    await pair.gwA.waitTunnel();
    await pair.gwB.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("RFC 7296 s2.9: the responder logs configured and installed traffic selectors when it narrowed", async () => {
    expect((await ping(pair.topo, pair.topo.ns.hostA, pair.topo.addresses.hostB.v4, 2)).received).toBe(2);
    const line = pair.gwB.log.split("\n").find((l) => l.includes("traffic selectors narrowed"));
    expect(line).toBeDefined();
    expect(line).toContain("configured local 198.18.2.0/24 remote 198.18.0.0/16");
    expect(line).toContain("installed local 198.18.2.0/24 remote 198.18.1.0/24");
    // gw-a got what it configured: nothing to report.
    expect(pair.gwA.log).not.toContain("traffic selectors narrowed");
  });

  it("reload --config OTHER is a one-off: the next plain reload reads the start file again", async () => {
    const other = join(pair.dir, "gw-a-other.yaml");
    writeFileSync(other, readFileSync(pair.configA, "utf8").replace("log_level: info", "log_level: debug"), { mode: 0o600 });
    const once = await controlRequest(pair.gwA.controlPath, { op: "reload", config: other });
    expect(once.message).toContain(`reloaded ${other}`);
    expect(once.message).toContain(`a plain reload reads ${pair.configA} again`);
    const plain = await controlRequest(pair.gwA.controlPath, { op: "reload" });
    expect(plain.message).toMatch(new RegExp(`^reloaded ${pair.configA}:`));
  });

  it("a connection removed by reload has its IKE and Child SAs deleted with the peer", async () => {
    await pair.gwA.waitTunnel();
    const renamed = readFileSync(pair.configA, "utf8").replace("\n  site:\n", "\n  site2:\n");
    expect(renamed).toContain("site2:");
    writeFileSync(pair.configA, renamed, { mode: 0o600 });
    const r = await controlRequest(pair.gwA.controlPath, { op: "reload" });
    expect(r.message).toContain("deleting the SAs of site (no longer configured)");
    await pair.gwA.waitFor("site's SAs gone", (s) => s.every((sa) => sa.connection !== "site"));
    await pair.gwB.waitFor("the peer's copy deleted too", (s) => s.length === 0);
    expect(pair.gwA.log).toMatch(/connection site is no longer configured/);
  });
});
