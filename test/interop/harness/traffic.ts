/**
 * Traffic checks between the two protected hosts of the site-to-site topology: ping, and a TCP
 * transfer of random bytes whose SHA-256 is compared on both ends. Both run inside the host
 * namespaces; the transfer uses this Node binary (no netcat needed).
 */
import type { Topology } from "../../../src/drivers/netns.js";

export interface PingResult {
  transmitted: number;
  received: number;
  output: string;
}

/** `ping -c COUNT` from namespace `fromNs` to `address`; never throws for loss. */
export async function ping(topology: Topology, fromNs: string, address: string, count = 3): Promise<PingResult> {
  const r = await topology.exec(fromNs, "ping", ["-n", "-c", String(count), "-i", "0.2", "-W", "2", address], { allowFailure: true, timeoutMs: 20_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output: r.stdout + r.stderr };
}

/**
 * Pings until one reply arrives (the first packets may trigger an SA install on a route that
 * is being set up), then `count` pings that should all come back. Two user-space ESP stacks on a
 * loaded 2-core CI machine can drop a packet now and then, so a run with a loss is repeated once;
 * the result is the first complete run, else the last one (callers assert all replies).
 */
export async function pingAfterWarmup(topology: Topology, fromNs: string, address: string, count = 3): Promise<PingResult> {
  for (let i = 0; i < 5; i++) {
    const w = await ping(topology, fromNs, address, 1);
    if (w.received === 1) break;
  }
  const first = await ping(topology, fromNs, address, count);
  if (first.received === count) return first;
  const second = await ping(topology, fromNs, address, count);
  return { ...second, output: `first run:\n${first.output}\nsecond run:\n${second.output}` };
}

const SERVER_JS = `
const net = require("node:net"); const crypto = require("node:crypto");
const [host, port] = [process.argv[1], Number(process.argv[2])];
const srv = net.createServer((s) => {
  const h = crypto.createHash("sha256"); let n = 0;
  s.on("data", (d) => { h.update(d); n += d.length; });
  s.on("end", () => { const out = JSON.stringify({ bytes: n, sha256: h.digest("hex") }); s.end(out); process.stdout.write(out + "\\n"); srv.close(); });
  s.on("error", (e) => { process.stderr.write(String(e)); process.exit(1); });
});
srv.listen(port, host, () => process.stdout.write("LISTENING\\n"));
setTimeout(() => { process.stderr.write("server timeout\\n"); process.exit(2); }, 30000).unref();
`;

const CLIENT_JS = `
const net = require("node:net"); const crypto = require("node:crypto");
const [host, port, size] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const data = crypto.randomBytes(size);
const sent = crypto.createHash("sha256").update(data).digest("hex");
const s = net.connect(port, host, () => { s.end(data); });
let reply = "";
s.on("data", (d) => { reply += d; });
s.on("end", () => { process.stdout.write(JSON.stringify({ sent, size, reply }) + "\\n"); });
s.on("error", (e) => { process.stderr.write(String(e) + "\\n"); process.exit(1); });
setTimeout(() => { process.stderr.write("client timeout\\n"); process.exit(2); }, 25000).unref();
`;

export interface TransferResult {
  ok: boolean;
  bytesSent: number;
  bytesReceived: number;
  sentSha256: string;
  receivedSha256: string;
  detail: string;
}

/**
 * Sends `size` random bytes over TCP from `clientNs` to `serverAddress:port` (a listener started in
 * `serverNs`) and compares SHA-256 on both ends.
 */
export async function tcpTransfer(topology: Topology, options: { serverNs: string; serverAddress: string; clientNs: string; port?: number; size?: number }): Promise<TransferResult> {
  const port = options.port ?? 5201;
  const size = options.size ?? 1 << 20;
  const server = topology.spawnIn(options.serverNs, process.execPath, ["-e", SERVER_JS, options.serverAddress, String(port)]);
  let serverOut = "";
  let serverErr = "";
  server.stdout?.on("data", (d: Buffer) => (serverOut += d.toString("utf8")));
  server.stderr?.on("data", (d: Buffer) => (serverErr += d.toString("utf8")));
  const serverExit = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  try {
    const deadline = Date.now() + 10_000;
    while (!serverOut.includes("LISTENING")) {
      if (server.exitCode !== null || Date.now() > deadline) {
        return { ok: false, bytesSent: size, bytesReceived: 0, sentSha256: "", receivedSha256: "", detail: `TCP server did not start: ${serverErr}` };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await topology.exec(options.clientNs, process.execPath, ["-e", CLIENT_JS, options.serverAddress, String(port), String(size)], { allowFailure: true, timeoutMs: 30_000 });
    await Promise.race([serverExit, new Promise((r) => setTimeout(r, 5000))]);
    let sent = "";
    let reply: { bytes?: number; sha256?: string } = {};
    try {
      const parsed = JSON.parse(c.stdout.trim()) as { sent: string; reply: string };
      sent = parsed.sent;
      reply = JSON.parse(parsed.reply) as { bytes: number; sha256: string };
    } catch {
      // reported below
    }
    const ok = c.code === 0 && sent !== "" && reply.sha256 === sent && reply.bytes === size;
    return {
      ok,
      bytesSent: size,
      bytesReceived: reply.bytes ?? 0,
      sentSha256: sent,
      receivedSha256: reply.sha256 ?? "",
      detail: `client exit ${c.code}: ${c.stdout.trim()} ${c.stderr.trim()} | server: ${serverOut.trim()} ${serverErr.trim()}`,
    };
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  }
}
