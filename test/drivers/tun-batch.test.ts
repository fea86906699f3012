import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ip, run } from "../../src/drivers/iproute.js";
import { uniqueSuffix } from "../../src/drivers/netns.js";

/**
 * The TUN driver on its native batch path (tunReadBatch/tunWriteBatch of native/batch_io.c on an
 * event-loop watcher, as the daemon runs it) on a real /dev/net/tun in a namespace of its own
 * (needs root and the built addon). The fixture of test/drivers/tun-linux.test.ts with
 * TUN_ECHO_BATCH=1 answers every echo request it reads with an echo reply it writes, so ping
 * succeeding proves the batched reads keep packet boundaries and the queued writes reach the kernel.
 */
const NS_BASE = `ts-tunb-${uniqueSuffix("t")}`;
const FIXTURE = path.resolve(import.meta.dirname, "fixtures/tun-echo.ts");
const VITE_NODE = path.resolve(import.meta.dirname, "../../node_modules/.bin/vite-node");

for (const mode of ["batch", "offload"] as const)
describe(`Linux TUN device, native batch I/O (one crossing per burst)${mode === "offload" ? ", with virtio-net offloads and thread-pool writes" : ""}`, () => {
  const NS = `${NS_BASE}${mode === "offload" ? "o" : "b"}`;
  let fixture: ChildProcess;
  let stdout = "";
  let stderr = "";

  /** Resolves with the rest of the first stdout line starting with `prefix`. */
  const line = (prefix: string, timeoutMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`fixture did not print "${prefix}": ${stderr}`)), timeoutMs);
      const check = (): void => {
        const l = stdout.split("\n").find((x) => x.startsWith(prefix) && stdout.includes(`${x}\n`));
        if (l !== undefined) {
          clearTimeout(deadline);
          resolve(l.slice(prefix.length));
        } else if (fixture.exitCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`fixture exited before printing "${prefix}": ${stderr}`));
        } else fixture.stdout?.once("data", check);
      };
      check();
    });

  beforeAll(async () => {
    await ip(["netns", "add", NS]);
    await ip(["-n", NS, "link", "set", "lo", "up"]);
    // A source address for ping (as in tun-linux.test.ts): the replies are addressed to it.
    await ip(["-n", NS, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"]);
    await ip(["-n", NS, "addr", "add", "198.18.9.1/24", "dev", "lan0"]);
    await ip(["-n", NS, "link", "set", "lan0", "up"]);
    await ip(["-n", NS, "link", "set", "lan1", "up"]);
    fixture = spawn("ip", ["netns", "exec", NS, VITE_NODE, FIXTURE], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TUN_ECHO_BATCH: "1", TUN_ECHO_OFFLOAD: mode === "offload" ? "1" : "0" } });
    fixture.stdout?.on("data", (d) => (stdout += String(d)));
    fixture.stderr?.on("data", (d) => (stderr += String(d)));
    expect(JSON.parse(await line("ready "))).toEqual(["198.18.9.0/24", "2001:db8:9::/64"]);
  });

  afterAll(async () => {
    if (fixture !== undefined && fixture.exitCode === null) fixture.kill("SIGKILL");
    await ip(["netns", "delete", NS], { allowFailure: true });
  });

  it("reads IPv4 and IPv6 packets and writes replies (ping, ping -6 through the device)", async () => {
    const r4 = await run("ip", ["netns", "exec", NS, "ping", "-c", "5", "-i", "0.2", "-W", "2", "198.18.9.2"], { allowFailure: true });
    expect(r4.stdout).toMatch(/5 received/);
    const r6 = await run("ip", ["netns", "exec", NS, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:db8:9::2"], { allowFailure: true });
    expect(r6.stdout).toMatch(/3 received/);
  });

  it("keeps up with a flood ping (2000 x 1300 bytes, no loss)", async () => {
    const r = await run("ip", ["netns", "exec", NS, "ping", "-f", "-c", "2000", "-s", "1300", "198.18.9.2"], { allowFailure: true, timeoutMs: 30_000 });
    expect(r.stdout).toMatch(/2000 received/);
  });

  it("drains a burst in batches (more packets than read batches), echoes it back whole, then close() removes the device", async () => {
    // 400 UDP datagrams, in 16 waves of 25 written back to back into the TUN route: they queue
    // faster than one wake-up each. The fixture echoes each one back (addresses and ports swapped)
    // in write bursts larger than the synchronous threshold, so in offload mode they go through the
    // thread pool. (Waves: the replies to more at once overflow the sender's socket buffer.)
    const burst =
      "const s=require('dgram').createSocket('udp4');s.bind(7777,'198.18.9.1',()=>{const seen=new Set();let wave=0;const send=()=>{for(let i=0;i<25;i++){const n=wave*25+i;const b=Buffer.alloc(1000,n&255);b.writeUInt32BE(n,0);s.send(b,9,'198.18.9.50')}};s.on('message',(m)=>{seen.add(m.readUInt32BE(0));if(seen.size===(wave+1)*25){if(++wave===16){console.log('echoed '+seen.size);s.close()}else send()}});setTimeout(()=>{console.log('echoed '+seen.size);process.exit(0)},10000).unref();send()});";
    const echoed = await run("ip", ["netns", "exec", NS, process.execPath, "-e", burst], { timeoutMs: 30_000 });
    expect(echoed.stdout.trim()).toBe("echoed 400");
    fixture.kill("SIGTERM");
    const counters = JSON.parse(await line("counters ")) as { rxPackets: number; txPackets: number; txErrors: number; readBatches: number; offload: boolean };
    expect(counters.offload).toBe(mode === "offload");
    await once(fixture, "exit").catch(() => undefined);
    expect(counters.txPackets).toBeGreaterThanOrEqual(2008 + 400);
    expect(counters.rxPackets).toBeGreaterThanOrEqual(counters.txPackets); // every request read was answered (plus stray IPv6 link traffic read)
    expect(counters.txErrors).toBe(0);
    expect(counters.readBatches).toBeLessThan(counters.rxPackets);
    const link = await ip(["-n", NS, "link", "show", "dev", "tstest0"], { allowFailure: true });
    expect(link.code).not.toBe(0);
  });
});
