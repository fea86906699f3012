import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createPair, ping, type Pair } from "./harness.js";

/**
 * Operator mistakes get a clear message and exit code 2, and never disturb a running daemon:
 * a bad config file refuses to start; an unknown connection or child is refused by the control
 * socket; a failed `reload` leaves the running configuration (and the tunnel) untouched.
 */

/**
 * Runs the tsipsec CLI in-process (the same `main` bin/tsipsec.js calls) and returns its exit code
 * and output. `start` with a bad config returns before it opens anything, so it is safe here.
 */
async function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  let out = "";
  const code = await main(["node", "tsipsec", ...args], { stdout: (s) => (out += s), stderr: (s) => (out += s) });
  return { code, out };
}

describe("configuration and control errors: exit code 2, clear messages, running daemon unaffected", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ tag: "cfg", startA: "start", startB: "none" });
    await pair.gwA.waitTunnel();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("refuses to start with a config that has a syntax error, an unknown key or no PSK for the peer", async () => {
    const good = readFileSync(pair.configA, "utf8");
    const cases: Array<[string, string, RegExp]> = [
      ["syntax.yaml", good.replace("connections:", "connections: [oops"), /config errors/],
      ["unknown-key.yaml", good.replace("    version: 2", "    version: 2\n    remote_adrs: 192.0.2.9"), /remote_adrs/],
      ["no-secret.yaml", good.replace(/secrets:[\s\S]*$/, ""), /no PSK/],
    ];
    for (const [name, text, message] of cases) {
      const file = join(pair.dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      const r = await cli(["start", "--config", file, "--control", join(pair.dir, `${name}.sock`)]);
      expect(r.code, r.out).toBe(2);
      expect(r.out).toMatch(message);
      // A secret never appears in an error message.
      expect(r.out).not.toMatch(/secret: "[0-9a-f]{64}"/);
    }
  });

  it("answers an unknown connection or child with exit code 2 and the configured names", async () => {
    const up = await cli(["up", "nosuch", "--control", pair.gwA.controlPath]);
    expect(up.code).toBe(2);
    expect(up.out).toMatch(/no connection named "nosuch"; configured: site/);
    const child = await cli(["up", "site/nochild", "--control", pair.gwA.controlPath]);
    expect(child.code).toBe(2);
    expect(child.out).toMatch(/has no child "nochild"; children: net/);
    const down = await cli(["down", "nosuch", "--control", pair.gwA.controlPath]);
    expect(down.code).toBe(2);
  });

  it("a failed reload reports the errors, exits 2 and leaves the running config and tunnel untouched", async () => {
    const good = readFileSync(pair.configA, "utf8");
    writeFileSync(pair.configA, good.replace("esp_proposals: aes128gcm16", "esp_proposals: aes999xyz"), { mode: 0o600 });
    const r = await cli(["reload", "--control", pair.gwA.controlPath]);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/reload failed/);
    expect(r.out).toMatch(/aes999xyz/);
    expect(pair.gwA.running).toBe(true);
    const conns = await cli(["list-conns", "--control", pair.gwA.controlPath]);
    expect(conns.code).toBe(0);
    expect(conns.out).toMatch(/aes128gcm16/);
    expect((await ping(pair.topo, pair.topo.ns.hostA, pair.topo.addresses.hostB.v4, 2)).received).toBe(2);
  });

  it("a reload refused for its file mode (secrets readable by others) also leaves everything as it was", async () => {
    const good = readFileSync(pair.configA, "utf8").replace("esp_proposals: aes999xyz", "esp_proposals: aes128gcm16");
    writeFileSync(pair.configA, good);
    chmodSync(pair.configA, 0o644);
    const r = await cli(["reload", "--control", pair.gwA.controlPath]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/chmod 600/);
    chmodSync(pair.configA, 0o600);
    const ok = await cli(["reload", "--control", pair.gwA.controlPath]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/reloaded/);
    expect((await ping(pair.topo, pair.topo.ns.hostA, pair.topo.addresses.hostB.v4, 2)).received).toBe(2);
  });
});
