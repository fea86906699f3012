/**
 * The control socket (src/control/): newline-delimited JSON over a real Unix domain socket in a
 * temp dir. The server must answer every request, survive every bad one, and be private (0600).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlClientError, controlRequest } from "../../src/control/client.js";
import { ControlError, MAX_REQUEST_LINE_BYTES, parseRequestFrame, type ControlHandler, type ControlRequest, type IkeSaStatus, type Stats } from "../../src/control/protocol.js";
import { startControlServer, type ControlServer } from "../../src/control/server.js";

const SA: IkeSaStatus = {
  id: 1,
  connection: "site-a",
  state: "ESTABLISHED",
  version: 2,
  initiator: true,
  spiI: "0123456789abcdef",
  spiR: "fedcba9876543210",
  local: { id: "192.0.2.1", address: "192.0.2.1", port: 500, behindNat: false },
  remote: { id: "192.0.2.2", address: "192.0.2.2", port: 500, behindNat: false },
  encr: "AES_GCM_16-256",
  prf: "PRF_HMAC_SHA2_384",
  ke: "ECP_384",
  establishedSecondsAgo: 12,
  rekeyInSeconds: 14188,
  children: [],
};

const STATS: Stats = {
  uptimeSeconds: 5,
  connections: 1,
  ikeSas: { total: 1, halfOpen: 0, established: 1 },
  childSas: { installed: 1 },
  ike: { messagesIn: 4, messagesOut: 4, retransmits: 0, invalid: 0 },
  esp: { packetsIn: 10, packetsOut: 11, bytesIn: 1000, bytesOut: 1100 },
  drops: { replay: 0 },
};

/** A handler that records what it was asked and answers from fixtures. */
function fakeHandler(seen: ControlRequest[]): ControlHandler {
  const known = (conn: string): void => {
    if (conn !== "site-a") throw new ControlError("unknown-connection", `no connection named "${conn}"; loaded: site-a`);
  };
  return {
    up: (r) => {
      seen.push(r);
      known(r.conn);
      return { message: `initiated ${r.conn}${r.child === undefined ? "" : `/${r.child}`}`, ikeSaIds: [1] };
    },
    down: (r) => {
      seen.push(r);
      known(r.conn);
      return { message: `closed ${r.conn}` };
    },
    rekey: (r) => {
      seen.push(r);
      known(r.conn);
      return { message: `rekeying ${r.conn}${r.ike === true ? " (IKE SA too)" : ""}` };
    },
    "list-sas": (r) => {
      seen.push(r);
      return [SA];
    },
    "list-conns": (r) => {
      seen.push(r);
      return [];
    },
    stats: async (r) => {
      seen.push(r);
      return STATS;
    },
    reload: (r) => {
      seen.push(r);
      if (r.config === "/bad.yaml") throw new ControlError("config-error", "config errors in /bad.yaml", ["connections.x.dpd_delay: invalid duration"]);
      if (r.config === "/crash.yaml") throw new Error("disk on fire");
      if (r.config === "/hang.yaml") return new Promise(() => undefined);
      return { message: "reloaded 1 connection", connections: ["site-a"] };
    },
  };
}

let dir: string;
let path: string;
let server: ControlServer | undefined;
let seen: ControlRequest[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsipsec-control-"));
  path = join(dir, "run", "control.sock");
  seen = [];
  server = await startControlServer(path, fakeHandler(seen), { requestTimeoutMs: 200 });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw lines on one connection and collects `n` response lines. */
function rawExchange(text: string, n: number): Promise<{ lines: unknown[]; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buf = "";
    const lines: unknown[] = [];
    socket.setEncoding("utf8");
    socket.on("error", reject);
    socket.on("connect", () => socket.write(text));
    socket.on("data", (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        if (lines.length === n) resolve({ lines, socket });
      }
    });
  });
}

describe("socket file", () => {
  it("is a socket with mode 0600 in a created directory", () => {
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it("is removed on close", async () => {
    await server?.close();
    server = undefined;
    expect(() => statSync(path)).toThrow();
  });

  it("a second daemon on the same path is refused", async () => {
    await expect(startControlServer(path, fakeHandler([]))).rejects.toThrow(/another tsipsec daemon is listening on .*--control PATH/);
  });

  it("a path that is not a socket is refused, not deleted", async () => {
    const file = join(dir, "not-a-socket");
    writeFileSync(file, "x");
    await expect(startControlServer(file, fakeHandler([]))).rejects.toThrow(/exists and is not a socket/);
    expect(statSync(file).isFile()).toBe(true);
  });

  it("a stale socket left by a killed daemon is replaced", async () => {
    const stale = join(dir, "stale.sock");
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(stale)}, () => console.log("up"))`]);
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise<void>((resolve) => child.once("exit", () => resolve()));
    expect(statSync(stale).isSocket()).toBe(true);
    const s2 = await startControlServer(stale, fakeHandler(seen));
    try {
      expect((await controlRequest(stale, { op: "stats" })).uptimeSeconds).toBe(5);
    } finally {
      await s2.close();
    }
  });
});

describe("round trips (one request, one response with the same id)", () => {
  it("up with a child", async () => {
    expect(await controlRequest(path, { op: "up", conn: "site-a", child: "net" })).toEqual({ message: "initiated site-a/net", ikeSaIds: [1] });
    expect(seen).toEqual([{ op: "up", conn: "site-a", child: "net" }]);
  });

  it("down, rekey --ike", async () => {
    expect((await controlRequest(path, { op: "down", conn: "site-a" })).message).toBe("closed site-a");
    expect((await controlRequest(path, { op: "rekey", conn: "site-a", ike: true })).message).toBe("rekeying site-a (IKE SA too)");
    expect(seen).toEqual([{ op: "down", conn: "site-a" }, { op: "rekey", conn: "site-a", ike: true }]);
  });

  it("list-sas, list-conns, stats (async handler), reload", async () => {
    expect(await controlRequest(path, { op: "list-sas" })).toEqual([SA]);
    expect(await controlRequest(path, { op: "list-conns" })).toEqual([]);
    expect(await controlRequest(path, { op: "stats" })).toEqual(STATS);
    expect(await controlRequest(path, { op: "reload" })).toEqual({ message: "reloaded 1 connection", connections: ["site-a"] });
  });

  it("an unknown connection comes back as a ControlError with its code", async () => {
    const e = await controlRequest(path, { op: "up", conn: "site-z" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ControlError);
    expect((e as ControlError).code).toBe("unknown-connection");
    expect((e as ControlError).message).toBe('no connection named "site-z"; loaded: site-a');
  });

  it("a config-error carries its details", async () => {
    const e = (await controlRequest(path, { op: "reload", config: "/bad.yaml" }).catch((x: unknown) => x)) as ControlError;
    expect(e.code).toBe("config-error");
    expect(e.details).toEqual(["connections.x.dpd_delay: invalid duration"]);
  });

  it("pipelined requests on one connection are each answered with their id", async () => {
    const { lines, socket } = await rawExchange('{"id":7,"op":"stats"}\n{"id":8,"op":"down","conn":"site-a"}\n', 2);
    socket.destroy();
    const byId = new Map((lines as { id: number }[]).map((l) => [l.id, l]));
    expect(byId.get(7)).toMatchObject({ ok: true, result: STATS });
    expect(byId.get(8)).toMatchObject({ ok: true, result: { message: "closed site-a" } });
  });
});

describe("bad requests never kill the server", () => {
  it("malformed JSON gets a bad-request response; the same connection then works", async () => {
    const { lines, socket } = await rawExchange('{"id":1,"op":\n{"id":2,"op":"stats"}\n', 2);
    socket.destroy();
    expect(lines[0]).toEqual({ id: null, ok: false, error: { code: "bad-request", message: "request is not valid JSON (one JSON object per line)" } });
    expect(lines[1]).toMatchObject({ id: 2, ok: true });
  });

  it.each([
    ['"just a string"', null, /JSON object/],
    ['{"op":"stats"}', null, /integer "id"/],
    ['{"id":3,"op":"explode"}', 3, /unknown op "explode"; known ops: up, down/],
    ['{"id":4,"op":"up"}', 4, /"conn" is required/],
    ['{"id":5,"op":"up","conn":""}', 5, /non-empty string/],
    ['{"id":6,"op":"stats","verbose":true}', 6, /unknown field\(s\) "verbose"/],
    ['{"id":7,"op":"rekey","conn":"site-a","ike":"yes"}', 7, /"ike" must be a boolean/],
  ])("%s -> bad-request", async (line, id, message) => {
    const { lines, socket } = await rawExchange(`${line}\n`, 1);
    socket.destroy();
    const r = lines[0] as { id: number | null; ok: boolean; error: { code: string; message: string } };
    expect(r.id).toBe(id);
    expect(r.ok).toBe(false);
    expect(r.error.code).toBe("bad-request");
    expect(r.error.message).toMatch(message);
    expect((await controlRequest(path, { op: "stats" })).connections).toBe(1);
  });

  it("a handler exception is answered as internal and the server keeps serving", async () => {
    const e = (await controlRequest(path, { op: "reload", config: "/crash.yaml" }).catch((x: unknown) => x)) as ControlError;
    expect(e.code).toBe("internal");
    expect(e.message).toMatch(/disk on fire/);
    expect((await controlRequest(path, { op: "list-sas" })).length).toBe(1);
  });

  it("a handler that never answers gets a timeout error", async () => {
    const e = (await controlRequest(path, { op: "reload", config: "/hang.yaml" }).catch((x: unknown) => x)) as ControlError;
    expect(e).toBeInstanceOf(ControlError);
    expect(e.code).toBe("timeout");
    expect((await controlRequest(path, { op: "stats" })).uptimeSeconds).toBe(5);
  });

  it("an over-long line is refused and that connection closed", async () => {
    const { lines, socket } = await rawExchange("x".repeat(MAX_REQUEST_LINE_BYTES + 10), 1);
    expect(lines[0]).toMatchObject({ ok: false, error: { code: "bad-request" } });
    await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once("close", () => resolve())));
    expect((await controlRequest(path, { op: "stats" })).uptimeSeconds).toBe(5);
  });

  it("a client that disconnects mid-request does not hurt", async () => {
    const socket = createConnection(path);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write('{"id":1,"op":"reload","config":"/hang.yaml"}\n');
    socket.destroy();
    expect((await controlRequest(path, { op: "stats" })).uptimeSeconds).toBe(5);
  });
});

describe("client errors", () => {
  it("no daemon: says where and how to start one", async () => {
    const missing = join(dir, "none.sock");
    const e = await controlRequest(missing, { op: "list-sas" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ControlClientError);
    expect((e as ControlClientError).kind).toBe("not-running");
    expect((e as ControlClientError).message).toBe(`no tsipsec daemon at ${missing} (start one with tsipsec start --config FILE)`);
  });

  it("a stale socket file with no process behind it is also not-running", async () => {
    const stale = join(dir, "stale2.sock");
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(stale)}, () => console.log("up"))`]);
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const e = (await controlRequest(stale, { op: "stats" }).catch((x: unknown) => x)) as ControlClientError;
    expect(e.kind).toBe("not-running");
  });
});

describe("parseRequestFrame", () => {
  it.each<[unknown, ControlRequest & { id: number }]>([
    [{ id: 1, op: "up", conn: "a" }, { id: 1, op: "up", conn: "a" }],
    [{ id: 1, op: "up", conn: "a", child: "c" }, { id: 1, op: "up", conn: "a", child: "c" }],
    [{ id: 2, op: "down", conn: "a" }, { id: 2, op: "down", conn: "a" }],
    [{ id: 3, op: "rekey", conn: "a", child: "c", ike: false }, { id: 3, op: "rekey", conn: "a", child: "c", ike: false }],
    [{ id: 4, op: "list-sas" }, { id: 4, op: "list-sas" }],
    [{ id: 5, op: "list-conns" }, { id: 5, op: "list-conns" }],
    [{ id: 6, op: "stats" }, { id: 6, op: "stats" }],
    [{ id: 7, op: "reload", config: "/etc/tsipsec.yaml" }, { id: 7, op: "reload", config: "/etc/tsipsec.yaml" }],
  ])("accepts %j", (input, frame) => {
    expect(parseRequestFrame(input)).toEqual({ ok: true, frame });
  });

  it.each([[null], [[1, 2]], [{ id: 1.5, op: "stats" }], [{ id: 1, op: "down" }], [{ id: 1, op: "up", conn: 5 }], [{ id: 1, op: "reload", config: 1 }]])("refuses %j", (input) => {
    expect(parseRequestFrame(input).ok).toBe(false);
  });
});
