/**
 * The CLI side of the control socket: connect, send one request line, wait for the response with
 * the same id, close.
 */
import { createConnection } from "node:net";
import { ControlError, type ControlOp, type ControlRequest, type ControlResponseFrame, type ControlResults } from "./protocol.js";

/** Why a request could not even get an answer from a daemon. */
export type ControlClientFailure = "not-running" | "permission" | "timeout" | "protocol";

/** The daemon could not be reached or answered something that is not the protocol. */
export class ControlClientError extends Error {
  readonly kind: ControlClientFailure;

  constructor(kind: ControlClientFailure, message: string) {
    super(message);
    this.name = "ControlClientError";
    this.kind = kind;
  }
}

let nextId = 1;

/**
 * Longer than the server's default handler timeout (10 s), so a slow operation is reported by the
 * daemon ("did not answer \"up\" within ...") rather than cut off by the client.
 */
export const DEFAULT_CLIENT_TIMEOUT_MS = 15_000;

/**
 * Sends `req` to the daemon listening on `path` and resolves to the op's result.
 * Rejects with a {@link ControlError} when the daemon answered with an error (its code and
 * message), or a {@link ControlClientError} when there is no daemon at `path` (`not-running`:
 * "no tsipsec daemon at PATH (start one with tsipsec start --config FILE)"), the socket is not
 * ours to use (`permission`), no answer came within `timeoutMs` (`timeout`), or the answer was
 * not a response frame (`protocol`).
 */
export function controlRequest<K extends ControlOp>(path: string, req: Extract<ControlRequest, { op: K }>, timeoutMs = DEFAULT_CLIENT_TIMEOUT_MS): Promise<ControlResults[K]> {
  const id = nextId++;
  return new Promise<ControlResults[K]>((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = "";
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      f();
    };
    const timer = setTimeout(
      () => finish(() => reject(new ControlClientError("timeout", `the tsipsec daemon at ${path} did not answer within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify({ ...req, id })}\n`));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      finish(() => {
        if (e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "ENOTSOCK") {
          reject(new ControlClientError("not-running", `no tsipsec daemon at ${path} (start one with tsipsec start --config FILE)`));
        } else if (e.code === "EACCES" || e.code === "EPERM") {
          reject(new ControlClientError("permission", `permission denied on ${path}: the control socket belongs to the daemon's user (usually root)`));
        } else {
          reject(new ControlClientError("not-running", `cannot reach the tsipsec daemon at ${path}: ${e.message}`));
        }
      });
    });
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let frame: ControlResponseFrame;
        try {
          frame = JSON.parse(line) as ControlResponseFrame;
        } catch {
          finish(() => reject(new ControlClientError("protocol", `the process at ${path} answered something that is not JSON; is it a tsipsec daemon?`)));
          return;
        }
        if (typeof frame !== "object" || frame === null || typeof frame.ok !== "boolean") {
          finish(() => reject(new ControlClientError("protocol", `the process at ${path} answered something that is not a tsipsec response`)));
          return;
        }
        if (frame.id !== id && frame.id !== null) continue; // not ours (cannot happen on a private connection)
        if (frame.ok) {
          const result = frame.result as ControlResults[K];
          finish(() => resolve(result));
        } else {
          const { code, message, details } = frame.error;
          finish(() => reject(new ControlError(code, message, details)));
        }
        return;
      }
    });
    socket.on("close", () => {
      finish(() => reject(new ControlClientError("protocol", `the tsipsec daemon at ${path} closed the connection without answering`)));
    });
  });
}
