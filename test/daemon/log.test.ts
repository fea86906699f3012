import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { createLoggers } from "../../src/daemon/log.js";

// The daemon's loggers write asynchronously (src/daemon/log.ts): these run a real process, since
// what matters is what reaches fd 2 before the process is gone.
const VITE_NODE = resolve("node_modules/.bin/vite-node");
const LOG_MODULE = resolve("src/daemon/log.ts");

function runScript(body: string): { status: number | null; lines: Record<string, unknown>[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "tsipsec-log-test-"));
  try {
    const script = join(dir, "script.ts");
    writeFileSync(script, `import { createLoggers } from ${JSON.stringify(LOG_MODULE)};\nconst log = createLoggers({ levels: { default: "info", subsystems: {} } });\n${body}\n`);
    const r = spawnSync(VITE_NODE, [script], { encoding: "utf8", timeout: 60_000 });
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { status: r.status, lines, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("daemon log: one JSON line per event on stderr, nothing lost at exit", () => {
  it("a burst of lines followed by process.exit reaches stderr whole and in order", () => {
    const r = runScript(`for (let i = 0; i < 2000; i++) log.ike.info({ n: i }, "event");\nlog.daemon.error({ reason: "test" }, "last words");\nprocess.exit(3);`);
    expect(r.status).toBe(3);
    const events = r.lines.filter((l) => l.msg === "event");
    expect(events.map((l) => l.n)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(events.every((l) => l.subsys === "ike" && l.level === 30)).toBe(true);
    expect(r.lines.at(-1)).toMatchObject({ msg: "last words", subsys: "daemon", level: 50, reason: "test" });
  });

  it("a fatal line logged just before an uncaught exception is on stderr", () => {
    const r = runScript(`log.daemon.fatal({ err: "boom" }, "cannot start");\nthrow new Error("crash");`);
    expect(r.status).not.toBe(0);
    expect(r.lines.find((l) => l.msg === "cannot start")).toMatchObject({ level: 60, err: "boom" });
  });

  it("an error line is written at once, with the lines before it (SIGKILL right after loses neither)", () => {
    const r = runScript(`log.ike.info("before");\nlog.ike.error({ reason: "x" }, "failure");\nlog.ike.info("after");\nprocess.kill(process.pid, "SIGKILL");`);
    expect(r.status).toBeNull();
    expect(r.lines.map((l) => l.msg)).toEqual(["before", "failure"]);
  });

  it("levels below the subsystem's level are not written", () => {
    const r = runScript(`log.ike.debug("hidden");\nlog.ike.info("shown");`);
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => l.msg)).toEqual(["shown"]);
  });

  it("every line carries its own ISO 8601 time (formatted once per millisecond, never stale)", async () => {
    const out: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk.toString()); cb(); } });
    const log = createLoggers({ levels: { default: "info", subsystems: {} }, destination: sink });
    const before = Date.now();
    log.ike.info("a");
    log.ike.info("b");
    await new Promise((r) => setTimeout(r, 25));
    log.child.info("c");
    const after = Date.now();
    await new Promise((r) => setImmediate(r));
    const lines = out.join("").trim().split("\n").map((l) => JSON.parse(l) as { time: string; msg: string });
    expect(lines.map((l) => l.msg)).toEqual(["a", "b", "c"]);
    for (const l of lines) {
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(l.time)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(l.time)).toBeLessThanOrEqual(after);
    }
    expect(Date.parse((lines[2] as { time: string }).time) - Date.parse((lines[0] as { time: string }).time)).toBeGreaterThanOrEqual(20);
  });
});
