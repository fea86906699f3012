/**
 * IKE setup rate and memory per SA of a tsipsec responder (`npm run bench:ike`).
 *
 * An in-process load generator: one responder IkeEngine (src/ike/, sans-IO) and many initiator
 * engines, each a distinct peer (outer addresses in 198.19.0.0/16, testbed.md's benchmark range),
 * at most CONCURRENCY exchanges in flight. Every setup is the full RFC 7296 s1.2 pair with one
 * Child SA:
 *   IKE_SA_INIT { HDR, SAi1, KEi, Ni, N(NATD_S), N(NATD_D) } -->  <-- { HDR, SAr1, KEr, Nr, ... }
 *   IKE_AUTH { HDR, SK { IDi, AUTH, SAi2, TSi, TSr } } -->        <-- { HDR, SK { IDr, AUTH, SAr2, TSi, TSr } }
 * with PSK, X25519, IKE aes128gcm16-prfsha256-x25519 and ESP aes128gcm16. Datagrams pass as bytes
 * between the engines (no sockets), so what is measured is the engines' own work.
 *
 * Reported:
 *   - responder setups per CPU-second: completed setups / CPU time spent inside the responder's
 *     calls (handleDatagram + draining its outputs + installing its Child SAs into a SAD, as the
 *     daemon does). The initiators' work is excluded: in a real test it runs elsewhere.
 *   - wall-clock setups per second of the whole loop (initiators + responder on one core) for scale.
 *   - memory per established IKE SA + Child SA with TARGET of them on the responder: heap +
 *     external + ArrayBuffers after a forced GC (node --expose-gc), minus the baseline, divided by
 *     the count; once for the engine alone and once with both SAD entries per Child SA.
 * A strongSwan responder needs the network path (sockets, a namespace) and is not part of this
 * in-process benchmark; see docs/performance.md.
 * Environment: BENCH_IKE_SETUPS (default 3000) setups for the rate, BENCH_IKE_SAS (10000) for
 * memory, BENCH_IKE_CONCURRENCY (64).
 */
import { seededRandom } from "../src/crypto/random.js";
import { Secret } from "../src/crypto/secret.js";
import type { ChildSaSpec, ConnectionConfig, EngineConfig, IkeOutput, InboundDatagram, UdpEndpoint } from "../src/ike/api.js";
import { IkeEngine } from "../src/ike/engine.js";
import { parseProposalString } from "../src/ike/negotiation/proposals.js";
import { parseTs } from "../src/ike/negotiation/traffic-selectors.js";
import { Sad, SecurityAssociation } from "../src/ipsec/sad.js";
import { parseIpAddress } from "../src/wire/ip.js";
import { cpuMs, fmt, machine, writeResult } from "./lib/measure.js";

const SETUPS = Number(process.env.BENCH_IKE_SETUPS ?? 3000);
const TARGET = Number(process.env.BENCH_IKE_SAS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_IKE_CONCURRENCY ?? 64);
const RESPONDER = "198.18.0.1";
const RESPONDER_ID = "gw.example";
/** Each initiator has its own identity: INITIAL_CONTACT (RFC 7296 s2.4) from a second peer with the same ID would delete the first one's SAs. */
const clientId = (i: number): string => `client-${i}.example`;
const PSK = "bench-psk-not-a-secret-0123456789";
const IKE_PROPOSAL = "aes128gcm16-prfsha256-x25519";
const ESP_PROPOSAL = "aes128gcm16";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with node --expose-gc (npm run bench:ike does)");
  process.exit(1);
}

function conn(name: string, localAddr: string, remoteAddr: string, localId: string, remoteId: string, localTs: string, remoteTs: string): ConnectionConfig {
  return {
    name,
    localAddrs: [localAddr],
    remoteAddrs: [remoteAddr],
    localPort: 500,
    remotePort: 500,
    proposals: parseProposalString(IKE_PROPOSAL, "ike"),
    encap: false,
    dpdDelaySeconds: 0,
    rekeyTimeSeconds: 0,
    fragmentation: false,
    fragmentSize: 1280,
    local: { auth: "psk", id: localId },
    remote: { auth: "psk", id: remoteId },
    children: [
      {
        name: "net",
        localTs: [parseTs(localTs)],
        remoteTs: [parseTs(remoteTs)],
        espProposals: parseProposalString(ESP_PROPOSAL, "esp"),
        mode: "tunnel",
        startAction: "none",
        rekeyTimeSeconds: 0,
        lifeTimeSeconds: 0,
        rekeyBytes: 0,
        lifeBytes: 0,
        rekeyPackets: 0,
        lifePackets: 0,
        replayWindow: 64,
        tfcPadding: false,
      },
    ],
    retransmit: { timeoutSeconds: 60, base: 1.8, tries: 3 },
  };
}

function engineConfig(c: ConnectionConfig): EngineConfig {
  // A secret without ids is for anyone (strongSwan's lookup order, engine.findPsk).
  return { connections: [c], secrets: [{ ids: [], secret: Secret.fromUtf8(PSK) }], cookieThreshold: 1_000_000, halfOpenTimeoutSeconds: 60 };
}

function clientAddress(i: number): string {
  return `198.19.${(i >> 8) & 0xff}.${i & 0xff}`;
}

interface Run {
  setups: number;
  failed: number;
  responderCpuMs: number;
  wallMs: number;
  loopCpuMs: number;
  responder: IkeEngine;
  sad: Sad | undefined;
  children: ChildSaSpec[];
}

/**
 * Establishes `count` IKE SAs (each with one Child SA) against a fresh responder. With `sad`, the
 * responder's Child SAs are installed as two SecurityAssociations each, like the daemon does.
 */
function establish(count: number, withSad: boolean, keepChildren: boolean): Run {
  const now = 1_000_000;
  const rng = seededRandom(`bench-ike-${count}-${withSad}`);
  const responder = new IkeEngine(engineConfig(conn("clients", RESPONDER, "%any", RESPONDER_ID, "%any", "198.18.2.0/24", "198.19.0.0/16")), rng, now);
  const sad = withSad ? new Sad() : undefined;
  const children: ChildSaSpec[] = [];
  const initiators = new Map<string, IkeEngine>();
  const queue: Array<{ to: string; d: InboundDatagram }> = [];
  let next = 0;
  let done = 0;
  let failed = 0;
  let responderCpu = 0;
  let policyId = 1;

  const route = (from: UdpEndpoint, to: UdpEndpoint, bytes: Uint8Array): void => {
    queue.push({ to: to.address, d: { local: to, remote: from, bytes } });
  };
  const start = (): void => {
    const i = next++;
    const addr = clientAddress(i);
    const e = new IkeEngine(engineConfig(conn("gw", addr, RESPONDER, clientId(i), RESPONDER_ID, `${addr}/32`, "198.18.2.0/24")), seededRandom(`client-${i}`), now);
    initiators.set(addr, e);
    e.initiate(now, "gw");
    drainInitiator(addr, e);
  };
  const finish = (addr: string, ok: boolean): void => {
    if (!initiators.delete(addr)) return;
    if (ok) done++;
    else failed++;
    if (next < count) start();
  };
  const drainInitiator = (addr: string, e: IkeEngine): void => {
    let o: IkeOutput | undefined;
    while ((o = e.pollOutput()) !== undefined) {
      if (o.kind === "transmit") route(o.from, o.to, o.bytes);
      else if (o.kind === "installChildSa") finish(addr, true);
      else if (o.kind === "ikeSaClosed") finish(addr, false);
    }
  };
  const local = parseIpAddress(RESPONDER);
  const install = (spec: ChildSaSpec): void => {
    if (keepChildren) children.push(spec);
    if (sad === undefined) return;
    const remote = parseIpAddress(spec.remote.address);
    const common = { protocol: "esp" as const, mode: spec.mode, encr: spec.encr, esn: spec.esn, local, remote, udpEncap: { localPort: 4500, remotePort: 4500 }, now };
    sad.addInbound(new SecurityAssociation({ ...common, spi: spec.spiIn, direction: "inbound", encrKey: new Secret(spec.encrKeyIn.expose().slice()), replayWindow: 64 }));
    sad.addOutbound(policyId, new SecurityAssociation({ ...common, spi: spec.spiOut, direction: "outbound", encrKey: new Secret(spec.encrKeyOut.expose().slice()), policyId: policyId++ }));
  };

  const t0 = performance.now();
  const cpu0 = cpuMs();
  for (let k = 0; k < Math.min(CONCURRENCY, count); k++) start();
  while (queue.length > 0) {
    const { to, d } = queue.shift() as { to: string; d: InboundDatagram };
    if (to === RESPONDER) {
      const c0 = cpuMs();
      responder.handleDatagram(now, d);
      let o: IkeOutput | undefined;
      while ((o = responder.pollOutput()) !== undefined) {
        if (o.kind === "transmit") route(o.from, o.to, o.bytes);
        else if (o.kind === "installChildSa") install(o.sa);
      }
      responderCpu += cpuMs() - c0;
    } else {
      const e = initiators.get(to);
      if (e === undefined) continue;
      e.handleDatagram(now, d);
      drainInitiator(to, e);
    }
  }
  return { setups: done, failed, responderCpuMs: responderCpu, wallMs: performance.now() - t0, loopCpuMs: cpuMs() - cpu0, responder, sad, children };
}

/**
 * V8 heap + external (ArrayBuffers, Buffers) after full GCs, bytes. The event loop turns between
 * GCs so that second-pass weak callbacks (which release external memory such as KeyObjects and
 * ArrayBuffers) have run. OpenSSL's own allocations show only in RSS.
 */
async function memoryNow(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    (gc as () => void)();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const mach = machine();
// 1. Setup rate (engine + SAD install on the responder).
establish(200, true, false); // warm-up: JIT
const rateRun = establish(SETUPS, true, false);
if (rateRun.failed > 0 || rateRun.setups !== SETUPS) throw new Error(`setup run: ${rateRun.setups} ok, ${rateRun.failed} failed`);
const responderRate = (rateRun.setups * 1000) / rateRun.responderCpuMs;
const wallRate = (rateRun.setups * 1000) / rateRun.wallMs;

// 2. Memory with TARGET established SAs on one responder (initiators are dropped as they finish),
// twice: the engine alone, then the engine plus the SAD entries a daemon installs (two
// SecurityAssociations per Child SA). Each run is measured against its own baseline, and the
// first run is released before the second starts.
async function memoryRun(withSad: boolean): Promise<{ bytes: number; rss: number; established: number; sadEntries: number }> {
  const base = await memoryNow();
  const rss0 = process.memoryUsage().rss;
  const r = establish(TARGET, withSad, false);
  if (r.setups !== TARGET) throw new Error(`memory run: ${r.setups} of ${TARGET}`);
  const bytes = (await memoryNow()) - base;
  const rss = process.memoryUsage().rss - rss0;
  const established = r.responder.listSas(1_000_000).filter((s) => s.state === "ESTABLISHED").length;
  return { bytes, rss, established, sadEntries: r.sad?.all().length ?? 0 };
}
const engineRun = await memoryRun(false);
const sadRun = await memoryRun(true);
const engineBytes = engineRun.bytes;
const withSadBytes = sadRun.bytes;
const rssBytes = sadRun.rss;
const established = sadRun.established;
const sadEntries = sadRun.sadEntries;

const result = {
  machine: mach,
  proposals: { ike: IKE_PROPOSAL, esp: ESP_PROPOSAL, auth: "PSK" },
  concurrency: CONCURRENCY,
  rate: { setups: rateRun.setups, responderCpuMs: rateRun.responderCpuMs, loopCpuMs: rateRun.loopCpuMs, responderSetupsPerCpuSecond: responderRate, wallMs: rateRun.wallMs, loopSetupsPerSecond: wallRate },
  memory: {
    sas: TARGET,
    establishedOnResponder: established,
    engineBytesPerSa: engineBytes / TARGET,
    engineAndSadBytesPerSa: withSadBytes / TARGET,
    rssGrowthPerSa: rssBytes / TARGET,
    sadEntries,
  },
  strongswan: "not measured here (needs the network path): see docs/performance.md",
};
console.log(`IKE_SA_INIT + IKE_AUTH (PSK, ${IKE_PROPOSAL}, ESP ${ESP_PROPOSAL}) with one Child SA, in-process (${mach.date}, ${mach.nproc} x ${mach.cpuModel}, Node ${mach.node}, load ${mach.loadAverage})`);
console.log(`responder setups per CPU-second: ${fmt(responderRate, 0)}   (${rateRun.setups} setups, ${CONCURRENCY} in flight, responder CPU ${fmt(rateRun.responderCpuMs, 0)} ms)`);
console.log(`whole loop (initiators + responder on one thread): ${fmt(wallRate, 0)} setups/s wall, ${fmt((rateRun.setups * 1000) / rateRun.loopCpuMs, 0)} per CPU-second`);
console.log(`memory per IKE SA + Child SA on the responder, ${TARGET} established (${established} listed): engine ${fmt(engineBytes / TARGET / 1024, 2)} KiB, engine + 2 SAD entries ${fmt(withSadBytes / TARGET / 1024, 2)} KiB (${sadEntries} SAD entries); RSS growth ${fmt(rssBytes / TARGET / 1024, 2)} KiB per SA`);
console.log(`wrote ${writeResult("ike", result)}`);
