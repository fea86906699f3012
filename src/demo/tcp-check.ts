import type { ChildProcess } from "node:child_process";
import type { Topology } from "../drivers/netns.js";

/**
 * An end-to-end TCP check through the tunnel: a small Node server in one host namespace hashes
 * what it receives (SHA-256) and answers with the digest; a client in the other namespace sends
 * random bytes, hashes what it sent and compares. Equal digests prove every byte went through
 * (ESP, decapsulation, TUN) intact; a reset or stall fails the transfer.
 *
 * Both sides are plain JavaScript run with `node -e`, so nothing but Node is needed in the
 * namespaces.
 */

const SERVER_JS = `
const net = require("node:net"), crypto = require("node:crypto");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const server = net.createServer((c) => {
  const h = crypto.createHash("sha256"); let n = 0;
  c.on("data", (d) => { h.update(d); n += d.length; });
  c.on("end", () => { const r = JSON.stringify({ bytes: n, sha256: h.digest("hex") }); c.end(r); process.stdout.write(r + "\\n"); server.close(); });
  c.on("error", (e) => { process.stderr.write("server: " + e.message + "\\n"); process.exit(1); });
});
server.listen(port, host, () => process.stdout.write("listening\\n"));
`;

const CLIENT_JS = `
const net = require("node:net"), crypto = require("node:crypto");
const [host, port, total, durationMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const h = crypto.createHash("sha256"); const chunk = 64 * 1024; let sent = 0; const t0 = Date.now(); let reply = "";
const c = net.connect({ host, port }, () => pump());
function pump() {
  while (sent < total) {
    if (durationMs > 0 && sent > total * (Date.now() - t0) / durationMs) { setTimeout(pump, 20); return; }
    const b = crypto.randomBytes(Math.min(chunk, total - sent)); h.update(b); sent += b.length;
    if (!c.write(b)) { c.once("drain", pump); return; }
  }
  c.end();
}
c.on("data", (d) => { reply += d; });
c.on("end", () => {
  const ms = Date.now() - t0; const mine = h.digest("hex"); let theirs = {};
  try { theirs = JSON.parse(reply); } catch {}
  process.stdout.write(JSON.stringify({ bytes: sent, sha256: mine, received: theirs.bytes, receivedSha256: theirs.sha256, ms }) + "\\n");
  process.exit(theirs.sha256 === mine ? 0 : 3);
});
c.on("error", (e) => { process.stderr.write("client: " + e.message + "\\n"); process.exit(1); });
`;

export interface TcpTransferOptions {
  /** Namespace of the receiving server and its address (IPv4 or IPv6). */
  serverNs: string;
  serverAddress: string;
  /** Namespace of the sending client. */
  clientNs: string;
  /** Bytes to send. */
  bytes: number;
  /** TCP port (default 5001). */
  port?: number;
  /** Spread the bytes over this many milliseconds (0 = as fast as possible). */
  paceMs?: number;
  /** Give up after this many milliseconds (default 60 000). */
  timeoutMs?: number;
}

export interface TcpTransferResult {
  ok: boolean;
  bytes: number;
  sha256: string;
  receivedBytes: number | undefined;
  receivedSha256: string | undefined;
  /** Milliseconds from connect to the server's digest. */
  ms: number;
  /** Client/server error text when not ok. */
  error: string | undefined;
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => (out += String(d)));
  child.stderr?.on("data", (d) => (err += String(d)));
  return { out: () => out, err: () => err };
}

/** Runs one transfer; never throws for a failed transfer (ok: false with the error). */
export async function tcpTransfer(topo: Topology, o: TcpTransferOptions): Promise<TcpTransferResult> {
  const port = String(o.port ?? 5001);
  const server = topo.spawnIn(o.serverNs, process.execPath, ["-e", SERVER_JS, o.serverAddress, port]);
  const s = collect(server);
  const fail = (error: string): TcpTransferResult => ({ ok: false, bytes: 0, sha256: "", receivedBytes: undefined, receivedSha256: undefined, ms: 0, error });
  try {
    const listening = await new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (s.out().includes("listening")) resolve(true);
      };
      server.stdout?.on("data", check);
      server.once("exit", () => resolve(false));
      setTimeout(() => resolve(false), 10_000).unref();
    });
    if (!listening) return fail(`TCP server did not start: ${s.err().trim()}`);
    const client = topo.spawnIn(o.clientNs, process.execPath, ["-e", CLIENT_JS, o.serverAddress, port, String(o.bytes), String(o.paceMs ?? 0)]);
    const c = collect(client);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        client.kill("SIGKILL");
        resolve(null);
      }, o.timeoutMs ?? 60_000);
      timer.unref();
      client.once("exit", (n) => {
        clearTimeout(timer);
        resolve(n);
      });
    });
    const line = c.out().trim().split("\n").pop() ?? "";
    let parsed: { bytes?: number; sha256?: string; received?: number; receivedSha256?: string; ms?: number } = {};
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      // no result line: the client failed before the end (error text below)
    }
    const ok = code === 0 && parsed.sha256 !== undefined && parsed.sha256 === parsed.receivedSha256;
    return {
      ok,
      bytes: parsed.bytes ?? 0,
      sha256: parsed.sha256 ?? "",
      receivedBytes: parsed.received,
      receivedSha256: parsed.receivedSha256,
      ms: parsed.ms ?? 0,
      error: ok ? undefined : code === null ? "transfer timed out" : `client exit ${code}: ${(c.err() + s.err()).trim() || "digest mismatch"}`,
    };
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
  }
}
