/**
 * Site-to-site tunnel throughput, CPU and latency: tsipsec vs strongSwan (kernel-libipsec) vs no
 * IPsec, same topology, same proposals, same run (`npm run bench:tunnel`).
 *
 * Topology (src/drivers/netns.ts createSiteToSite, testbed.md):
 *   host-a 198.18.1.10 -- gw-a 198.18.1.1 | 192.0.2.1 ==== 192.0.2.2 | 198.18.2.1 gw-b -- 198.18.2.10 host-b
 * Configurations, each measured in turn:
 *   plain      no IPsec: static routes between the sites through the gateways
 *   strongswan charon 5.9.8 + kernel-libipsec on both gateways (test/support/strongswan.ts)
 *   tsipsec    the tsipsec daemon on both gateways (test/interop/harness/tsipsec.ts), native ESP
 *              path when the addon is built
 *   tsipsec-pure (BENCH_TUNNEL_PURE=1) the same with TSIPSEC_NO_NATIVE=1
 * with IKE aes128gcm16-prfsha256-x25519 and ESP aes128gcm16, PSK. For each:
 *   - ping RTT host-a -> host-b on an idle tunnel (20 pings, 50 ms apart), and the added RTT vs plain
 *   - iperf3 TCP host-a -> host-b, ROUNDS rounds of SECONDS s: Mbit/s received (median), and the
 *     CPU used by each gateway's processes during the round (utime+stime from /proc/PID/stat of
 *     every process in the gateway namespace) as % of one core
 *   - iperf3 UDP at a fixed offered rate (UDP_RATE, 1300-byte datagrams): delivered Mbit/s and loss
 *   - run-queue wait of each gateway's threads (/proc/PID/task/TID/schedstat): how long they were
 *     runnable but had no CPU, which says whether a gateway was starved on the shared machine
 *   - ESP drops counted by each gateway at the end (tsipsec: control `stats`; strongSwan: packets
 *     sent by one side's outbound SA minus packets received by the peer's inbound SA)
 * Prints a table with the ratio tsipsec/strongSwan and writes JSON to bench/results/.
 *
 * Needs root, iperf3 and strongSwan (testbed.md); tsipsec must be built (`npm run build`, which the
 * npm script runs). Environment: BENCH_TUNNEL_ROUNDS (3), BENCH_TUNNEL_SECONDS (10),
 * BENCH_TUNNEL_UDP_RATE (iperf3 -b, default 500M), BENCH_TUNNEL_ONLY (comma list of configurations),
 * BENCH_TUNNEL_PURE=1, BENCH_TUNNEL_PROFILE=DIR (V8 CPU profiles of the tsipsec daemons). A full run takes about 3 minutes and keeps both cores busy.
 */
import { readdirSync, readFileSync } from "node:fs";
import { controlRequest } from "../src/control/client.js";
import type { Stats } from "../src/control/protocol.js";
import { run } from "../src/drivers/iproute.js";
import { createSiteToSite, SITE_TO_SITE_ADDRESSES as S, uniqueSuffix, type Topology } from "../src/drivers/netns.js";
import { ensureStrongSwanInstalled, StrongSwan, waitFor, type SwanConnection } from "../test/support/strongswan.js";
import { TsipsecGateway } from "../test/interop/harness/tsipsec.js";
import { fmt, machine, median, writeResult } from "./lib/measure.js";

const ROUNDS = Number(process.env.BENCH_TUNNEL_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_TUNNEL_SECONDS ?? 10);
const UDP_RATE = process.env.BENCH_TUNNEL_UDP_RATE ?? "500M";
const UDP_SECONDS = 5;
const ONLY = (process.env.BENCH_TUNNEL_ONLY ?? "plain,strongswan,tsipsec").split(",").map((s) => s.trim());
if (process.env.BENCH_TUNNEL_PURE === "1" && !ONLY.includes("tsipsec-pure")) ONLY.push("tsipsec-pure");
const IKE = "aes128gcm16-prfsha256-x25519";
const ESP = "aes128gcm16";
const PSK = "bench-tunnel-psk-0123456789abcdef";
const CLK_TCK = 100; // Linux USER_HZ for /proc/PID/stat times

function connection(side: "a" | "b"): SwanConnection {
  const a = side === "a";
  return {
    name: "s2s",
    localAddrs: [a ? S.gwAWan.v4 : S.gwBWan.v4],
    remoteAddrs: [a ? S.gwBWan.v4 : S.gwAWan.v4],
    proposals: [IKE],
    localId: a ? S.gwAWan.v4 : S.gwBWan.v4,
    remoteId: a ? S.gwBWan.v4 : S.gwAWan.v4,
    psk: PSK,
    children: [{ name: "net", localTs: [a ? S.siteA.v4 : S.siteB.v4], remoteTs: [a ? S.siteB.v4 : S.siteA.v4], espProposals: [ESP], startAction: "none", mode: "tunnel" }],
  };
}

/** CPU ticks (utime + stime) of every process in namespace `ns`; `sys` is the stime part. */
async function namespaceTicks(_topo: Topology, ns: string): Promise<{ total: number; sys: number }> {
  const r = await run("ip", ["netns", "pids", ns], { allowFailure: true }).catch(() => undefined);
  const pids = (r?.stdout ?? "").split(/\s+/).filter((p) => /^\d+$/.test(p));
  let ticks = 0;
  let sys = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After "pid (comm) ": state is field 3, utime field 14, stime field 15 (proc(5)).
      ticks += Number(fields[11]) + Number(fields[12]);
      sys += Number(fields[12]);
    } catch {
      // the process exited between listing and reading
    }
  }
  return { total: ticks, sys };
}

/** Kernel drop counters of a namespace: UDP receive-buffer overflows and per-link TX/RX drops. */
interface NetDrops {
  udpRcvbufErrors: number;
  udpSndbufErrors: number;
  linkDrops: Record<string, { rx: number; tx: number }>;
}

async function netDrops(topo: Topology, ns: string): Promise<NetDrops> {
  const snmp = (await topo.exec(ns, "cat", ["/proc/net/snmp"], { allowFailure: true })).stdout.split("\n").filter((l) => l.startsWith("Udp:"));
  const names = snmp[0]?.split(/\s+/) ?? [];
  const values = snmp[1]?.split(/\s+/) ?? [];
  const udp = (k: string): number => Number(values[names.indexOf(k)] ?? 0);
  const links: Record<string, { rx: number; tx: number }> = {};
  try {
    const j = JSON.parse((await topo.exec(ns, "ip", ["-s", "-j", "link"], { allowFailure: true })).stdout) as Array<{ ifname: string; stats64?: { rx?: { dropped?: number }; tx?: { dropped?: number } } }>;
    for (const l of j) links[l.ifname] = { rx: l.stats64?.rx?.dropped ?? 0, tx: l.stats64?.tx?.dropped ?? 0 };
  } catch {
    // no JSON support: leave empty
  }
  return { udpRcvbufErrors: udp("RcvbufErrors"), udpSndbufErrors: udp("SndbufErrors"), linkDrops: links };
}

interface Ping {
  avgMs: number;
  minMs: number;
  maxMs: number;
  loss: number;
}

async function pingRtt(topo: Topology): Promise<Ping> {
  for (let i = 0; i < 10; i++) {
    const w = await topo.exec(topo.ns.hostA, "ping", ["-n", "-c", "1", "-W", "1", S.hostB.v4], { allowFailure: true });
    if (w.code === 0) break;
  }
  const r = await topo.exec(topo.ns.hostA, "ping", ["-n", "-q", "-c", "20", "-i", "0.05", "-W", "2", S.hostB.v4], { allowFailure: true, timeoutMs: 30_000 });
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(r.stdout);
  const loss = /([\d.]+)% packet loss/.exec(r.stdout);
  return { minMs: Number(rtt?.[1] ?? NaN), avgMs: Number(rtt?.[2] ?? NaN), maxMs: Number(rtt?.[3] ?? NaN), loss: Number(loss?.[1] ?? 100) / 100 };
}

interface TcpRound {
  mbps: number;
  retransmits: number;
  cpuA: number;
  cpuB: number;
  /** Kernel (stime) part of cpuA / cpuB, % of one core. */
  sysA: number;
  sysB: number;
  /** Time the gateway's threads were runnable but waiting for a CPU (/proc/PID/task/TID/schedstat), % of the round. */
  runqueueWaitA: number;
  runqueueWaitB: number;
}

/** Sum over all threads of all processes in `ns` of the run-queue wait time, ns (schedstat field 2). */
async function namespaceRunqueueWait(ns: string): Promise<number> {
  const r = await run("ip", ["netns", "pids", ns], { allowFailure: true }).catch(() => undefined);
  let wait = 0;
  for (const pid of (r?.stdout ?? "").split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
        wait += Number(f[1] ?? 0);
      }
    } catch {
      // exited meanwhile
    }
  }
  return wait;
}

interface UdpResult {
  offered: string;
  sentMbps: number;
  deliveredMbps: number;
  lossPercent: number;
}

async function iperfServer(topo: Topology): Promise<() => void> {
  const srv = topo.spawnIn(topo.ns.hostB, "iperf3", ["-s", "-B", S.hostB.v4, "-p", "5201"], { stdio: ["ignore", "pipe", "pipe"] });
  await waitFor("iperf3 server", async () => {
    const r = await topo.exec(topo.ns.hostB, "ss", ["-ltn", "sport = :5201"], { allowFailure: true });
    return r.stdout.includes("5201");
  }, { timeoutMs: 10_000, intervalMs: 100 });
  return () => srv.kill("SIGTERM");
}

type Iperf = { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number }; sum?: { bits_per_second?: number; lost_percent?: number } }; error?: string };

async function tcpRound(topo: Topology): Promise<TcpRound> {
  const a0 = await namespaceTicks(topo, topo.ns.gwA);
  const b0 = await namespaceTicks(topo, topo.ns.gwB);
  const wa0 = await namespaceRunqueueWait(topo.ns.gwA);
  const wb0 = await namespaceRunqueueWait(topo.ns.gwB);
  const t0 = performance.now();
  const r = await topo.exec(topo.ns.hostA, "iperf3", ["-c", S.hostB.v4, "-p", "5201", "-t", String(SECONDS), "-J"], { allowFailure: true, timeoutMs: (SECONDS + 30) * 1000 });
  const wall = (performance.now() - t0) / 1000;
  const a1 = await namespaceTicks(topo, topo.ns.gwA);
  const b1 = await namespaceTicks(topo, topo.ns.gwB);
  const wa1 = await namespaceRunqueueWait(topo.ns.gwA);
  const wb1 = await namespaceRunqueueWait(topo.ns.gwB);
  let j: Iperf = {};
  try {
    j = JSON.parse(r.stdout) as Iperf;
  } catch {
    j = { error: r.stdout + r.stderr };
  }
  if (j.error !== undefined) console.error(`iperf3 TCP: ${j.error}`);
  return {
    mbps: (j.end?.sum_received?.bits_per_second ?? 0) / 1e6,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    cpuA: ((a1.total - a0.total) / CLK_TCK / wall) * 100,
    cpuB: ((b1.total - b0.total) / CLK_TCK / wall) * 100,
    sysA: ((a1.sys - a0.sys) / CLK_TCK / wall) * 100,
    sysB: ((b1.sys - b0.sys) / CLK_TCK / wall) * 100,
    runqueueWaitA: ((wa1 - wa0) / 1e9 / wall) * 100,
    runqueueWaitB: ((wb1 - wb0) / 1e9 / wall) * 100,
  };
}

async function udpRun(topo: Topology): Promise<UdpResult> {
  const r = await topo.exec(topo.ns.hostA, "iperf3", ["-c", S.hostB.v4, "-p", "5201", "-u", "-b", UDP_RATE, "-l", "1300", "-t", String(UDP_SECONDS), "-J"], {
    allowFailure: true,
    timeoutMs: (UDP_SECONDS + 30) * 1000,
  });
  let j: Iperf = {};
  try {
    j = JSON.parse(r.stdout) as Iperf;
  } catch {
    j = { error: r.stdout + r.stderr };
  }
  if (j.error !== undefined) console.error(`iperf3 UDP: ${j.error}`);
  const sent = (j.end?.sum?.bits_per_second ?? 0) / 1e6;
  const loss = j.end?.sum?.lost_percent ?? 100;
  return { offered: UDP_RATE, sentMbps: sent, deliveredMbps: sent * (1 - loss / 100), lossPercent: loss };
}

interface ConfigResult {
  name: string;
  ping: Ping;
  tcp: TcpRound[];
  tcpMedianMbps: number;
  cpuMedianA: number;
  cpuMedianB: number;
  /** TCP Mbit/s per CPU-second of the busier gateway (median round): throughput the gateway's own CPU buys. */
  mbpsPerGatewayCpu: number;
  /** Median run-queue wait of each gateway, % of wall time (threads summed): > 0 means it waited for a CPU. */
  runqueueWaitMedianA: number;
  runqueueWaitMedianB: number;
  udp: UdpResult;
  espDrops: { a: number | string; b: number | string };
  /** Kernel drop counters in each gateway namespace at the end of the configuration's run. */
  kernelDrops?: { a: NetDrops; b: NetDrops };
  note?: string;
}

function minus(after: NetDrops, before: NetDrops): NetDrops {
  const links: Record<string, { rx: number; tx: number }> = {};
  for (const [k, v] of Object.entries(after.linkDrops)) links[k] = { rx: v.rx - (before.linkDrops[k]?.rx ?? 0), tx: v.tx - (before.linkDrops[k]?.tx ?? 0) };
  return { udpRcvbufErrors: after.udpRcvbufErrors - before.udpRcvbufErrors, udpSndbufErrors: after.udpSndbufErrors - before.udpSndbufErrors, linkDrops: links };
}

async function measure(topo: Topology, name: string): Promise<Omit<ConfigResult, "espDrops">> {
  // The namespaces outlive configurations: count this configuration's drops only.
  const a0 = await netDrops(topo, topo.ns.gwA);
  const b0 = await netDrops(topo, topo.ns.gwB);
  const r = await measureTraffic(topo, name);
  const kernelDrops = { a: minus(await netDrops(topo, topo.ns.gwA), a0), b: minus(await netDrops(topo, topo.ns.gwB), b0) };
  const show = (d: NetDrops): string => `udp rcvbuf ${d.udpRcvbufErrors}, link drops ${Object.entries(d.linkDrops).filter(([, v]) => v.rx + v.tx > 0).map(([k, v]) => `${k} rx ${v.rx} tx ${v.tx}`).join(", ") || "0"}`;
  console.log(`  ${name} kernel drops: gw-a ${show(kernelDrops.a)}; gw-b ${show(kernelDrops.b)}`);
  return { ...r, kernelDrops };
}

async function measureTraffic(topo: Topology, name: string): Promise<Omit<ConfigResult, "espDrops">> {
  const ping = await pingRtt(topo);
  const stop = await iperfServer(topo);
  try {
    const tcp: TcpRound[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t = await tcpRound(topo);
      console.log(`  ${name} TCP round ${i + 1}: ${fmt(t.mbps, 0)} Mbit/s, gw-a ${fmt(t.cpuA, 0)}% (sys ${fmt(t.sysA, 0)}%) gw-b ${fmt(t.cpuB, 0)}% (sys ${fmt(t.sysB, 0)}%) CPU, run-queue wait ${fmt(t.runqueueWaitA, 0)}%/${fmt(t.runqueueWaitB, 0)}%, ${t.retransmits} retransmits`);
      tcp.push(t);
    }
    const udp = await udpRun(topo);
    console.log(`  ${name} UDP ${UDP_RATE} offered: ${fmt(udp.deliveredMbps, 0)} Mbit/s delivered, ${fmt(udp.lossPercent, 1)}% lost`);
    return {
      name,
      ping,
      tcp,
      tcpMedianMbps: median(tcp.map((t) => t.mbps)),
      cpuMedianA: median(tcp.map((t) => t.cpuA)),
      cpuMedianB: median(tcp.map((t) => t.cpuB)),
      mbpsPerGatewayCpu: median(tcp.map((t) => (Math.max(t.cpuA, t.cpuB) > 0 ? t.mbps / (Math.max(t.cpuA, t.cpuB) / 100) : NaN))),
      runqueueWaitMedianA: median(tcp.map((t) => t.runqueueWaitA)),
      runqueueWaitMedianB: median(tcp.map((t) => t.runqueueWaitB)),
      udp,
    };
  } finally {
    stop();
  }
}

async function plain(topo: Topology): Promise<ConfigResult> {
  await topo.exec(topo.ns.gwA, "ip", ["route", "add", S.siteB.v4, "via", S.gwBWan.v4]);
  await topo.exec(topo.ns.gwB, "ip", ["route", "add", S.siteA.v4, "via", S.gwAWan.v4]);
  try {
    return { ...(await measure(topo, "plain")), espDrops: { a: 0, b: 0 } };
  } finally {
    await topo.exec(topo.ns.gwA, "ip", ["route", "del", S.siteB.v4], { allowFailure: true });
    await topo.exec(topo.ns.gwB, "ip", ["route", "del", S.siteA.v4], { allowFailure: true });
  }
}

async function strongswan(topo: Topology): Promise<ConfigResult> {
  await ensureStrongSwanInstalled();
  let a: StrongSwan | undefined;
  let b: StrongSwan | undefined;
  try {
    b = await StrongSwan.start({ namespace: topo.ns.gwB, spawnIn: topo.spawnIn, label: "bench-gw-b" });
    await b.load([connection("b")]);
    a = await StrongSwan.start({ namespace: topo.ns.gwA, spawnIn: topo.spawnIn, label: "bench-gw-a" });
    await a.load([connection("a")]);
    const up = await a.initiate("net", { timeoutSeconds: 20 });
    if (!up.ok) throw new Error(`strongSwan initiate failed:\n${up.output}\n${a.logTail(40)}`);
    const r = await measure(topo, "strongswan");
    // ESP drops: what one side's outbound SA sent and the peer's inbound SA did not accept.
    const ca = (await a.installedChildren())[0];
    const cb = (await b.installedChildren())[0];
    const lost = (out: number | undefined, inn: number | undefined): number | string => (out === undefined || inn === undefined ? "n/a" : Math.max(0, out - inn));
    return { ...r, espDrops: { a: lost(cb?.packetsOut, ca?.packetsIn), b: lost(ca?.packetsOut, cb?.packetsIn) }, note: "drops = peer's outbound packets - inbound packets (swanctl counters)" };
  } finally {
    await a?.dispose();
    await b?.dispose();
  }
}

function espDropsOf(s: Stats | undefined): number | string {
  if (s === undefined) return "n/a";
  return Object.entries(s.drops)
    .filter(([k]) => !/keepalive|no.?policy|policy/i.test(k))
    .reduce((n, [, v]) => n + v, 0);
}

/** Runs `f` with `vars` set in this process's environment (the gateways inherit it), then restores it. */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function tsipsec(topo: Topology, pure: boolean, label?: string): Promise<ConfigResult> {
  const name = label ?? (pure ? "tsipsec-pure" : "tsipsec");
  const saved = process.env.TSIPSEC_NO_NATIVE;
  const savedNodeOptions = process.env.NODE_OPTIONS;
  // BENCH_TUNNEL_PROFILE=DIR: the daemons write V8 CPU profiles to DIR/<config>/ when they exit
  // (a preload, because Node 20 refuses --cpu-prof in NODE_OPTIONS).
  const profileDir = process.env.BENCH_TUNNEL_PROFILE;
  if (profileDir !== undefined && profileDir !== "") {
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ""} --import ${new URL("./lib/cpu-profile-preload.mjs", import.meta.url).pathname}`.trim();
    process.env.TSIPSEC_CPU_PROFILE_DIR = `${profileDir}/${name}`;
  }
  if (pure) process.env.TSIPSEC_NO_NATIVE = "1";
  else delete process.env.TSIPSEC_NO_NATIVE;
  let a: TsipsecGateway | undefined;
  let b: TsipsecGateway | undefined;
  try {
    b = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwB, label: "bench-gw-b" }, [connection("b")]);
    a = await TsipsecGateway.start({ topology: topo, namespace: topo.ns.gwA, label: "bench-gw-a" }, [connection("a")]);
    await a.up("s2s");
    const txq = process.env.BENCH_TUNNEL_TXQ;
    if (txq !== undefined && txq !== "") {
      // Experiment: a longer TUN transmit queue absorbs scheduling gaps of the reading daemon.
      for (const ns of [topo.ns.gwA, topo.ns.gwB]) await topo.exec(ns, "ip", ["link", "set", "dev", "tsipsec0", "txqueuelen", txq]);
    }
    const r = await measure(topo, name);
    const sa = await controlRequest(a.controlPath, { op: "stats" }, 10_000).catch(() => undefined);
    const sb = await controlRequest(b.controlPath, { op: "stats" }, 10_000).catch(() => undefined);
    for (const [gw, st] of [["gw-a", sa], ["gw-b", sb]] as const) {
      const t = st?.tun;
      if (t !== undefined) console.log(`  ${name} ${gw} TUN: offload ${t.offload ? "on" : "off"}, ${t.packetsRead} read (${t.tsoFramesRead} TSO frames), ${t.packetsWritten} written (${t.gsoPacketsWritten} in ${t.gsoFramesWritten} GSO frames); drops ${JSON.stringify(st?.drops ?? {})}`);
    }
    const nativeLine = a.grepLog(/native/i)[0];
    return { ...r, espDrops: { a: espDropsOf(sa), b: espDropsOf(sb) }, ...(nativeLine !== undefined ? { note: nativeLine.slice(0, 200) } : {}) };
  } catch (e) {
    console.error(`${name} failed: ${e instanceof Error ? e.message : String(e)}\n${a?.logTail(30) ?? ""}\n${b?.logTail(30) ?? ""}`);
    throw e;
  } finally {
    await a?.dispose();
    await b?.dispose();
    if (saved === undefined) delete process.env.TSIPSEC_NO_NATIVE;
    else process.env.TSIPSEC_NO_NATIVE = saved;
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.TSIPSEC_CPU_PROFILE_DIR;
  }
}

const mach = machine();
const topo = await createSiteToSite({ suffix: uniqueSuffix("bt") });
const results: ConfigResult[] = [];
const failures: Record<string, string> = {};
try {
  const runs: Record<string, () => Promise<ConfigResult>> = {
    plain: () => plain(topo),
    strongswan: () => strongswan(topo),
    tsipsec: () => tsipsec(topo, false),
    "tsipsec-pure": () => tsipsec(topo, true),
    // The native path without the TUN and UDP offloads (for same-run A/B figures).
    "tsipsec-no-offload": () => withEnv({ TSIPSEC_NO_TUN_OFFLOAD: "1", TSIPSEC_NO_UDP_GRO: "1" }, () => tsipsec(topo, false, "tsipsec-no-offload")),
    // The native path with the ESP send and TUN write on the event loop (no thread-pool I/O).
    "tsipsec-sync-io": () => withEnv({ TSIPSEC_NO_ASYNC_IO: "1" }, () => tsipsec(topo, false, "tsipsec-sync-io")),
    // The native path with one data-plane call (and AEAD crossing) per packet instead of per burst.
    "tsipsec-no-burst": () => withEnv({ TSIPSEC_NO_BURST: "1" }, () => tsipsec(topo, false, "tsipsec-no-burst")),
  };
  for (const name of ONLY) {
    const f = runs[name];
    if (f === undefined) throw new Error(`unknown configuration ${name} (${Object.keys(runs).join(", ")})`);
    console.log(`${name}:`);
    try {
      results.push(await f());
    } catch (e) {
      failures[name] = e instanceof Error ? e.message.split("\n")[0] ?? e.name : String(e);
      console.error(`  ${name}: FAILED ${failures[name]}`);
    }
  }
} finally {
  await topo.destroy();
}

const by = (n: string): ConfigResult | undefined => results.find((r) => r.name === n);
const base = by("plain");
const ss = by("strongswan");
console.log(`\nSite-to-site, IKE ${IKE}, ESP ${ESP}; iperf3 TCP ${ROUNDS} x ${SECONDS} s (median), UDP ${UDP_RATE} offered for ${UDP_SECONDS} s`);
console.log(`${mach.date}, ${mach.nproc} x ${mach.cpuModel}, Node ${mach.node}, load ${mach.loadAverage}`);
console.log("config             TCP Mbit/s  vs strongSwan  gw-a CPU  gw-b CPU  Mbit/s per gw CPU-s  run-queue wait a/b   UDP delivered  UDP loss  ping avg ms  added RTT ms  ESP drops a/b");
for (const r of results) {
  const ratio = ss !== undefined && ss.tcpMedianMbps > 0 ? `${fmt(r.tcpMedianMbps / ss.tcpMedianMbps, 2)}x` : "n/a";
  const added = base !== undefined ? fmt(r.ping.avgMs - base.ping.avgMs, 3) : "n/a";
  console.log(
    `${r.name.padEnd(18)} ${fmt(r.tcpMedianMbps, 0).padStart(10)}  ${ratio.padStart(12)}  ${fmt(r.cpuMedianA, 0).padStart(7)}%  ${fmt(r.cpuMedianB, 0).padStart(7)}%  ${fmt(r.mbpsPerGatewayCpu, 0).padStart(19)}  ${`${fmt(r.runqueueWaitMedianA, 0)}%/${fmt(r.runqueueWaitMedianB, 0)}%`.padStart(18)}  ${fmt(r.udp.deliveredMbps, 0).padStart(13)}  ${fmt(r.udp.lossPercent, 1).padStart(7)}%  ${fmt(r.ping.avgMs, 3).padStart(11)}  ${added.padStart(12)}  ${r.espDrops.a}/${r.espDrops.b}`,
  );
}
for (const [n, why] of Object.entries(failures)) console.log(`${n.padEnd(15)} FAILED: ${why}`);
const file = writeResult("tunnel", { machine: mach, ike: IKE, esp: ESP, rounds: ROUNDS, seconds: SECONDS, udpRate: UDP_RATE, results, failures });
console.log(`wrote ${file}`);
