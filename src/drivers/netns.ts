import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { ip, run, runSyncQuiet, type CommandResult, type RunOptions } from "./iproute.js";

/**
 * The four-namespace site-to-site topology of docs/testbed.md, built with iproute2:
 *
 * ```
 *  host-a 198.18.1.10 -- gw-a 198.18.1.1 | 192.0.2.1 ==== 192.0.2.2 | 198.18.2.1 gw-b -- 198.18.2.10 host-b
 *         2001:db8:1::10     2001:db8:1::1 | 2001:db8:ff::1 == 2001:db8:ff::2 | 2001:db8:2::1   2001:db8:2::10
 * ```
 *
 * Each namespace is named `ts-<role>-<suffix>` so concurrent runs never collide. Interfaces are
 * created directly inside their namespaces (`ip -n NS link add ... peer ... netns PEER`), so no
 * interface name ever exists in the root namespace. Interface names per namespace:
 * host: `eth0`; gateway: `lan0` (towards its host) and `wan0` (towards the other gateway).
 *
 * Routing: hosts have default routes to their gateway; gateways forward (ip_forward=1) but have
 * NO route to the other site's protected subnet, so the only path between the sites is the one a
 * tunnel installs (fail-closed by construction).
 *
 * Needs root (CAP_NET_ADMIN) and the `ip` command.
 */

/** Roles of the four namespaces. */
export type Role = "hostA" | "gwA" | "gwB" | "hostB";

export interface SiteToSiteOptions {
  /** Unique per run: [a-z0-9] only, at most 10 characters (namespace names stay readable). */
  suffix: string;
  /** Also configure the IPv6 addresses (inner 2001:db8:1::/64, 2001:db8:2::/64, outer 2001:db8:ff::/64). */
  ipv6?: boolean;
}

/** The addresses of the topology (text form, no prefix length). */
export const SITE_TO_SITE_ADDRESSES = {
  hostA: { v4: "198.18.1.10", v6: "2001:db8:1::10" },
  gwALan: { v4: "198.18.1.1", v6: "2001:db8:1::1" },
  gwAWan: { v4: "192.0.2.1", v6: "2001:db8:ff::1" },
  gwBWan: { v4: "192.0.2.2", v6: "2001:db8:ff::2" },
  gwBLan: { v4: "198.18.2.1", v6: "2001:db8:2::1" },
  hostB: { v4: "198.18.2.10", v6: "2001:db8:2::10" },
  siteA: { v4: "198.18.1.0/24", v6: "2001:db8:1::/64" },
  siteB: { v4: "198.18.2.0/24", v6: "2001:db8:2::/64" },
  outer: { v4: "192.0.2.0/24", v6: "2001:db8:ff::/64" },
} as const;

export interface Topology {
  readonly suffix: string;
  readonly ipv6: boolean;
  /** Namespace names by role. */
  readonly ns: Readonly<Record<Role, string>>;
  readonly addresses: typeof SITE_TO_SITE_ADDRESSES;
  /**
   * Runs `cmd args` inside namespace `ns` (a name from `ns`, or any namespace name) and waits.
   * Throws CommandError on a non-zero exit unless `options.allowFailure`.
   */
  exec(ns: string, cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Starts `cmd args` inside namespace `ns` without waiting. The process is tracked: destroy()
   * terminates it (SIGTERM, then SIGKILL) if it is still running.
   */
  spawnIn(ns: string, cmd: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills tracked processes and every process left in the namespaces, then deletes them. Idempotent. */
  destroy(): Promise<void>;
  /** Synchronous best-effort destroy for exit handlers. Idempotent. */
  destroySync(): void;
}

const SUFFIX_RE = /^[a-z0-9]{1,10}$/;

/** Namespace name for a role and suffix. */
export function namespaceName(role: Role, suffix: string): string {
  const short: Record<Role, string> = { hostA: "ha", gwA: "ga", gwB: "gb", hostB: "hb" };
  return `ts-${short[role]}-${suffix}`;
}

/** A suffix unlikely to collide with concurrent runs: a tag plus pid and a counter, base 36. */
export function uniqueSuffix(tag: string): string {
  uniqueCounter += 1;
  return `${tag}${(process.pid % 46656).toString(36)}${uniqueCounter.toString(36)}`.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 10);
}
let uniqueCounter = 0;

/**
 * Builds the topology. On any failure while building, everything created so far is deleted and the
 * error is rethrown. The caller must call `destroy()` in a finally block; an exit hook also deletes
 * the namespaces if the process exits without doing so.
 */
export async function createSiteToSite(options: SiteToSiteOptions): Promise<Topology> {
  const { suffix } = options;
  if (!SUFFIX_RE.test(suffix)) throw new Error(`namespace suffix must match ${SUFFIX_RE.source}, got ${JSON.stringify(suffix)}`);
  const ipv6 = options.ipv6 === true;
  const ns: Record<Role, string> = {
    hostA: namespaceName("hostA", suffix),
    gwA: namespaceName("gwA", suffix),
    gwB: namespaceName("gwB", suffix),
    hostB: namespaceName("hostB", suffix),
  };
  const all = [ns.hostA, ns.gwA, ns.gwB, ns.hostB];
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const killLeftovers = (signal: NodeJS.Signals): void => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
      }
    }
  };

  const destroySync = (): void => {
    if (destroyed) return;
    destroyed = true;
    process.removeListener("exit", destroySync);
    killLeftovers("SIGKILL");
    for (const name of all) {
      // Processes we did not spawn ourselves (e.g. `ip netns exec` grandchildren) live only in these
      // namespaces, which this run created: kill them by pid so the namespace really goes away.
      killNamespacePidsSync(name);
      runSyncQuiet("ip", ["netns", "delete", name]);
    }
  };

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    killLeftovers("SIGTERM");
    const deadline = Date.now() + 2000;
    while ([...children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    destroySync();
  };

  process.on("exit", destroySync);

  const exec = (name: string, cmd: string, args: readonly string[], runOptions?: RunOptions): Promise<CommandResult> =>
    run("ip", ["netns", "exec", name, cmd, ...args], runOptions);

  const spawnIn = (name: string, cmd: string, args: readonly string[], spawnOptions?: SpawnOptions): ChildProcess => {
    const child = spawn("ip", ["netns", "exec", name, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], ...spawnOptions });
    children.add(child);
    child.once("exit", () => children.delete(child));
    return child;
  };

  try {
    for (const name of all) {
      // A stale namespace of the same name (a crashed earlier run with the same suffix) is removed first.
      await ip(["netns", "delete", name], { allowFailure: true });
      await ip(["netns", "add", name]);
      await ip(["-n", name, "link", "set", "lo", "up"]);
    }
    const A = SITE_TO_SITE_ADDRESSES;
    await vethPair(ns.hostA, "eth0", ns.gwA, "lan0");
    await vethPair(ns.gwA, "wan0", ns.gwB, "wan0");
    await vethPair(ns.gwB, "lan0", ns.hostB, "eth0");
    if (ipv6) {
      // Addresses are usable at once (no duplicate address detection delay) and the gateways route.
      for (const name of all) {
        await exec(name, "sysctl", ["-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
      }
    }
    const addr = async (name: string, dev: string, v4: string, v6: string, plen6: number): Promise<void> => {
      await ip(["-n", name, "addr", "add", `${v4}/24`, "dev", dev]);
      if (ipv6) await ip(["-n", name, "addr", "add", `${v6}/${plen6}`, "dev", dev, "nodad"]);
      await ip(["-n", name, "link", "set", dev, "up"]);
    };
    await addr(ns.hostA, "eth0", A.hostA.v4, A.hostA.v6, 64);
    await addr(ns.gwA, "lan0", A.gwALan.v4, A.gwALan.v6, 64);
    await addr(ns.gwA, "wan0", A.gwAWan.v4, A.gwAWan.v6, 64);
    await addr(ns.gwB, "wan0", A.gwBWan.v4, A.gwBWan.v6, 64);
    await addr(ns.gwB, "lan0", A.gwBLan.v4, A.gwBLan.v6, 64);
    await addr(ns.hostB, "eth0", A.hostB.v4, A.hostB.v6, 64);
    await ip(["-n", ns.hostA, "route", "add", "default", "via", A.gwALan.v4]);
    await ip(["-n", ns.hostB, "route", "add", "default", "via", A.gwBLan.v4]);
    if (ipv6) {
      await ip(["-n", ns.hostA, "-6", "route", "add", "default", "via", A.gwALan.v6]);
      await ip(["-n", ns.hostB, "-6", "route", "add", "default", "via", A.gwBLan.v6]);
    }
    for (const gw of [ns.gwA, ns.gwB]) {
      const sysctls = ["net.ipv4.ip_forward=1"];
      if (ipv6) sysctls.push("net.ipv6.conf.all.forwarding=1");
      await exec(gw, "sysctl", ["-qw", ...sysctls]);
    }
  } catch (e) {
    destroySync();
    throw e;
  }

  return {
    suffix,
    ipv6,
    ns,
    addresses: SITE_TO_SITE_ADDRESSES,
    exec,
    spawnIn,
    destroy,
    destroySync,
  };
}

/** Creates a veth pair with one end in each namespace. */
async function vethPair(nsA: string, devA: string, nsB: string, devB: string): Promise<void> {
  await ip(["-n", nsA, "link", "add", devA, "type", "veth", "peer", "name", devB, "netns", nsB]);
}

/** Kills (SIGKILL) every process whose network namespace is `name`. Best effort, synchronous. */
function killNamespacePidsSync(name: string): void {
  let out = "";
  try {
    out = execPidsSync(name);
  } catch {
    return;
  }
  for (const line of out.split("\n")) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

function execPidsSync(name: string): string {
  return execFileSync("ip", ["netns", "pids", name], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
}

/** Names of existing namespaces created by this module (`ts-*`), for leak checks in tests. */
export async function listTopologyNamespaces(suffix?: string): Promise<string[]> {
  const r = await ip(["netns", "list"], { allowFailure: true });
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => /^ts-(ha|ga|gb|hb)-/.test(n) && (suffix === undefined || n.endsWith(`-${suffix}`)));
}
