/**
 * The typed result of loading a tsipsec configuration (src/config/load.ts): the daemon's own
 * settings plus the IKE engine's configuration (src/ike/api.ts). Every object is frozen (deeply,
 * except byte arrays, which JavaScript cannot freeze); consumers copy what they need to change.
 *
 * Durations are SECONDS, sizes BYTES, like the rest of the config boundary.
 */
import type { EngineConfig } from "../ike/api.js";

/** pino's levels; `silent` turns a subsystem off. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Subsystems that may get their own level (`log_level: { default: info, ike: debug }`). */
export const LOG_SUBSYSTEMS = ["ike", "cfg", "net", "child", "enc", "esp", "tun", "control", "daemon"] as const;
export type LogSubsystem = (typeof LOG_SUBSYSTEMS)[number];

export interface LogLevels {
  /** Level for every subsystem without its own entry. */
  default: LogLevel;
  /** Per-subsystem overrides (absent = `default`). */
  subsystems: Partial<Record<LogSubsystem, LogLevel>>;
}

/** The `daemon:` section: tsipsec's own settings (strongSwan keeps these in strongswan.conf). */
export interface DaemonConfig {
  /** The TUN device carrying cleartext traffic: name (at most 15 bytes, IFNAMSIZ) and MTU in bytes. */
  tun: { name: string; mtu: number };
  /** UDP port for IKE (RFC 7296 s2: 500). */
  ikePort: number;
  /** UDP port for NAT traversal, IKE and ESP-in-UDP (RFC 3948: 4500). */
  nattPort: number;
  /** Local addresses to bind the UDP sockets to (IP literals; `0.0.0.0` / `::` = all). */
  listen: string[];
  /** Path of the control socket (src/control/); `--control PATH` overrides it. */
  controlSocket: string;
  logLevel: LogLevels;
  /** Wireshark key-log files (absent = off). They hold keys: written with mode 0600. */
  saveKeys: { ike: string | undefined; esp: string | undefined };
}

/** The proposal and traffic-selector strings of one child as written (for listings and `check`). */
export interface WrittenChild {
  espProposals: string[];
  localTs: string[];
  remoteTs: string[];
}

/** The strings of one connection as written, so listings show what the operator typed. */
export interface WrittenConnection {
  proposals: string[];
  children: Record<string, WrittenChild>;
}

/** Everything a config file yields. */
export interface TsipsecConfig {
  daemon: DaemonConfig;
  engine: EngineConfig;
  /** Per connection name, the strings as written (proposals, traffic selectors). */
  written: Record<string, WrittenConnection>;
}
