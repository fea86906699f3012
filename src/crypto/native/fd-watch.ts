import type { NativeAddon } from "./addon.js";

/**
 * Readiness of a non-blocking fd (the TUN device) on Node's own event loop, from the native addon
 * (native/fd_watch.c). It lives beside the crypto fast path because it is the same optional addon;
 * only drivers use it.
 *
 * Why: waiting in poll(2) on a worker thread costs a thread hop per idle period; under a busy
 * machine that hop added milliseconds to every wake-up (bench/tunnel.ts, docs/performance.md).
 * A uv_poll handle is in libuv's epoll set like a socket, and its callback runs on the JS thread.
 */

/** A running watch. */
export interface ReadableWatch {
  /** Stops watching (idempotent). */
  close(): void;
}

/**
 * `watch(fd, onReadable)`: calls `onReadable()` on the JS thread whenever `fd` is readable (level
 * triggered: again on the next loop iteration while data remains). `onError(status)` gets libuv
 * errors (negative codes); the watch keeps running unless closed.
 */
export type ReadableWatcher = (fd: number, onReadable: () => void, onError?: (status: number) => void) => ReadableWatch;

/** The watcher backed by `addon`, or undefined without an addon (the driver keeps its own poll). */
export function nativeReadableWatcher(addon: NativeAddon | undefined): ReadableWatcher | undefined {
  if (addon === undefined) return undefined;
  return (fd, onReadable, onError) => {
    const handle = addon.watchReadable(fd, (status) => {
      if (status < 0) onError?.(status);
      else onReadable();
    });
    let open = true;
    return {
      close(): void {
        if (!open) return;
        open = false;
        addon.unwatch(handle);
      },
    };
  };
}
