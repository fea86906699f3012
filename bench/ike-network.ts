/**
 * IKE responder setups per second over the network: strongSwan (charon 5.9.8) vs the tsipsec
 * daemon, driven by the same tsipsec load generator, same run (part of `npm run bench:ike`).
 *
 * gw-a (192.0.2.1) runs bench/lib/ike-loadgen.ts: COUNT initiators, CONCURRENCY in flight, each
 * a full IKE_SA_INIT + IKE_AUTH (PSK, aes128gcm16-prfsha256-x25519) with one Child SA (ESP
 * aes128gcm16, TSi 198.19.0.0/16 = TSr 198.18.2.0/24 for all, so the responder installs one
 * route). gw-b (192.0.2.2) runs the responder. Reported per responder: completed setups, wall
 * setups per second, and setups per responder CPU-second (utime+stime of the processes in gw-b's
 * namespace from /proc, before and after), the figure that does not depend on how busy the shared
 * machine is. The load generator is one Node thread doing the initiators' share of the crypto, so
 * the wall rate is bounded by it; the CPU-normalized figure is the comparison.
 *
 * Each responder first completes BENCH_IKE_NET_WARMUP (500) setups that are not measured (other
 * initiator identities), then the measured COUNT: the steady state of a running gateway.
 *
 * Logging is comparable: charon's file log at the interop harness's level (default 1, ike 2), the
 * tsipsec daemon at `info`. Needs root and strongSwan. Environment: BENCH_IKE_NET_COUNT (2000),
 * BENCH_IKE_NET_CONCURRENCY (4), BENCH_IKE_NET_ONLY (strongswan,tsipsec), BENCH_IKE_NET_PROFILE=DIR
 * (the tsipsec daemon writes a V8 CPU profile to DIR/<pid>.cpuprofile when it exits; the profiler
 * costs CPU, so read that run's figures as a profile, not as the comparison), BENCH_IKE_NET_THREADS=1
 * (also prints each responder thread's CPU during the load: V8's compiler and GC threads show
 * there, which a JavaScript profile does not). The system CPU column is the kernel's share.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlRequest } from "../src/control/client.js";
import { run } from "../src/drivers/iproute.js";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES as S, uniqueSuffix, type Topology } from "../src/drivers/netns.js";
import { CHARON_PATH, StrongSwan, type SwanConnection } from "../test/support/strongswan.js";
import { renderTsipsecConfig } from "../test/interop/harness/tsipsec.js";
import { fmt, machine, writeResult } from "./lib/measure.js";

const COUNT = Number(process.env.BENCH_IKE_NET_COUNT ?? 2000);
// charon blocks more than 5 half-open IKE SAs per peer address (charon.block_threshold) and the load
// generator is one address: 4 in flight keeps both responders below their DoS limits.
const CONCURRENCY = Number(process.env.BENCH_IKE_NET_CONCURRENCY ?? 4);
/** Setups run before the measured ones, not counted (0 turns the warm-up off). */
const WARMUP = Number(process.env.BENCH_IKE_NET_WARMUP ?? 500);
const ONLY = (process.env.BENCH_IKE_NET_ONLY ?? "strongswan,tsipsec").split(",").map((s) => s.trim());
const IKE = "aes128gcm16-prfsha256-x25519";
const ESP = "aes128gcm16";
const PSK = "bench-ike-psk-0123456789abcdef";
const RESPONDER_ID = "gw.example";
const CLK_TCK = 100;
const REPO = process.cwd();
const LOADGEN = join(REPO, "dist", "bench-build", "bench", "lib", "ike-loadgen.js");

const responderConn: SwanConnection = {
  name: "clients",
  localAddrs: [S.gwBWan.v4],
  remoteAddrs: ["%any"],
  proposals: [IKE],
  localId: RESPONDER_ID,
  remoteId: "%any",
  psk: PSK,
  children: [{ name: "net", localTs: [S.siteB.v4], remoteTs: ["198.19.0.0/16"], espProposals: [ESP], startAction: "none", mode: "tunnel" }],
};

interface Ticks {
  user: number;
  system: number;
  /** Per thread ("pid/tid comm" -> utime+stime), filled when BENCH_IKE_NET_THREADS=1. */
  threads: Map<string, number>;
}

const THREADS = process.env.BENCH_IKE_NET_THREADS === "1";

/** utime and stime fields (clock ticks) of a /proc stat line. */
function statTicks(stat: string): { user: number; system: number } {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]), system: Number(f[12]) };
}

/** utime and stime (clock ticks) summed over the processes in namespace `ns` (/proc/PID/stat fields 14, 15). */
async function namespaceTicks(ns: string): Promise<Ticks> {
  const r = await run("ip", ["netns", "pids", ns], { allowFailure: true });
  const ticks: Ticks = { user: 0, system: 0, threads: new Map() };
  for (const pid of r.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      const t = statTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
      ticks.user += t.user;
      ticks.system += t.system;
      if (!THREADS) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const tt = statTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
        ticks.threads.set(`${pid}/${tid} ${comm}`, tt.user + tt.system);
      }
    } catch {
      // exited meanwhile
    }
  }
  return ticks;
}

interface LoadResult {
  setups: number;
  failed: number;
  wallMs: number;
}

async function load(topo: Topology, count = COUNT, idOffset = 0): Promise<LoadResult> {
  const arg = JSON.stringify({ local: S.gwAWan.v4, remote: S.gwBWan.v4, count, concurrency: CONCURRENCY, psk: PSK, ike: IKE, esp: ESP, localTs: "198.19.0.0/16", remoteTs: S.siteB.v4, remoteId: RESPONDER_ID, timeoutMs: 600_000, idOffset });
  const r = await topo.exec(topo.ns.gwA, process.execPath, [LOADGEN, arg], { allowFailure: true, timeoutMs: 620_000 });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as LoadResult;
  } catch {
    throw new Error(`load generator failed (code ${r.code}): ${r.stderr.slice(-2000)}`);
  }
}

interface Row {
  responder: string;
  setups: number;
  failed: number;
  wallSetupsPerSecond: number;
  responderCpuSeconds: number;
  /** The kernel's share of responderCpuSeconds (system calls: UDP, netlink, the log pipe). */
  responderSystemCpuSeconds: number;
  setupsPerResponderCpuSecond: number;
  responderSas: number | string;
}

async function measure(topo: Topology, name: string, count: () => Promise<number | string>): Promise<Row> {
  // Warm-up, not measured, the same for every responder: a long-running gateway's steady state
  // is what matters, and a JIT-compiled responder spends its first setups compiling (see
  // docs/performance.md). Other identities than the measured run's, so nothing is replaced.
  if (WARMUP > 0) {
    const w = await load(topo, WARMUP, 1_000_000);
    if (w.failed > 0) console.log(`${name}: ${w.failed} of ${WARMUP} warm-up setups failed`);
  }
  const t0 = await namespaceTicks(topo.ns.gwB);
  const r = await load(topo);
  const t1 = await namespaceTicks(topo.ns.gwB);
  const cpu = (t1.user + t1.system - t0.user - t0.system) / CLK_TCK;
  if (THREADS) {
    const lines = [...t1.threads].map(([k, v]) => `${k}: ${fmt((v - (t0.threads.get(k) ?? 0)) / CLK_TCK, 2)} s`);
    console.log(`${name} CPU per thread during the load:\n  ${lines.join("\n  ")}`);
  }
  return {
    responder: name,
    setups: r.setups,
    failed: r.failed,
    wallSetupsPerSecond: (r.setups * 1000) / r.wallMs,
    responderCpuSeconds: cpu,
    responderSystemCpuSeconds: (t1.system - t0.system) / CLK_TCK,
    setupsPerResponderCpuSecond: cpu > 0 ? r.setups / cpu : NaN,
    responderSas: await count(),
  };
}

async function strongswan(topo: Topology): Promise<Row> {
  // (ensureStrongSwanInstalled resolves its script from the source tree; this runs compiled.)
  if (!existsSync(CHARON_PATH)) throw new Error(`${CHARON_PATH} missing: apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins`);
  const ss = await StrongSwan.start({ namespace: topo.ns.gwB, spawnIn: topo.spawnIn, label: "bench-ike-resp" });
  try {
    await ss.load([responderConn]);
    return await measure(topo, "strongswan", async () => (await ss.listSas()).length);
  } finally {
    await ss.dispose();
  }
}

/** The tsipsec daemon as a responder, started directly (log level info, like a production run). */
async function tsipsec(topo: Topology): Promise<Row> {
  const bin = join(REPO, "bin", "tsipsec.js");
  if (!existsSync(join(REPO, "dist", "cli", "main.js"))) throw new Error("tsipsec is not built (npm run build)");
  const dir = mkdtempSync(join(tmpdir(), "tsipsec-bench-ike-"));
  const control = join(dir, "control.sock");
  const config = join(dir, "tsipsec.yaml");
  writeFileSync(config, renderTsipsecConfig(dir, [responderConn], {}).replace(/default: debug/, "default: info"), { mode: 0o600 });
  // A preload, because Node 20 refuses --cpu-prof in NODE_OPTIONS (as bench/tunnel.ts does).
  const profileDir = process.env.BENCH_IKE_NET_PROFILE;
  const env = profileDir === undefined ? process.env : { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${join(REPO, "bench", "lib", "cpu-profile-preload.mjs")}`.trim(), TSIPSEC_CPU_PROFILE_DIR: profileDir };
  const child = topo.spawnIn(topo.ns.gwB, process.execPath, [bin, "start", "--config", config, "--control", control], { stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`tsipsec exited: ${stderr}`);
      try {
        await controlRequest(control, { op: "list-sas" }, 2000);
        break;
      } catch {
        if (i > 150) throw new Error(`tsipsec control socket did not answer: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return await measure(topo, "tsipsec", async () => (await controlRequest(control, { op: "list-sas" }, 30_000)).length);
  } finally {
    child.kill("SIGTERM");
    // Shutdown sends DELETEs (nobody answers them here) and waits its grace period.
    for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

const mach = machine();
if (!existsSync(LOADGEN)) throw new Error(`${LOADGEN} missing: the npm script compiles it (npm run bench:ike)`);
const topo = await createSiteToSite({ suffix: uniqueSuffix("bi") });
const rows: Row[] = [];
const failures: Record<string, string> = {};
try {
  for (const name of ONLY) {
    try {
      if (name === "strongswan") rows.push(await strongswan(topo));
      else if (name === "tsipsec") rows.push(await tsipsec(topo));
      else throw new Error(`unknown responder ${name}`);
    } catch (e) {
      failures[name] = e instanceof Error ? e.message.slice(0, 500) : String(e);
      console.error(`${name}: FAILED ${failures[name]}`);
    }
  }
} finally {
  await topo.destroy();
}

const ss = rows.find((r) => r.responder === "strongswan");
console.log(`\nIKE responder over UDP, ${COUNT} setups after ${WARMUP} unmeasured (PSK, ${IKE}, ESP ${ESP}, one Child SA), ${CONCURRENCY} in flight, tsipsec load generator on gw-a`);
console.log(`${mach.date}, ${mach.nproc} x ${mach.cpuModel}, Node ${mach.node}, load ${mach.loadAverage}`);
console.log("responder    setups  failed  wall setups/s  responder CPU s (sys)  setups/CPU-s  vs strongSwan  SAs listed");
for (const r of rows) {
  const ratio = ss !== undefined ? `${fmt(r.setupsPerResponderCpuSecond / ss.setupsPerResponderCpuSecond, 2)}x` : "n/a";
  console.log(
    `${r.responder.padEnd(11)} ${String(r.setups).padStart(7)} ${String(r.failed).padStart(7)}  ${fmt(r.wallSetupsPerSecond, 0).padStart(13)}  ${fmt(r.responderCpuSeconds, 2).padStart(15)} ${`(${fmt(r.responderSystemCpuSeconds, 2)})`.padStart(6)}  ${fmt(r.setupsPerResponderCpuSecond, 0).padStart(12)}  ${ratio.padStart(13)}  ${String(r.responderSas).padStart(10)}`,
  );
}
for (const [n, why] of Object.entries(failures)) console.log(`${n}: FAILED ${why}`);
console.log(`wrote ${writeResult("ike-network", { machine: mach, count: COUNT, concurrency: CONCURRENCY, ike: IKE, esp: ESP, rows, failures })}`);
