import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatListSas } from "../cli/format.js";
import { hasIpCommand, run } from "../drivers/iproute.js";
import { createSiteToSite, uniqueSuffix, type Topology } from "../drivers/netns.js";
import { Gateway, defaultGatewayCommand } from "./gateway.js";
import { sitePairConfigs } from "./site-configs.js";
import { tcpTransfer } from "./tcp-check.js";

/**
 * `tsipsec demo`: the README's first command. On a Linux machine as root it builds the
 * four-namespace site-to-site topology (host-a -- gw-a ==== gw-b -- host-b, docs/testbed.md),
 * starts two tsipsec gateways with a PSK connection (IKE aes128gcm16-prfsha256-x25519, ESP
 * aes128gcm16), waits for the tunnel, pings host-b from host-a through it, sends a few megabytes
 * over TCP and checks their SHA-256, prints both gateways' SAs (their packet counters show the
 * traffic went through ESP) and tears everything down, also on failure or Ctrl-C.
 *
 * Exit codes: 0 the tunnel carried the traffic; 1 a step failed; 2 the machine cannot run the
 * demo (not root, no /dev/net/tun, no `ip` command); 130 interrupted.
 */
export interface DemoOptions {
  /** Control socket path prefix for the two gateways (`<path>.gw-a`, `<path>.gw-b`); default: in the demo's temp dir. */
  controlPath?: string | undefined;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** Command prefix that runs the tsipsec CLI inside the namespaces (default: node bin/tsipsec.js). */
  gatewayCommand?: string[];
  /** Bytes for the TCP check (default 8 MiB). */
  transferBytes?: number;
}

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_UNSUPPORTED = 2;
const EXIT_INTERRUPTED = 130;

class Interrupted extends Error {}

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = options.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = options.stderr ?? ((s: string) => void process.stderr.write(s));
  const say = (s: string): void => out(`${s}\n`);
  const step = (n: number, s: string): void => say(`[${n}/7] ${s}`);

  if (process.platform !== "linux") {
    err("tsipsec demo: needs Linux (network namespaces and /dev/net/tun).\n");
    return EXIT_UNSUPPORTED;
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    err("tsipsec demo: must run as root (it creates network namespaces and TUN devices): sudo npx tsipsec demo\n");
    return EXIT_UNSUPPORTED;
  }
  if (!existsSync("/dev/net/tun")) {
    err("tsipsec demo: /dev/net/tun is missing; load the tun module (modprobe tun) or run on a machine that has it.\n");
    return EXIT_UNSUPPORTED;
  }
  if (!(await hasIpCommand())) {
    err("tsipsec demo: the `ip` command was not found; install iproute2 (Debian/Ubuntu: apt-get install iproute2).\n");
    return EXIT_UNSUPPORTED;
  }

  let topo: Topology | undefined;
  const gateways: Gateway[] = [];
  let dir: string | undefined;
  let interrupted = false;
  let rejectInterrupt: ((e: Error) => void) | undefined;
  const interruptedPromise = new Promise<never>((_, reject) => (rejectInterrupt = reject));
  interruptedPromise.catch(() => undefined);
  const onSignal = (): void => {
    interrupted = true;
    rejectInterrupt?.(new Interrupted("interrupted"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  /** Races a step against Ctrl-C. */
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, interruptedPromise]);

  try {
    const suffix = uniqueSuffix("demo");
    step(1, `building the topology (namespaces ts-{ha,ga,gb,hb}-${suffix}):`);
    say("      host-a 198.18.1.10 -- gw-a 198.18.1.1 | 192.0.2.1 ==== 192.0.2.2 | 198.18.2.1 gw-b -- 198.18.2.10 host-b");
    topo = await guard(createSiteToSite({ suffix }));
    const t = topo;

    dir = mkdtempSync(join(tmpdir(), "tsipsec-demo-"));
    const controlA = options.controlPath !== undefined ? `${options.controlPath}.gw-a` : join(dir, "gw-a.sock");
    const controlB = options.controlPath !== undefined ? `${options.controlPath}.gw-b` : join(dir, "gw-b.sock");
    const configs = sitePairConfigs({ controlA, controlB, startA: "start", startB: "none", dpdDelay: 10 });
    const configA = join(dir, "gw-a.yaml");
    const configB = join(dir, "gw-b.yaml");
    writeFileSync(configA, configs.a, { mode: 0o600 });
    writeFileSync(configB, configs.b, { mode: 0o600 });
    step(2, `wrote two gateway configs (PSK, IKE aes128gcm16-prfsha256-x25519, ESP aes128gcm16) to ${dir} (mode 0600)`);

    const command = options.gatewayCommand ?? defaultGatewayCommand();
    step(3, "starting gw-b (responder) and gw-a (initiator, start_action: start)");
    const gwB = new Gateway(t, { name: "gw-b", ns: t.ns.gwB, configPath: configB, controlPath: controlB, command });
    gateways.push(gwB);
    await guard(gwB.waitReady());
    const gwA = new Gateway(t, { name: "gw-a", ns: t.ns.gwA, configPath: configA, controlPath: controlA, command });
    gateways.push(gwA);
    await guard(gwA.waitReady());

    step(4, "waiting for the IKE SA and the Child SA");
    const t0 = Date.now();
    const sas = await guard(gwA.waitTunnel(30_000));
    await guard(gwB.waitTunnel(10_000));
    const ike = sas[0];
    say(`      tunnel up in ${Date.now() - t0} ms: IKE ${ike?.encr ?? "?"}/${ike?.prf ?? "?"}/${ike?.ke ?? "?"}, ESP ${ike?.children[0]?.encr ?? "?"} (${ike?.children[0]?.udpEncapsulation === true ? "UDP-encapsulated" : "raw"})`);

    step(5, "ping host-b (198.18.2.10) from host-a through the tunnel");
    if (await hasCommand("ping")) {
      const ping = await guard(run("ip", ["netns", "exec", t.ns.hostA, "ping", "-c", "4", "-i", "0.2", "-W", "2", t.addresses.hostB.v4], { allowFailure: true }));
      const summary = ping.stdout.split("\n").filter((l) => /packets transmitted|rtt/.test(l));
      for (const l of summary) say(`      ${l}`);
      if (ping.code !== 0) throw new Error(`ping failed: ${(ping.stdout + ping.stderr).trim()}`);
    } else {
      say("      `ping` is not installed (apt-get install iputils-ping): skipped; the TCP check below still proves the tunnel");
    }

    const bytes = options.transferBytes ?? 8 * 1024 * 1024;
    step(6, `TCP: sending ${(bytes / 1048576).toFixed(0)} MiB from host-a to host-b and comparing SHA-256`);
    const tr = await guard(tcpTransfer(t, { serverNs: t.ns.hostB, serverAddress: t.addresses.hostB.v4, clientNs: t.ns.hostA, bytes }));
    if (!tr.ok) throw new Error(`TCP transfer failed: ${tr.error ?? "unknown"}`);
    const mbits = tr.ms > 0 ? ((tr.bytes * 8) / (tr.ms / 1000) / 1e6).toFixed(0) : "?";
    say(`      ${tr.bytes} bytes in ${tr.ms} ms (${mbits} Mbit/s), SHA-256 ${tr.sha256.slice(0, 16)}... matches on both ends`);

    step(7, "SAs of both gateways (packet counters: the traffic went through ESP)");
    for (const gw of [gwA, gwB]) {
      say(`--- ${gw.name} (tsipsec list-sas --control ${gw.controlPath})`);
      out(indent(formatListSas(await guard(gw.listSas()))));
    }
    say("demo passed: the tunnel carried ping and TCP traffic, encrypted with ESP. Cleaning up.");
    return EXIT_OK;
  } catch (e) {
    if (interrupted || e instanceof Interrupted) {
      err("\ntsipsec demo: interrupted; cleaning up\n");
      return EXIT_INTERRUPTED;
    }
    err(`tsipsec demo: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
    for (const gw of gateways) {
      if (gw.log.trim() !== "") err(`--- last log lines of ${gw.name}:\n${gw.logTail(15)}\n`);
    }
    return EXIT_FAILURE;
  } finally {
    for (const gw of gateways) await gw.stop(3000).catch(() => undefined);
    await topo?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

/** True when `cmd` can be run (it exists on PATH). */
async function hasCommand(cmd: string): Promise<boolean> {
  try {
    await run(cmd, ["-V"], { allowFailure: true, timeoutMs: 5000 });
    return true;
  } catch {
    return false;
  }
}

function indent(s: string): string {
  return s
    .split("\n")
    .map((l) => (l === "" ? l : `  ${l}`))
    .join("\n")
    .replace(/\n*$/, "\n");
}

export { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNSUPPORTED };
