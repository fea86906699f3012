/**
 * IKE load generator over real UDP (run by bench/ike-network.ts inside a namespace): COUNT
 * initiator engines (src/ike/, sans-IO) share one UDP socket on LOCAL:500 (and :4500), at most
 * CONCURRENCY exchanges in flight, each with its own identity (client-<i>.example) and IKE SPI;
 * responses are routed to their engine by the initiator SPI in the IKE header. Every setup is
 * IKE_SA_INIT + IKE_AUTH (PSK) with one Child SA. An initiator is dropped once its Child SA is
 * installed (the responder keeps its SAs; no DELETE is sent).
 *
 * Input: one JSON argument { local, remote, count, concurrency, psk, ike, esp, localTs, remoteTs, remoteId, idOffset? }.
 * Output: one JSON line { setups, failed, wallMs, firstMs, lastMs }.
 */
import dgram from "node:dgram";
import { seededRandom } from "../../src/crypto/random.js";
import { Secret } from "../../src/crypto/secret.js";
import type { ConnectionConfig, IkeOutput, UdpEndpoint } from "../../src/ike/api.js";
import { IkeEngine } from "../../src/ike/engine.js";
import { parseProposalString } from "../../src/ike/negotiation/proposals.js";
import { parseTs } from "../../src/ike/negotiation/traffic-selectors.js";

interface Args {
  local: string;
  remote: string;
  count: number;
  concurrency: number;
  psk: string;
  ike: string;
  esp: string;
  localTs: string;
  remoteTs: string;
  remoteId: string;
  timeoutMs: number;
  /** Added to every initiator's index in its identity (a warm-up run uses other identities than the measured one). */
  idOffset?: number;
}
const args = JSON.parse(process.argv[2] ?? "{}") as Args;

function config(i: number): ConnectionConfig {
  return {
    name: "gw",
    localAddrs: [args.local],
    remoteAddrs: [args.remote],
    localPort: 500,
    remotePort: 500,
    proposals: parseProposalString(args.ike, "ike"),
    encap: false,
    dpdDelaySeconds: 0,
    rekeyTimeSeconds: 0,
    fragmentation: false,
    fragmentSize: 1280,
    local: { auth: "psk", id: `client-${(args.idOffset ?? 0) + i}.example` },
    remote: { auth: "psk", id: args.remoteId },
    children: [
      {
        name: "net",
        localTs: [parseTs(args.localTs)],
        remoteTs: [parseTs(args.remoteTs)],
        espProposals: parseProposalString(args.esp, "esp"),
        mode: "tunnel",
        startAction: "none",
        rekeyTimeSeconds: 0,
        lifeTimeSeconds: 0,
        rekeyBytes: 0,
        lifeBytes: 0,
        rekeyPackets: 0,
        lifePackets: 0,
        replayWindow: 64,
        tfcPadding: false,
      },
    ],
    retransmit: { timeoutSeconds: 2, base: 1.8, tries: 4 },
  };
}

const sockets = new Map<number, dgram.Socket>();
const bySpi = new Map<string, IkeEngine>();
const spiOf = new Map<IkeEngine, string>();
let next = 0;
let done = 0;
let failed = 0;
const t0 = performance.now();
let firstMs = 0;
let lastMs = 0;
const now = (): number => performance.now();

function send(from: UdpEndpoint, to: UdpEndpoint, bytes: Uint8Array): void {
  const s = sockets.get(from.port) ?? sockets.get(500);
  if (s === undefined) return;
  // On 4500 an IKE message goes behind the 4-byte Non-ESP Marker (RFC 3948 s2.2).
  const payload = from.port === 500 ? bytes : Buffer.concat([Buffer.alloc(4), bytes]);
  s.send(payload, to.port, to.address);
}

function finish(e: IkeEngine, ok: boolean): void {
  const spi = spiOf.get(e);
  if (spi === undefined) return;
  spiOf.delete(e);
  bySpi.delete(spi);
  if (ok) {
    done++;
    if (done === 1) firstMs = now() - t0;
    lastMs = now() - t0;
  } else {
    failed++;
  }
  if (next < args.count) start();
  else if (spiOf.size === 0) end();
}

function drain(e: IkeEngine): void {
  let o: IkeOutput | undefined;
  while ((o = e.pollOutput()) !== undefined) {
    if (o.kind === "transmit") {
      if (!spiOf.has(e)) {
        const spi = Buffer.from(o.bytes.subarray(0, 8)).toString("hex");
        spiOf.set(e, spi);
        bySpi.set(spi, e);
      }
      send(o.from, o.to, o.bytes);
    } else if (o.kind === "installChildSa") {
      finish(e, true);
      return;
    } else if (o.kind === "ikeSaClosed") {
      finish(e, false);
      return;
    }
  }
}

function start(): void {
  const i = next++;
  const e = new IkeEngine({ connections: [config(i)], secrets: [{ ids: [], secret: Secret.fromUtf8(args.psk) }], cookieThreshold: 1_000_000, halfOpenTimeoutSeconds: 60 }, seededRandom(`loadgen-${i}-${process.pid}`), now());
  e.initiate(now(), "gw");
  drain(e);
}

let ended = false;
function end(): void {
  if (ended) return;
  ended = true;
  clearInterval(timer);
  clearTimeout(deadline);
  process.stdout.write(`${JSON.stringify({ setups: done, failed, wallMs: now() - t0, firstMs, lastMs })}\n`);
  for (const s of sockets.values()) s.close();
}

function onMessage(port: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
  let bytes: Uint8Array = msg;
  if (port !== 500) {
    if (msg.length < 4 || msg.readUInt32BE(0) !== 0) return; // ESP or keepalive: not ours
    bytes = msg.subarray(4);
  }
  if (bytes.length < 28) return;
  const e = bySpi.get(Buffer.from(bytes.subarray(0, 8)).toString("hex"));
  if (e === undefined) return;
  e.handleDatagram(now(), { local: { address: args.local, port }, remote: { address: rinfo.address, port: rinfo.port }, bytes: new Uint8Array(bytes) });
  drain(e);
}

const timer = setInterval(() => {
  const t = now();
  for (const e of [...spiOf.keys()]) {
    const d = e.nextDeadline();
    if (d !== undefined && d <= t) {
      e.handleTimeout(t);
      drain(e);
    }
  }
}, 100);
const deadline = setTimeout(end, args.timeoutMs);

async function bind(port: number): Promise<void> {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  s.on("message", (m, r) => onMessage(port, m, r));
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind({ address: args.local, port, exclusive: true }, () => resolve());
  });
  sockets.set(port, s);
}

await bind(500);
await bind(4500);
for (let k = 0; k < Math.min(args.concurrency, args.count); k++) start();
