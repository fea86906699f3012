/**
 * controlRequest (src/control/client.ts) against processes that are not a well-behaved daemon:
 * each failure becomes a typed ControlClientError with an operator-readable message.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlClientError, controlRequest } from "../../src/control/client.js";

let dir: string;
let path: string;
let server: Server | undefined;
const sockets: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tsipsec-client-"));
  path = join(dir, "odd.sock");
});

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  if (server !== undefined) await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A socket server that reacts to the first request line with `onLine`. */
async function oddServer(onLine: (socket: Socket, line: string) => void): Promise<void> {
  server = createServer((socket) => {
    sockets.push(socket);
    let buf = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) onLine(socket, buf.slice(0, nl));
    });
  });
  await new Promise<void>((resolve) => server?.listen(path, () => resolve()));
}

async function failure(timeoutMs = 5000): Promise<ControlClientError> {
  const e = await controlRequest(path, { op: "stats" }, timeoutMs).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ControlClientError);
  return e as ControlClientError;
}

describe("controlRequest failures", () => {
  it("an answer that is not JSON: protocol", async () => {
    await oddServer((s) => s.write("HTTP/1.1 400 Bad Request\n"));
    const e = await failure();
    expect(e.kind).toBe("protocol");
    expect(e.message).toMatch(/not JSON; is it a tsipsec daemon\?/);
  });

  it("JSON that is not a response frame: protocol", async () => {
    await oddServer((s) => s.write('{"hello":"world"}\n'));
    expect((await failure()).kind).toBe("protocol");
  });

  it("closing without an answer: protocol", async () => {
    await oddServer((s) => s.end());
    const e = await failure();
    expect(e.kind).toBe("protocol");
    expect(e.message).toMatch(/closed the connection without answering/);
  });

  it("no answer at all: timeout", async () => {
    await oddServer(() => undefined);
    const e = await failure(100);
    expect(e.kind).toBe("timeout");
    expect(e.message).toBe(`the tsipsec daemon at ${path} did not answer within 100 ms`);
  });

  it("the request is one JSON line with an id and the op's fields", async () => {
    let received: unknown;
    await oddServer((s, line) => {
      received = JSON.parse(line);
      const id = (received as { id: number }).id;
      s.write(`${JSON.stringify({ id, ok: true, result: { message: "ok" } })}\n`);
    });
    expect(await controlRequest(path, { op: "rekey", conn: "site-a", child: "net", ike: true })).toEqual({ message: "ok" });
    expect(received).toMatchObject({ op: "rekey", conn: "site-a", child: "net", ike: true });
    expect(typeof (received as { id: unknown }).id).toBe("number");
  });
});
