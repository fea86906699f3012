/**
 * A tsipsec gateway daemon in a test namespace, configured from the same typed connection
 * description as the strongSwan peer (test/support/strongswan.ts `SwanConnection`), and driven
 * over its control socket (src/control/: the contract the CLI uses too).
 *
 * The daemon is `node bin/tsipsec.js start --config DIR/tsipsec.yaml --control DIR/control.sock`
 * (bin/ runs the build in dist/: `npm run build` first, as `npm test` does). Its stdout and stderr
 * go to DIR/tsipsec.log. With `saveKeys`, it writes Wireshark key tables to DIR.
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { stringify } from "yaml";
import type { Topology } from "../../../src/drivers/netns.js";
import { run, type CommandResult } from "../../../src/drivers/iproute.js";
import { controlRequest } from "../../../src/control/client.js";
import type { ActionResult, IkeSaStatus } from "../../../src/control/protocol.js";
import type { SwanConnection } from "../../support/strongswan.js";

const REPO = join(import.meta.dirname, "..", "..", "..");
export const TSIPSEC_BIN = join(REPO, "bin", "tsipsec.js");

export interface TsipsecGatewayOptions {
  topology: Topology;
  namespace: string;
  label: string;
  /** Write Wireshark key tables (daemon.save_keys) to DIR/ikev2_decryption_table and DIR/esp_sa. */
  saveKeys?: boolean;
  /** IKE retransmission (daemon.retransmit_*): short values make DPD and failures fast. */
  retransmitTimeout?: number;
  retransmitTries?: number;
  retransmitBase?: number;
}

/** The tsipsec YAML config (docs/examples/site-a.yaml shape) for `connections`. */
export function renderTsipsecConfig(dir: string, connections: readonly SwanConnection[], options: Pick<TsipsecGatewayOptions, "saveKeys" | "retransmitTimeout" | "retransmitTries" | "retransmitBase">): string {
  const daemon: Record<string, unknown> = {
    tun: { name: "tsipsec0", mtu: 1400 },
    control_socket: join(dir, "control.sock"),
    log_level: { default: "debug" },
  };
  if (options.saveKeys === true) daemon["save_keys"] = { ike: join(dir, "ikev2_decryption_table"), esp: join(dir, "esp_sa") };
  if (options.retransmitTimeout !== undefined) daemon["retransmit_timeout"] = options.retransmitTimeout;
  if (options.retransmitTries !== undefined) daemon["retransmit_tries"] = options.retransmitTries;
  if (options.retransmitBase !== undefined) daemon["retransmit_base"] = options.retransmitBase;
  const conns: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  connections.forEach((c, i) => {
    const children: Record<string, unknown> = {};
    for (const ch of c.children) {
      const child: Record<string, unknown> = {
        local_ts: ch.localTs,
        remote_ts: ch.remoteTs,
        esp_proposals: ch.espProposals,
        mode: ch.mode ?? "tunnel",
        start_action: ch.startAction ?? "none",
      };
      if (ch.rekeyTime !== undefined) child["rekey_time"] = `${ch.rekeyTime}s`;
      if (ch.lifeTime !== undefined) child["life_time"] = `${ch.lifeTime}s`;
      children[ch.name] = child;
    }
    const conn: Record<string, unknown> = {
      version: 2,
      local_addrs: c.localAddrs,
      remote_addrs: c.remoteAddrs,
      proposals: c.proposals,
      local: { auth: "psk", id: c.localId },
      remote: { auth: "psk", id: c.remoteId },
      children,
    };
    if (c.rekeyTime !== undefined) conn["rekey_time"] = `${c.rekeyTime}s`;
    if (c.dpdDelay !== undefined) conn["dpd_delay"] = `${c.dpdDelay}s`;
    if (c.encap !== undefined) conn["encap"] = c.encap ? "yes" : "no";
    conns[c.name] = conn;
    secrets[`ike-${i + 1}`] = { id: [c.localId, c.remoteId], secret: c.psk };
  });
  return stringify({ daemon, connections: conns, secrets });
}

/** A running (or stopped) tsipsec daemon. */
export class TsipsecGateway {
  readonly dir: string;
  readonly controlPath: string;
  readonly configPath: string;
  readonly logPath: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log: WriteStream | undefined;
  /** The daemon's output in memory too, so a failing test reads it without waiting for the file. */
  #output = "";

  private constructor(readonly options: TsipsecGatewayOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `tsipsec-gw-${options.label.replace(/[^a-z0-9-]/gi, "")}-`));
    this.controlPath = join(this.dir, "control.sock");
    this.configPath = join(this.dir, "tsipsec.yaml");
    this.logPath = join(this.dir, "tsipsec.log");
  }

  /** Writes the config and starts the daemon; resolves when its control socket answers. */
  static async start(options: TsipsecGatewayOptions, connections: readonly SwanConnection[]): Promise<TsipsecGateway> {
    const gw = new TsipsecGateway(options);
    try {
      await gw.launch(connections);
    } catch (e) {
      await gw.dispose();
      throw e;
    }
    return gw;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async launch(connections: readonly SwanConnection[]): Promise<void> {
    if (this.running) throw new Error(`${this.options.label}: tsipsec is already running`);
    if (!existsSync(join(REPO, "dist", "cli", "main.js"))) {
      throw new Error(`tsipsec is not built: ${join(REPO, "dist", "cli", "main.js")} is missing (run npm run build)`);
    }
    // The config holds the PSK: the loader refuses files that group/others can read.
    writeFileSync(this.configPath, renderTsipsecConfig(this.dir, connections, this.options), { mode: 0o600 });
    rmSync(this.controlPath, { force: true });
    this.#log = createWriteStream(this.logPath, { flags: "a" });
    const child = this.options.topology.spawnIn(this.options.namespace, process.execPath, [TSIPSEC_BIN, "start", "--config", this.configPath, "--control", this.controlPath], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    const log = this.#log;
    const collect = (d: Buffer): void => {
      log.write(d);
      this.#output += d.toString("utf8");
      if (this.#output.length > 8_000_000) this.#output = this.#output.slice(-4_000_000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (!this.running) {
        await new Promise((r) => setTimeout(r, 100));
        throw new Error(`${this.options.label}: tsipsec exited during start-up (code ${child.exitCode}, signal ${child.signalCode})\n${this.logTail(40)}`);
      }
      if (existsSync(this.controlPath)) {
        try {
          await controlRequest(this.controlPath, { op: "list-sas" }, 2000);
          return;
        } catch {
          // not ready yet
        }
      }
      if (Date.now() > deadline) throw new Error(`${this.options.label}: tsipsec's control socket did not answer within 15 s\n${this.logTail(40)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Control `up`: initiate the connection (all children or `child`). */
  up(conn: string, child?: string): Promise<ActionResult> {
    return controlRequest(this.controlPath, child === undefined ? { op: "up", conn } : { op: "up", conn, child }, 30_000);
  }

  /** Control `down`: delete the connection's IKE SAs. */
  down(conn: string): Promise<ActionResult> {
    return controlRequest(this.controlPath, { op: "down", conn }, 30_000);
  }

  /** Control `rekey`: the Child SAs (or `child`), and with `ike` the IKE SA. */
  rekey(conn: string, options: { child?: string; ike?: boolean } = {}): Promise<ActionResult> {
    return controlRequest(this.controlPath, { op: "rekey", conn, ...options }, 30_000);
  }

  listSas(): Promise<IkeSaStatus[]> {
    return controlRequest(this.controlPath, { op: "list-sas" }, 10_000);
  }

  /** `tsipsec <args> --control PATH` through the CLI (the operator's path). */
  cli(args: readonly string[]): Promise<CommandResult> {
    return run(process.execPath, [TSIPSEC_BIN, ...args, "--control", this.controlPath], { allowFailure: true, timeoutMs: 30_000 });
  }

  /** SIGTERM (then SIGKILL after 5 s), or SIGKILL at once; waits for the exit. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (child !== undefined && this.running) {
      child.kill(signal);
      const done = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!done) {
        child.kill("SIGKILL");
        await this.#exited;
      }
    }
    await this.#exited;
    const log = this.#log;
    this.#log = undefined;
    if (log !== undefined) await new Promise<void>((r) => log.end(() => r()));
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Everything the daemon wrote to stdout and stderr since this object started it. */
  log(): string {
    return this.#output;
  }

  logTail(lines = 60): string {
    const all = this.log().split("\n").filter((l) => l !== "");
    const tail = all.slice(-lines);
    return `----- tsipsec ${this.options.label} (${this.logPath}), last ${tail.length} lines -----\n${tail.join("\n")}`;
  }

  grepLog(pattern: RegExp): string[] {
    return this.log().split("\n").filter((l) => pattern.test(l));
  }

  /** Contents of the exported Wireshark key tables ("" when absent). */
  keyTables(): { ikev2: string; esp: string } {
    const read = (f: string): string => {
      try {
        return readFileSync(join(this.dir, f), "utf8");
      } catch {
        return "";
      }
    };
    return { ikev2: read("ikev2_decryption_table"), esp: read("esp_sa") };
  }
}
