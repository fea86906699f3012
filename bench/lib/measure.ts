/**
 * Shared helpers of the benchmarks: timing loops, `openssl speed` as the reference, the machine
 * description every table carries, and the JSON writer for bench/results/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

/** CPU time (user + system) this process used so far, in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs `step` (which does `perStep` operations) for `runMs` of this process's CPU time after a
 * warm-up; returns operations per CPU-second. CPU time, not wall time, because `openssl speed`
 * (the reference) counts user CPU time too, and the machines are shared: a neighbour's load
 * stretches wall time but not the CPU time a loop needs.
 */
export function rate(step: () => void, runMs = 300, perStep = 1): number {
  for (let i = 0; i < 200; i++) step(); // warm-up: JIT, OpenSSL contexts
  let n = 0;
  const t0 = cpuMs();
  let t = t0;
  while (t - t0 < runMs) {
    for (let i = 0; i < 64; i++) step();
    n += 64;
    t = cpuMs();
  }
  return (n * perStep * 1000) / (t - t0);
}

/** `openssl speed -evp <cipher> -bytes <size> -seconds <s> -mr` in bytes per second, or undefined. */
export function opensslSpeed(cipher: string, size: number, seconds = 1): number | undefined {
  try {
    const out = execFileSync("openssl", ["speed", "-evp", cipher, "-bytes", String(size), "-seconds", String(seconds), "-mr"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const line = out.split("\n").find((l) => l.startsWith("+F:"));
    const v = line ? Number(line.split(":").pop()) : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly openssl: string;
  readonly loadAverage: string;
}

/** What ran where: every table in docs/performance.md carries this. */
export function machine(): Machine {
  let load = "";
  try {
    load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    load = "n/a";
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    node: process.version,
    openssl: process.versions.openssl ?? "unknown",
    loadAverage: load,
  };
}

/** Writes `data` as bench/results/<name>-<timestamp>.json; returns the path. */
export function writeResult(name: string, data: unknown): string {
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
