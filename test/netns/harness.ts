import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { createSiteToSite, uniqueSuffix, type Topology } from "../../src/drivers/netns.js";
import { Gateway } from "../../src/demo/gateway.js";
import { sitePairConfigs, type SitePairOptions } from "../../src/demo/site-configs.js";

/**
 * Shared set-up for the namespace tests: a four-namespace topology with its own suffix, two
 * gateway configs in a temp dir (0600) and the gateways run from the TypeScript sources through
 * vite-node (no build step). Everything is torn down by `close()`, which each test file calls in
 * afterAll; the topology also deletes itself if the process exits first.
 *
 * These tests need root, /dev/net/tun, iproute2, ping and tcpdump: a missing one FAILS the suite
 * with a message saying what to install (they are never skipped).
 */

const ROOT = resolve(import.meta.dirname, "../..");
export const GATEWAY_COMMAND = [join(ROOT, "node_modules/.bin/vite-node"), join(ROOT, "test/netns/fixtures/tsipsec.ts"), "--"];

/** Throws a clear error when the machine cannot run the namespace tests. */
export function requireNetnsPrerequisites(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("run as root (namespaces, TUN devices)");
  try {
    execFileSync("test", ["-c", "/dev/net/tun"]);
  } catch {
    problems.push("/dev/net/tun is missing (modprobe tun)");
  }
  for (const [cmd, pkg] of [["ip", "iproute2"], ["ping", "iputils-ping"], ["tcpdump", "tcpdump"]] as const) {
    try {
      execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    } catch {
      problems.push(`\`${cmd}\` is missing: apt-get install ${pkg} (or run scripts/ensure-system-packages.sh)`);
    }
  }
  if (problems.length > 0) throw new Error(`namespace tests cannot run: ${problems.join("; ")}`);
}

export interface Pair {
  topo: Topology;
  dir: string;
  gwA: Gateway;
  gwB: Gateway;
  configA: string;
  configB: string;
  /** Starts (or restarts) a gateway with its config; waits until its control socket answers. */
  start(which: "a" | "b"): Promise<Gateway>;
  close(): Promise<void>;
}

export interface PairOptions extends Partial<SitePairOptions> {
  tag: string;
  ipv6?: boolean;
  /** Start the gateways right away (default true): gw-b first, then gw-a. */
  startNow?: boolean;
  /** Write Wireshark ESP key tables into the pair's directory (esp_sa-a, esp_sa-b). */
  saveKeys?: boolean;
}

export async function createPair(o: PairOptions): Promise<Pair> {
  requireNetnsPrerequisites();
  const topo = await createSiteToSite({ suffix: uniqueSuffix(o.tag), ipv6: o.ipv6 === true || o.ipv6Inner === true || o.ipv6Outer === true });
  const dir = mkdtempSync(join(tmpdir(), `tsipsec-${o.tag}-`));
  const controlA = join(dir, "gw-a.sock");
  const controlB = join(dir, "gw-b.sock");
  const configs = sitePairConfigs({ ...o, controlA, controlB, ...(o.saveKeys === true ? { saveKeysDir: dir } : {}) });
  const configA = join(dir, "gw-a.yaml");
  const configB = join(dir, "gw-b.yaml");
  writeFileSync(configA, configs.a, { mode: 0o600 });
  writeFileSync(configB, configs.b, { mode: 0o600 });
  const gateways: Gateway[] = [];
  const pair: Pair = {
    topo,
    dir,
    gwA: undefined as unknown as Gateway,
    gwB: undefined as unknown as Gateway,
    configA,
    configB,
    async start(which) {
      const gw = new Gateway(topo, {
        name: which === "a" ? "gw-a" : "gw-b",
        ns: which === "a" ? topo.ns.gwA : topo.ns.gwB,
        configPath: which === "a" ? configA : configB,
        controlPath: which === "a" ? controlA : controlB,
        command: GATEWAY_COMMAND,
      });
      gateways.push(gw);
      if (which === "a") pair.gwA = gw;
      else pair.gwB = gw;
      await gw.waitReady();
      return gw;
    },
    async close() {
      for (const gw of gateways) await gw.stop(3000).catch(() => undefined);
      await topo.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (o.startNow !== false) {
    try {
      await pair.start("b");
      await pair.start("a");
    } catch (e) {
      await pair.close();
      throw e;
    }
  }
  return pair;
}

/** `ping -c count` from a namespace; resolves with the received count and the summary line. */
export async function ping(topo: Topology, ns: string, to: string, count = 3, extra: string[] = []): Promise<{ received: number; output: string }> {
  const r = await topo.exec(ns, "ping", ["-c", String(count), "-i", "0.2", "-W", "2", ...extra, to], { allowFailure: true, timeoutMs: 30_000 });
  const m = /(\d+) received/.exec(r.stdout);
  return { received: m ? Number(m[1]) : 0, output: (r.stdout + r.stderr).trim() };
}

/**
 * A packet capture on one interface of a namespace (tcpdump -w), for fail-closed checks: stop()
 * ends it and `count(filter)` reads the file back with a BPF filter.
 */
export class Capture {
  readonly file: string;
  readonly #topo: Topology;
  readonly #ns: string;
  readonly #proc: ChildProcess;
  #stderr = "";

  private constructor(topo: Topology, ns: string, dev: string, file: string) {
    this.#topo = topo;
    this.#ns = ns;
    this.file = file;
    this.#proc = topo.spawnIn(ns, "tcpdump", ["-i", dev, "-n", "--immediate-mode", "-U", "-s", "128", "-w", file]);
    this.#proc.stderr?.on("data", (d) => (this.#stderr += String(d)));
  }

  /** Starts tcpdump and waits until it is capturing. */
  static async start(topo: Topology, ns: string, dev: string, file: string): Promise<Capture> {
    const c = new Capture(topo, ns, dev, file);
    const deadline = Date.now() + 10_000;
    while (!c.#stderr.includes("listening on")) {
      if (c.#proc.exitCode !== null || Date.now() > deadline) throw new Error(`tcpdump did not start: ${c.#stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return c;
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null) return;
    // Let packets still in flight (the last reply) reach the capture before it ends.
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise((r) => this.#proc.once("exit", r));
    this.#proc.kill("SIGINT");
    await exited;
  }

  /** Number of captured packets matching a BPF filter. */
  async count(filter: string): Promise<number> {
    const r = await this.#topo.exec(this.#ns, "tcpdump", ["-r", this.file, "-n", filter], { allowFailure: true });
    if (r.code !== 0 && !/reading from file/.test(r.stderr)) throw new Error(`tcpdump -r failed: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l.trim() !== "").length;
  }
}

/** BPF filter matching any packet whose OUTER header carries a protected-subnet address (a cleartext leak). */
export const CLEARTEXT_LEAK_FILTER = "net 198.18.0.0/15 or net 2001:db8:1::/64 or net 2001:db8:2::/64";
