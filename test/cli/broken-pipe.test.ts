/**
 * `tsipsec list-sas | head -1`: the reader goes away, the next write to stdout fails with EPIPE.
 * The CLI must end quietly, as swanctl does, not with Node's "Unhandled 'error' event" trace.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { quietOnBrokenPipe } from "../../src/cli/broken-pipe.js";

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code, syscall: "write" });

describe("stdout closed by the reader (EPIPE)", () => {
  it("an EPIPE on the stream calls the quiet exit instead of throwing", () => {
    const stream = new EventEmitter();
    let exits = 0;
    quietOnBrokenPipe(stream, () => (exits += 1));
    expect(() => stream.emit("error", errno("EPIPE"))).not.toThrow();
    expect(exits).toBe(1);
  });

  it("any other write error still surfaces", () => {
    const stream = new EventEmitter();
    let exits = 0;
    quietOnBrokenPipe(stream, () => (exits += 1));
    expect(() => stream.emit("error", errno("EIO"))).toThrow("write EIO");
    expect(exits).toBe(0);
  });
});
