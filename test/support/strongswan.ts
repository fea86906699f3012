/**
 * strongSwan (charon 5.9.8, Debian) as a real IKEv2/ESP peer inside a test namespace.
 *
 * Theory of operation (docs/testbed.md "strongSwan as a real peer"):
 * - The kernel here has no ESP, so charon runs with `kernel-libipsec` (user-space ESP over a TUN
 *   device `ipsec0`, routes in table 220). With it, charon always UDP-encapsulates ESP (RFC 3948),
 *   even without NAT: its Child SAs show `encap=yes` / `TUNNEL-in-UDP`.
 * - `bypass-lan` must be off (it would route the local subnets into the TUN device), and so are
 *   forecast, dhcp, farp, ha and tpm.
 * - Two charons on one machine collide on `/run/charon.pid`, so each runs in a private mount
 *   namespace with `DIR/run` bound over `/run`; each has its own VICI socket and file log in DIR.
 *
 * Each instance owns a temporary directory DIR holding strongswan.conf, swanctl.conf, the VICI
 * socket and charon.log. `stop()` kills charon and waits for it; `dispose()` also removes DIR.
 * Callers put both in `finally`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type CommandResult } from "../../src/drivers/iproute.js";

export const CHARON_PATH = "/usr/lib/ipsec/charon";
export const SWANCTL_PATH = "swanctl";

/** `children.<name>` of a swanctl connection. Durations in seconds. */
export interface SwanChild {
  name: string;
  /** swanctl `local_ts`, e.g. `["198.18.1.0/24"]`. */
  localTs: string[];
  remoteTs: string[];
  /** swanctl `esp_proposals`, e.g. `["aes128gcm16"]`, `["aes128gcm16-ecp256"]`. */
  espProposals: string[];
  startAction?: "none" | "start" | "trap";
  mode?: "tunnel" | "transport";
  /** Seconds until strongSwan rekeys the Child SA (`rekey_time`); 0 disables. */
  rekeyTime?: number;
  /** Hard lifetime (`life_time`), seconds. */
  lifeTime?: number;
  /** Jitter subtracted from rekeyTime (`rand_time`), seconds; 0 makes the rekey time exact. */
  randTime?: number;
  /** What to do when DPD declares the peer dead (`dpd_action`). */
  dpdAction?: "clear" | "trap" | "restart";
  /** What to do when the peer closes the Child SA (`close_action`). */
  closeAction?: "none" | "trap" | "start";
}

/** `connections.<name>` of swanctl.conf with PSK authentication. Durations in seconds. */
export interface SwanConnection {
  name: string;
  localAddrs: string[];
  remoteAddrs: string[];
  /** swanctl `proposals` (IKE), e.g. `["aes128-sha256-modp2048"]`. */
  proposals: string[];
  /** Identities as swanctl parses them: an IP address, an FQDN (`gw.example.com`), an email (`gw@example.com`). */
  localId: string;
  remoteId: string;
  /** Pre-shared key (ASCII). */
  psk: string;
  /** IKE SA rekey time (`rekey_time`); 0 disables. */
  rekeyTime?: number;
  /** Reauthentication time (`reauth_time`); defaults to 0 (off). */
  reauthTime?: number;
  /** Jitter subtracted from the IKE rekey time (`rand_time`). */
  randTime?: number;
  /** Extra time before a rekeyed IKE SA is deleted (`over_time`). */
  overTime?: number;
  /** Liveness check interval (`dpd_delay`); 0 disables. */
  dpdDelay?: number;
  /** `unique` policy: `no` (default), `never` (suppresses INITIAL_CONTACT), `replace`, `keep`. */
  unique?: "no" | "never" | "replace" | "keep";
  /** Force UDP encapsulation (`encap`). kernel-libipsec encapsulates regardless. */
  encap?: boolean;
  children: SwanChild[];
}

export interface StrongSwanOptions {
  /** Network namespace charon runs in. */
  namespace: string;
  /**
   * Spawner for the namespaced process. Pass `topology.spawnIn` so the topology's destroy() also
   * reaps charon; without it a plain `ip netns exec` spawn is used.
   */
  spawnIn?: (ns: string, cmd: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; stdio: ["ignore", "pipe", "pipe"] }) => ChildProcess;
  /** A label for log output and the temp dir name (e.g. "gw-b"). */
  label?: string;
  /** Log the IKE SA keys (`ike = 4`: `Sk_ei secret => ...`); default `ike = 2`. */
  logKeys?: boolean;
  /** IKE retransmission: base timeout in seconds and tries (default strongSwan 4 s x 5 tries; tests want fast failure). */
  retransmitTimeout?: number;
  retransmitTries?: number;
  retransmitBase?: number;
}

/** One Child SA as `swanctl --list-sas --raw` reports it. SPIs are lowercase 8-digit hex. */
export interface SwanChildSa {
  name: string;
  uniqueId: number;
  state: string;
  mode: string;
  protocol: string;
  encap: boolean;
  spiIn: string;
  spiOut: string;
  /** e.g. `AES_GCM_16`; with encrKeysize 128. */
  encrAlg: string;
  encrKeysize: number | undefined;
  integAlg: string | undefined;
  /** e.g. `ECP_256` when PFS was used on this Child SA. */
  dhGroup: string | undefined;
  esn: boolean;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  localTs: string[];
  remoteTs: string[];
}

/** One IKE SA from `swanctl --list-sas --raw`. SPIs are lowercase 16-digit hex. */
export interface SwanIkeSa {
  connection: string;
  uniqueId: number;
  state: string;
  initiator: boolean;
  localHost: string;
  remoteHost: string;
  localId: string;
  remoteId: string;
  initiatorSpi: string;
  responderSpi: string;
  encrAlg: string;
  encrKeysize: number | undefined;
  integAlg: string | undefined;
  prfAlg: string;
  dhGroup: string;
  children: SwanChildSa[];
}

/** A VICI message as printed by `swanctl --raw`: sections, key=value, key=[list]. */
export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

/**
 * Parses swanctl's `--raw` rendering (`name {k=v list=[a b] sub {..}}`) into a tree. A raw dump
 * may contain several messages (`list-sa event {...}` lines, then `list-sas reply {}`); each line
 * is one message, returned in order with its leading label.
 */
export function parseViciRaw(text: string): { label: string; body: ViciSection }[] {
  const messages: { label: string; body: ViciSection }[] = [];
  for (const line of text.split("\n")) {
    const open = line.indexOf("{");
    if (open < 0) continue;
    const label = line.slice(0, open).trim();
    const pos = { i: open + 1 };
    messages.push({ label, body: parseSection(line, pos) });
  }
  return messages;
}

function parseSection(s: string, pos: { i: number }): ViciSection {
  const out: ViciSection = {};
  for (;;) {
    skipSpace(s, pos);
    if (pos.i >= s.length) return out;
    if (s[pos.i] === "}") {
      pos.i++;
      return out;
    }
    const keyStart = pos.i;
    while (pos.i < s.length && !" ={}".includes(s[pos.i] ?? "")) pos.i++;
    const key = s.slice(keyStart, pos.i);
    skipSpace(s, pos);
    if (s[pos.i] === "{") {
      pos.i++;
      out[key] = parseSection(s, pos);
    } else if (s[pos.i] === "=") {
      pos.i++;
      if (s[pos.i] === "[") {
        const end = s.indexOf("]", pos.i);
        const inner = s.slice(pos.i + 1, end < 0 ? s.length : end).trim();
        out[key] = inner === "" ? [] : inner.split(/\s+/);
        pos.i = end < 0 ? s.length : end + 1;
      } else {
        const valStart = pos.i;
        while (pos.i < s.length && s[pos.i] !== " " && s[pos.i] !== "}") pos.i++;
        out[key] = s.slice(valStart, pos.i);
      }
    } else {
      // A bare word without a value: keep it so nothing is silently lost.
      out[key] = "";
    }
  }
}

function skipSpace(s: string, pos: { i: number }): void {
  while (pos.i < s.length && s[pos.i] === " ") pos.i++;
}

function str(sec: ViciSection, key: string): string | undefined {
  const v = sec[key];
  return typeof v === "string" ? v : undefined;
}

function num(sec: ViciSection, key: string): number {
  const v = str(sec, key);
  return v === undefined ? 0 : Number(v);
}

function list(sec: ViciSection, key: string): string[] {
  const v = sec[key];
  return Array.isArray(v) ? v : [];
}

/** Maps the parsed `list-sa` events into IKE SAs. */
export function ikeSasFromVici(messages: { label: string; body: ViciSection }[]): SwanIkeSa[] {
  const sas: SwanIkeSa[] = [];
  for (const m of messages) {
    if (m.label !== "list-sa event") continue;
    for (const [connection, v] of Object.entries(m.body)) {
      if (typeof v !== "object" || Array.isArray(v)) continue;
      const children: SwanChildSa[] = [];
      const childSection = v["child-sas"];
      if (childSection !== undefined && typeof childSection === "object" && !Array.isArray(childSection)) {
        for (const c of Object.values(childSection)) {
          if (typeof c !== "object" || Array.isArray(c)) continue;
          const ks = str(c, "encr-keysize");
          children.push({
            name: str(c, "name") ?? "",
            uniqueId: num(c, "uniqueid"),
            state: str(c, "state") ?? "",
            mode: str(c, "mode") ?? "",
            protocol: str(c, "protocol") ?? "",
            encap: str(c, "encap") === "yes",
            spiIn: (str(c, "spi-in") ?? "").toLowerCase(),
            spiOut: (str(c, "spi-out") ?? "").toLowerCase(),
            encrAlg: str(c, "encr-alg") ?? "",
            encrKeysize: ks === undefined ? undefined : Number(ks),
            integAlg: str(c, "integ-alg"),
            dhGroup: str(c, "dh-group"),
            esn: str(c, "esn") === "1" || str(c, "esn") === "yes",
            bytesIn: num(c, "bytes-in"),
            bytesOut: num(c, "bytes-out"),
            packetsIn: num(c, "packets-in"),
            packetsOut: num(c, "packets-out"),
            localTs: list(c, "local-ts"),
            remoteTs: list(c, "remote-ts"),
          });
        }
      }
      const ks = str(v, "encr-keysize");
      sas.push({
        connection,
        uniqueId: num(v, "uniqueid"),
        state: str(v, "state") ?? "",
        initiator: str(v, "initiator") === "yes",
        localHost: str(v, "local-host") ?? "",
        remoteHost: str(v, "remote-host") ?? "",
        localId: str(v, "local-id") ?? "",
        remoteId: str(v, "remote-id") ?? "",
        initiatorSpi: (str(v, "initiator-spi") ?? "").toLowerCase(),
        responderSpi: (str(v, "responder-spi") ?? "").toLowerCase(),
        encrAlg: str(v, "encr-alg") ?? "",
        encrKeysize: ks === undefined ? undefined : Number(ks),
        integAlg: str(v, "integ-alg"),
        prfAlg: str(v, "prf-alg") ?? "",
        dhGroup: str(v, "dh-group") ?? "",
        children,
      });
    }
  }
  return sas;
}

/** Quotes a swanctl/strongswan.conf value when it holds anything but plain token characters. */
function q(value: string): string {
  if (/^[A-Za-z0-9._@:/,%-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Renders swanctl.conf for PSK connections (one `secrets.ike-N` per connection). */
export function renderSwanctlConf(connections: readonly SwanConnection[]): string {
  const lines: string[] = ["connections {"];
  for (const c of connections) {
    lines.push(`  ${c.name} {`, "    version = 2");
    lines.push(`    local_addrs = ${c.localAddrs.map(q).join(",")}`);
    lines.push(`    remote_addrs = ${c.remoteAddrs.map(q).join(",")}`);
    lines.push(`    proposals = ${c.proposals.map(q).join(",")}`);
    lines.push(`    rekey_time = ${c.rekeyTime ?? 14400}s`);
    lines.push(`    reauth_time = ${c.reauthTime ?? 0}s`);
    if (c.randTime !== undefined) lines.push(`    rand_time = ${c.randTime}s`);
    if (c.overTime !== undefined) lines.push(`    over_time = ${c.overTime}s`);
    if (c.dpdDelay !== undefined) lines.push(`    dpd_delay = ${c.dpdDelay}s`);
    if (c.unique !== undefined) lines.push(`    unique = ${c.unique}`);
    if (c.encap !== undefined) lines.push(`    encap = ${c.encap ? "yes" : "no"}`);
    lines.push("    local {", "      auth = psk", `      id = ${q(c.localId)}`, "    }");
    lines.push("    remote {", "      auth = psk", `      id = ${q(c.remoteId)}`, "    }");
    lines.push("    children {");
    for (const ch of c.children) {
      lines.push(`      ${ch.name} {`);
      lines.push(`        local_ts = ${ch.localTs.map(q).join(",")}`);
      lines.push(`        remote_ts = ${ch.remoteTs.map(q).join(",")}`);
      lines.push(`        esp_proposals = ${ch.espProposals.map(q).join(",")}`);
      lines.push(`        start_action = ${ch.startAction ?? "none"}`);
      lines.push(`        mode = ${ch.mode ?? "tunnel"}`);
      if (ch.rekeyTime !== undefined) lines.push(`        rekey_time = ${ch.rekeyTime}s`);
      if (ch.lifeTime !== undefined) lines.push(`        life_time = ${ch.lifeTime}s`);
      if (ch.randTime !== undefined) lines.push(`        rand_time = ${ch.randTime}s`);
      if (ch.dpdAction !== undefined) lines.push(`        dpd_action = ${ch.dpdAction}`);
      if (ch.closeAction !== undefined) lines.push(`        close_action = ${ch.closeAction}`);
      lines.push("      }");
    }
    lines.push("    }", "  }");
  }
  lines.push("}", "secrets {");
  connections.forEach((c, i) => {
    lines.push(`  ike-${i + 1} {`, `    id-1 = ${q(c.localId)}`, `    id-2 = ${q(c.remoteId)}`, `    secret = ${q(c.psk)}`, "  }");
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Renders strongswan.conf for a namespaced charon with kernel-libipsec (docs/testbed.md). */
export function renderStrongswanConf(dir: string, options: Pick<StrongSwanOptions, "logKeys" | "retransmitTimeout" | "retransmitTries" | "retransmitBase">): string {
  const ike = options.logKeys === true ? 4 : 2;
  const retransmit: string[] = [];
  if (options.retransmitTimeout !== undefined) retransmit.push(`  retransmit_timeout = ${options.retransmitTimeout}`);
  if (options.retransmitTries !== undefined) retransmit.push(`  retransmit_tries = ${options.retransmitTries}`);
  if (options.retransmitBase !== undefined) retransmit.push(`  retransmit_base = ${options.retransmitBase}`);
  return [
    "charon {",
    "  install_routes = yes",
    ...retransmit,
    "  plugins {",
    "    kernel-libipsec { load = yes }",
    "    bypass-lan { load = no }",
    "    forecast { load = no }",
    "    dhcp { load = no }",
    "    farp { load = no }",
    "    ha { load = no }",
    "    tpm { load = no }",
    // stroke would read the machine's /etc/ipsec.secrets; everything here comes over VICI.
    "    stroke { load = no }",
    `    vici { load = yes\n      socket = unix://${join(dir, "charon.vici")} }`,
    "  }",
    "  filelog {",
    "    testlog {",
    `      path = ${join(dir, "charon.log")}`,
    "      time_format = %H:%M:%S",
    "      ike_name = yes",
    "      flush_line = yes",
    "      default = 1",
    `      ike = ${ike}`,
    "      cfg = 2",
    `      chd = ${options.logKeys === true ? 4 : 2}`,
    "      net = 1",
    "      enc = 1",
    "    }",
    "  }",
    "  syslog { daemon { default = -1 } auth { default = -1 } }",
    "}",
    "",
  ].join("\n");
}

/** Runs swanctl against one VICI socket. */
async function swanctl(uri: string, args: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  return run(SWANCTL_PATH, [...args, "--uri", uri], { allowFailure: true, timeoutMs });
}

/** Error from a swanctl command that failed, with its output and the tail of charon's log. */
export class SwanctlError extends Error {
  override readonly name = "SwanctlError";
}

/** Installs strongSwan and tshark when missing (scripts/ensure-system-packages.sh). Throws when that fails. */
export async function ensureStrongSwanInstalled(): Promise<void> {
  const script = join(import.meta.dirname, "..", "..", "scripts", "ensure-system-packages.sh");
  const r = await run("bash", [script], { allowFailure: true, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`installing strongSwan failed (exit ${r.code}): ${r.stderr.trim()}`);
  for (const f of [CHARON_PATH, "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so", "/usr/lib/ipsec/plugins/libstrongswan-openssl.so"]) {
    if (!existsSync(f)) throw new Error(`strongSwan is not usable: ${f} is missing after scripts/ensure-system-packages.sh`);
  }
}

/** A running charon in a namespace, driven over its private VICI socket with swanctl. */
export class StrongSwan {
  readonly dir: string;
  readonly uri: string;
  readonly logPath: string;
  readonly label: string;
  readonly namespace: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = "";
  #connections: SwanConnection[] = [];

  private constructor(readonly options: StrongSwanOptions, dir: string) {
    this.dir = dir;
    this.namespace = options.namespace;
    this.label = options.label ?? options.namespace;
    this.uri = `unix://${join(dir, "charon.vici")}`;
    this.logPath = join(dir, "charon.log");
  }

  /** Creates the directory and configuration and starts charon; resolves once VICI answers. */
  static async start(options: StrongSwanOptions): Promise<StrongSwan> {
    const dir = mkdtempSync(join(tmpdir(), `tsipsec-swan-${(options.label ?? "peer").replace(/[^a-z0-9-]/gi, "")}-`));
    const s = new StrongSwan(options, dir);
    try {
      await s.launch();
    } catch (e) {
      await s.dispose();
      throw e;
    }
    return s;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** (Re)starts charon with the same directory, e.g. after `stop()` to simulate a peer reboot. */
  async launch(): Promise<void> {
    if (this.running) throw new Error(`${this.label}: charon is already running`);
    mkdirSync(join(this.dir, "run"), { recursive: true });
    for (const stale of [join(this.dir, "run", "charon.pid"), join(this.dir, "charon.vici")]) rmSync(stale, { force: true });
    const confPath = join(this.dir, "strongswan.conf");
    writeFileSync(confPath, renderStrongswanConf(this.dir, this.options));
    const env: NodeJS.ProcessEnv = { ...process.env, STRONGSWAN_CONF: confPath };
    const script = `mount --bind '${join(this.dir, "run")}' /run && exec ${CHARON_PATH}`;
    const args = ["-m", "--propagation", "private", "sh", "-c", script];
    const spawnOptions = { env, stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
    const child = this.options.spawnIn !== undefined
      ? this.options.spawnIn(this.namespace, "unshare", args, spawnOptions)
      : spawn("ip", ["netns", "exec", this.namespace, "unshare", ...args], spawnOptions);
    this.#child = child;
    this.#stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString("utf8")).slice(-8192);
    });
    child.stdout?.resume();
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    // charon opens VICI once its plugins are loaded; poll until `swanctl --stats` answers.
    for (let i = 0; i < 200; i++) {
      if (!this.running) {
        throw new Error(`${this.label}: charon exited during start-up (code ${child.exitCode}, signal ${child.signalCode}): ${this.#stderr.trim()}\n${this.logTail(40)}`);
      }
      if (existsSync(join(this.dir, "charon.vici"))) {
        const r = await swanctl(this.uri, ["--stats"], 5000);
        if (r.code === 0) break;
      }
      await sleep(50);
      if (i === 199) throw new Error(`${this.label}: charon's VICI socket did not answer within 10 s\n${this.logTail(40)}`);
    }
    if (this.#connections.length > 0) await this.load(this.#connections);
  }

  /** Writes swanctl.conf from `connections` and loads it (`swanctl --load-all`); replaces earlier ones. */
  async load(connections: readonly SwanConnection[]): Promise<void> {
    this.#connections = [...connections];
    const file = join(this.dir, "swanctl.conf");
    writeFileSync(file, renderSwanctlConf(connections), { mode: 0o600 });
    const r = await swanctl(this.uri, ["--load-all", "--clear", "--file", file]);
    if (r.code !== 0 || !/successfully loaded/.test(r.stdout)) {
      throw new SwanctlError(`${this.label}: swanctl --load-all failed (exit ${r.code}): ${r.stdout}${r.stderr}\n${this.logTail(30)}`);
    }
  }

  /**
   * `swanctl --initiate --child CHILD` and waits for the result (up to timeoutSeconds). Resolves
   * with the command result; `ok` is true when swanctl reports success.
   */
  async initiate(child: string, options: { ike?: string; timeoutSeconds?: number } = {}): Promise<{ ok: boolean; output: string }> {
    const timeout = options.timeoutSeconds ?? 20;
    const args = ["--initiate", "--child", child, "--timeout", String(timeout)];
    if (options.ike !== undefined) args.push("--ike", options.ike);
    const r = await swanctl(this.uri, args, (timeout + 5) * 1000);
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  }

  /** `swanctl --terminate` of an IKE SA (by connection name) or a Child SA (by child name). Resolves when done. */
  async terminate(target: { ike: string } | { child: string }, options: { force?: boolean; timeoutSeconds?: number } = {}): Promise<{ ok: boolean; output: string }> {
    const timeout = options.timeoutSeconds ?? 15;
    const args = ["--terminate", "--timeout", String(timeout)];
    if ("ike" in target) args.push("--ike", target.ike);
    else args.push("--child", target.child);
    if (options.force === true) args.push("--force");
    const r = await swanctl(this.uri, args, (timeout + 5) * 1000);
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  }

  /** `swanctl --rekey` of an IKE SA (connection name) or Child SA (child name). Returns once charon started the exchange. */
  async rekey(target: { ike: string } | { child: string }): Promise<{ ok: boolean; output: string }> {
    const args = ["--rekey"];
    if ("ike" in target) args.push("--ike", target.ike);
    else args.push("--child", target.child);
    const r = await swanctl(this.uri, args);
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  }

  /** The SAs charon holds now (`swanctl --list-sas --raw`). */
  async listSas(): Promise<SwanIkeSa[]> {
    const r = await swanctl(this.uri, ["--list-sas", "--raw"]);
    if (r.code !== 0) throw new SwanctlError(`${this.label}: swanctl --list-sas failed (exit ${r.code}): ${r.stderr}`);
    return ikeSasFromVici(parseViciRaw(r.stdout));
  }

  /** Installed Child SAs of every IKE SA, flattened. */
  async installedChildren(): Promise<SwanChildSa[]> {
    return (await this.listSas()).flatMap((ike) => ike.children.filter((c) => c.state === "INSTALLED"));
  }

  /** Kills charon (SIGTERM, SIGKILL after 3 s; or SIGKILL at once to simulate a crash) and waits for it. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running || child.pid === undefined) {
      await this.#exited;
      return;
    }
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
    const done = await Promise.race([this.#exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await this.#exited;
    }
  }

  /** stop() and remove the directory. Idempotent. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The whole charon log ("" when there is none yet). */
  log(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /**
   * The last `lines` lines of charon's log without hex dumps, prefixed with the instance label:
   * what to print when an interop case fails.
   */
  logTail(lines = 60): string {
    const text = this.log()
      .split("\n")
      .filter((l) => l !== "" && !/^\s+\d+: [0-9A-F ]{2,}/.test(l) && !/^\S+ \d+\[\w+\] <[^>]*> ?\s{2,}\d+:/.test(l));
    const tail = text.slice(-lines);
    return `----- strongSwan ${this.label} (${this.logPath}), last ${tail.length} lines -----\n${tail.join("\n")}`;
  }

  /** Log lines that match `pattern` (proposals, notifies, errors...). */
  grepLog(pattern: RegExp): string[] {
    return this.log().split("\n").filter((l) => pattern.test(l));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check()` resolves truthy, polling every `intervalMs`; throws `what` on timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeout = options.timeoutMs ?? 15_000;
  const interval = options.intervalMs ?? 200;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await sleep(interval);
  }
}
