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

/** How long a line may wait for others to share its write(2), ms. */
const BATCH_MS = 20;
/** Pending text that is written at once rather than waiting, bytes. */
const BATCH_BYTES = 16_384;

/**
 * stderr with the lines of BATCH_MS written by one synchronous write(2). One write per line cost
 * 9-11% of the IKE responder's CPU (an IKE SA setup logs about five lines, and each write to a
 * pipe wakes its reader; docs/performance.md); pino's asynchronous mode still cost ~6% (about
 * two writes per burst plus a thread-pool hop each). Lines at level error and above are written
 * at once, with what precedes them; whatever is pending is written when the process exits (also
 * on an uncaught exception or process.exit). So lines keep their order and none is lost, and a
 * line is at most BATCH_MS late.
 */
class BatchedDestination {
  // pino sets lastLevel before each write when a stream asks for it.
  readonly [pino.symbols.needsMetadataGsym] = true;
  lastLevel = 0;
  readonly #out: ReturnType<typeof pino.destination>;
  #pending: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(fd: number) {
    this.#out = pino.destination({ dest: fd, sync: true });
    if (pendingAtExit.size === 0) process.once("exit", () => { for (const d of pendingAtExit) d.flush(); });
    pendingAtExit.add(this);
  }

  write(line: string): void {
    this.#pending.push(line);
    this.#bytes += line.length;
    if (this.lastLevel >= (pino.levels.values.error ?? 50) || this.#bytes >= BATCH_BYTES) {
      this.flush();
    } else if (this.#timer === undefined) {
      // unref: a pending line never keeps the process alive; the exit handler writes it.
      this.#timer = setTimeout(() => this.flush(), BATCH_MS).unref();
    }
  }

  /** Writes what is pending now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#bytes = 0;
    this.#out.write(text);
  }
}

const pendingAtExit = new Set<BatchedDestination>();

let isoTimeMs = Number.NaN;
let isoTimeText = "";
/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`) formatted once per millisecond: an IKE SA setup logs
 * about five lines within the same millisecond or two, and `toISOString` per line showed in the
 * responder's profile.
 */
function cachedIsoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeText;
}

/**
 * Writes every pending line now. The daemon calls it before a control answer leaves, so an
 * operator (or a test) who sees a state change on the control socket finds its log lines already
 * on stderr, as with unbuffered writes.
 */
export function flushLogs(): void {
  for (const d of pendingAtExit) d.flush();
}

/** Builds the root logger and one child per subsystem. */
export function createLoggers(options: LogOptions): Loggers {
  const dest = options.destination ?? 2;
  const stream = typeof dest === "number" ? new BatchedDestination(dest) : dest;
  const root = pino({ level: "trace", base: { pid: process.pid }, timestamp: cachedIsoTime }, stream);
  const levelOf = (s: LogSubsystem): LogLevel => options.override ?? options.levels.subsystems[s] ?? options.levels.default;
  const out = { root } as Loggers;
  for (const s of LOG_SUBSYSTEMS) out[s] = root.child({ subsys: s }, { level: levelOf(s) });
  return out;
}

/** Re-applies levels (after a reload). */
export function setLevels(loggers: Loggers, levels: LogLevels, override?: LogLevel): void {
  for (const s of LOG_SUBSYSTEMS) loggers[s].level = override ?? levels.subsystems[s] ?? levels.default;
}
