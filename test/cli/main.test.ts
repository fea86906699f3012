/**
 * The `tsipsec` CLI (src/cli/main.ts) as a user runs it, against a fake daemon: a real control
 * server in a temp dir whose ControlHandler answers from fixtures. Checks the swanctl-style
 * output, `--json`, and the exit codes (0 ok, 1 runtime failure, 2 usage/config error).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { optionalExport } from "../../src/cli/optional-export.js";
import { ControlError, type ConnectionStatus, type ControlHandler, type ControlRequest, type IkeSaStatus, type Stats } from "../../src/control/protocol.js";
import { startControlServer, type ControlServer } from "../../src/control/server.js";

const SAS: IkeSaStatus[] = [
  {
    id: 1,
    connection: "site-a",
    state: "ESTABLISHED",
    version: 2,
    initiator: true,
    spiI: "0123456789abcdef",
    spiR: "fedcba9876543210",
    local: { id: "192.0.2.1", address: "192.0.2.1", port: 4500, behindNat: false },
    remote: { id: "192.0.2.2", address: "192.0.2.2", port: 4500, behindNat: false },
    encr: "AES_CBC-128",
    integ: "HMAC_SHA2_256_128",
    prf: "PRF_HMAC_SHA2_256",
    ke: "MODP_2048",
    establishedSecondsAgo: 12,
    rekeyInSeconds: 14188,
    children: [
      {
        id: 3,
        name: "net",
        reqid: 1,
        state: "INSTALLED",
        mode: "TUNNEL",
        protocol: "ESP",
        udpEncapsulation: true,
        encr: "AES_GCM_16-128",
        esn: false,
        spiIn: "c1a2b3c4",
        spiOut: "d4e5f6a7",
        bytesIn: 8765,
        packetsIn: 112,
        bytesOut: 12048,
        packetsOut: 154,
        lastInSecondsAgo: 3,
        installedSecondsAgo: 12,
        rekeyInSeconds: 3400,
        expiresInSeconds: 3948,
        localTs: ["198.18.1.0/24"],
        remoteTs: ["198.18.2.0/24"],
      },
    ],
  },
];

const CONNS: ConnectionStatus[] = [
  {
    name: "site-a",
    version: 2,
    localAddrs: ["192.0.2.1"],
    remoteAddrs: ["192.0.2.2"],
    localPort: 500,
    remotePort: 500,
    proposals: ["aes128-sha256-modp2048"],
    rekeyTimeSeconds: 14400,
    dpdDelaySeconds: 30,
    encap: false,
    local: { auth: "psk", id: "192.0.2.1" },
    remote: { auth: "psk", id: "192.0.2.2" },
    children: [
      { name: "net", mode: "TUNNEL", startAction: "start", rekeyTimeSeconds: 3600, lifeTimeSeconds: 3960, espProposals: ["aes128gcm16"], localTs: ["198.18.1.0/24"], remoteTs: ["198.18.2.0/24"] },
    ],
    ikeSas: 1,
  },
];

const STATS: Stats = {
  uptimeSeconds: 60,
  connections: 1,
  ikeSas: { total: 1, halfOpen: 0, established: 1 },
  childSas: { installed: 1 },
  ike: { messagesIn: 4, messagesOut: 5, retransmits: 1, invalid: 0 },
  esp: { packetsIn: 112, packetsOut: 154, bytesIn: 8765, bytesOut: 12048 },
  drops: { replay: 2, icv: 0 },
};

let dir: string;
let control: string;
let server: ControlServer;
let seen: ControlRequest[];

function handler(): ControlHandler {
  const known = (conn: string, child?: string): void => {
    if (conn !== "site-a") throw new ControlError("unknown-connection", `no connection named "${conn}" (loaded: site-a)`);
    if (child !== undefined && child !== "net") throw new ControlError("unknown-child", `connection site-a has no child "${child}" (children: net)`);
  };
  return {
    up: (r) => (seen.push(r), known(r.conn, r.child), { message: `initiated ${r.conn}` }),
    down: (r) => (seen.push(r), known(r.conn), { message: `closed ${r.conn}` }),
    rekey: (r) => {
      seen.push(r);
      known(r.conn, r.child);
      if (r.child === "net" && r.ike === true) throw new ControlError("failed", "peer answered NO_PROPOSAL_CHOSEN");
      return { message: `rekeying ${r.conn}` };
    },
    "list-sas": (r) => (seen.push(r), SAS),
    "list-conns": (r) => (seen.push(r), CONNS),
    stats: (r) => (seen.push(r), STATS),
    reload: (r) => {
      seen.push(r);
      if (r.config?.endsWith("bad.yaml") === true) throw new ControlError("config-error", "config errors, old config kept", ["connections.x.dpd_delay: invalid duration"]);
      return { message: "reloaded: 1 connection", connections: ["site-a"] };
    },
  };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsipsec-cli-"));
  control = join(dir, "control.sock");
  seen = [];
  server = await startControlServer(control, handler());
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `tsipsec ARGS...` in-process and captures its output. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["node", "tsipsec", ...args], { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe("list-sas", () => {
  it("prints swanctl --list-sas style", async () => {
    const r = await run("list-sas", "--control", control);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "site-a: #1, ESTABLISHED, IKEv2, 0123456789abcdef_i* fedcba9876543210_r",
        "  local  '192.0.2.1' @ 192.0.2.1[4500]",
        "  remote '192.0.2.2' @ 192.0.2.2[4500]",
        "  AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
        "  established 12s ago, rekeying in 14188s",
        "  net: #3, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128",
        "    installed 12s ago, rekeying in 3400s, expires in 3948s",
        "    in  c1a2b3c4,   8765 bytes,   112 packets,     3s ago",
        "    out d4e5f6a7,  12048 bytes,   154 packets",
        "    local  198.18.1.0/24",
        "    remote 198.18.2.0/24",
        "",
      ].join("\n"),
    );
  });

  it("--json prints the daemon's records", async () => {
    const r = await run("list-sas", "--json", "--control", control);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(SAS);
  });

  it("with no daemon: exit 1 and how to start one", async () => {
    const missing = join(dir, "nobody.sock");
    const r = await run("list-sas", "--control", missing);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`tsipsec: no tsipsec daemon at ${missing} (start one with tsipsec start --config FILE)\n`);
  });
});

describe("list-conns and stats", () => {
  it("list-conns human and --json", async () => {
    const human = await run("list-conns", "--control", control);
    expect(human.code).toBe(0);
    expect(human.out).toContain("site-a: IKEv2, no reauthentication, rekeying every 14400s, dpd delay 30s, 1 IKE SA\n");
    expect(human.out).toContain("  net: TUNNEL, rekeying every 3600s, expires after 3960s, start action start\n");
    expect(human.out).toContain("    local:  198.18.1.0/24\n");
    const json = await run("list-conns", "--json", "--control", control);
    expect(JSON.parse(json.out)).toEqual(CONNS);
  });

  it("stats human and --json", async () => {
    const human = await run("stats", "--control", control);
    expect(human.code).toBe(0);
    expect(human.out).toContain("IKE SAs: 1 total, 0 half-open, 1 established\n");
    expect(human.out).toContain("drops: replay 2\n");
    expect(JSON.parse((await run("stats", "--json", "--control", control)).out)).toEqual(STATS);
  });
});

describe("up, down, rekey, reload", () => {
  it("up NAME/CHILD sends conn and child", async () => {
    const r = await run("up", "site-a/net", "--control", control);
    expect(r).toEqual({ code: 0, out: "initiated site-a\n", err: "" });
    expect(seen).toEqual([{ op: "up", conn: "site-a", child: "net" }]);
  });

  it("down NAME", async () => {
    expect((await run("down", "site-a", "--control", control)).code).toBe(0);
    expect(seen).toEqual([{ op: "down", conn: "site-a" }]);
  });

  it("rekey NAME --ike", async () => {
    expect((await run("rekey", "site-a", "--ike", "--control", control)).code).toBe(0);
    expect(seen).toEqual([{ op: "rekey", conn: "site-a", ike: true }]);
  });

  it("a failed operation exits 1 with the daemon's message", async () => {
    const r = await run("rekey", "site-a/net", "--ike", "--control", control);
    expect(r.code).toBe(1);
    expect(r.err).toBe("tsipsec: peer answered NO_PROPOSAL_CHOSEN\n");
  });

  it("reload --config sends an absolute path", async () => {
    const r = await run("reload", "--config", "gw.yaml", "--control", control);
    expect(r.code).toBe(0);
    expect(seen).toEqual([{ op: "reload", config: resolve("gw.yaml") }]);
  });

  it("a reload with config errors exits 2 and lists them", async () => {
    const r = await run("reload", "--config", "bad.yaml", "--control", control);
    expect(r.code).toBe(2);
    expect(r.err).toBe("tsipsec: config errors, old config kept\n  connections.x.dpd_delay: invalid duration\n");
  });
});

describe("exit code 2: usage and configuration errors", () => {
  it.each([
    [["up", "site-z"], /no connection named "site-z"/],
    [["down", "site-z"], /no connection named "site-z"/],
    [["up", "site-a/web"], /has no child "web"/],
    [["up", "a/b/c"], /"a\/b\/c" is not NAME or NAME\/CHILD/],
    [["up", "site-a/"], /is not NAME or NAME\/CHILD/],
  ])("%j", async (args, message) => {
    const r = await run(...args, "--control", control);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it.each([[["bogus"]], [["up"]], [["list-sas", "--jsn"]], [["check"]], [["start"]], [["start", "--config", "x", "--log-level", "loud"]]])("usage error %j", async (args) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).not.toBe("");
  });

  it("--version prints package.json's version", async () => {
    const r = await run("--version");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("--help exits 0", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/list-sas/);
  });
});

describe("check --config FILE", () => {
  const GOOD = `
connections:
  site-a:
    local_addrs: 192.0.2.1
    remote_addrs: 192.0.2.2
    proposals: aes128-sha256-modp2048
    local: { auth: psk, id: 192.0.2.1 }
    remote: { auth: psk, id: 192.0.2.2 }
    children:
      net: { local_ts: 198.18.1.0/24, remote_ts: 198.18.2.0/24, esp_proposals: aes128gcm16 }
secrets:
  ike-1: { id: [192.0.2.1, 192.0.2.2], secret: "testbed-only-psk" }
`;
  const write = (name: string, text: string, mode = 0o600): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, mode);
    return p;
  };

  it("prints a summary of the connections and exits 0", async () => {
    const p = write("good.yaml", GOOD);
    const r = await run("check", "--config", p);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${p}: OK, 1 connection, 1 secret\n`);
    expect(r.out).toContain("site-a: IKEv2");
    expect(r.out).toContain("    local:  198.18.1.0/24\n");
    expect(r.out).not.toContain("testbed-only-psk");
  });

  it("prints every error with its key path and exits 2", async () => {
    const p = write("bad.yaml", GOOD.replace("proposals: aes128-sha256-modp2048", "proposals: aes129-sha256-modp2048\n    dpd_dealy: 30s"));
    const r = await run("check", "--config", p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/: 2 errors\n/);
    expect(r.err).toMatch(/ {2}connections\.site-a\.dpd_dealy: unknown key "dpd_dealy" \(did you mean "dpd_delay"\?\)/);
    expect(r.err).toMatch(/ {2}connections\.site-a\.proposals\[0\]: .*aes129/);
  });

  it("refuses a world-readable file with secrets (exit 2)", async () => {
    const p = write("open.yaml", GOOD, 0o644);
    const r = await run("check", "--config", p);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`chmod 600 ${p}`);
  });

  it("--json", async () => {
    const good = await run("check", "--json", "--config", write("good.yaml", GOOD));
    expect(JSON.parse(good.out)).toMatchObject({ ok: true, connections: [{ name: "site-a", proposals: ["aes128-sha256-modp2048"] }] });
    const bad = await run("check", "--json", "--config", join(dir, "missing.yaml"));
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, errors: [{ path: "" }] });
  });

  it("start with a bad config exits 2 before starting anything", async () => {
    const p = write("bad.yaml", GOOD.replace("dpd", "x").replace("proposals: aes128-sha256-modp2048", "rekey_time: soon"));
    const r = await run("start", "--config", p, "--control", join(dir, "start.sock"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/connections\.site-a\.rekey_time: invalid duration/);
  });
});

describe("optional modules (daemon, demo) are loaded lazily", () => {
  it("a missing module resolves to undefined, so the CLI can say it is not in this build", async () => {
    expect(await optionalExport("../no-such-part/entry.js", "run")).toBeUndefined();
  });

  it("a present module without the export resolves to undefined; with it, to the function", async () => {
    expect(await optionalExport("./format.js", "runNothing")).toBeUndefined();
    expect(typeof (await optionalExport("./format.js", "formatStats"))).toBe("function");
  });
});

describe("--config FILE on client verbs: the daemon's control socket from daemon.control_socket", () => {
  const configWith = (controlSocket: string): string => {
    const path = join(dir, "site-a.yaml");
    writeFileSync(
      path,
      [
        "daemon:",
        `  control_socket: ${JSON.stringify(controlSocket)}`,
        "connections:",
        "  site-a:",
        "    local_addrs: 192.0.2.1",
        "    remote_addrs: 192.0.2.2",
        "    local: { auth: psk, id: 192.0.2.1 }",
        "    remote: { auth: psk, id: 192.0.2.2 }",
        "    children:",
        "      net: { local_ts: 198.18.1.0/24, remote_ts: 198.18.2.0/24 }",
        "secrets:",
        "  ike-1: { id: [192.0.2.1, 192.0.2.2], secret: testbed-only-psk-do-not-use }",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    return path;
  };

  it("list-sas, up and stats reach the socket the config names", async () => {
    const config = configWith(control);
    expect((await run("list-sas", "--config", config)).code).toBe(0);
    expect((await run("up", "site-a/net", "--config", config)).out).toBe("initiated site-a\n");
    expect((await run("stats", "--json", "--config", config)).code).toBe(0);
    expect(seen.map((r) => r.op)).toEqual(["list-sas", "up", "stats"]);
  });

  it("--control wins over --config", async () => {
    const config = configWith(join(dir, "elsewhere.sock"));
    expect((await run("down", "site-a", "--config", config, "--control", control)).out).toBe("closed site-a\n");
  });

  it("reload --config FILE is sent to FILE's control socket", async () => {
    const config = configWith(control);
    const r = await run("reload", "--config", config);
    expect(r.code).toBe(0);
    expect(seen).toEqual([{ op: "reload", config: resolve(config) }]);
  });

  it("a config that does not load: exit 2 with its errors, nothing sent", async () => {
    const bad = join(dir, "bad-client.yaml");
    writeFileSync(bad, "daemon: { control_socket: 5 }\nconnections: {}\n", { mode: 0o600 });
    const r = await run("list-sas", "--config", bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/config errors in .*bad-client\.yaml/);
    expect(seen).toEqual([]);
  });
});
