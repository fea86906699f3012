import { execFile, execFileSync } from "node:child_process";

/**
 * A thin wrapper over the `ip` command of iproute2 (and other helper commands), used by the
 * namespace topology builder and the TUN driver for links, addresses and routes.
 *
 * Why a command and not netlink: the daemon configures a handful of routes per Child SA, and
 * `ip` is present wherever Linux networking is; a netlink client would be more code to trust.
 */

/** Thrown when a command exits non-zero; carries the command line, exit code and stderr. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`\`${[command, ...args].join(" ")}\` failed (exit ${exitCode ?? "signal"}): ${stderr.trim() || "(no message)"}`);
  }
}

/** Thrown when a required program is not installed; the message says which package provides it. */
export class MissingCommandError extends Error {
  override readonly name = "MissingCommandError";
  constructor(readonly command: string, readonly debianPackage: string) {
    super(`the \`${command}\` command was not found: install it (Debian/Ubuntu: apt-get install ${debianPackage})`);
  }
}

/** Result of a finished command. `code` is the exit status (null when killed by a signal). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Resolve with a non-zero code instead of throwing CommandError. */
  allowFailure?: boolean;
  /** Kill the command after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  input?: string | Uint8Array;
  /** Environment of the command (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Debian package providing common commands, for {@link MissingCommandError}. */
const PACKAGE_OF: Record<string, string> = {
  ip: "iproute2",
  ping: "iputils-ping",
  tcpdump: "tcpdump",
  iperf3: "iperf3",
  sysctl: "procps",
};

/**
 * Runs `command args` without a shell. Resolves with its output; rejects with CommandError on a
 * non-zero exit (unless allowFailure) and MissingCommandError when the program does not exist.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: "utf8", ...(options.env !== undefined ? { env: options.env } : {}) },
      (err, stdout, stderr) => {
        if (err !== null) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") {
            reject(new MissingCommandError(command, PACKAGE_OF[command] ?? command));
            return;
          }
          const exitCode = typeof code === "number" ? code : child.exitCode;
          if (options.allowFailure === true) {
            resolve({ code: exitCode ?? null, stdout, stderr });
            return;
          }
          reject(new CommandError(command, args, exitCode ?? null, stderr));
          return;
        }
        resolve({ code: 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Synchronous twin of {@link run} for cleanup paths (exit handlers cannot await). Never throws. */
export function runSyncQuiet(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, [...args], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** `ip args...` (iproute2). */
export function ip(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return run("ip", args, options);
}

/** True when the `ip` command can be run. */
export async function hasIpCommand(): Promise<boolean> {
  try {
    await run("ip", ["-V"]);
    return true;
  } catch {
    return false;
  }
}
