import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ControlClientError, controlRequest } from "../control/client.js";
import type { ChildSaStatus, IkeSaStatus } from "../control/protocol.js";
import type { Topology } from "../drivers/netns.js";

/**
 * A tsipsec gateway process running inside a namespace of a topology (`tsipsec start --config F`),
 * with its log kept in memory and helpers to wait on its control socket. Used by `tsipsec demo`
 * and the namespace tests.
 */

/** `node bin/tsipsec.js`: the command that starts this build's CLI. */
export function defaultGatewayCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL("../../bin/tsipsec.js", import.meta.url))];
}

export interface GatewayOptions {
  /** Label for messages ("gw-a"). */
  name: string;
  ns: string;
  configPath: string;
  controlPath: string;
  /** Command prefix that runs the CLI (default {@link defaultGatewayCommand}). */
  command?: string[];
  /** Extra CLI arguments after `start --config F --control P`. */
  extraArgs?: string[];
}

export class Gateway {
  readonly name: string;
  readonly ns: string;
  readonly configPath: string;
  readonly controlPath: string;
  readonly process: ChildProcess;
  #log = "";
  readonly exited: Promise<number | null>;

  constructor(topo: Topology, o: GatewayOptions) {
    this.name = o.name;
    this.ns = o.ns;
    this.configPath = o.configPath;
    this.controlPath = o.controlPath;
    const [cmd, ...prefix] = o.command ?? defaultGatewayCommand();
    if (cmd === undefined) throw new Error("empty gateway command");
    this.process = topo.spawnIn(o.ns, cmd, [...prefix, "start", "--config", o.configPath, "--control", o.controlPath, ...(o.extraArgs ?? [])]);
    this.process.stdout?.on("data", (d) => (this.#log += String(d)));
    this.process.stderr?.on("data", (d) => (this.#log += String(d)));
    this.exited = new Promise((resolve) => {
      if (this.process.exitCode !== null) resolve(this.process.exitCode);
      this.process.once("exit", (code, signal) => resolve(code ?? (signal !== null ? -1 : null)));
    });
  }

  /** Everything the process wrote (JSON log lines and CLI messages). */
  get log(): string {
    return this.#log;
  }

  /** Last `n` lines of the log, for failure messages. */
  logTail(n = 30): string {
    return this.#log.trim().split("\n").slice(-n).join("\n");
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Waits until the control socket answers; throws (with the log tail) if the process exits or time runs out. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (code ${this.process.exitCode ?? this.process.signalCode}) before it was ready:\n${this.logTail()}`);
      if (existsSync(this.controlPath)) {
        try {
          await controlRequest(this.controlPath, { op: "stats" }, 2000);
          return;
        } catch (e) {
          if (!(e instanceof ControlClientError)) throw e;
        }
      }
      await sleep(100);
    }
    throw new Error(`${this.name} did not open its control socket within ${timeoutMs / 1000}s:\n${this.logTail()}`);
  }

  async listSas(): Promise<IkeSaStatus[]> {
    return controlRequest(this.controlPath, { op: "list-sas" });
  }

  /** Installed Child SAs (of every IKE SA). */
  async installedChildren(): Promise<ChildSaStatus[]> {
    const sas = await this.listSas();
    return sas.flatMap((s) => s.children.filter((c) => c.state === "INSTALLED"));
  }

  /** Waits until `predicate(list-sas)` holds; throws with the log tail on timeout. */
  async waitFor(what: string, predicate: (sas: IkeSaStatus[]) => boolean, timeoutMs = 20_000): Promise<IkeSaStatus[]> {
    const deadline = Date.now() + timeoutMs;
    let last: IkeSaStatus[] = [];
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while waiting for ${what}:\n${this.logTail()}`);
      try {
        last = await this.listSas();
        if (predicate(last)) return last;
      } catch (e) {
        if (!(e instanceof ControlClientError)) throw e;
      }
      await sleep(100);
    }
    throw new Error(`${this.name}: timed out after ${timeoutMs / 1000}s waiting for ${what}; list-sas: ${JSON.stringify(last.map((s) => ({ state: s.state, children: s.children.map((c) => c.state) })))}\n${this.logTail()}`);
  }

  /** Waits for at least one INSTALLED Child SA. */
  async waitTunnel(timeoutMs = 20_000): Promise<IkeSaStatus[]> {
    return this.waitFor("an installed Child SA", (sas) => sas.some((s) => s.state === "ESTABLISHED" && s.children.some((c) => c.state === "INSTALLED")), timeoutMs);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null/-1 when killed). */
  async stop(graceMs = 5000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once (a crash). */
  async kill(): Promise<void> {
    if (this.running) this.process.kill("SIGKILL");
    await this.exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
