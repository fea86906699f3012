import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { DEFAULTS, formatConfigError, LOG_LEVELS, type LogLevel, type TsipsecConfig } from "../config/index.js";
import { ControlClientError, controlRequest } from "../control/client.js";
import { describeConnections } from "../control/describe.js";
import { ControlError, type ActionResult, type ControlOp, type ControlRequest, type ControlResults } from "../control/protocol.js";
import { loadConfigFile } from "../drivers/config-file.js";
import { quietOnBrokenPipe } from "./broken-pipe.js";
import { formatListConns, formatListSas, formatStats } from "./format.js";
import { optionalExport } from "./optional-export.js";

/** Where the CLI writes; tests pass their own to capture output. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/**
 * What `tsipsec start` hands to `runDaemon` (src/daemon/daemon.ts): the already-checked config,
 * the file it came from (for `reload`), the control socket path (`--control` or the config's
 * `daemon.control_socket`) and the `--log-level` override, if any.
 */
export interface StartOptions {
  configPath: string;
  config: TsipsecConfig;
  controlPath: string;
  logLevel: LogLevel | undefined;
}

/** What `tsipsec demo` hands to `runDemo` (src/demo/demo.ts). */
export interface DemoOptions {
  /** Where a live demo's daemons put their control sockets, if the caller wants one; else the demo picks. */
  controlPath: string | undefined;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const DEFAULT_IO: CliIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/** Codes the daemon answers that mean the operator asked for something wrong (exit 2). */
const USAGE_CODES = new Set(["bad-request", "unknown-connection", "unknown-child", "config-error"]);

/**
 * The `tsipsec` command. A thin client: every verb but `start`, `check` and `demo` talks to a
 * running daemon over its control socket (src/control/).
 *
 * `argv` is `process.argv` (node, script, args...). Returns the process exit code: 0 success,
 * 1 runtime failure, 2 usage or configuration error.
 */
export async function main(argv: readonly string[], io: CliIo = DEFAULT_IO): Promise<number> {
  // A reader that closes the pipe early (`| head`) ends a client verb quietly; the daemon
  // (`start`) keeps its own handling of its log stream.
  if (io === DEFAULT_IO && argv[2] !== "start") quietOnBrokenPipe(process.stdout, () => process.exit(EXIT_OK));
  const program = new Command();
  program
    .name("tsipsec")
    .description("IPsec (IKEv2, ESP) VPN gateway in TypeScript")
    .version(packageVersion(), "-V, --version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: io.stderr, writeOut: io.stdout });

  let code = EXIT_OK;
  const fail = (exit: number, message: string): void => {
    io.stderr(`tsipsec: ${message}\n`);
    code = exit;
  };
  const controlOption = (): Option =>
    new Option("--control <path>", `control socket of the daemon to talk to (default: daemon.control_socket of --config FILE, else ${DEFAULTS.controlSocket})`);
  const configOption = (): Option => new Option("--config <file>", "the daemon's config file: talk to its daemon.control_socket");
  /** --control, else daemon.control_socket of --config FILE, else the default; undefined (and exit 2) when FILE does not load. */
  const controlOf = (opts: { control?: string; config?: string }): string | undefined => {
    if (opts.control !== undefined) return opts.control;
    if (opts.config === undefined) return DEFAULTS.controlSocket;
    const path = resolve(opts.config);
    const loaded = loadConfigFile(path);
    if (!loaded.ok) {
      fail(EXIT_USAGE, `config errors in ${path}:\n${loaded.errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`);
      return undefined;
    }
    return loaded.config.daemon.controlSocket;
  };

  /** Sends one request and maps failures to exit codes; returns undefined on failure. */
  const ask = async <K extends ControlOp>(control: string, req: Extract<ControlRequest, { op: K }>): Promise<ControlResults[K] | undefined> => {
    try {
      return await controlRequest<K>(control, req);
    } catch (e) {
      if (e instanceof ControlError) {
        fail(USAGE_CODES.has(e.code) ? EXIT_USAGE : EXIT_FAILURE, [e.message, ...(e.details ?? []).map((d) => `  ${d}`)].join("\n"));
      } else if (e instanceof ControlClientError) {
        fail(EXIT_FAILURE, e.message);
      } else {
        throw e;
      }
      return undefined;
    }
  };
  const printAction = (r: ActionResult | undefined): void => {
    if (r !== undefined) io.stdout(`${r.message}\n`);
  };
  const json = (v: unknown): void => io.stdout(`${JSON.stringify(v, null, 2)}\n`);

  /** `NAME` or `NAME/CHILD`. */
  const target = (spec: string): { conn: string; child?: string } | undefined => {
    const [conn, child, ...rest] = spec.split("/");
    if (conn === undefined || conn === "" || child === "" || rest.length > 0) {
      fail(EXIT_USAGE, `"${spec}" is not NAME or NAME/CHILD`);
      return undefined;
    }
    return child === undefined ? { conn } : { conn, child };
  };

  program
    .command("start")
    .description("run the daemon in the foreground with a config file")
    .requiredOption("--config <file>", "config file (YAML, swanctl.conf-style keys)")
    .addOption(new Option("--control <path>", "control socket path (default: daemon.control_socket of the config)"))
    .addOption(new Option("--log-level <level>", "log level for every subsystem").choices(LOG_LEVELS))
    .action(async (opts: { config: string; control?: string; logLevel?: LogLevel }) => {
      const configPath = resolve(opts.config);
      const loaded = loadConfigFile(configPath);
      if (!loaded.ok) {
        fail(EXIT_USAGE, `config errors in ${configPath}:\n${loaded.errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}`);
        return;
      }
      const runDaemon = await optionalExport<StartOptions>("../daemon/daemon.js", "runDaemon");
      if (runDaemon === undefined) {
        fail(EXIT_FAILURE, "the daemon is not available in this build (src/daemon/daemon.ts runDaemon)");
        return;
      }
      const options: StartOptions = {
        configPath,
        config: loaded.config,
        controlPath: opts.control ?? loaded.config.daemon.controlSocket,
        logLevel: opts.logLevel,
      };
      code = await runDaemon(options);
    });

  program
    .command("up")
    .description("bring up a connection (all its children, or just CHILD)")
    .argument("<name>", "NAME or NAME/CHILD")
    .addOption(controlOption())
    .addOption(configOption())
    .action(async (spec: string, opts: { control?: string; config?: string }) => {
      const t = target(spec);
      const control = t !== undefined ? controlOf(opts) : undefined;
      if (t !== undefined && control !== undefined) printAction(await ask(control, { op: "up", ...t }));
    });

  program
    .command("down")
    .description("close a connection's IKE SAs and their Child SAs")
    .argument("<name>", "connection name")
    .addOption(controlOption())
    .addOption(configOption())
    .action(async (name: string, opts: { control?: string; config?: string }) => {
      const control = controlOf(opts);
      if (control !== undefined) printAction(await ask(control, { op: "down", conn: name }));
    });

  program
    .command("rekey")
    .description("rekey a connection's Child SAs (or just CHILD); with --ike also its IKE SA")
    .argument("<name>", "NAME or NAME/CHILD")
    .option("--ike", "rekey the IKE SA too")
    .addOption(controlOption())
    .addOption(configOption())
    .action(async (spec: string, opts: { control?: string; config?: string; ike?: boolean }) => {
      const t = target(spec);
      if (t === undefined) return;
      const control = controlOf(opts);
      if (control === undefined) return;
      printAction(await ask(control, opts.ike === true ? { op: "rekey", ...t, ike: true } : { op: "rekey", ...t }));
    });

  /** A read-only listing verb: ask the daemon, print JSON or the swanctl-like text. */
  const listing = <K extends "list-sas" | "list-conns" | "stats">(op: K, description: string, format: (r: ControlResults[K]) => string): void => {
    program
      .command(op)
      .description(description)
      .option("--json", "machine-readable output")
      .addOption(controlOption())
      .addOption(configOption())
      .action(async (opts: { control?: string; config?: string; json?: boolean }) => {
        const control = controlOf(opts);
        if (control === undefined) return;
        const r = await ask(control, { op } as Extract<ControlRequest, { op: K }>);
        if (r === undefined) return;
        if (opts.json === true) json(r);
        else io.stdout(format(r));
      });
  };
  listing("list-sas", "list IKE SAs and their Child SAs (like swanctl --list-sas)", (r) => (r.length === 0 ? "no IKE SAs\n" : formatListSas(r)));
  listing("list-conns", "list the loaded connections (like swanctl --list-conns)", (r) => (r.length === 0 ? "no connections loaded\n" : formatListConns(r)));
  listing("stats", "daemon counters (like swanctl --stats)", formatStats);

  program
    .command("reload")
    .description("make the daemon re-read its config file (or FILE, once: a later plain reload reads the start file again); connections no longer configured have their SAs deleted")
    .option("--config <file>", "load this file instead of the one the daemon started with (and talk to its daemon.control_socket unless --control is given)")
    .addOption(controlOption())
    .action(async (opts: { control?: string; config?: string }) => {
      // The daemon checks FILE and reports its errors; a FILE that does not load here only loses its control_socket hint.
      let control = opts.control ?? DEFAULTS.controlSocket;
      if (opts.control === undefined && opts.config !== undefined) {
        const loaded = loadConfigFile(resolve(opts.config));
        if (loaded.ok) control = loaded.config.daemon.controlSocket;
      }
      const r = await ask(control, opts.config === undefined ? { op: "reload" } : { op: "reload", config: resolve(opts.config) });
      if (r !== undefined) io.stdout(`${r.message}\n`);
    });

  program
    .command("check")
    .description("validate a config file without starting anything; exit 2 on errors")
    .requiredOption("--config <file>", "config file to check")
    .option("--json", "machine-readable output")
    .addOption(controlOption())
    .action((opts: { config: string; json?: boolean }) => {
      const loaded = loadConfigFile(opts.config);
      if (!loaded.ok) {
        if (opts.json === true) json({ ok: false, errors: loaded.errors });
        else io.stderr(`${opts.config}: ${loaded.errors.length} error${loaded.errors.length === 1 ? "" : "s"}\n${loaded.errors.map((e) => `  ${formatConfigError(e)}`).join("\n")}\n`);
        code = EXIT_USAGE;
        return;
      }
      const conns = describeConnections(loaded.config);
      if (opts.json === true) {
        json({ ok: true, connections: conns });
      } else {
        const n = conns.length;
        io.stdout(`${opts.config}: OK, ${n} connection${n === 1 ? "" : "s"}, ${loaded.config.engine.secrets.length} secret${loaded.config.engine.secrets.length === 1 ? "" : "s"}\n`);
        io.stdout(formatListConns(conns));
      }
    });

  program
    .command("demo")
    .description("build a four-namespace site-to-site topology and run an encrypted tunnel through it")
    .addOption(new Option("--control <path>", "control socket path for the demo's gateway"))
    .action(async (opts: { control?: string }) => {
      const runDemo = await optionalExport<DemoOptions>("../demo/demo.js", "runDemo");
      if (runDemo === undefined) {
        fail(EXIT_FAILURE, "the demo is not available in this build (src/demo/demo.ts runDemo)");
        return;
      }
      const options: DemoOptions = { controlPath: opts.control, stdout: io.stdout, stderr: io.stderr };
      code = await runDemo(options);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw e;
  }
  return code;
}

/** The version in package.json (src/cli and dist/cli are both two levels below the package root). */
function packageVersion(): string {
  try {
    const pkg: unknown = createRequire(import.meta.url)("../../package.json");
    const v = (pkg as { version?: unknown }).version;
    return typeof v === "string" ? v : "unknown";
  } catch {
    return "unknown";
  }
}
