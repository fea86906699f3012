/**
 * The daemon's control socket: a Unix domain socket (mode 0600, so only its owner, normally
 * root, may steer the daemon) speaking the newline-delimited JSON of protocol.ts.
 *
 * Robustness: a malformed line gets a `bad-request` response and the connection stays open; an
 * over-long line gets one and the connection is closed; a handler that throws gets `internal`
 * (or its ControlError code); a handler that does not settle within the timeout gets `timeout`.
 * Nothing a client sends can stop the server.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import {
  ControlError,
  MAX_REQUEST_LINE_BYTES,
  parseRequestFrame,
  type ControlErrorBody,
  type ControlHandler,
  type ControlRequest,
  type ControlResponseFrame,
} from "./protocol.js";

export interface ControlServerOptions {
  /** Milliseconds a handler call may take before the client gets a `timeout` error (default 10000). */
  requestTimeoutMs?: number;
  /** Called with a line about each server-side problem (a handler exception, a bad client). */
  onError?: (message: string) => void;
}

export interface ControlServer {
  readonly path: string;
  /** Stops listening, closes client connections and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Listens on `path` and answers each request with `handler`. Creates the parent directory (mode
 * 0700) if missing. Removes a stale socket left by a crashed daemon, but refuses (rejects) when a
 * live daemon answers on `path` or when `path` exists and is not a socket.
 */
export async function startControlServer(path: string, handler: ControlHandler, options: ControlServerOptions = {}): Promise<ControlServer> {
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const onError = options.onError ?? ((): void => undefined);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  await removeStaleSocket(path);

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, handler, timeoutMs, onError);
  });
  server.on("error", (e) => onError(`control socket ${path}: ${e.message}`));

  // Create the socket file with mode 0600 from the start (umask), not 0755-then-chmod: no window
  // in which another user could connect.
  // (process.umask cannot be set in a worker thread; there the chmod below is the only guard.)
  let oldUmask: number | undefined;
  try {
    oldUmask = process.umask(0o177);
  } catch {
    oldUmask = undefined;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onListenError = (e: Error): void => reject(e);
      server.once("error", onListenError);
      server.listen(path, () => {
        server.off("error", onListenError);
        resolve();
      });
    });
  } finally {
    if (oldUmask !== undefined) process.umask(oldUmask);
  }
  chmodSync(path, 0o600);

  let closed = false;
  return {
    path,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(path);
      } catch {
        // Already gone (server.close removes it on some platforms): nothing to clean.
      }
    },
  };
}

/**
 * Makes sure `path` is free for a new control socket: a stale socket file (its daemon died) is
 * removed; rejects when a live daemon answers on it or `path` is not a socket. The daemon calls
 * it before touching the namespace (TUN, routes), so a second daemon fails without side effects.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // no file: nothing to remove
  }
  if (!isSocket) throw new Error(`control socket path ${path} exists and is not a socket; remove it or choose another with --control PATH`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`another tsipsec daemon is listening on ${path}; stop it, or give this one its own socket with --control PATH`);
  unlinkSync(path);
}

function serveConnection(socket: Socket, handler: ControlHandler, timeoutMs: number, onError: (m: string) => void): void {
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("error", () => {
    // The client went away (EPIPE, ECONNRESET): nothing to answer.
  });
  const send = (frame: ControlResponseFrame): void => {
    if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(frame)}\n`);
  };
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const nl = buffer.indexOf("\n");
      if (nl < 0) break;
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim() !== "") void answer(line, handler, timeoutMs, onError).then(send);
    }
    if (Buffer.byteLength(buffer, "utf8") > MAX_REQUEST_LINE_BYTES) {
      send({ id: null, ok: false, error: { code: "bad-request", message: `request line longer than ${MAX_REQUEST_LINE_BYTES} bytes` } });
      buffer = "";
      socket.end();
    }
  });
}

/** Parses one request line, runs the handler with a timeout, and builds the response frame. */
async function answer(line: string, handler: ControlHandler, timeoutMs: number, onError: (m: string) => void): Promise<ControlResponseFrame> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { id: null, ok: false, error: { code: "bad-request", message: "request is not valid JSON (one JSON object per line)" } };
  }
  const parsed = parseRequestFrame(value);
  if (!parsed.ok) return { id: parsed.id, ok: false, error: { code: "bad-request", message: parsed.message } };
  const { id, ...request } = parsed.frame;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ControlError("timeout", `the daemon did not answer "${request.op}" within ${timeoutMs} ms`)), timeoutMs);
    });
    const result = await Promise.race([dispatch(handler, request), timeout]);
    return { id, ok: true, result };
  } catch (e) {
    let body: ControlErrorBody;
    if (e instanceof ControlError) {
      body = e.toBody();
    } else {
      const message = e instanceof Error ? e.message : String(e);
      onError(`control request "${request.op}" failed: ${message}`);
      body = { code: "internal", message: `internal error while handling "${request.op}": ${message}` };
    }
    return { id, ok: false, error: body };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Calls the handler method for the request's op (an exhaustive switch keeps the types exact). */
async function dispatch(handler: ControlHandler, req: ControlRequest): Promise<unknown> {
  switch (req.op) {
    case "up":
      return handler.up(req);
    case "down":
      return handler.down(req);
    case "rekey":
      return handler.rekey(req);
    case "list-sas":
      return handler["list-sas"](req);
    case "list-conns":
      return handler["list-conns"](req);
    case "stats":
      return handler.stats(req);
    case "reload":
      return handler.reload(req);
  }
}
