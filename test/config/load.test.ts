/**
 * The config loader (src/config/load.ts) against swanctl.conf(5): key names, strongSwan defaults,
 * time formats, list spellings, proposal strings, traffic selectors, secrets, and errors that name
 * the key path and what is allowed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEFAULTS, formatConfigError, parseConfig, type ConfigError, type TsipsecConfig } from "../../src/config/index.js";
import { Secret } from "../../src/crypto/secret.js";
import { formatTs } from "../../src/ike/negotiation/traffic-selectors.js";
import { keyLengthOf } from "../../src/ike/negotiation/proposals.js";
import { EncrId, EsnId, IntegId, KeId, PrfId, TransformType } from "../../src/wire/ike/constants.js";
import type { Proposal } from "../../src/wire/ike/types.js";

const PSK = "testbed-only-psk-do-not-use";

/** A minimal valid site-to-site document (testbed addresses); tests change one thing at a time. */
function baseDoc(): Record<string, unknown> {
  return {
    connections: {
      "site-a": {
        local_addrs: ["192.0.2.1"],
        remote_addrs: ["192.0.2.2"],
        local: { auth: "psk", id: "192.0.2.1" },
        remote: { auth: "psk", id: "192.0.2.2" },
        children: { net: { local_ts: ["198.18.1.0/24"], remote_ts: ["198.18.2.0/24"] } },
      },
    },
    secrets: { "ike-1": { id: ["192.0.2.1", "192.0.2.2"], secret: PSK } },
  };
}

type Doc = Record<string, unknown>;
const conn = (d: Doc): Doc => (d["connections"] as Doc)["site-a"] as Doc;
const child = (d: Doc): Doc => (conn(d)["children"] as Doc)["net"] as Doc;

function load(doc: Doc | string): TsipsecConfig {
  const r = parseConfig(typeof doc === "string" ? doc : stringify(doc));
  if (!r.ok) throw new Error(`expected a valid config, got:\n${r.errors.map(formatConfigError).join("\n")}`);
  return r.config;
}

function errorsOf(doc: Doc | string): ConfigError[] {
  const r = parseConfig(typeof doc === "string" ? doc : stringify(doc));
  if (r.ok) throw new Error("expected config errors, got a valid config");
  return r.errors;
}

/** Transforms as [type, id, key length] for compact comparison. */
function shape(p: Proposal): [number, number, number | undefined][] {
  return p.transforms.map((t) => [t.type, t.id, keyLengthOf(t)]);
}

const E = TransformType.ENCR;
const I = TransformType.INTEG;
const P = TransformType.PRF;
const K = TransformType.KE;
const S = TransformType.ESN;

describe("the example config (docs/examples/site-a.yaml)", () => {
  it("loads into the engine's boundary types", () => {
    const c = load(readFileSync(new URL("../../docs/examples/site-a.yaml", import.meta.url), "utf8"));
    expect(c.daemon.controlSocket).toBe("/run/tsipsec/site-a.sock");
    expect(c.daemon.logLevel).toEqual({ default: "info", subsystems: { ike: "debug" } });
    const site = c.engine.connections[0];
    expect(site?.name).toBe("site-a");
    expect(site?.localAddrs).toEqual(["192.0.2.1"]);
    expect(site?.dpdDelaySeconds).toBe(30);
    expect(site?.children[0]?.startAction).toBe("start");
    expect(site?.children[0]?.localTs.map(formatTs)).toEqual(["198.18.1.0/24"]);
    expect(c.engine.secrets[0]?.ids).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(c.written["site-a"]?.proposals).toEqual(["aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"]);
  });
});

describe("swanctl.conf(5) defaults for missing keys", () => {
  const c = load(baseDoc());
  const site = c.engine.connections[0];
  const net = site?.children[0];
  it.each([
    ["daemon.tun.name", c.daemon.tun.name, "tsipsec0"],
    ["daemon.tun.mtu", c.daemon.tun.mtu, 1400],
    ["daemon.ike_port", c.daemon.ikePort, 500],
    ["daemon.natt_port", c.daemon.nattPort, 4500],
    ["daemon.listen", c.daemon.listen, ["0.0.0.0", "::"]],
    ["daemon.control_socket", c.daemon.controlSocket, "/run/tsipsec/control.sock"],
    ["daemon.log_level", c.daemon.logLevel, { default: "info", subsystems: {} }],
    ["daemon.save_keys (off)", c.daemon.saveKeys, { ike: undefined, esp: undefined }],
    ["daemon.cookie_threshold", c.engine.cookieThreshold, 10],
    ["daemon.half_open_timeout", c.engine.halfOpenTimeoutSeconds, 30],
    ["retransmit (4 s, x1.8, 5 tries)", site?.retransmit, { timeoutSeconds: 4, base: 1.8, tries: 5 }],
    ["fragment_size", site?.fragmentSize, 1280],
    ["local_port", site?.localPort, 500],
    ["remote_port", site?.remotePort, 500],
    ["encap", site?.encap, false],
    ["dpd_delay", site?.dpdDelaySeconds, 0],
    ["rekey_time (IKE, 4h)", site?.rekeyTimeSeconds, 14400],
    ["fragmentation", site?.fragmentation, true],
    ["children.net.mode", net?.mode, "tunnel"],
    ["children.net.start_action", net?.startAction, "none"],
    ["children.net.rekey_time (1h)", net?.rekeyTimeSeconds, 3600],
    ["children.net.life_time (rekey_time + 10%)", net?.lifeTimeSeconds, 3960],
    ["children.net.replay_window", net?.replayWindow, 32],
    ["children.net.rekey_bytes / life_bytes", [net?.rekeyBytes, net?.lifeBytes], [0, 0]],
    ["children.net.rekey_packets / life_packets", [net?.rekeyPackets, net?.lifePackets], [0, 0]],
    ["children.net.tfc_padding", net?.tfcPadding, false],
  ])("%s", (_key, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it("proposals and esp_proposals default to strongSwan's `default` set", () => {
    expect(c.written["site-a"]?.proposals).toEqual(["default"]);
    expect(site?.proposals.length).toBeGreaterThan(0);
    expect(net?.espProposals.length).toBeGreaterThan(0);
    expect(net?.espProposals.every((p) => p.protocol === 3)).toBe(true);
  });

  it("local id defaults to the first local address, remote id to %any", () => {
    const d = baseDoc();
    delete (conn(d)["local"] as Doc)["id"];
    delete (conn(d)["remote"] as Doc)["id"];
    const s = load(d).engine.connections[0];
    expect(s?.local).toEqual({ auth: "psk", id: "192.0.2.1" });
    expect(s?.remote).toEqual({ auth: "psk", id: "%any" });
  });

  it("an empty child section (YAML null) is all defaults", () => {
    const d = baseDoc();
    (conn(d)["children"] as Doc)["net"] = null;
    const net = load(d).engine.connections[0]?.children[0];
    expect(net?.name).toBe("net");
    expect(net?.localTs.map(formatTs)).toEqual(["192.0.2.1/32"]);
    expect(net?.remoteTs.map(formatTs)).toEqual(["192.0.2.2/32"]);
  });

  it("an empty daemon section and absent sections use the defaults", () => {
    const d = baseDoc();
    d["daemon"] = null;
    expect(load(d).daemon.ikePort).toBe(DEFAULTS.ikePort);
  });
});

describe("every key, set explicitly", () => {
  it("daemon keys", () => {
    const d = baseDoc();
    d["daemon"] = {
      tun: { name: "tsi1", mtu: 1380 },
      ike_port: 1500,
      natt_port: 14500,
      listen: ["192.0.2.1", "2001:db8::1"],
      control_socket: "/tmp/x/control.sock",
      log_level: { default: "warn", ike: "debug", net: "error" },
      save_keys: { ike: "/tmp/ike.keys", esp: "/tmp/esp.keys" },
      retransmit_timeout: 2,
      retransmit_base: 1.5,
      retransmit_tries: 3,
      fragment_size: 1200,
      cookie_threshold: 50,
      half_open_timeout: "1m",
    };
    const c = load(d);
    expect(c.daemon).toEqual({
      tun: { name: "tsi1", mtu: 1380 },
      ikePort: 1500,
      nattPort: 14500,
      listen: ["192.0.2.1", "2001:db8::1"],
      controlSocket: "/tmp/x/control.sock",
      logLevel: { default: "warn", subsystems: { ike: "debug", net: "error" } },
      saveKeys: { ike: "/tmp/ike.keys", esp: "/tmp/esp.keys" },
    });
    expect(c.engine.cookieThreshold).toBe(50);
    expect(c.engine.halfOpenTimeoutSeconds).toBe(60);
    expect(c.engine.connections[0]?.retransmit).toEqual({ timeoutSeconds: 2, base: 1.5, tries: 3 });
    expect(c.engine.connections[0]?.fragmentSize).toBe(1200);
  });

  it("log_level as a single level", () => {
    const d = baseDoc();
    d["daemon"] = { log_level: "debug" };
    expect(load(d).daemon.logLevel).toEqual({ default: "debug", subsystems: {} });
  });

  it("connection and child keys", () => {
    const d = baseDoc();
    Object.assign(conn(d), {
      version: 2,
      local_port: 4500,
      remote_port: 4501,
      proposals: ["aes128-sha256-modp2048"],
      encap: "yes",
      dpd_delay: "30s",
      rekey_time: "2h",
      fragmentation: "no",
    });
    Object.assign(child(d), {
      esp_proposals: ["aes128gcm16"],
      mode: "transport",
      start_action: "trap",
      rekey_time: "30m",
      life_time: "40m",
      rekey_bytes: 1000000,
      life_bytes: 2000000,
      rekey_packets: 1000,
      life_packets: 2000,
      replay_window: 128,
      tfc_padding: "mtu",
    });
    const s = load(d).engine.connections[0];
    expect(s).toMatchObject({ localPort: 4500, remotePort: 4501, encap: true, dpdDelaySeconds: 30, rekeyTimeSeconds: 7200, fragmentation: false });
    expect(s?.children[0]).toMatchObject({
      name: "net",
      mode: "transport",
      startAction: "trap",
      rekeyTimeSeconds: 1800,
      lifeTimeSeconds: 2400,
      rekeyBytes: 1000000,
      lifeBytes: 2000000,
      rekeyPackets: 1000,
      lifePackets: 2000,
      replayWindow: 128,
      tfcPadding: true,
    });
  });

  it("version 0 (swanctl's default) is accepted as IKEv2", () => {
    const d = baseDoc();
    conn(d)["version"] = 0;
    expect(load(d).engine.connections).toHaveLength(1);
  });

  it("fragmentation accepts yes, accept, force and no", () => {
    for (const [v, expected] of [["yes", true], ["accept", true], ["force", true], ["no", false], [true, true], [false, false]] as const) {
      const d = baseDoc();
      conn(d)["fragmentation"] = v;
      expect(load(d).engine.connections[0]?.fragmentation).toBe(expected);
    }
  });

  it("life_bytes / life_packets default to rekey + 10%", () => {
    const d = baseDoc();
    Object.assign(child(d), { rekey_bytes: 1000, rekey_packets: 100 });
    expect(load(d).engine.connections[0]?.children[0]).toMatchObject({ lifeBytes: 1100, lifePackets: 110 });
  });

  it("several connections and children keep file order", () => {
    const d = baseDoc();
    (conn(d)["children"] as Doc)["web"] = { local_ts: "198.18.1.0/24[tcp/80]", remote_ts: "198.18.2.0/24" };
    (d["connections"] as Doc)["site-b"] = { ...conn(d), remote_addrs: ["192.0.2.3"], remote: { auth: "psk", id: "192.0.2.3" } };
    (d["secrets"] as Doc)["ike-2"] = { id: "192.0.2.3", secret: PSK };
    const c = load(d);
    expect(c.engine.connections.map((x) => x.name)).toEqual(["site-a", "site-b"]);
    expect(c.engine.connections[0]?.children.map((x) => x.name)).toEqual(["net", "web"]);
  });
});

describe("time values (swanctl.conf(5) TIME FORMATS)", () => {
  it.each([
    ["30s", 30],
    ["5m", 300],
    ["1h", 3600],
    ["1d", 86400],
    ["1.5h", 5400],
    ["90", 90],
    [90, 90],
    [0, 0],
  ])("dpd_delay %j = %i s", (value, seconds) => {
    const d = baseDoc();
    conn(d)["dpd_delay"] = value;
    expect(load(d).engine.connections[0]?.dpdDelaySeconds).toBe(seconds);
  });

  it.each([["5x"], ["-1"], [-5], ["1h30m"], ["soon"], [true], [""]])("rejects %j naming the key", (value) => {
    const d = baseDoc();
    conn(d)["rekey_time"] = value;
    const errs = errorsOf(d);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.path).toBe("connections.site-a.rekey_time");
    expect(errs[0]?.message).toMatch(/duration.*s, m, h or d/);
  });
});

describe("list keys: YAML lists and swanctl comma-separated strings", () => {
  it("are the same", () => {
    const a = baseDoc();
    Object.assign(conn(a), { local_addrs: ["192.0.2.1", "2001:db8::1"], proposals: ["aes128-sha256-modp2048", "aes256-sha256-modp3072"] });
    Object.assign(child(a), { local_ts: ["198.18.1.0/24", "198.18.3.0/24"], esp_proposals: ["aes128gcm16", "aes256gcm16"] });
    const b = baseDoc();
    Object.assign(conn(b), { local_addrs: "192.0.2.1, 2001:db8::1", proposals: "aes128-sha256-modp2048,aes256-sha256-modp3072" });
    Object.assign(child(b), { local_ts: "198.18.1.0/24,198.18.3.0/24", esp_proposals: "aes128gcm16, aes256gcm16" });
    const ca = load(a).engine.connections[0];
    const cb = load(b).engine.connections[0];
    expect(cb?.localAddrs).toEqual(ca?.localAddrs);
    expect(cb?.proposals).toEqual(ca?.proposals);
    expect(cb?.children[0]?.localTs).toEqual(ca?.children[0]?.localTs);
    expect(cb?.children[0]?.espProposals).toEqual(ca?.children[0]?.espProposals);
  });
});

describe("proposal strings the users write", () => {
  // [key, proposal string, expected first proposal's transforms]
  const cases: [string, "proposals" | "esp_proposals", [number, number, number | undefined][]][] = [
    ["aes256gcm16-prfsha384-ecp384", "proposals", [[E, EncrId.ENCR_AES_GCM_16, 256], [P, PrfId.PRF_HMAC_SHA2_384, undefined], [K, KeId.ECP_384, undefined]]],
    ["aes128-sha256-modp2048", "proposals", [[E, EncrId.ENCR_AES_CBC, 128], [I, IntegId.AUTH_HMAC_SHA2_256_128, undefined], [P, PrfId.PRF_HMAC_SHA2_256, undefined], [K, KeId.MODP_2048, undefined]]],
    ["chacha20poly1305-prfsha256-x25519", "proposals", [[E, EncrId.ENCR_CHACHA20_POLY1305, undefined], [P, PrfId.PRF_HMAC_SHA2_256, undefined], [K, KeId.CURVE25519, undefined]]],
    ["aes256-sha256-modp3072", "proposals", [[E, EncrId.ENCR_AES_CBC, 256], [I, IntegId.AUTH_HMAC_SHA2_256_128, undefined], [P, PrfId.PRF_HMAC_SHA2_256, undefined], [K, KeId.MODP_3072, undefined]]],
    ["aes128-sha1-modp2048", "proposals", [[E, EncrId.ENCR_AES_CBC, 128], [I, IntegId.AUTH_HMAC_SHA1_96, undefined], [P, PrfId.PRF_HMAC_SHA1, undefined], [K, KeId.MODP_2048, undefined]]],
    ["aes256-sha1-modp1024", "proposals", [[E, EncrId.ENCR_AES_CBC, 256], [I, IntegId.AUTH_HMAC_SHA1_96, undefined], [P, PrfId.PRF_HMAC_SHA1, undefined], [K, KeId.MODP_1024, undefined]]],
    ["aes128gcm16", "esp_proposals", [[E, EncrId.ENCR_AES_GCM_16, 128], [S, EsnId.NO_ESN, undefined]]],
    ["aes128gcm16-esn", "esp_proposals", [[E, EncrId.ENCR_AES_GCM_16, 128], [S, EsnId.ESN, undefined]]],
    ["aes128gcm16-ecp256", "esp_proposals", [[E, EncrId.ENCR_AES_GCM_16, 128], [K, KeId.ECP_256, undefined], [S, EsnId.NO_ESN, undefined]]],
    ["aes128-sha256-modp2048", "esp_proposals", [[E, EncrId.ENCR_AES_CBC, 128], [I, IntegId.AUTH_HMAC_SHA2_256_128, undefined], [K, KeId.MODP_2048, undefined], [S, EsnId.NO_ESN, undefined]]],
    ["aes128-sha1-modp2048", "esp_proposals", [[E, EncrId.ENCR_AES_CBC, 128], [I, IntegId.AUTH_HMAC_SHA1_96, undefined], [K, KeId.MODP_2048, undefined], [S, EsnId.NO_ESN, undefined]]],
    ["aes256-sha256-modp3072", "esp_proposals", [[E, EncrId.ENCR_AES_CBC, 256], [I, IntegId.AUTH_HMAC_SHA2_256_128, undefined], [K, KeId.MODP_3072, undefined], [S, EsnId.NO_ESN, undefined]]],
  ];
  it.each(cases)("%s in %s", (text, key, expected) => {
    const d = baseDoc();
    if (key === "proposals") conn(d)[key] = [text];
    else child(d)[key] = [text];
    const s = load(d).engine.connections[0];
    const proposals = key === "proposals" ? s?.proposals : s?.children[0]?.espProposals;
    const first = proposals?.[0];
    expect(first).toBeDefined();
    expect(first?.protocol).toBe(key === "proposals" ? 1 : 3);
    expect(shape(first as Proposal)).toEqual(expected);
  });

  it("list entries are numbered together, first = most preferred (RFC 7296 s3.3.1)", () => {
    const d = baseDoc();
    conn(d)["proposals"] = ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-modp2048"];
    expect(load(d).engine.connections[0]?.proposals.map((p) => p.number)).toEqual([1, 2]);
  });

  it("an unknown algorithm names the list entry and the known keywords", () => {
    const d = baseDoc();
    child(d)["esp_proposals"] = ["aes129-sha256"];
    const errs = errorsOf(d);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.path).toBe("connections.site-a.children.net.esp_proposals[0]");
    expect(errs[0]?.message).toMatch(/^unknown algorithm "aes129" in proposal "aes129-sha256" \(did you mean "aes128"\?\); Allowed keywords: encryption: .*aes192/);
  });

  it("an IKE proposal without key exchange is refused at proposals[1]", () => {
    const d = baseDoc();
    conn(d)["proposals"] = ["aes128-sha256-modp2048", "aes128-sha256"];
    expect(errorsOf(d).map((e) => e.path)).toEqual(["connections.site-a.proposals[1]"]);
  });
});

describe("traffic selectors (local_ts / remote_ts)", () => {
  it.each([
    ["198.18.1.0/24", "198.18.1.0/24"],
    ["198.18.1.7", "198.18.1.7/32"],
    ["198.18.1.0/24[tcp/80]", "198.18.1.0/24[tcp/80]"],
    ["198.18.1.0/24[udp]", "198.18.1.0/24[udp]"],
    ["2001:db8:1::/48", "2001:db8:1::/48"],
    ["0.0.0.0/0", "0.0.0.0/0"],
  ])("%s", (text, formatted) => {
    const d = baseDoc();
    child(d)["local_ts"] = [text];
    expect(load(d).engine.connections[0]?.children[0]?.localTs.map(formatTs)).toEqual([formatted]);
  });

  it("a single address is a one-address selector", () => {
    const d = baseDoc();
    child(d)["local_ts"] = ["198.18.1.7"];
    const ts = load(d).engine.connections[0]?.children[0]?.localTs[0];
    expect([...(ts?.startAddress ?? [])]).toEqual([198, 18, 1, 7]);
    expect([...(ts?.endAddress ?? [])]).toEqual([198, 18, 1, 7]);
  });

  it("[proto/port] sets protocol and port range", () => {
    const d = baseDoc();
    child(d)["local_ts"] = ["198.18.1.0/24[tcp/80]"];
    const ts = load(d).engine.connections[0]?.children[0]?.localTs[0];
    expect(ts).toMatchObject({ ipProtocol: 6, startPort: 80, endPort: 80 });
  });

  it("dynamic (the default) is this side's outer address", () => {
    const d = baseDoc();
    delete child(d)["local_ts"];
    child(d)["remote_ts"] = "dynamic";
    const net = load(d).engine.connections[0]?.children[0];
    expect(net?.localTs.map(formatTs)).toEqual(["192.0.2.1/32"]);
    expect([...(net?.localTs[0]?.startAddress ?? [])]).toEqual([192, 0, 2, 1]);
    expect([...(net?.remoteTs[0]?.startAddress ?? [])]).toEqual([192, 0, 2, 2]);
  });

  it("dynamic needs a concrete address", () => {
    const d = baseDoc();
    conn(d)["remote_addrs"] = "%any";
    child(d)["remote_ts"] = "dynamic";
    const errs = errorsOf(d);
    expect(errs.map((e) => e.path)).toEqual(["connections.site-a.children.net.remote_ts[0]"]);
    expect(errs[0]?.message).toMatch(/remote_addrs/);
  });

  it.each([["198.18.1.0/33"], ["198.18.300.0/24"], ["198.18.1.0/24[tcpp/80]"], ["not-a-subnet"]])("rejects %s at its index", (bad) => {
    const d = baseDoc();
    child(d)["local_ts"] = ["198.18.1.0/24", bad];
    const errs = errorsOf(d);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.path).toBe("connections.site-a.children.net.local_ts[1]");
    expect(errs[0]?.message).toContain(bad);
  });
});

describe("secrets (swanctl.conf secrets.ike<suffix>)", () => {
  it("become Secret objects that never print", () => {
    const c = load(baseDoc());
    const s = c.engine.secrets[0]?.secret;
    expect(s).toBeInstanceOf(Secret);
    expect(Buffer.from(s?.expose() ?? []).toString("utf8")).toBe(PSK);
    expect(JSON.stringify(c)).not.toContain(PSK);
  });

  it("id may be a string, a list, or several id<suffix> keys", () => {
    const d = baseDoc();
    d["secrets"] = { "ike-1": { id: "192.0.2.1", "id-peer": "192.0.2.2", secret: PSK }, ike: { id: ["192.0.2.9"], secret: PSK } };
    expect(load(d).engine.secrets.map((s) => s.ids)).toEqual([["192.0.2.1", "192.0.2.2"], ["192.0.2.9"]]);
  });

  it("0x hex and 0s base64 secrets are binary", () => {
    const d = baseDoc();
    d["secrets"] = { ike: { id: "192.0.2.2", secret: "0x00ff10" }, "ike-b": { id: "192.0.2.2", secret: "0sAP8Q" } };
    const [hex, b64] = load(d).engine.secrets;
    expect([...(hex?.secret.expose() ?? [])]).toEqual([0, 255, 16]);
    expect([...(b64?.secret.expose() ?? [])]).toEqual([0, 255, 16]);
  });

  it("a secret no connection uses is fine", () => {
    const d = baseDoc();
    (d["secrets"] as Doc)["ike-unused"] = { id: "192.0.2.77", secret: PSK };
    expect(load(d).engine.secrets).toHaveLength(2);
  });

  it("a secret for only the peer's identity, or for no identity, serves a PSK connection", () => {
    const peerOnly = baseDoc();
    peerOnly["secrets"] = { ike: { id: "192.0.2.2", secret: PSK } };
    expect(load(peerOnly).engine.connections).toHaveLength(1);
    const anyone = baseDoc();
    anyone["secrets"] = { ike: { secret: PSK } };
    expect(load(anyone).engine.connections).toHaveLength(1);
  });

  it("a PSK connection without a matching secret is an error naming both identities", () => {
    const d = baseDoc();
    d["secrets"] = { ike: { id: "192.0.2.99", secret: PSK } };
    const errs = errorsOf(d);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.path).toBe("connections.site-a");
    expect(errs[0]?.message).toMatch(/no PSK for identities 192\.0\.2\.1 and 192\.0\.2\.2/);
  });

  it("errors about secrets never quote the secret", () => {
    const d = baseDoc();
    d["secrets"] = { "ike-1": { id: ["192.0.2.1", "192.0.2.2"], secret: PSK, secert: PSK }, eap: { secret: PSK } };
    const errs = errorsOf(d);
    expect(errs.map((e) => e.path).sort()).toEqual(["secrets.eap", "secrets.ike-1.secert"]);
    expect(errs.find((e) => e.path === "secrets.ike-1.secert")?.message).toContain('did you mean "secret"');
    expect(JSON.stringify(errs)).not.toContain(PSK);
  });

  it("a YAML syntax error on a secret line gives only its position", () => {
    const text = `${stringify(baseDoc())}\nbroken: [${PSK}\n`;
    const errs = errorsOf(text);
    expect(errs[0]?.message).toMatch(/YAML syntax error at line \d+, column \d+/);
    expect(JSON.stringify(errs)).not.toContain(PSK);
  });

  it("a bad 0x secret is refused", () => {
    const d = baseDoc();
    d["secrets"] = { ike: { id: "192.0.2.2", secret: "0xabc" } };
    expect(errorsOf(d).map((e) => e.path)).toContain("secrets.ike.secret");
  });
});

describe("errors name the key path and what is allowed", () => {
  it.each<[string, (d: Doc) => void, string, RegExp]>([
    ["typo in a connection key", (d) => { conn(d)["remote_adrs"] = ["192.0.2.2"]; }, "connections.site-a.remote_adrs", /unknown key "remote_adrs" \(did you mean "remote_addrs"\?\); allowed keys: .*local_addrs/],
    ["typo in a child key", (d) => { child(d)["esp_proposal"] = ["aes128gcm16"]; }, "connections.site-a.children.net.esp_proposal", /did you mean "esp_proposals"/],
    ["typo in the daemon section", (d) => { d["daemon"] = { ike_prot: 500 }; }, "daemon.ike_prot", /did you mean "ike_port"/],
    ["unknown top-level section", (d) => { d["conections"] = {}; }, "conections", /did you mean "connections"/],
    ["bad port", (d) => { conn(d)["remote_port"] = 70000; }, "connections.site-a.remote_port", /port number 1\.\.65535/],
    ["bad mode", (d) => { child(d)["mode"] = "beet"; }, "connections.site-a.children.net.mode", /tunnel or transport/],
    ["bad start_action", (d) => { child(d)["start_action"] = "route"; }, "connections.site-a.children.net.start_action", /none, start or trap/],
    ["IKEv1", (d) => { conn(d)["version"] = 1; }, "connections.site-a.version", /only IKEv2/],
    ["bad auth", (d) => { (conn(d)["local"] as Doc)["auth"] = "eap"; }, "connections.site-a.local.auth", /psk or pubkey/],
    ["bad address", (d) => { conn(d)["remote_addrs"] = ["192.0.2.256"]; }, "connections.site-a.remote_addrs[0]", /not an IP address/],
    ["bad boolean", (d) => { conn(d)["encap"] = "maybe"; }, "connections.site-a.encap", /yes or no/],
    ["bad log level", (d) => { d["daemon"] = { log_level: { ike: "loud" } }; }, "daemon.log_level", /log level/],
    ["life_time not after rekey_time", (d) => { Object.assign(child(d), { rekey_time: "1h", life_time: "30m" }); }, "connections.site-a.children.net.life_time", /longer than rekey_time/],
    ["no children", (d) => { conn(d)["children"] = {}; }, "connections.site-a.children", /at least one child/],
    ["bad listen address", (d) => { d["daemon"] = { listen: "0.0.0.0, localhost" }; }, "daemon.listen[1]", /not an IP address/],
    ["initiating without a peer address", (d) => { conn(d)["remote_addrs"] = "%any"; child(d)["start_action"] = "start"; }, "connections.site-a.children.net.start_action", /remote_addrs has no IP address/],
    ["empty proposals list", (d) => { conn(d)["proposals"] = []; }, "connections.site-a.proposals", /must not be empty; omit the key for the default \(default\)/],
    ["empty esp_proposals string", (d) => { child(d)["esp_proposals"] = ""; }, "connections.site-a.children.net.esp_proposals", /must not be empty/],
    ["empty remote_ts", (d) => { child(d)["remote_ts"] = []; }, "connections.site-a.children.net.remote_ts", /must not be empty/],
    ["TUN name too long", (d) => { d["daemon"] = { tun: { name: "a-very-long-tun-name" } }; }, "daemon.tun.name", /15 characters/],
  ])("%s", (_what, mutate, path, message) => {
    const d = baseDoc();
    mutate(d);
    const errs = errorsOf(d);
    expect(errs.map((e) => e.path)).toContain(path);
    expect(errs.find((e) => e.path === path)?.message).toMatch(message);
  });

  it("collects every error at once", () => {
    const d = baseDoc();
    conn(d)["remote_addrs"] = ["192.0.2.256"];
    child(d)["local_ts"] = ["198.18.1.0/33"];
    child(d)["esp_proposals"] = ["aes129"];
    expect(errorsOf(d).map((e) => e.path)).toEqual([
      "connections.site-a.remote_addrs[0]",
      "connections.site-a.children.net.local_ts[0]",
      "connections.site-a.children.net.esp_proposals[0]",
    ]);
  });

  it("unknown keys are reported together with the other errors, PSK check included", () => {
    const d = baseDoc();
    conn(d)["dpd_dealy"] = "30s";
    child(d)["esp_proposals"] = ["aes129"];
    d["secrets"] = {};
    expect(errorsOf(d).map((e) => e.path)).toEqual([
      "connections.site-a.dpd_dealy",
      "connections.site-a.children.net.esp_proposals[0]",
      "connections.site-a",
    ]);
  });

  it("an alias without an anchor, or an alias bomb, is an error, not an exception", () => {
    expect(errorsOf("*nope")[0]?.message).toMatch(/YAML alias error/);
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++) bomb.push(`${"abcdefgh"[i]}: &${"abcdefgh"[i]} [${Array(10).fill(`*${"abcdefgh"[i - 1]}`).join(", ")}]`);
    expect(errorsOf(bomb.join("\n"))[0]?.message).toMatch(/YAML alias error/);
  });

  it("an empty document says what it needs", () => {
    expect(errorsOf("")[0]?.message).toMatch(/connections/);
  });

  it("a duplicate key is a YAML error", () => {
    expect(errorsOf("connections: {}\nconnections: {}\n")[0]?.message).toMatch(/duplicate key/);
  });

  it("formatConfigError prints path: message", () => {
    expect(formatConfigError({ path: "a.b[0]", message: "bad" })).toBe("a.b[0]: bad");
  });
});

describe("the result is frozen", () => {
  it("objects and arrays cannot be changed", () => {
    const c = load(baseDoc());
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.engine.connections)).toBe(true);
    expect(Object.isFrozen(c.engine.connections[0]?.children[0]?.localTs)).toBe(true);
    expect(() => {
      (c.daemon as { ikePort: number }).ikePort = 1;
    }).toThrow(TypeError);
  });
});

describe("connection and child names the CLI can address (tsipsec up NAME[/CHILD])", () => {
  it("a '/' in a connection or child name is an error naming the key", () => {
    const d = baseDoc();
    const conns = d["connections"] as Doc;
    conns["hq/x"] = conns["site-a"];
    delete conns["site-a"];
    const e = errorsOf(d);
    expect(e.map((x) => x.path)).toContain("connections.hq/x");
    expect(e.map(formatConfigError).join("\n")).toContain("cannot contain '/'");
    const d2 = baseDoc();
    const ch = conn(d2)["children"] as Doc;
    ch["net/1"] = ch["net"];
    delete ch["net"];
    expect(errorsOf(d2).map((x) => x.path)).toContain("connections.site-a.children.net/1");
  });
});
