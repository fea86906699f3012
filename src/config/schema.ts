/**
 * The structural schema of a tsipsec config file (zod): which keys exist, their value types, and
 * the swanctl.conf spellings (`yes`/`no` booleans, comma-separated lists, time suffixes). It does
 * no cross-checking; src/config/load.ts turns the parsed shape into the typed, defaulted config
 * and checks proposals, traffic selectors, addresses and secrets.
 *
 * Key names and meanings follow swanctl.conf(5) for `connections` and `secrets`; the `daemon`
 * section holds what strongSwan keeps in strongswan.conf (ports, retransmission, cookies).
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { LOG_LEVELS, LOG_SUBSYSTEMS } from "./types.js";

/**
 * A strict object: an unknown key is an error whose message lists the allowed keys (load.ts adds
 * the key itself and a "did you mean" hint).
 */
function section<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? `allowed keys: ${allowed}` : iss.code === "invalid_type" ? "expected a section (a YAML mapping)" : undefined),
  });
}

/** A YAML list or a swanctl-style comma-separated string; entries are trimmed, empty ones dropped. */
const list = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))], {
    error: "expected a list: a YAML list or a comma-separated string",
  })
  .transform((v) =>
    (Array.isArray(v) ? v.map(String) : String(v).split(","))
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  );

/** swanctl booleans: yes/no (YAML 1.2 keeps them strings), true/false. */
const bool = z
  .union([z.boolean(), z.enum(["yes", "no", "true", "false"])], { error: "expected yes or no (or true/false)" })
  .transform((v) => v === true || v === "yes" || v === "true");

const duration = z.unknown().transform((v, ctx): number => {
  const r = parseDuration(v);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.message });
    return z.NEVER;
  }
  return r.seconds;
});

const port = z.number({ error: "expected a UDP port number 1..65535" }).int({ error: "expected a UDP port number 1..65535" }).min(1, { error: "expected a UDP port number 1..65535" }).max(65535, { error: "expected a UDP port number 1..65535" });

function count(what: string, min = 0, max = Number.MAX_SAFE_INTEGER): z.ZodNumber {
  const msg = `expected ${what}: an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? "" : max}`;
  return z.number({ error: msg }).int({ error: msg }).min(min, { error: msg }).max(max, { error: msg });
}

const nonEmpty = (what: string): z.ZodString => z.string({ error: `expected ${what} (a string)` }).min(1, { error: `${what} must not be empty` });

const logLevel = z.enum(LOG_LEVELS, { error: `expected a log level: ${LOG_LEVELS.join(", ")}` });

const logLevelSection = section({
  default: logLevel.optional(),
  ...Object.fromEntries(LOG_SUBSYSTEMS.map((s) => [s, logLevel.optional()])),
} as Record<"default" | (typeof LOG_SUBSYSTEMS)[number], z.ZodOptional<typeof logLevel>>);

export const daemonSchema = section({
  tun: section({
    name: nonEmpty("a TUN device name").max(15, { error: "a TUN device name has at most 15 characters (IFNAMSIZ)" }).optional(),
    mtu: count("an MTU in bytes", 576, 65535).optional(),
  }).optional(),
  ike_port: port.optional(),
  natt_port: port.optional(),
  listen: list.optional(),
  control_socket: nonEmpty("a socket path").optional(),
  log_level: z.union([logLevel, logLevelSection], { error: `expected a log level (${LOG_LEVELS.join(", ")}) or a mapping like { default: info, ike: debug }` }).optional(),
  save_keys: section({ ike: nonEmpty("a file path").optional(), esp: nonEmpty("a file path").optional() }).optional(),
  retransmit_timeout: z.number({ error: "expected seconds (a number > 0)" }).positive({ error: "expected seconds (a number > 0)" }).optional(),
  retransmit_base: z.number({ error: "expected a factor >= 1" }).min(1, { error: "expected a factor >= 1" }).optional(),
  retransmit_tries: count("a number of tries", 1, 100).optional(),
  fragment_size: count("an IKE fragment size in bytes", 576, 65535).optional(),
  cookie_threshold: count("a number of half-open IKE SAs").optional(),
  half_open_timeout: duration.optional(),
});

const authSection = section({
  auth: z.enum(["psk", "pubkey"], { error: "expected an authentication method: psk or pubkey" }).optional(),
  id: z.union([z.string(), z.number()], { error: "expected an identity (IP address, FQDN, user@fqdn, or %any)" }).transform(String).optional(),
});

const startAction = z.enum(["none", "start", "trap"], { error: "expected a start action: none, start or trap" });
const dpdAction = z.enum(["clear", "trap", "restart"], { error: "expected a DPD action: clear, trap or restart" });
const closeAction = z.enum(["none", "trap", "start"], { error: "expected a close action: none, trap or start" });

export const childSchema = section({
  local_ts: list.optional(),
  remote_ts: list.optional(),
  esp_proposals: list.optional(),
  mode: z.enum(["tunnel", "transport"], { error: "expected a mode: tunnel or transport" }).optional(),
  start_action: startAction.optional(),
  dpd_action: dpdAction.optional(),
  close_action: closeAction.optional(),
  rekey_time: duration.optional(),
  life_time: duration.optional(),
  rekey_bytes: count("a byte count").optional(),
  life_bytes: count("a byte count").optional(),
  rekey_packets: count("a packet count").optional(),
  life_packets: count("a packet count").optional(),
  replay_window: count("a replay window in packets", 0, 2 ** 32 - 1).optional(),
  tfc_padding: z.union([count("TFC padding bytes"), z.literal("mtu")], { error: "expected 0 (off), mtu, or a padded length in bytes" }).optional(),
});

// `.nullable()` (not a union with null) so errors inside an entry keep their own key path.
const sectionMap = <T extends z.ZodType>(value: T, what: string) =>
  z
    .record(
      z.string(),
      // `net:` with nothing after it (YAML null) means "all defaults", as an empty swanctl section does.
      value.nullable().transform((v) => v ?? ({} as z.output<T>)),
      { error: `expected a mapping of ${what} by name` },
    )
    .nullable()
    .transform((v) => v ?? {});

export const connectionSchema = section({
  version: z.union([z.literal(0), z.literal(2)], { error: "only IKEv2 is supported: version 2 (or 0, swanctl's default, which initiates IKEv2)" }).optional(),
  local_addrs: list.optional(),
  remote_addrs: list.optional(),
  local_port: port.optional(),
  remote_port: port.optional(),
  proposals: list.optional(),
  encap: bool.optional(),
  dpd_delay: duration.optional(),
  rekey_time: duration.optional(),
  fragmentation: z
    .union([z.boolean(), z.enum(["yes", "no", "accept", "force", "true", "false"])], { error: "expected yes, accept, force or no" })
    .transform((v) => v !== false && v !== "no" && v !== "false")
    .optional(),
  local: authSection.optional(),
  remote: authSection.optional(),
  children: sectionMap(childSchema, "children (Child SAs)").optional(),
});

/** The whole document. `secrets` entries are checked by load.ts (their `id<suffix>` keys are open-ended). */
export const documentSchema = section({
  daemon: daemonSchema
    .nullable()
    .transform((v) => v ?? {})
    .optional(),
  connections: sectionMap(connectionSchema, "connections").optional(),
  secrets: z
    .record(z.string(), z.unknown(), { error: "expected a mapping of secrets by name (ike-1: { id: ..., secret: ... })" })
    .nullable()
    .transform((v) => v ?? {})
    .optional(),
});

export type RawDocument = z.output<typeof documentSchema>;
export type RawConnection = z.output<typeof connectionSchema>;
export type RawChild = z.output<typeof childSchema>;
export type RawDaemon = z.output<typeof daemonSchema>;
