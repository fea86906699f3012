import { once } from "node:events";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { ip, run } from "../../src/drivers/iproute.js";
import { uniqueSuffix } from "../../src/drivers/netns.js";

/**
 * The TUN driver on a real /dev/net/tun inside a namespace of its own (needs root, as CI runs).
 * A fixture process opens the device, routes 198.18.9.0/24 and 2001:db8:9::/64 into it and turns
 * every echo request it reads into an echo reply it writes: `ping` succeeding proves read, write,
 * MTU/up and the routing table + rules all work.
 */
const NS = `ts-tun-${uniqueSuffix("t")}`;
const FIXTURE = path.resolve(import.meta.dirname, "fixtures/tun-echo.ts");
const VITE_NODE = path.resolve(import.meta.dirname, "../../node_modules/.bin/vite-node");

/** Collects a child's stdout; `line(prefix)` resolves with the rest of the first line starting with prefix. */
function lineReader(child: ChildProcess): (prefix: string) => Promise<string> {
  let buf = "";
  const waiters: Array<() => void> = [];
  child.stdout?.on("data", (d) => {
    buf += String(d);
    for (const w of waiters.splice(0)) w();
  });
  return (prefix) =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const line = buf.split("\n").find((l) => l.startsWith(prefix));
        if (line !== undefined) resolve(line.slice(prefix.length));
        else if (child.exitCode !== null) reject(new Error(`fixture exited before printing "${prefix}"`));
        else waiters.push(check);
      };
      check();
    });
}

describe("Linux TUN device (IFF_TUN | IFF_NO_PI)", () => {
  let fixture: ChildProcess;
  let stderr = "";
  let readLine: (prefix: string) => Promise<string>;

  beforeAll(async () => {
    await ip(["netns", "add", NS]);
    await ip(["-n", NS, "link", "set", "lo", "up"]);
    // A LAN-like interface: gives the namespace a source address and a `main` route to the same
    // subnet, so the bypass rule (our UDP ports -> main) is observable.
    await ip(["-n", NS, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"]);
    await ip(["-n", NS, "addr", "add", "198.18.9.1/24", "dev", "lan0"]);
    await ip(["-n", NS, "link", "set", "lan0", "up"]);
    await ip(["-n", NS, "link", "set", "lan1", "up"]);
    const { spawn } = await import("node:child_process");
    fixture = spawn("ip", ["netns", "exec", NS, VITE_NODE, FIXTURE], { stdio: ["ignore", "pipe", "pipe"] });
    fixture.stderr?.on("data", (d) => (stderr += String(d)));
    readLine = lineReader(fixture);
    const routes = await Promise.race([
      readLine("ready "),
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`fixture not ready: ${stderr}`)), 30_000)),
    ]);
    expect(JSON.parse(routes)).toEqual(["198.18.9.0/24", "2001:db8:9::/64"]);
  });

  afterAll(async () => {
    if (fixture !== undefined && fixture.exitCode === null) fixture.kill("SIGKILL");
    await ip(["netns", "delete", NS], { allowFailure: true });
  });

  it("comes up with the requested name and MTU 1400", async () => {
    const r = await ip(["-n", NS, "-d", "link", "show", "dev", "tstest0"]);
    expect(r.stdout).toMatch(/mtu 1400/);
    expect(r.stdout).toMatch(/state UNKNOWN|,UP/);
    expect(r.stdout).toMatch(/tun type tun pi off/);
  });

  it("routes the remote selector through its own table, with our IKE/ESP ports bypassing it", async () => {
    const rules = await ip(["-n", NS, "rule", "list"]);
    expect(rules.stdout).toMatch(/ipproto udp sport 4500 lookup main/);
    expect(rules.stdout).toMatch(/ipproto udp sport 500 lookup main/);
    expect(rules.stdout).toMatch(/lookup 4500/);
    const get = await ip(["-n", NS, "route", "get", "198.18.9.2"]);
    expect(get.stdout).toMatch(/dev tstest0/);
    const bypass = await ip(["-n", NS, "route", "get", "198.18.9.2", "ipproto", "udp", "sport", "4500", "dport", "4500"], { allowFailure: true });
    expect(bypass.stdout).toMatch(/dev lan0/);
  });

  it("reads IPv4 packets and writes replies (ping through the device)", async () => {
    const r = await run("ip", ["netns", "exec", NS, "ping", "-c", "5", "-i", "0.2", "-W", "2", "198.18.9.2"], { allowFailure: true });
    expect(r.stdout).toMatch(/5 received/);
  });

  it("reads IPv6 packets and writes replies (ping -6 through the device)", async () => {
    const r = await run("ip", ["netns", "exec", NS, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:db8:9::2"], { allowFailure: true });
    expect(r.stdout).toMatch(/3 received/);
  });

  it("keeps up with a burst (flood ping, 2000 packets, no loss) and batches reads", async () => {
    const r = await run("ip", ["netns", "exec", NS, "ping", "-f", "-c", "2000", "-s", "1300", "198.18.9.2"], { allowFailure: true, timeoutMs: 30_000 });
    expect(r.stdout).toMatch(/2000 received/);
  });

  it("close() removes routes and rules, and the interface disappears", async () => {
    fixture.kill("SIGTERM");
    const counters = JSON.parse(await readLine("counters ")) as { rxPackets: number; txPackets: number; txErrors: number };
    await once(fixture, "exit").catch(() => undefined);
    // 5 + 3 + 2000 echo requests read and answered (the kernel may add other packets, e.g. MLD).
    expect(counters.txPackets).toBeGreaterThanOrEqual(2008);
    expect(counters.rxPackets).toBeGreaterThanOrEqual(counters.txPackets);
    expect(counters.txErrors).toBe(0);
    const link = await ip(["-n", NS, "link", "show", "dev", "tstest0"], { allowFailure: true });
    expect(link.code).not.toBe(0);
    const rules = await ip(["-n", NS, "rule", "list"]);
    expect(rules.stdout).not.toMatch(/lookup 4500/);
  });
});
