/**
 * API
 *   quietOnBrokenPipe(stream: EventEmitter, onBrokenPipe: () => void): void
 *
 * `tsipsec list-sas | head -1` closes the pipe while the CLI still writes: Node then emits an
 * `error` event (EPIPE) on stdout, which unhandled prints a stack trace and exits 1. A reader
 * that has seen enough is no failure of ours, so EPIPE ends the CLI quietly (`onBrokenPipe`);
 * other write errors are rethrown, as before.
 */
import type { EventEmitter } from "node:events";

export function quietOnBrokenPipe(stream: EventEmitter, onBrokenPipe: () => void): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") {
      onBrokenPipe();
      return;
    }
    throw err;
  });
}
