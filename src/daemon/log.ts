import { pino, type Logger } from "pino";
import { LOG_SUBSYSTEMS, type LogLevel, type LogLevels, type LogSubsystem } from "../config/index.js";

/**
 * Structured logging for the daemon: pino, one JSON line per event on stderr, with a `subsys`
 * field (ike, child, net, cfg, enc, esp, tun, control, daemon) and a level per subsystem
 * (`daemon.log_level: { default: info, ike: debug }`).
 *
 * Keys never reach a line: nothing here is handed key material, and `Secret` renders itself as
 * `Secret(n bytes)` should one slip into a field.
 */
export type Loggers = Record<LogSubsystem, Logger> & { root: Logger };

export interface LogOptions {
  levels: LogLevels;
  /** `--log-level` override: applies to every subsystem. */
  override?: LogLevel | undefined;
  /** Destination file descriptor (default 2, stderr) or a pino destination stream. */
  destination?: number | NodeJS.WritableStream;
}

/** Builds the root logger and one child per subsystem. */
export function createLoggers(options: LogOptions): Loggers {
  const dest = options.destination ?? 2;
  // Asynchronous writes: a line is handed to the kernel off the event loop, and the lines of one
  // burst (an IKE exchange logs several) go out in one write while the previous one is in
  // flight. Synchronous writes cost 9-11% of the IKE responder's CPU (one write(2) per line,
  // docs/performance.md). pino flushes what is buffered synchronously on process exit
  // (including an uncaught exception), so no line, fatal or error ones included, is lost.
  const stream = typeof dest === "number" ? pino.destination({ dest, sync: false }) : dest;
  const root = pino({ level: "trace", base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const levelOf = (s: LogSubsystem): LogLevel => options.override ?? options.levels.subsystems[s] ?? options.levels.default;
  const out = { root } as Loggers;
  for (const s of LOG_SUBSYSTEMS) out[s] = root.child({ subsys: s }, { level: levelOf(s) });
  return out;
}

/** Re-applies levels (after a reload). */
export function setLevels(loggers: Loggers, levels: LogLevels, override?: LogLevel): void {
  for (const s of LOG_SUBSYSTEMS) loggers[s].level = override ?? levels.subsystems[s] ?? levels.default;
}
