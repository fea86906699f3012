import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/drivers/iproute.js";
import { listTopologyNamespaces } from "../../src/drivers/netns.js";
import { runDemo } from "../../src/demo/demo.js";
import { GATEWAY_COMMAND, requireNetnsPrerequisites } from "./harness.js";

/** `tsipsec demo`, the README's first command: a full run, and the refusal without root. */
describe("tsipsec demo", () => {
  it("builds the topology, carries ping and a checked TCP transfer through ESP, and cleans up", async () => {
    requireNetnsPrerequisites();
    let out = "";
    let err = "";
    const code = await runDemo({ stdout: (s) => (out += s), stderr: (s) => (err += s), gatewayCommand: GATEWAY_COMMAND, transferBytes: 4 * 1024 * 1024 });
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(/\[5\/7\][\s\S]*4 packets transmitted, 4 received/);
    expect(out).toMatch(/SHA-256 [0-9a-f]{16}\.\.\. matches on both ends/);
    expect(out).toMatch(/TUNNEL-in-UDP, ESP:AES_GCM_16-128/);
    expect(out).toMatch(/demo passed/);
    // Both gateways' listings show ESP packet counters above zero in both directions.
    const counters = [...out.matchAll(/(in|out)\s+[0-9a-f]{8},\s+(\d+) bytes,\s+(\d+) packets/g)].map((m) => Number(m[3]));
    expect(counters).toHaveLength(4);
    for (const n of counters) expect(n).toBeGreaterThan(0);
    const suffix = /ts-\{ha,ga,gb,hb\}-([a-z0-9]+)/.exec(out)?.[1];
    expect(suffix).toBeDefined();
    expect(await listTopologyNamespaces(suffix)).toEqual([]);
  });

  it("refuses to run without root: one clear sentence and exit code 2", async () => {
    const root = resolve(import.meta.dirname, "../..");
    const r = await run(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", join(root, "node_modules/.bin/vite-node"), join(root, "test/netns/fixtures/demo.ts")],
      { allowFailure: true, timeoutMs: 60_000 },
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("tsipsec demo: must run as root (it creates network namespaces and TUN devices): sudo npx tsipsec demo");
  });

  it("without the `ip` command: one sentence naming the package to install, exit code 2", async () => {
    const root = resolve(import.meta.dirname, "../..");
    // An empty PATH hides iproute2; node and vite-node are started by absolute path.
    const r = await run(process.execPath, [join(root, "node_modules/vite-node/vite-node.mjs"), join(root, "test/netns/fixtures/demo.ts")], {
      allowFailure: true,
      timeoutMs: 60_000,
      env: { PATH: "/nonexistent" },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("tsipsec demo: the `ip` command was not found; install iproute2 (Debian/Ubuntu: apt-get install iproute2).");
  });
});
