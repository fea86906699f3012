/**
 * src/drivers/config-file.ts: reading a config file, and refusing one that holds secrets while
 * group or others may read it (the file-system side of the loader; kept with the config tests).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigFile, MAX_CONFIG_BYTES } from "../../src/drivers/config-file.js";

const WITH_SECRET = `
connections:
  site-a:
    local_addrs: 192.0.2.1
    remote_addrs: 192.0.2.2
    local: { auth: psk, id: 192.0.2.1 }
    remote: { auth: psk, id: 192.0.2.2 }
    children:
      net: { local_ts: 198.18.1.0/24, remote_ts: 198.18.2.0/24 }
secrets:
  ike-1: { id: [192.0.2.1, 192.0.2.2], secret: "testbed-only-psk" }
`;

const WITHOUT_SECRET = `
connections:
  site-a:
    local_addrs: 192.0.2.1
    remote_addrs: 192.0.2.2
    local: { auth: pubkey, id: 192.0.2.1 }
    remote: { auth: pubkey, id: 192.0.2.2 }
    children:
      net: { local_ts: 198.18.1.0/24, remote_ts: 198.18.2.0/24 }
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tsipsec-config-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}

describe("loadConfigFile", () => {
  it("loads a 0600 file with secrets", () => {
    const r = loadConfigFile(write("gw.yaml", WITH_SECRET, 0o600));
    expect(r.ok).toBe(true);
  });

  it.each([[0o644], [0o640], [0o604]])("refuses a file with secrets at mode %o, saying how to fix it", (mode) => {
    const p = write("gw.yaml", WITH_SECRET, mode);
    const r = loadConfigFile(p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]?.message).toBe(`config file ${p} holds secrets and is readable by group/others (mode 0${mode.toString(8)}); chmod 600 ${p}`);
    expect(JSON.stringify(r.errors)).not.toContain("testbed-only-psk");
  });

  it("refuses a group-writable file with secrets", () => {
    const r = loadConfigFile(write("gw.yaml", WITH_SECRET, 0o620));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/writable by group\/others \(mode 0620\)/);
  });

  it("accepts a world-readable file without secrets", () => {
    expect(loadConfigFile(write("gw.yaml", WITHOUT_SECRET, 0o644)).ok).toBe(true);
  });

  it("reports a missing file as a config error", () => {
    const r = loadConfigFile(join(dir, "nope.yaml"));
    expect(r).toEqual({ ok: false, errors: [{ path: "", message: `cannot read config file ${join(dir, "nope.yaml")}: no such file` }] });
  });

  it("passes the loader's errors through", () => {
    const r = loadConfigFile(write("gw.yaml", WITHOUT_SECRET.replace("    children:", "    dpd_delay: soon\n    children:"), 0o600));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(["connections.site-a.dpd_delay"]);
  });
});

describe("loadConfigFile: files that are not config files (a typo'd path, `reload --config /dev/zero`)", () => {
  // The daemon reads the file on its event loop at `reload`: a FIFO would block it (no IKE, no ESP)
  // and /dev/zero would grow it until the OOM killer ends the gateway.
  const message = (r: ReturnType<typeof loadConfigFile>): string => (r.ok ? "" : r.errors.map((e) => e.message).join("\n"));

  it("refuses a FIFO without blocking on it", () => {
    const p = join(dir, "fifo.yaml");
    execFileSync("mkfifo", ["-m", "600", p]);
    const r = loadConfigFile(p);
    expect(r.ok).toBe(false);
    expect(message(r)).toBe(`cannot read config file ${p}: not a regular file`);
  });

  it("refuses a character device such as /dev/zero", () => {
    expect(message(loadConfigFile("/dev/zero"))).toBe("cannot read config file /dev/zero: not a regular file");
  });

  it("refuses a directory, saying so", () => {
    expect(message(loadConfigFile(dir))).toBe(`cannot read config file ${dir}: is a directory`);
  });

  it("refuses a file larger than MAX_CONFIG_BYTES, reading none of it", () => {
    const p = write("huge.yaml", "#".repeat(MAX_CONFIG_BYTES + 1), 0o600);
    expect(message(loadConfigFile(p))).toBe(`cannot read config file ${p}: ${MAX_CONFIG_BYTES + 1} bytes, more than the ${MAX_CONFIG_BYTES} a config file may have`);
  });

  it("still loads a file of exactly MAX_CONFIG_BYTES (comments pad it)", () => {
    const p = write("big.yaml", WITH_SECRET + "#".repeat(MAX_CONFIG_BYTES - WITH_SECRET.length), 0o600);
    expect(loadConfigFile(p).ok).toBe(true);
  });
});
