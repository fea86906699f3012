/**
 * Wireshark as an independent judge (docs/testbed.md): capture the outer link with tcpdump, then
 * let tshark decrypt IKE (ikev2_decryption_table) and ESP (esp_sa) with key rows in Wireshark's
 * own formats (src/drivers/key-export.ts), given on the command line as `-o uat:<table>:<row>`.
 */
import type { ChildProcess } from "node:child_process";
import type { Topology } from "../../../src/drivers/netns.js";
import { run, type CommandResult } from "../../../src/drivers/iproute.js";
import { fromHex } from "../../../src/wire/hex.js";

/**
 * The bytes charon's file log (`ike = 4` / `chd = 4`) prints after `<label> => N bytes @ 0x...`,
 * e.g. `Sk_ei secret` or `encryption initiator key`: the first such dump in `log`, or undefined.
 */
export function charonKeyDump(log: string, label: string): Uint8Array | undefined {
  return charonKeyDumps(log, label)[0];
}

/**
 * Every dump of `label` in charon's log, in log order (e.g. one `Sk_ei secret` per IKE SA: the
 * first from IKE_SA_INIT, then one per IKE SA rekey). A truncated dump ends the list.
 */
export function charonKeyDumps(log: string, label: string): Uint8Array[] {
  const lines = log.split("\n");
  const head = new RegExp(`> ${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} => (\\d+) bytes @`);
  const dumps: Uint8Array[] = [];
  for (let i = 0; i < lines.length; i++) {
    const h = head.exec(lines[i] ?? "");
    if (h === null) continue;
    const size = Number(h[1]);
    let hex = "";
    for (let j = i + 1; j < lines.length && hex.length < size * 2; j++) {
      // `<time> 09[IKE] <s2s|1>    0: AC 7E 3D ...  ascii`: up to 16 bytes, then two spaces and ASCII.
      const m = /^\S+ \d+\[\w+\] <[^>]*>\s+\d+: ((?:[0-9A-F]{2} ?){1,16})/.exec(lines[j] ?? "");
      if (m === null) break;
      hex += (m[1] ?? "").replace(/ /g, "");
    }
    if (hex.length !== size * 2) break;
    dumps.push(fromHex(hex));
  }
  return dumps;
}

/** A tcpdump writing a pcap of the namespace's interface; `stop()` ends it and waits for the file. */
export interface Capture {
  file: string;
  stop(): Promise<void>;
}

/**
 * Starts tcpdump (`--immediate-mode -U`) on `ns`/`dev` writing `file`; resolves once it listens.
 * `bpf` is the capture filter: default `udp` (IKE on 500/4500 and ESP in UDP, RFC 3948, which is
 * all tsipsec sends); `udp or esp` also keeps plain ESP (IP protocol 50), so a test can assert there is none.
 */
export async function startCapture(topology: Topology, ns: string, dev: string, file: string, bpf = "udp"): Promise<Capture> {
  const child: ChildProcess = topology.spawnIn(ns, "tcpdump", ["-i", dev, "-n", "--immediate-mode", "-U", "-s", "0", "-w", file, bpf]);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!err.includes("listening on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tcpdump did not start on ${ns}/${dev}: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    file,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * tshark on `file` with IKEv2 and ESP key rows. `fields` are `-e` field names; `filter` is a
 * display filter; `prefs` are further `-o NAME:VALUE` preferences (e.g.
 * `esp.enable_authentication_check:TRUE`, which makes tshark set esp.icv_good / esp.icv_bad).
 * Returns the output lines (tab-separated fields).
 */
export async function tsharkFields(file: string, keys: { ikev2: readonly string[]; esp: readonly string[] }, filter: string, fields: readonly string[], prefs: readonly string[] = []): Promise<{ lines: string[]; result: CommandResult }> {
  const args = ["-r", file, "-n", "-o", "esp.enable_encryption_decode:TRUE"];
  for (const p of prefs) args.push("-o", p);
  for (const row of keys.ikev2) args.push("-o", `uat:ikev2_decryption_table:${row}`);
  for (const row of keys.esp) args.push("-o", `uat:esp_sa:${row}`);
  args.push("-Y", filter, "-T", "fields", "-E", "separator=/t");
  for (const f of fields) args.push("-e", f);
  const result = await run("tshark", args, { allowFailure: true, timeoutMs: 60_000 });
  return { lines: result.stdout.split("\n").filter((l) => l.trim() !== ""), result };
}

/** The data rows of a Wireshark UAT file as written by src/drivers/key-export.ts (no header or comment lines). */
export function uatRows(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}
