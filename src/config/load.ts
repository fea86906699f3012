/**
 * Loads a tsipsec configuration: a YAML string in, a frozen {@link TsipsecConfig} or a list of
 * {@link ConfigError}s out. Pure: no file access (src/drivers/config-file.ts reads the file).
 *
 * Theory of operation:
 * 1. YAML -> plain value (`yaml`, YAML 1.2 core schema; duplicate keys are errors).
 * 2. Structure (schema.ts, zod): key names, value types, swanctl spellings. Unknown keys are
 *    errors that list the allowed keys (a typo never silently falls back to a default).
 * 3. Meaning: strongSwan defaults for missing keys, proposal strings (src/ike/negotiation),
 *    traffic selectors, addresses, and the PSK lookup a connection will need at run time.
 * Every step collects all errors it can find, each with its key path.
 *
 * Secrets become {@link Secret} objects at once; no message carries a secret's value.
 */
import { parseDocument } from "yaml";
import type { z } from "zod";
import type { AuthConfig, ChildConfig, ConnectionConfig, EngineConfig, SharedSecret } from "../ike/api.js";
import { parseProposalString, PROPOSAL_KEYWORDS, ProposalStringError } from "../ike/negotiation/proposal-strings.js";
import { parseTs, TsParseError } from "../ike/negotiation/traffic-selectors.js";
import { Secret } from "../crypto/secret.js";
import { parseIpAddress } from "../wire/ip.js";
import type { Proposal, TrafficSelector } from "../wire/ike/types.js";
import { formatPath, type ConfigError, type ConfigPath } from "./errors.js";
import { documentSchema, type RawChild, type RawConnection, type RawDaemon } from "./schema.js";
import type { DaemonConfig, LogLevels, TsipsecConfig, WrittenChild, WrittenConnection } from "./types.js";

export type ConfigResult = { ok: true; config: TsipsecConfig } | { ok: false; errors: ConfigError[] };

/** strongSwan's defaults (swanctl.conf(5), strongswan.conf(5)) and tsipsec's own. */
export const DEFAULTS = {
  tunName: "tsipsec0",
  tunMtu: 1400,
  ikePort: 500,
  nattPort: 4500,
  listen: ["0.0.0.0", "::"],
  controlSocket: "/run/tsipsec/control.sock",
  logLevel: "info",
  /** strongswan.conf charon.retransmit_timeout / _base / _tries. */
  retransmitTimeoutSeconds: 4,
  retransmitBase: 1.8,
  retransmitTries: 5,
  /** strongswan.conf charon.fragment_size. */
  fragmentSize: 1280,
  /** strongswan.conf charon.cookie_threshold and half_open_timeout. */
  cookieThreshold: 10,
  halfOpenTimeoutSeconds: 30,
  /** swanctl.conf connections.<conn>.* */
  localPort: 500,
  remotePort: 500,
  proposals: ["default"],
  ikeRekeyTimeSeconds: 4 * 3600,
  dpdDelaySeconds: 0,
  /** swanctl.conf connections.<conn>.children.<child>.* */
  espProposals: ["default"],
  childRekeyTimeSeconds: 3600,
  /** life_time defaults to rekey_time + 10% (same for bytes and packets). */
  lifeOverRekey: 1.1,
  replayWindow: 32,
  localTs: ["dynamic"],
  remoteTs: ["dynamic"],
} as const;

/** Keys that carry secrets in `secrets.<name>`; anything `id<suffix>` is an identity. */
const SECRET_KINDS = "ike<suffix> (pre-shared keys for IKE)";

/**
 * Parses and checks a config document. `yamlText` is the whole file. Never throws for bad input.
 */
export function parseConfig(yamlText: string): ConfigResult {
  // prettyErrors computes linePos; its message (which may quote a secret line) is not used.
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The YAML library's own message may quote the offending line, which may hold a secret: give
    // only its position and kind.
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos === undefined ? "" : ` at line ${pos.line}, column ${pos.col}`;
        return { path: "", message: `YAML syntax error${where}: ${yamlErrorKind(e.code)}` };
      }),
    };
  }
  let value: unknown;
  try {
    // Throws for an alias without its anchor, or an alias bomb (more than maxAliasCount expansions).
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return { ok: false, errors: [{ path: "", message: "YAML alias error: an alias (*name) refers to no anchor (&name) before it, or aliases expand too much" }] };
  }
  if (value === null || value === undefined) {
    return { ok: false, errors: [{ path: "", message: "the config is empty; it needs at least a `connections:` section" }] };
  }
  let parsed = documentSchema.safeParse(value);
  const errors: ConfigError[] = [];
  if (!parsed.success) {
    // Report unknown keys, drop them, and check the rest too, so one run shows every problem.
    const unknown = parsed.error.issues.filter((i) => i.code === "unrecognized_keys");
    if (unknown.length === 0) return { ok: false, errors: zodErrors(parsed.error.issues, value) };
    errors.push(...zodErrors(unknown, value));
    for (const issue of unknown) {
      const holder = valueAt(value, issue.path.filter((p): p is string | number => typeof p !== "symbol"));
      if (typeof holder === "object" && holder !== null) for (const k of issue.keys) delete (holder as Record<string, unknown>)[k];
    }
    parsed = documentSchema.safeParse(value);
    if (!parsed.success) return { ok: false, errors: [...errors, ...zodErrors(parsed.error.issues, value)] };
  }

  const err = (path: ConfigPath, message: string): void => {
    errors.push({ path: formatPath(path), message });
  };
  const daemon = buildDaemon(parsed.data.daemon ?? {});
  daemon.listen.forEach((a, i) => {
    try {
      parseIpAddress(a);
    } catch {
      err(["daemon", "listen", i], `"${a}" is not an IP address; write addresses to bind to, e.g. 0.0.0.0 and :: for all`);
    }
  });
  const errorsBeforeSecrets = errors.length;
  const secrets = buildSecrets(parsed.data.secrets ?? {}, err);
  // A broken secrets entry would make every PSK look missing: report only the entry itself.
  const secretsOk = errors.length === errorsBeforeSecrets;
  const written: Record<string, WrittenConnection> = {};
  const connections: ConnectionConfig[] = [];
  for (const [name, raw] of Object.entries(parsed.data.connections ?? {})) {
    const built = buildConnection(name, raw, parsed.data.daemon ?? {}, err);
    connections.push(built.config);
    written[name] = built.written;
    if (secretsOk) checkPsk(built.config, secrets, err);
  }
  if (errors.length > 0) return { ok: false, errors };
  const raw = parsed.data.daemon ?? {};
  const engine: EngineConfig = {
    connections,
    secrets,
    cookieThreshold: raw.cookie_threshold ?? DEFAULTS.cookieThreshold,
    halfOpenTimeoutSeconds: raw.half_open_timeout ?? DEFAULTS.halfOpenTimeoutSeconds,
  };
  return { ok: true, config: deepFreeze({ daemon, engine, written }) };
}

function yamlErrorKind(code: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "duplicate key (each key may appear once per section)";
    case "BAD_INDENT":
    case "MISSING_CHAR":
    case "UNEXPECTED_TOKEN":
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY":
      return `${code.toLowerCase().replace(/_/g, " ")} (check the indentation and the ':' after each key)`;
    default:
      return code.toLowerCase().replace(/_/g, " ");
  }
}

// ---------------------------------------------------------------------------------------------
// Structural errors

function zodErrors(issues: readonly z.core.$ZodIssue[], input: unknown): ConfigError[] {
  const out: ConfigError[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      const allowed = issue.message.replace(/^allowed keys: /, "").split(", ");
      for (const key of issue.keys) {
        const hint = closest(key, allowed);
        out.push({
          path: formatPath([...path, key]),
          message: `unknown key "${key}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}; ${issue.message}`,
        });
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && message.startsWith("Invalid input")) {
      message = valueAt(input, path) === undefined ? "is required" : `expected ${issue.expected}`;
    }
    out.push({ path: formatPath(path), message });
  }
  return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let v = root;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** The allowed key nearest to a typo (edit distance <= 2), for "did you mean". */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    const d = editDistance(key.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      best = a;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

// ---------------------------------------------------------------------------------------------
// daemon:

function buildDaemon(raw: RawDaemon): DaemonConfig {
  let logLevel: LogLevels;
  const ll = raw.log_level;
  if (ll === undefined || typeof ll === "string") {
    logLevel = { default: ll ?? DEFAULTS.logLevel, subsystems: {} };
  } else {
    const { default: def, ...subsystems } = ll;
    const set = Object.fromEntries(Object.entries(subsystems).filter(([, v]) => v !== undefined));
    logLevel = { default: def ?? DEFAULTS.logLevel, subsystems: set };
  }
  return {
    tun: { name: raw.tun?.name ?? DEFAULTS.tunName, mtu: raw.tun?.mtu ?? DEFAULTS.tunMtu },
    ikePort: raw.ike_port ?? DEFAULTS.ikePort,
    nattPort: raw.natt_port ?? DEFAULTS.nattPort,
    listen: raw.listen ?? [...DEFAULTS.listen],
    controlSocket: raw.control_socket ?? DEFAULTS.controlSocket,
    logLevel,
    saveKeys: { ike: raw.save_keys?.ike, esp: raw.save_keys?.esp },
  };
}

// ---------------------------------------------------------------------------------------------
// secrets:

type ErrFn = (path: ConfigPath, message: string) => void;

/**
 * `secrets.ike<suffix>: { id<suffix>: ID or [IDs], secret: STRING }` (swanctl.conf(5)). A secret
 * string may be `0x<hex>` or `0s<base64>` for binary keys, like strongSwan's.
 */
function buildSecrets(raw: Record<string, unknown>, err: ErrFn): SharedSecret[] {
  const out: SharedSecret[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const path = ["secrets", name];
    if (!/^ike/.test(name)) {
      err(path, `unknown secret type; allowed: ${SECRET_KINDS}, e.g. "ike-site-a"`);
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      err(path, "expected a section with `id` and `secret`");
      continue;
    }
    const ids: string[] = [];
    let secret: Secret | undefined;
    let ok = true;
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
      if (key === "secret") {
        if (typeof value !== "string" || value === "") {
          err([...path, key], "expected a non-empty quoted string (use 0x<hex> or 0s<base64> for binary keys)");
          ok = false;
          continue;
        }
        const bytes = decodeSecret(value);
        if (bytes === undefined) {
          err([...path, key], "a 0x secret needs an even number of hex digits, a 0s secret valid base64");
          ok = false;
          continue;
        }
        secret = new Secret(bytes);
      } else if (/^id/.test(key)) {
        const list = Array.isArray(value) ? value : [value];
        list.forEach((id, i) => {
          if ((typeof id !== "string" && typeof id !== "number") || String(id).trim() === "") {
            err(Array.isArray(value) ? [...path, key, i] : [...path, key], "expected an identity (IP address, FQDN, user@fqdn) or a list of them");
            ok = false;
          } else {
            ids.push(String(id).trim());
          }
        });
      } else {
        const hint = closest(key, ["id", "secret"]);
        err([...path, key], `unknown key "${key}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}; allowed keys: id<suffix>, secret`);
        ok = false;
      }
    }
    if (secret === undefined) {
      if (ok) err([...path, "secret"], "is required");
      continue;
    }
    if (ok) out.push({ ids, secret });
  }
  return out;
}

function decodeSecret(s: string): Uint8Array | undefined {
  if (/^0x/i.test(s)) {
    const hex = s.slice(2);
    if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) return undefined;
    return new Uint8Array(Buffer.from(hex, "hex"));
  }
  if (/^0s/.test(s)) {
    const b64 = s.slice(2);
    if (b64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
    return new Uint8Array(Buffer.from(b64, "base64"));
  }
  return new Uint8Array(Buffer.from(s, "utf8"));
}

/**
 * A PSK connection must find a key at load time. The match mirrors strongSwan's shared-key
 * lookup: a secret with no ids matches anyone; otherwise one of its ids must be our id or the
 * peer's (or `%any`).
 */
function checkPsk(conn: ConnectionConfig, secrets: readonly SharedSecret[], err: ErrFn): void {
  if (conn.local.auth !== "psk" && conn.remote.auth !== "psk") return;
  const wanted = [conn.local.id, conn.remote.id].filter((id) => id !== "%any");
  const found = secrets.some((s) => s.ids.length === 0 || s.ids.some((id) => id === "%any" || wanted.includes(id)));
  if (!found) {
    const who = wanted.length === 0 ? "any identity" : `identities ${wanted.join(" and ")}`;
    err(["connections", conn.name], `no PSK for ${who}; add e.g. secrets: { ike-${conn.name}: { id: [${wanted.join(", ")}], secret: "..." } }`);
  }
}

// ---------------------------------------------------------------------------------------------
// connections:

const ANY_ADDRS = new Set(["%any", "%any4", "%any6"]);

/** A list key's value, or its default when absent; an explicitly empty list is an error (it would match or offer nothing). */
function listOr(value: string[] | undefined, fallback: readonly string[], path: ConfigPath, err: ErrFn): string[] {
  if (value === undefined) return [...fallback];
  if (value.length === 0) err(path, `must not be empty; omit the key for the default (${fallback.join(", ")})`);
  return value;
}

function checkAddrs(addrs: readonly string[], path: ConfigPath, err: ErrFn): void {
  addrs.forEach((a, i) => {
    if (ANY_ADDRS.has(a)) return;
    try {
      parseIpAddress(a);
    } catch {
      err([...path, i], `"${a}" is not an IP address; write an IPv4/IPv6 address or %any (DNS names, subnets and ranges are not supported)`);
    }
  });
}

function proposalsOf(texts: readonly string[], protocol: "ike" | "esp", path: ConfigPath, err: ErrFn): Proposal[] {
  const out: Proposal[] = [];
  texts.forEach((text, i) => {
    try {
      out.push(...parseProposalString(text, protocol));
    } catch (e) {
      if (!(e instanceof ProposalStringError)) throw e;
      const token = e.token.toLowerCase();
      if (token !== "" && token !== e.proposal.toLowerCase() && !PROPOSAL_KEYWORDS.has(token)) {
        const hint = closest(token, [...PROPOSAL_KEYWORDS.keys()]);
        err([...path, i], `unknown algorithm "${e.token}" in proposal "${e.proposal}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}; ${e.allowed}`);
      } else {
        err([...path, i], e.message);
      }
    }
  });
  // swanctl numbers the proposals of all list entries together, first = most preferred.
  return out.map((p, i) => ({ ...p, number: i + 1 }));
}

/**
 * swanctl `local_ts` / `remote_ts` entries: a CIDR subnet, a single address, a range `a..b`, each
 * with an optional `[proto/port]` suffix (parseTs syntax), or `dynamic` (optionally with a
 * suffix), which stands for this side's outer address and so needs a concrete address.
 */
function trafficSelectorsOf(texts: readonly string[], dynamicAddr: string | undefined, side: "local_addrs" | "remote_addrs", path: ConfigPath, err: ErrFn): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  texts.forEach((text, i) => {
    let t = text;
    if (/^dynamic(\[|$)/i.test(t)) {
      if (dynamicAddr === undefined) {
        err([...path, i], `"dynamic" stands for this side's address, but ${side} has no single IP address; set ${side} or write a subnet like 198.18.1.0/24`);
        return;
      }
      t = dynamicAddr + t.slice("dynamic".length);
    }
    try {
      out.push(parseTs(t));
    } catch (e) {
      if (!(e instanceof TsParseError)) throw e;
      err([...path, i], `invalid traffic selector "${text}": ${e.message}; write a subnet (198.18.1.0/24), an address, a range (a..b) or dynamic, optionally with [proto/port] (e.g. 198.18.1.0/24[tcp/80])`);
    }
  });
  return out;
}

function authOf(raw: RawConnection["local"], defaultId: string): AuthConfig {
  return { auth: raw?.auth ?? "psk", id: raw?.id ?? defaultId };
}

/** `tsipsec up NAME/CHILD` splits at '/': a name holding one could never be addressed. */
function checkName(name: string, what: "connection" | "child", path: ConfigPath, err: ErrFn): void {
  if (name.includes("/")) err(path, `a ${what} name cannot contain '/' (tsipsec up NAME/CHILD uses it to separate the two)`);
}

function buildConnection(
  name: string,
  raw: RawConnection,
  daemon: RawDaemon,
  err: ErrFn,
): { config: ConnectionConfig; written: WrittenConnection } {
  const path = ["connections", name];
  checkName(name, "connection", path, err);
  const localAddrs = listOr(raw.local_addrs, ["%any"], [...path, "local_addrs"], err);
  const remoteAddrs = listOr(raw.remote_addrs, ["%any"], [...path, "remote_addrs"], err);
  checkAddrs(localAddrs, [...path, "local_addrs"], err);
  checkAddrs(remoteAddrs, [...path, "remote_addrs"], err);
  const proposalTexts = listOr(raw.proposals, DEFAULTS.proposals, [...path, "proposals"], err);
  const proposals = proposalsOf(proposalTexts, "ike", [...path, "proposals"], err);
  const rekeyTime = raw.rekey_time ?? DEFAULTS.ikeRekeyTimeSeconds;
  // strongSwan's default local identity is our address; the peer's is %any (accept what it sends).
  const firstConcrete = (addrs: readonly string[]): string | undefined => addrs.find((a) => !ANY_ADDRS.has(a));
  const local = authOf(raw.local, firstConcrete(localAddrs) ?? "%any");
  const remote = authOf(raw.remote, "%any");
  if (local.id === "%any") err([...path, "local", "id"], "needs an identity (no local_addrs address to default to); set local.id");

  const children: ChildConfig[] = [];
  const writtenChildren: Record<string, WrittenChild> = {};
  const rawChildren = raw.children ?? {};
  if (Object.keys(rawChildren).length === 0) err([...path, "children"], "a connection needs at least one child (children: { NAME: { local_ts, remote_ts } })");
  for (const [childName, rawChild] of Object.entries(rawChildren)) {
    checkName(childName, "child", [...path, "children", childName], err);
    const built = buildChild(childName, rawChild, { local: firstConcrete(localAddrs), remote: firstConcrete(remoteAddrs) }, [...path, "children", childName], err);
    children.push(built.config);
    writtenChildren[childName] = built.written;
  }
  // An initiator needs somewhere to send IKE_SA_INIT; a responder-only connection does not.
  if (firstConcrete(remoteAddrs) === undefined) {
    children.forEach((ch) => {
      if (ch.startAction !== "none") {
        err([...path, "children", ch.name, "start_action"], `"${ch.startAction}" initiates, but remote_addrs has no IP address to initiate to; set remote_addrs or use start_action: none`);
      }
      if (ch.dpdAction === "restart") err([...path, "children", ch.name, "dpd_action"], `"restart" initiates, but remote_addrs has no IP address to initiate to; set remote_addrs or use dpd_action: clear or trap`);
      if (ch.closeAction === "start") err([...path, "children", ch.name, "close_action"], `"start" initiates, but remote_addrs has no IP address to initiate to; set remote_addrs or use close_action: none or trap`);
    });
  }
  const config: ConnectionConfig = {
    name,
    localAddrs,
    remoteAddrs,
    localPort: raw.local_port ?? DEFAULTS.localPort,
    remotePort: raw.remote_port ?? DEFAULTS.remotePort,
    proposals,
    encap: raw.encap ?? false,
    dpdDelaySeconds: raw.dpd_delay ?? DEFAULTS.dpdDelaySeconds,
    rekeyTimeSeconds: rekeyTime,
    fragmentation: raw.fragmentation ?? true,
    fragmentSize: daemon.fragment_size ?? DEFAULTS.fragmentSize,
    local,
    remote,
    children,
    retransmit: {
      timeoutSeconds: daemon.retransmit_timeout ?? DEFAULTS.retransmitTimeoutSeconds,
      base: daemon.retransmit_base ?? DEFAULTS.retransmitBase,
      tries: daemon.retransmit_tries ?? DEFAULTS.retransmitTries,
    },
  };
  return { config, written: { proposals: proposalTexts, children: writtenChildren } };
}

function buildChild(
  name: string,
  raw: RawChild,
  dynamic: { local: string | undefined; remote: string | undefined },
  path: ConfigPath,
  err: ErrFn,
): { config: ChildConfig; written: WrittenChild } {
  const espTexts = listOr(raw.esp_proposals, DEFAULTS.espProposals, [...path, "esp_proposals"], err);
  const localTsTexts = listOr(raw.local_ts, DEFAULTS.localTs, [...path, "local_ts"], err);
  const remoteTsTexts = listOr(raw.remote_ts, DEFAULTS.remoteTs, [...path, "remote_ts"], err);
  const rekeyTime = raw.rekey_time ?? DEFAULTS.childRekeyTimeSeconds;
  const lifeTime = raw.life_time ?? Math.round(rekeyTime * DEFAULTS.lifeOverRekey);
  if (rekeyTime > 0 && lifeTime > 0 && lifeTime <= rekeyTime) {
    err([...path, "life_time"], `must be longer than rekey_time (${rekeyTime}s), or the Child SA expires before it is rekeyed`);
  }
  const rekeyBytes = raw.rekey_bytes ?? 0;
  const rekeyPackets = raw.rekey_packets ?? 0;
  const config: ChildConfig = {
    name,
    localTs: trafficSelectorsOf(localTsTexts, dynamic.local, "local_addrs", [...path, "local_ts"], err),
    remoteTs: trafficSelectorsOf(remoteTsTexts, dynamic.remote, "remote_addrs", [...path, "remote_ts"], err),
    espProposals: proposalsOf(espTexts, "esp", [...path, "esp_proposals"], err),
    mode: raw.mode ?? "tunnel",
    startAction: raw.start_action ?? "none",
    dpdAction: raw.dpd_action ?? "clear",
    closeAction: raw.close_action ?? "none",
    rekeyTimeSeconds: rekeyTime,
    lifeTimeSeconds: lifeTime,
    rekeyBytes,
    lifeBytes: raw.life_bytes ?? Math.round(rekeyBytes * DEFAULTS.lifeOverRekey),
    rekeyPackets,
    lifePackets: raw.life_packets ?? Math.round(rekeyPackets * DEFAULTS.lifeOverRekey),
    replayWindow: raw.replay_window ?? DEFAULTS.replayWindow,
    tfcPadding: raw.tfc_padding !== undefined && raw.tfc_padding !== 0,
  };
  return { config, written: { espProposals: espTexts, localTs: localTsTexts, remoteTs: remoteTsTexts } };
}

// ---------------------------------------------------------------------------------------------

/** Freezes plain objects and arrays recursively; byte arrays and Secrets are left as they are. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (ArrayBuffer.isView(value) || value instanceof Secret) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
