import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadNativeAddon, nativeReadableWatcher } from "../../src/crypto/native/index.js";

// native/fd_watch.c through src/crypto/native/fd-watch.ts: readiness of a non-blocking fd on the
// event loop (what the TUN driver waits on). A FIFO stands in for the TUN fd: both are
// non-blocking character streams that poll(2) reports readable.

const addon = loadNativeAddon();
const dirs: string[] = [];
const fds: number[] = [];

afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fifo(): { rd: number; wr: number } {
  const dir = mkdtempSync(join(tmpdir(), "tsipsec-fdwatch-"));
  dirs.push(dir);
  const path = join(dir, "fifo");
  execFileSync("mkfifo", [path]);
  const rd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const wr = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  fds.push(rd, wr);
  return { rd, wr };
}

function drain(fd: number): string {
  const buf = Buffer.alloc(4096);
  try {
    return buf.subarray(0, readSync(fd, buf)).toString();
  } catch {
    return ""; // EAGAIN
  }
}

describe("fd readiness on the event loop (native/fd_watch.c)", () => {
  it("without an addon there is no watcher: the driver keeps its own poll", () => {
    expect(nativeReadableWatcher(undefined)).toBeUndefined();
  });

  it("calls back once per write while open, nothing after close, and releases the loop", async () => {
    const watch = nativeReadableWatcher(addon);
    if (watch === undefined) throw new Error("native addon not built: run npm ci");
    const { rd, wr } = fifo();
    const seen: string[] = [];
    let resolveTwo: () => void = () => undefined;
    const two = new Promise<void>((r) => (resolveTwo = r));
    const w = watch(rd, () => {
      seen.push(drain(rd));
      if (seen.length === 2) resolveTwo();
    });
    writeSync(wr, "one");
    await new Promise((r) => setTimeout(r, 20));
    writeSync(wr, "two");
    await two;
    w.close();
    w.close(); // idempotent
    writeSync(wr, "three");
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["one", "two"]);
    expect(drain(rd)).toBe("three"); // still queued: nobody was called for it
  });

  it("is level-triggered: data left unread is reported again on the next loop iteration", async () => {
    const watch = nativeReadableWatcher(addon)!;
    const { rd, wr } = fifo();
    let calls = 0;
    const done = new Promise<void>((resolve) => {
      const w = watch(rd, () => {
        calls++;
        // Read one byte per callback: 3 bytes need 3 callbacks.
        const b = Buffer.alloc(1);
        try {
          readSync(rd, b);
        } catch {
          // EAGAIN cannot happen while readable; ignore
        }
        if (calls === 3) {
          w.close();
          resolve();
        }
      });
    });
    writeSync(wr, "abc");
    await done;
    expect(calls).toBe(3);
  });

  it("a bad fd or callback is a TypeError", () => {
    expect(() => addon!.watchReadable(-1, () => undefined)).toThrow(TypeError);
    expect(() => addon!.watchReadable(0, "x" as unknown as () => void)).toThrow(TypeError);
  });
});
